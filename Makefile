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

.PHONY: help run test setup venv model db lint format bench bench-booking bench-broadcast chromium clean

help:
	@echo "make run    set up (venv, install, spaCy pipeline, train if needed, database) and start the bot"
	@echo "make test   the same set-up, then lint and the whole test suite"
	@echo "make bench  latency, throughput, memory and start-up figures against a stock Rasa assistant"
	@echo "make bench-booking  surgery booking: listing and booking latency, bookings/s, no double bookings"
	@echo "make bench-broadcast  a broadcast to 1,000 Telegram parents through a rate-limited fake: time vs the 30/s bound"

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

db: $(VENV)/.installed
	$(PY) -m bot.cli setup

setup: venv $(SPACY) model db

# --- the two commands ------------------------------------------------------------------

run: setup
	$(PY) -m bot.launcher

test: setup chromium
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m pytest

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
