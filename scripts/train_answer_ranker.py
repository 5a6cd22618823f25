"""Train the answer bank's learned ranker (knowledge/parents/ranker.py).

    .venv/bin/python scripts/train_answer_ranker.py          # train, write the JSON (about 15 s)
    .venv/bin/python scripts/train_answer_ranker.py --check  # is the JSON up to date? (exit 1 if not)
    .venv/bin/python scripts/train_answer_ranker.py --cv     # also: cross-validated top-1 on the bank

One linear SVM per answer (one-vs-rest) over the retrieval's own features of each way of
asking the answer's question, its title and its keywords: the answer bank's files only
(knowledge/content/answers/, with more_questions/). No test set, development or hold-out, is
read here. Only each answer's PRUNE_TO largest weights are kept, in hundredths, which keeps
the file small at little cost (see PRUNE_TO).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from knowledge.parents.articles import ANSWER, ArticleSpec, load_product_content  # noqa: E402
from knowledge.parents.ranker import RANKER_FILE, fingerprint, from_json, idf, joint_vector  # noqa: E402
from knowledge.parents.retrieval import (  # noqa: E402
    _WORD,
    Entry,
    _spelling_vocabulary,
    char_features,
    word_features,
)
from knowledge.text.spelling import Corrector  # noqa: E402

CONTENT_DIR = ROOT / "knowledge/content"
WORD_VIEW = 0.5  # the words' share against the character n-grams' (squared length)
C = 1.0
# Weights kept per answer, the largest by size: cross-validated top-1 on the bank 66.8% with
# 600 (2.8 MB of JSON), 67.8% with all 34,000 (about 40 MB), 62.7% with 300.
PRUNE_TO = 600
WEIGHT_SCALE = 100  # weights stored as whole hundredths: two decimals cost no ranking measurably
FOLDS = 5


def load_answers() -> list[ArticleSpec]:
    """The shipped answers, with their further ways of asking (as the database holds them)."""
    return [s for s in load_product_content(CONTENT_DIR) if s.kind == ANSWER]


def training_texts(answer: ArticleSpec) -> list[str]:
    """What the word search indexes of an answer as ways of asking it (not its answer text)."""
    return [t for t in (*answer.questions, answer.title, " ".join(answer.keywords)) if t.strip()]


def corrector(answers: list[ArticleSpec]) -> Corrector:
    """The word search's spelling corrector over the whole bank."""
    entries = [
        Entry(a.slug, a.topic, a.title, tuple(a.questions), tuple(a.keywords), _said(a)) for a in answers
    ]
    return Corrector(_spelling_vocabulary(entries))


def _said(answer: ArticleSpec) -> str:
    return " ".join((answer.summary, *answer.details))


def featurised(answers: list[ArticleSpec]) -> tuple[list[tuple[Counter, Counter]], list[int]]:
    """(word features, character features) of every training text, and whose answer it is."""
    spelling = corrector(answers)
    rows, labels = [], []
    for label, answer in enumerate(answers):
        for text in training_texts(answer):
            spelt = _WORD.sub(lambda m: spelling.correct(m.group(0)), text.lower())
            rows.append((word_features(spelt), char_features(spelt)))
            labels.append(label)
    return rows, labels


def trained_on(answers: list[ArticleSpec], rows: list[tuple[Counter, Counter]]) -> dict[str, str]:
    """What the weights were trained from: the answers' ways of asking, the features the
    retrieval's code makes of them, and the ranker's own code."""

    def digest(value: object) -> str:
        return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:16]

    return {
        "answers": digest([[a.slug, fingerprint(a.title, a.questions, a.keywords)] for a in answers]),
        "features": digest([[sorted(w.items()), sorted(c.items())] for w, c in rows]),
        "ranker": hashlib.sha256((ROOT / "knowledge/parents/ranker.py").read_bytes()).hexdigest()[:16],
    }


def document_frequencies(rows: list[tuple[Counter, Counter]]) -> tuple[Counter, Counter]:
    word_df, char_df = Counter(), Counter()
    for words, chars in rows:
        word_df.update(words.keys())
        char_df.update(chars.keys())
    return word_df, char_df


