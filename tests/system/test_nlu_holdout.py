"""Intent quality on messages written separately from the training data.

The hold-out sets (tests/nlu/holdout*.yml: parents' questions, staff on Slack) are never
trained on. The figure is printed
and written to results/nlu_holdout.json; the build fails below macro-F1 0.90.
"""

from __future__ import annotations

import json
from collections import Counter

import httpx
import yaml
from sklearn.metrics import classification_report, f1_score

from knowledge.shared.settings import PROJECT_ROOT

MIN_MACRO_F1 = 0.90
CANT_HELP = "out_of_scope"  # a fallback and an out-of-scope reply are the same honest answer


def _examples(path) -> list[tuple[str, str]]:
    data = yaml.safe_load(path.read_text())
    return [
        (line.strip()[2:].strip(), block["intent"])
        for block in data["nlu"]
        for line in block["examples"].splitlines()
        if line.strip().startswith("- ")
    ]


# Sets gated at MIN_MACRO_F1. The broadcast hold-outs are scored on their own: set A
# (tests/nlu/holdout_broadcasts.yml, written deliberately in other words than the training
# data) went from 14/48 to 38/48 on 2026-11-23 once paraphrase families were added to the
# training data (nlu/training/broadcasts_more.yml); set B (holdout_broadcasts_b.yml, written
# blind by a helper afterwards) scored 71/80 at its first run. Never train on either.
GATED = ("holdout.yml", "holdout_staff.yml", "holdout_staff_b.yml")
BROADCASTS = ("holdout_broadcasts.yml", "holdout_broadcasts_b.yml")
MIN_BROADCAST_ACCURACY = 0.75


def holdout(sets: tuple[str, ...] = GATED) -> list[tuple[str, str]]:
    """Hold-out messages, minus any that also appear word for word in the training data
    (short ones such as "hi" or "thank you" can coincide although written separately)."""
    training = {
        text.lower() for path in (PROJECT_ROOT / "nlu/training").glob("*.yml") for text, _ in _examples(path)
    }
    everything = [
        example
        for path in sorted((PROJECT_ROOT / "tests/nlu").glob("holdout*.yml"))
        if path.name in sets
        for example in _examples(path)
    ]
    return [(text, intent) for text, intent in everything if text.lower() not in training]


def test_holdout_set_has_at_least_150_messages_not_in_the_training_data():
    examples = holdout()
    assert len(examples) >= 250
    assert len({intent for _, intent in examples}) >= 33


def test_intent_macro_f1_on_the_holdout_set(bot):
    examples = holdout()
    truth, predicted = [], []
    with httpx.Client(timeout=30) as client:
        for text, intent in examples:
            response = client.post(
                f"{bot.rasa_url}/model/parse", params={"token": bot.api_token}, json={"text": text}
            )
            response.raise_for_status()
            name = response.json()["intent"]["name"]
            truth.append(intent)
            predicted.append(CANT_HELP if name == "nlu_fallback" else name)
    labels = sorted(set(truth))
    macro_f1 = f1_score(truth, predicted, labels=labels, average="macro", zero_division=0)
    errors = Counter((t, p) for t, p in zip(truth, predicted, strict=True) if t != p)
    report = classification_report(truth, predicted, labels=labels, zero_division=0)
    results = PROJECT_ROOT / "results"
    results.mkdir(exist_ok=True)
    (results / "nlu_holdout.json").write_text(
        json.dumps(
            {
                "examples": len(examples),
                "macro_f1": round(macro_f1, 4),
                "errors": [
                    {"text": text, "expected": t, "predicted": p}
                    for (text, _), t, p in zip(examples, truth, predicted, strict=True)
                    if t != p
                ],
            },
            indent=2,
        )
    )
    print(f"\nNLU hold-out: {len(examples)} messages, intent macro-F1 = {macro_f1:.3f}\n{report}")
    print("Most common confusions:", errors.most_common(8))
    assert macro_f1 >= MIN_MACRO_F1


def test_the_broadcast_holdout_is_measured_and_does_not_get_worse(bot):
    examples = holdout(BROADCASTS)
    right = 0
    with httpx.Client(timeout=30) as client:
        for text, intent in examples:
            response = client.post(
                f"{bot.rasa_url}/model/parse", params={"token": bot.api_token}, json={"text": text}
            )
            right += response.json()["intent"]["name"] == intent
    accuracy = right / len(examples)
    print(f"\nNLU broadcast hold-out: {right}/{len(examples)} right ({accuracy:.1%})")
    assert accuracy >= MIN_BROADCAST_ACCURACY
