"""The safeguarding pattern screen on sets written separately from the patterns and training data.

Set A, the development sets, were used to widen the patterns, so on them every disclosure must
be caught and at most 2% of ordinary questions may raise a false alarm:
- `redteam.yml` / `ordinary.yml`, the first pair;
- `redteam_dev2.yml` / `ordinary_dev2.yml`, written for the second review (physical harm by staff,
  coaches and a parent's partner or ex, euphemisms, buried disclosures, text-speak, exploitation,
  online grooming, neglect, indirect self-harm; meltdowns, restraint policy, idioms, staff bookings).
`redteam_holdout.yml` / `ordinary_holdout.yml` (set B) were written later and never used for
tuning, so they show how the patterns alone generalise. The NLU model is the second net; the
end-to-end figures are in tests/system/test_safeguarding_e2e.py.
"""

from __future__ import annotations

import dataclasses

import pytest
import yaml

from knowledge.safeguarding.screening import (
    load_patterns,
    load_spellings,
    looks_like_a_child_writing,
    normalise,
    screen,
)
from knowledge.shared.settings import PROJECT_ROOT

SETS = PROJECT_ROOT / "tests/safeguarding"
# Named one by one: other files in that folder are blind sets that must never tune the patterns.
REDTEAM_DEV_FILES = ("redteam.yml", "redteam_dev2.yml")
ORDINARY_DEV_FILES = ("ordinary.yml", "ordinary_dev2.yml")


def _messages(name: str) -> list[dict]:
    return yaml.safe_load((SETS / name).read_text())["messages"]


REDTEAM = _messages("redteam.yml")
ORDINARY = _messages("ordinary.yml")
REDTEAM_DEV = {name: _messages(name) for name in REDTEAM_DEV_FILES}
ORDINARY_DEV = {name: _messages(name) for name in ORDINARY_DEV_FILES}
REDTEAM_HOLDOUT = _messages("redteam_holdout.yml")
ORDINARY_HOLDOUT = _messages("ordinary_holdout.yml")

MAX_FALSE_ALARM_RATE = 0.02
MIN_HOLDOUT_PATTERN_RECALL = 0.50  # the floor for patterns alone; the model catches the rest


def test_the_sets_are_big_enough():
    assert len(REDTEAM) >= 80
    assert len(ORDINARY) >= 150
    assert len(REDTEAM_DEV["redteam_dev2.yml"]) >= 120
    assert len(ORDINARY_DEV["ordinary_dev2.yml"]) >= 150


@pytest.mark.parametrize("name", REDTEAM_DEV_FILES)
def test_the_pattern_screen_on_the_red_team_set(name):
    messages = REDTEAM_DEV[name]
    missed = [m["text"] for m in messages if not screen(m["text"]).concern]
    recall = 1 - len(missed) / len(messages)
    caught = len(messages) - len(missed)
    print(f"\nsafeguarding patterns, {name}: caught {caught}/{len(messages)} ({recall:.1%})")
    assert not missed, missed


@pytest.mark.parametrize("name", ORDINARY_DEV_FILES)
def test_ordinary_send_questions_rarely_raise_a_false_alarm(name):
    messages = ORDINARY_DEV[name]
    alarms = [(m["text"], screen(m["text"]).patterns) for m in messages if screen(m["text"]).concern]
    rate = len(alarms) / len(messages)
    print(f"\nsafeguarding patterns, {name}: {len(alarms)}/{len(messages)} false alarms ({rate:.1%})")
    assert rate <= MAX_FALSE_ALARM_RATE, alarms


def test_false_alarms_across_all_the_ordinary_development_sets():
    messages = [m for name in ORDINARY_DEV_FILES for m in ORDINARY_DEV[name]]
    alarms = [m["text"] for m in messages if screen(m["text"]).concern]
    assert len(alarms) / len(messages) <= MAX_FALSE_ALARM_RATE, alarms


def test_a_disclosure_buried_in_a_long_message_is_found():
    filler = "We are waiting to hear about the EHC needs assessment and the school is helpful. " * 200
    text = filler + "Her dad locks her in her room without food when she misbehaves. " + filler
    assert len(text) > 20_000
    assert screen(text).concern


def test_case_and_curly_quotes_do_not_hide_a_disclosure():
    assert screen("MY DAUGHTER SAYS SHE DOESN\u2019T FEEL SAFE AT HOME").concern


def test_text_speak_is_read_as_ordinary_spelling():
    spell = load_spellings().apply
    assert spell(normalise("im scared 2 go home rn")) == "i'm scared to go home right now"
    assert spell(normalise("ma stpdad keeps hittin me agen")) == "my stepdad keeps hitting me again"
    assert (
        spell(normalise("we're in year 2 and mums been gone 2 days"))
        == "we're in year 2 and mums been gone 2 days"
    )
    assert screen("me dad leathers me wen he's had a drink").concern


def test_a_child_hitting_out_in_a_meltdown_is_not_a_concern_but_an_adult_hitting_is():
    assert not screen("my son hits me when he's having a meltdown, how do other parents cope").concern
    assert not screen(
        "when he melts down he kicks me and hits his sister, is there a course for parents"
    ).concern
    assert screen("my stepdad hits me when i have a meltdown").concern
    assert screen("my son says his dad hits him when he has a meltdown").concern
    assert screen("the rugby coach grabbed my son by the neck and threw him to the ground").concern


def test_the_shortcut_never_changes_a_result():
    """Expressions are skipped when the message lacks every string they need; screening with
    the shortcut must agree with running every expression, on every development message."""
    every_expression = tuple(dataclasses.replace(p, needs=(), unless_needs=()) for p in load_patterns())
    texts = [m["text"] for sets in (REDTEAM_DEV, ORDINARY_DEV) for msgs in sets.values() for m in msgs]
    texts.append(" ".join(texts))  # one long message with everything in it
    for text in texts:
        assert screen(text) == screen(text, every_expression), text


def test_a_child_writing_is_recognised():
    assert looks_like_a_child_writing("im 12 and my mums boyfriend hurts me")
    assert not looks_like_a_child_writing("my son says his dad hits him")


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


# --- check first: probably a SEND need, but it can't be ruled out -------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "he punched his sister over the ipad, he has adhd, can he bring his fidget into assembly",
        "she's got a bruise on her cheek from the swings at the park, just letting you know",
        "my mum will kill me if i'm late again lol",
        "does the school teach independence skills like being home alone safely",
        "please remind staff the FGM awareness course is due by friday",
    ],
)
def test_a_match_in_a_send_or_harmless_context_is_checked_with_the_sender_first(text):
    screening = screen(text)
    assert screening.concern and screening.check_first


@pytest.mark.parametrize(
    "text",
    [
        "my son says his dad hits him with a belt",
        "he has meltdowns and his stepdad punches him when he does",  # an adult: no check
        "my stepdad hit me and left a bruise, i told school i fell off my bike",
        "mums boyfriend pushed her down the stairs and she has bruises, she has adhd",
        "my uncle touches me and says its our secret",
    ],
)
def test_an_adult_hurting_a_child_gets_the_full_reply_whatever_the_context(text):
    screening = screen(text)
    assert screening.concern and not screening.check_first


def test_a_huge_repeated_message_is_screened_whole():
    """Whose words they are is decided within the sentence around them (SENTENCE_REACH), never
    by searching the whole text again for each match: 100,000 characters once took 90 s of the
    server's time, now about 1 s (`make bench` prints the screen's figures)."""
    result = screen("i want to die " * 7200)
    assert result.concern and "self_harm" in result.groups