def fit(rows: list[tuple[Counter, Counter]], labels: list[int], answers: list[ArticleSpec]) -> dict:
    """The model as the JSON stores it."""
    import numpy as np
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.svm import LinearSVC

    word_df, char_df = document_frequencies(rows)
    documents = len(rows)
    word_idf = {t: idf(n, documents) for t, n in word_df.items()}
    char_idf = {t: idf(n, documents) for t, n in char_df.items()}
    vectoriser = DictVectorizer()
    x = vectoriser.fit_transform([joint_vector(w, c, word_idf, char_idf, WORD_VIEW) for w, c in rows])
    model = LinearSVC(C=C, random_state=0, max_iter=5000)
    model.fit(x, np.array(labels))
    names = vectoriser.feature_names_
    postings: dict[str, tuple[list[int], list[float]]] = {}
    for label, row in enumerate(model.coef_):
        for column in np.argsort(-np.abs(row), kind="stable")[:PRUNE_TO]:
            weight = round(float(row[column]) * WEIGHT_SCALE)
            if weight:
                classes, weights = postings.setdefault(names[column], ([], []))
                classes.append(label)
                weights.append(weight)
    return {
        "word_view": WORD_VIEW,
        "documents": documents,
        "df": {"w": dict(sorted(word_df.items())), "c": dict(sorted(char_df.items()))},
        "answers": [
            {
                "slug": a.slug,
                "fingerprint": fingerprint(a.title, a.questions, a.keywords),
                "bias": round(float(b), 4),
            }
            for a, b in zip(answers, model.intercept_, strict=True)
        ],
        "weight_scale": WEIGHT_SCALE,
        "weights": {name: [classes, weights] for name, (classes, weights) in sorted(postings.items())},
        "settings": {"c": C, "prune_to": PRUNE_TO, "model": "LinearSVC one-vs-rest"},
    }


def cross_validated_top1(answers: list[ArticleSpec], rows: list, labels: list[int]) -> float:
    """Top-1 of the learned ranker alone on held-out ways of asking (each answer's texts in FOLDS)."""
    import numpy as np

    rng = random.Random(7)
    by_label: dict[int, list[int]] = {}
    for i, label in enumerate(labels):
        by_label.setdefault(label, []).append(i)
    fold_of = {}
    for members in by_label.values():
        rng.shuffle(members)
        fold_of.update({i: k % FOLDS for k, i in enumerate(members)})
    right = 0
    for fold in range(FOLDS):
        train = [i for i in range(len(rows)) if fold_of[i] != fold]
        ranker = from_json(fit([rows[i] for i in train], [labels[i] for i in train], answers))
        for i in (i for i in range(len(rows)) if fold_of[i] == fold):
            right += int(np.argmax(ranker.margins(*rows[i]))) == labels[i]
    return right / len(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when the JSON is stale; write nothing")
    parser.add_argument("--cv", action="store_true", help="print cross-validated top-1 (about a minute)")
    args = parser.parse_args()
    started = time.monotonic()
    answers = load_answers()
    rows, labels = featurised(answers)
    fresh = trained_on(answers, rows)
    if args.check:
        stored = (
            json.loads(RANKER_FILE.read_text(encoding="utf-8")).get("trained_on")
            if RANKER_FILE.exists()
            else None
        )
        print("answer ranker up to date" if stored == fresh else "answer ranker stale: retrain")
        return 0 if stored == fresh else 1
    print(f"{len(answers)} answers, {len(rows)} ways of asking, titles and keyword lists")
    if args.cv:
        top1 = cross_validated_top1(answers, rows, labels)
        print(f"cross-validated top-1 (learned alone, {FOLDS} folds): {top1:.1%}")
    model = fit(rows, labels, answers)
    model["trained_on"] = fresh
    RANKER_FILE.write_text(json.dumps(model, sort_keys=True, separators=(",", ":")) + "\n", encoding="utf-8")
    kept = sum(len(classes) for classes, _ in model["weights"].values())
    print(
        f"wrote {RANKER_FILE.relative_to(ROOT)} ({RANKER_FILE.stat().st_size // 1024} KB, {kept} weights)"
        f" in {time.monotonic() - started:.0f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
