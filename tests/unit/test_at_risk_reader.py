"""The at-risk screen's second reader (knowledge/safeguarding/reader.py): what it adds, what it never does.

The reader's quality is measured on the blind hold-out sets through the real REST channel
(tests/system/test_at_risk_e2e.py); these tests pin its contract with the screen.
"""

from __future__ import annotations

import importlib.util
import json
import sys

import pytest
import yaml

from knowledge.safeguarding import reader as at_risk_reader
from knowledge.safeguarding import screening as safeguarding
from knowledge.safeguarding.reader import READER_FILE, features, load_reader, passages, words_of
from knowledge.shared.settings import PROJECT_ROOT

DEV_SETS = PROJECT_ROOT / "tests/safeguarding"


def _training_script():
    path = PROJECT_ROOT / "scripts/train_at_risk_reader.py"
    spec = importlib.util.spec_from_file_location("train_reader", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["train_reader"] = module  # its dataclasses look themselves up there
    spec.loader.exec_module(module)
    return module


def test_the_weights_were_trained_on_todays_data_and_code():
    stored = json.loads(READER_FILE.read_text(encoding="utf-8"))["trained_on"]
    assert stored == _training_script().trained_on(), (
        "stale weights: run `.venv/bin/python scripts/train_at_risk_reader.py` and commit the JSON"
    )


def test_the_hold_out_sets_are_never_training_data():
    script = _training_script()
    for path in script.AT_RISK_SETS + script.ORDINARY_SETS + script.RED_TEAM_SETS:
        assert "holdout" not in path.name


def test_every_alarm_group_has_a_threshold_no_lower_than_a_coin_toss_would_allow():
    reader = load_reader()
    for group in at_risk_reader.READER_GROUPS:
        assert 0.3 <= reader.groups[group].threshold < 1.0


def test_words_are_read_the_way_the_patterns_read_them():
    assert words_of("Im SOOO tired, cant go on") == ["i'm", "so", "tired", "can't", "go", "on"]


def test_a_long_message_is_read_whole_and_two_sentences_at_a_time():
    text = "We got the draft plan. Is it 15 days? I cannot go on. What about transport?"
    read = passages(text)
    assert read[0] == words_of(text)
    assert ["is", "it", "15", "days", "i", "cannot", "go", "on"] in read
    assert len(read) == 1 + 3
    assert passages("One sentence only") == [["one", "sentence", "only"]]


def test_training_reads_each_message_with_the_readers_own_features():
    """Train and run time must see the same features, or the weights mean nothing at run time."""
    script = _training_script()
    text = "We got the draft plan. Is it 15 days? I cannot go on. What about transport?"
    ordinary = script.Example(text, frozenset(), True)
    rows, labels = script._training_rows([ordinary], "self_harm")
    assert rows == [features(p) for p in passages(text)] and labels == [0] * len(rows)
    at_risk = script.Example(text, frozenset({"self_harm"}), False)
    assert script._training_rows([at_risk], "self_harm") == ([features(words_of(text))], [1])


def test_letter_pieces_are_read_within_words_never_across_them():
    found = features(["kill", "time"])
    assert {"w:kill", "b:kill time", "c:<kil", "c:kill>", "c:<time", "c:ime>"} <= found
    assert not any(f.startswith("c:") and " " in f for f in found)
    assert "s:i time" in features(["i", "kill", "time"])  # a pair one word apart


@pytest.mark.parametrize(
    "misspelt",
    [
        "honestly been feeling suicidle for weeks and cant see a way out",
        "i've been self harmin again since the annual review",
    ],
)
def test_a_misspelt_disclosure_is_still_read_by_the_pieces_of_its_words(misspelt):
    screening = safeguarding.screen(misspelt, patterns=())
    assert "self_harm" in screening.groups and screening.patterns == ("at_risk_reader",)


@pytest.mark.parametrize("nothing", ["", "   ", None, 42, ["i want to die"]])
def test_nothing_to_read_is_no_concern(nothing):
    reading = at_risk_reader.read(nothing)
    assert reading.groups == () and not reading.about_harm and not reading.nothing_like_harm


def test_the_reader_alone_raises_a_concern_for_the_group_it_reads():
    text = "been thinking the kids would cope better with their dad if i just wasn't here"
    screening = safeguarding.screen(text, patterns=())
    assert screening.concern and "self_harm" in screening.groups
    assert screening.patterns == ("at_risk_reader",)
    assert not screening.check_first  # someone at risk gets the reply at once


def test_without_the_reader_the_patterns_alone_decide():
    text = "been thinking the kids would cope better with their dad if i just wasn't here"
    assert not safeguarding.screen(text, patterns=(), reading=False).concern


def test_the_reader_only_ever_adds_to_what_the_patterns_found():
    for name in ("at_risk_dev.yml", "redteam_dev2.yml", "ordinary_at_risk_dev.yml"):
        for message in yaml.safe_load((DEV_SETS / name).read_text())["messages"]:
            alone = safeguarding.screen(message["text"], reading=False)
            both = safeguarding.screen(message["text"])
            assert set(alone.groups) <= set(both.groups), message["text"]
            assert set(alone.patterns) <= set(both.patterns)
            assert both.concern or not alone.concern
