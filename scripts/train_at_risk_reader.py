"""Train the at-risk screen's second reader (knowledge/safeguarding/reader.py).

    .venv/bin/python scripts/train_at_risk_reader.py          # train, report, write the JSON
    .venv/bin/python scripts/train_at_risk_reader.py --check  # report only

Trains one logistic regression per group (the writer at risk of suicide or self-harm, someone
in danger now, abuse at home) over words, word pairs and letter pieces of words (the reader's
`features`), from the training corpora in
data/screen/, the development sets in tests/safeguarding/ and the NLU examples (every intent
but safeguarding_concern, as ordinary messages). The hold-out sets are never read here.
Each ordinary message's runs of two sentences are ordinary examples too: the reader scores a
long message by its highest passage, so a passage of an ordinary message must read as ordinary.

Each group's threshold comes from 5-fold cross-validation: the lowest probability at which at
most TARGET_FALSE_ALARMS of the ordinary messages in the held-out folds cross it, so the
threshold reflects messages the model has not seen. Prints recall and false alarms per group.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from knowledge.safeguarding.reader import (  # noqa: E402
    ABOUT_HARM,
    READER_FILE,
    READER_GROUPS,
    Reader,
    _Group,
    features,
    passages,
)
from knowledge.safeguarding.screening import PATTERNS_FILE, screen  # noqa: E402

AT_RISK_SETS = sorted(ROOT.glob("data/screen/at_risk_train_*.yml")) + [
    ROOT / "tests/safeguarding/at_risk_dev.yml",
    ROOT / "tests/safeguarding/at_risk_dev2.yml",
    ROOT / "tests/safeguarding/at_risk_dev3.yml",
    ROOT / "tests/safeguarding/at_risk_dev4.yml",
    ROOT / "tests/safeguarding/at_risk_dev5.yml",
    ROOT / "tests/safeguarding/at_risk_dev6.yml",
    ROOT / "tests/safeguarding/at_risk_dev7.yml",
    ROOT / "tests/safeguarding/at_risk_dev8.yml",
]
ORDINARY_SETS = sorted(ROOT.glob("data/screen/ordinary_train_*.yml")) + [
    ROOT / "tests/safeguarding/ordinary_at_risk_dev.yml",
    ROOT / "tests/safeguarding/ordinary.yml",
    ROOT / "tests/safeguarding/ordinary_dev2.yml",
    ROOT / "tests/safeguarding/ordinary_at_risk_dev2.yml",
    ROOT / "tests/safeguarding/ordinary_at_risk_dev3.yml",
    ROOT / "tests/safeguarding/ordinary_at_risk_dev4.yml",
    ROOT / "tests/safeguarding/ordinary_at_risk_dev5.yml",
    ROOT / "tests/safeguarding/ordinary_at_risk_dev6.yml",
    ROOT / "tests/safeguarding/ordinary_at_risk_dev7.yml",
    ROOT / "tests/safeguarding/ordinary_at_risk_dev8.yml",
    # the answers issue's development sets: long, rambling SEND questions and everyday messages
    # (2026-12-07: the reader read a hospital stay and an attendance letter as danger now)
    ROOT / "tests/answers/questions_dev.yml",
    ROOT / "tests/answers/offtopic_dev.yml",
    ROOT / "tests/answers/offtopic_dev2.yml",
    # the answers hold-outs 1 and 2, used up and now development sets (2026-12-07)
    ROOT / "tests/answers/questions_dev2.yml",
    ROOT / "tests/answers/questions_dev3.yml",
    ROOT / "tests/answers/offtopic_dev3.yml",
    ROOT / "tests/answers/offtopic_dev4.yml",
    # the answers hold-out 3, used up and now development sets (2026-12-08)
    ROOT / "tests/answers/questions_dev4.yml",
    ROOT / "tests/answers/offtopic_dev5.yml",
]
# Disclosures about a child (development sets): kinds that say who is at risk map to groups;
# the rest are about a child, not the writer, and teach the reader nothing about these groups.
RED_TEAM_SETS = [ROOT / "tests/safeguarding/redteam.yml", ROOT / "tests/safeguarding/redteam_dev2.yml"]
RED_TEAM_GROUPS = {"domestic_violence": "domestic_abuse", "missing_child": "danger_now"}
RED_TEAM_UNCLEAR = {"self_harm", "suicide", "not_safe_at_home"}
NLU_DIR = ROOT / "nlu/training"
TARGET_FALSE_ALARMS = 0.002
# `about_harm` gates the check question, so its threshold keeps nearly every disclosure.
ABOUT_HARM_RECALL = 0.97
# A pattern match the reader finds nothing like harm in is asked about first; this share of the
# disclosures the patterns catch may be asked first (they still get the reply on "yes").
CONFIRM_LOSS = 0.002
FOLDS = 5
MIN_WEIGHT = 0.02  # smaller weights change no decision and only make the file larger
C_CHOICES = (4.0, 16.0)
# A letter piece counts this much of a word in training: a word has many pieces, and at full
# value they would outweigh the words under the same regularisation. The stored weight is the
# learned one times this, so reading a message stays a plain sum over its features.
PIECE_VALUE = 0.5
_ENTITY = re.compile(r"\[([^\]]+)\]\([^)]+\)|\[([^\]]+)\]\{[^}]+\}")


def _nlu_examples() -> list[tuple[str, bool]]:
    """(text, is a safeguarding concern) for every NLU training example."""
    found = []
    for path in sorted(NLU_DIR.glob("*.yml")):
        for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu") or []:
            if "intent" not in block:
                continue
            for line in (block.get("examples") or "").splitlines():
                line = line.strip()
                if line.startswith("- "):
                    text = _ENTITY.sub(lambda m: m.group(1) or m.group(2), line[2:]).strip()
                    if text:
                        found.append((text, block["intent"] == "safeguarding_concern"))
    return found


def _messages(path: Path) -> list[dict]:
    loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    return loaded.get("messages") or loaded["questions"]


@dataclass(frozen=True)
class Example:
    text: str
    groups: frozenset[str]  # the groups it belongs to
    ordinary: bool  # nobody at risk: what a false alarm is counted on
    unknown: frozenset[str] = frozenset()  # groups it is not labelled for: left out of their training


def load_examples() -> list[Example]:
    examples = []
    for path in AT_RISK_SETS:
        for m in _messages(path):
            kinds = m["kind"] if isinstance(m["kind"], list) else [m["kind"]]
            examples.append(
                Example(m["text"], frozenset({ABOUT_HARM, *(k for k in kinds if k in READER_GROUPS)}), False)
            )
    for path in RED_TEAM_SETS:
        for m in _messages(path):
            kind = m["kind"]
            group = RED_TEAM_GROUPS.get(kind)
            unknown = frozenset({"self_harm"}) if kind in RED_TEAM_UNCLEAR else frozenset()
            examples.append(
                Example(m["text"], frozenset({ABOUT_HARM, *([group] if group else [])}), False, unknown)
            )
    for path in ORDINARY_SETS:
        examples.extend(Example(m["text"], frozenset(), True) for m in _messages(path))
    for text, concern in _nlu_examples():
        if concern:  # a disclosure, not labelled with who is at risk
            examples.append(Example(text, frozenset({ABOUT_HARM}), False, frozenset(READER_GROUPS)))
        else:
            examples.append(Example(text, frozenset(), True))
    return examples


def trained_on() -> dict[str, str]:
    """What the weights were trained from: each file's hash, and the screen's spellings."""
    files = AT_RISK_SETS + ORDINARY_SETS + RED_TEAM_SETS + sorted(NLU_DIR.glob("*.yml"))
    hashes = {str(p.relative_to(ROOT)): hashlib.sha256(p.read_bytes()).hexdigest()[:16] for p in files}
    spellings = yaml.safe_load(PATTERNS_FILE.read_text(encoding="utf-8")).get("spellings")
    hashes["spellings"] = hashlib.sha256(json.dumps(spellings, sort_keys=True).encode()).hexdigest()[:16]
    hashes["reader"] = hashlib.sha256((ROOT / "knowledge/safeguarding/reader.py").read_bytes()).hexdigest()[
        :16
    ]
    return hashes


def _value(feature: str) -> float:
    return PIECE_VALUE if feature.startswith("c:") else 1.0


def _fit(texts_features: list[frozenset[str]], labels: list[int], c: float) -> _Group:
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression

    vectoriser = DictVectorizer()
    x = vectoriser.fit_transform([{f: _value(f) for f in found} for found in texts_features])
    model = LogisticRegression(C=c, class_weight="balanced", solver="liblinear", max_iter=1000)
    model.fit(x, labels)
    stored = (
        (name, round(float(w) * _value(name), 4))
        for name, w in zip(vectoriser.feature_names_, model.coef_[0], strict=True)
    )
    weights = {name: w for name, w in stored if abs(w) >= MIN_WEIGHT}
    return _Group(bias=round(float(model.intercept_[0]), 4), threshold=0.5, weights=weights)


@cache
def _passage_features(text: str) -> tuple[frozenset[str], ...]:
    """The features of each passage the reader reads (the whole message first), computed once
    per text for all the folds and groups, by the reader's own code."""
    return tuple(frozenset(features(p)) for p in passages(text))


