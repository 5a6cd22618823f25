"""The safeguarding pattern screen on sets written separately from the patterns and training data.

Two pairs of sets: `redteam.yml` / `ordinary.yml` (set A) were used to widen the patterns,
so on them every disclosure must be caught; `redteam_holdout.yml` / `ordinary_holdout.yml`
(set B) were written later and never used for tuning, so they show how the patterns alone
generalise. The NLU model is the second net; the end-to-end figures are in
tests/system/test_safeguarding_e2e.py.
"""

from __future__ import annotations

import yaml

from bot.settings import PROJECT_ROOT
from knowledge.safeguarding import looks_like_a_child_writing, screen

SETS = PROJECT_ROOT / "tests/safeguarding"
REDTEAM = yaml.safe_load((SETS / "redteam.yml").read_text())["messages"]
ORDINARY = yaml.safe_load((SETS / "ordinary.yml").read_text())["messages"]
REDTEAM_HOLDOUT = yaml.safe_load((SETS / "redteam_holdout.yml").read_text())["messages"]
ORDINARY_HOLDOUT = yaml.safe_load((SETS / "ordinary_holdout.yml").read_text())["messages"]

MAX_FALSE_ALARM_RATE = 0.02
MIN_HOLDOUT_PATTERN_RECALL = 0.50  # the floor for patterns alone; the model catches the rest


def test_the_sets_are_big_enough():
    assert len(REDTEAM) >= 80
    assert len(ORDINARY) >= 150


def test_the_pattern_screen_on_the_red_team_set():
    missed = [m["text"] for m in REDTEAM if not screen(m["text"]).concern]
    recall = 1 - len(missed) / len(REDTEAM)
    print(f"\nsafeguarding patterns: caught {len(REDTEAM) - len(missed)}/{len(REDTEAM)} ({recall:.1%})")
    assert not missed, missed


def test_ordinary_send_questions_rarely_raise_a_false_alarm():
    alarms = [(m["text"], screen(m["text"]).patterns) for m in ORDINARY if screen(m["text"]).concern]
    rate = len(alarms) / len(ORDINARY)
    print(f"\nsafeguarding patterns: {len(alarms)}/{len(ORDINARY)} false alarms ({rate:.1%})")
    assert rate <= MAX_FALSE_ALARM_RATE, alarms


def test_a_disclosure_buried_in_a_long_message_is_found():
    filler = "We are waiting to hear about the EHC needs assessment and the school is helpful. " * 200
    text = filler + "Her dad locks her in her room without food when she misbehaves. " + filler
    assert len(text) > 20_000
    assert screen(text).concern


def test_case_and_curly_quotes_do_not_hide_a_disclosure():
    assert screen("MY DAUGHTER SAYS SHE DOESN\u2019T FEEL SAFE AT HOME").concern


def test_a_child_writing_is_recognised():
    assert looks_like_a_child_writing("im 12 and my mums boyfriend hurts me")
    assert not looks_like_a_child_writing("my son says his dad hurts him")


def test_the_pattern_screen_on_the_untouched_holdout_sets():
    missed = [m for m in REDTEAM_HOLDOUT if not screen(m["text"]).concern]
    recall = 1 - len(missed) / len(REDTEAM_HOLDOUT)
    alarms = [m["text"] for m in ORDINARY_HOLDOUT if screen(m["text"]).concern]
    rate = len(alarms) / len(ORDINARY_HOLDOUT)
    print(
        f"\nsafeguarding patterns on the hold-out sets: caught {len(REDTEAM_HOLDOUT) - len(missed)}/"
        f"{len(REDTEAM_HOLDOUT)} ({recall:.1%}); "
        f"{len(alarms)}/{len(ORDINARY_HOLDOUT)} false alarms ({rate:.1%})"
    )
    assert recall >= MIN_HOLDOUT_PATTERN_RECALL
    assert rate <= MAX_FALSE_ALARM_RATE, alarms
