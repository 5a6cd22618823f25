# Two commands: `make run` (set up everything, start the bot) and `make test`.
# Every set-up step is a file target, so repeating a command redoes only what changed.

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV   := .venv
PY     := $(VENV)/bin/python
SPACY  := build/spacy/en_send/meta.json
export TF_CPP_MIN_LOG_LEVEL := 2
export PYTHONDONTWRITEBYTECODE := 1
export RASA_TELEMETRY_ENABLED := false

.PHONY: help run test setup venv model db lint format bench bench-booking bench-broadcast chromium clean \
        run-prod test-prod bench-scale prod-services

help:
	@echo "make run    set up (venv, install, spaCy pipeline, train if needed, database) and start the bot"
	@echo "make test   the same set-up, then lint and the whole test suite"
	@echo "make bench  latency, throughput, memory and start-up figures against a stock Rasa assistant"
	@echo "make bench-booking  surgery booking: listing and booking latency, bookings/s, no double bookings"
	@echo "make bench-broadcast  a broadcast to 1,000 Telegram parents through a rate-limited fake: time vs the 30/s bound"
	@echo "make run-prod   the production profile: PostgreSQL, Redis, nginx and two Rasa servers (var/prod/)"
	@echo "make test-prod  the production profile's tests (tests/prod; also run at the end of make test)"
	@echo "make bench-scale  throughput and p95 through nginx with 1 and 2 Rasa servers, lost and duplicated messages"

# --- set-up ----------------------------------------------------------------------------

$(VENV)/.installed: requirements.lock
	@python310=$$(scripts/find-python310) || exit 1; \
	if [ ! -x $(PY) ] || ! $(PY) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))'; then \
	  echo "Creating $(VENV) with $$python310"; rm -rf $(VENV); $$python310 -m venv $(VENV) || exit 1; \
	fi
	$(PY) -m pip install --disable-pip-version-check -q -r requirements.lock
	@touch $@

venv: $(VENV)/.installed

$(SPACY): $(VENV)/.installed knowledge/content/glossary.yml nlu/spacy_pipeline.py
	$(PY) -m nlu.spacy_pipeline

model: $(SPACY)
	$(PY) -m bot.cli train

# The answer bank's learned ranker (knowledge/content/answer_ranker.json, committed): retrained
# only when the answers or the code that reads them changed (--check compares fingerprints,
# about 3 s; training about 15 s). Not part of the Rasa model: its fingerprint leaves it out.
RANKER := knowledge/content/answer_ranker.json
$(RANKER): $(VENV)/.installed $(wildcard knowledge/content/answers/*.yml knowledge/content/answers/more_questions/*.yml) \
           scripts/train_answer_ranker.py knowledge/parents/ranker.py knowledge/parents/retrieval.py \
           knowledge/parents/search.py knowledge/text/spelling.py
	$(PY) scripts/train_answer_ranker.py --check || $(PY) scripts/train_answer_ranker.py
	@touch $@

db: $(VENV)/.installed
	$(PY) -m bot.cli setup

setup: venv $(SPACY) $(RANKER) model db

# --- the two commands ------------------------------------------------------------------

run: setup
	$(PY) -m bot.launcher

test: setup chromium
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m pytest
	$(PROD_TESTS)

# --- the production profile (a whole trust: see README) ---------------------------------

# PostgreSQL, Redis and nginx from Debian when missing; exit 3 when they can't be installed.
prod-services:
	@scripts/ensure-prod-services

run-prod: setup prod-services
	$(PY) -m bot.prod

# tests/prod is not in pytest's default collection (pyproject testpaths): it runs only here.
define PROD_TESTS
@scripts/ensure-prod-services; status=$$?; \
if [ $$status -eq 3 ]; then \
  echo "SKIPPED tests/prod: PostgreSQL, Redis and nginx are missing and could not be installed"; \
  exit 0; \
elif [ $$status -ne 0 ]; then exit $$status; fi; \
$(PY) -m pytest tests/prod
endef

test-prod: setup
	$(PROD_TESTS)

bench-scale: setup prod-services
	$(PY) -m bench.scale

# --- helpers ---------------------------------------------------------------------------

chromium:
	@scripts/ensure-chromium

lint:
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format:
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

bench: setup
	$(PY) -m bench.run

bench-booking: setup
	$(PY) -m bench.booking

bench-broadcast: setup
	$(PY) -m bench.broadcast

clean:
	rm -rf build models var .pytest_cache .ruff_cache