def _training_rows(examples: list[Example], group: str) -> tuple[list[frozenset[str]], list[int]]:
    """Each example whole with its label, and each ordinary example's passages as ordinary."""
    rows, labels = [], []
    for example in examples:
        whole, *parts = _passage_features(example.text)
        rows.append(whole)
        labels.append(int(group in example.groups))
        if example.ordinary:
            rows.extend(parts)
            labels.extend(0 for _ in parts)
    return rows, labels


def _threshold(group: str, ordinary: list[float], positives: list[float]) -> float:
    if group == ABOUT_HARM:  # keep ABOUT_HARM_RECALL of the disclosures above it
        ordered = sorted(positives)
        return ordered[int(len(ordered) * (1 - ABOUT_HARM_RECALL))]
    ordered = sorted(ordinary, reverse=True)
    allowed = int(len(ordered) * TARGET_FALSE_ALARMS)
    return min(0.99, max(0.3, ordered[allowed] + 1e-4))


def out_of_fold(examples: list[Example], group: str, c: float) -> dict[int, float]:
    """Each example's probability from a model trained on the other folds."""
    rng = random.Random(7)
    order = list(range(len(examples)))
    rng.shuffle(order)
    scores: dict[int, float] = {}
    for fold in range(FOLDS):
        held = set(order[fold::FOLDS])
        model = _fit(*_training_rows([examples[i] for i in order if i not in held], group), c)
        reader = Reader(groups={group: model})
        for i in held:
            scores[i] = reader.probabilities(examples[i].text)[group]
    return scores


def _confirm_floor(examples: list[Example], scores: dict[int, float], screened: list) -> float:
    """Below this `about_harm` probability a pattern match is asked about first: the lowest
    that keeps all but CONFIRM_LOSS of the disclosures the patterns catch."""
    caught = sorted(scores[i] for i, e in enumerate(examples) if not e.ordinary and screened[i].concern)
    floor = caught[int(len(caught) * CONFIRM_LOSS)]
    asked = [scores[i] for i, e in enumerate(examples) if e.ordinary and screened[i].concern]
    print(
        f"    confirm floor {floor:.4f}: {sum(s < floor for s in caught)}/{len(caught)} caught disclosures"
        f" asked first; {sum(s < floor for s in asked)}/{len(asked)} ordinary pattern alarms asked instead"
    )
    return floor


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report only; do not write the weights")
    args = parser.parse_args()
    examples = load_examples()
    screened = [screen(e.text, reading=False) for e in examples]
    print(f"{len(examples)} examples: {sum(e.ordinary for e in examples)} ordinary")
    groups = {}
    for group in (*READER_GROUPS, ABOUT_HARM):
        labelled = [i for i, e in enumerate(examples) if group not in e.unknown]
        best = None
        for c in C_CHOICES:
            oof = out_of_fold([examples[i] for i in labelled], group, c)
            scores = {labelled[k]: v for k, v in oof.items()}
            ordinary = [scores[i] for i in labelled if examples[i].ordinary]
            positives = [i for i in labelled if group in examples[i].groups]
            threshold = _threshold(group, ordinary, [scores[i] for i in positives])
            recall = sum(scores[i] >= threshold for i in positives) / len(positives)
            alarms = sum(s >= threshold for s in ordinary)
            print(
                f"  {group:15} C={c:<4} threshold {threshold:.3f}  recall {recall:.3f}"
                f"  alarms {alarms}/{len(ordinary)}"
            )
            if group != ABOUT_HARM:  # with the patterns: what the screen as a whole reaches
                by_patterns = sum(group in screened[i].groups for i in positives)
                either = sum(group in screened[i].groups or scores[i] >= threshold for i in positives)
                print(
                    f"    patterns alone {by_patterns}/{len(positives)},"
                    f" patterns or reader {either}/{len(positives)}"
                )
            if best is None or (alarms < best[3] if group == ABOUT_HARM else recall > best[2]):
                best = (c, threshold, recall, alarms, scores)
        c, threshold, recall, _, scores = best
        model = _fit(*_training_rows([examples[i] for i in labelled], group), c)
        groups[group] = {
            "bias": model.bias,
            "threshold": round(threshold, 4),
            "c": c,
            "weights": model.weights,
        }
        if group == ABOUT_HARM:
            groups[group]["confirm"] = round(_confirm_floor(examples, scores, screened), 4)
        print(f"{group}: C={c}, threshold {threshold:.3f}, cross-validated recall {recall:.3f}")
    if not args.check:
        READER_FILE.write_text(
            json.dumps({"trained_on": trained_on(), "groups": groups}, sort_keys=True, separators=(",", ":"))
            + "\n",
            encoding="utf-8",
        )
        print(f"wrote {READER_FILE.relative_to(ROOT)} ({READER_FILE.stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
