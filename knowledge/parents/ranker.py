"""A learned ranker for the answer bank: one linear model per answer over the words the
retrieval reads (words and word pairs, and character n-grams inside words).

Why: TF-IDF compares a message with each way of asking on its own and weighs every shared
word by its rarity. A linear model trained on all of an answer's ways of asking learns which
words tell *this* answer from its neighbours ("refuse" and "assess" for a refusal to assess,
not "assessment" alone). Cross-validated on the bank's own 5,686 ways of asking it puts the
right answer first for 66% of held-out ones against TF-IDF's 59%. It only reorders the
candidates the words find (`knowledge.parents.retrieval`); how sure a match is stays the
TF-IDF score, so the thresholds keep the meaning they were measured with.

The weights are trained by `scripts/train_answer_ranker.py` (scikit-learn, at build time) and
stored as plain JSON (`knowledge/content/answer_ranker.json`), so scoring needs no
machine-learning library: a sparse dot product. Each answer is stored with a fingerprint of
its title, ways of asking and keywords; an answer whose fingerprint differs (edited since
training, a school's own answer, a test's bank) has no learned score, and the TF-IDF word
search alone places it.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from knowledge.shared.settings import PROJECT_ROOT

RANKER_FILE = PROJECT_ROOT / "knowledge/content/answer_ranker.json"


def fingerprint(title: str, questions: Sequence[str], keywords: Sequence[str]) -> str:
    """What an answer was trained from, in 12 hex digits: the learned score is used only
    for an answer asked exactly the ways it was trained on."""
    raw = json.dumps([title, list(questions), list(keywords)], ensure_ascii=False)
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:12]


def idf(document_frequency: int, documents: int) -> float:
    """Smoothed inverse document frequency (scikit-learn's, and the retrieval's)."""
    return math.log((1 + documents) / (1 + document_frequency)) + 1.0


def tf_idf(features: Counter, idfs: dict[str, float]) -> dict[str, float]:
    """Sublinear TF-IDF over the features the model knows, unit length (as trained)."""
    vector = {t: (1.0 + math.log(c)) * idfs[t] for t, c in features.items() if c > 0 and t in idfs}
    norm = math.sqrt(sum(w * w for w in vector.values())) or 1.0
    return {t: w / norm for t, w in vector.items()}


def joint_vector(
    word_feats: Counter,
    char_feats: Counter,
    word_idf: dict[str, float],
    char_idf: dict[str, float],
    word_view: float,
) -> dict[str, float]:
    """The two views side by side, the words' weighted `word_view` (squared length)."""
    words, chars = math.sqrt(word_view), math.sqrt(1.0 - word_view)
    vector = {f"w:{t}": words * w for t, w in tf_idf(word_feats, word_idf).items()}
    vector.update({f"c:{t}": chars * w for t, w in tf_idf(char_feats, char_idf).items()})
    return vector


@dataclass(frozen=True)
class AnswerRanker:
    """The trained weights: per feature, the answers it counts for and by how much, held as one
    compressed sparse row matrix (a feature's row, then its answers and weights between
    `starts[row]` and `starts[row + 1]`): about a third of the memory of an array pair each."""

    slugs: tuple[str, ...]
    fingerprints: tuple[str, ...]
    bias: np.ndarray
    word_idf: dict[str, float]
    char_idf: dict[str, float]
    word_view: float
    rows: dict[str, int]
    starts: np.ndarray
    classes: np.ndarray
    weights: np.ndarray

    def margins(self, word_feats: Counter, char_feats: Counter) -> np.ndarray:
        """Each trained answer's margin for a message's features (above 0: the model's pick)."""
        scores = self.bias.copy()
        vector = joint_vector(word_feats, char_feats, self.word_idf, self.char_idf, self.word_view)
        for feature, value in vector.items():
            row = self.rows.get(feature)
            if row is not None:
                start, end = self.starts[row], self.starts[row + 1]
                scores[self.classes[start:end]] += value * self.weights[start:end]  # an answer once a row
        return scores

    def classes_for(self, answers: Iterable[tuple[str, str]]) -> list[int | None]:
        """For each (slug, fingerprint), the trained answer it is, or None: an answer added or
        edited since training is placed by the word search alone."""
        trained = {(s, f): i for i, (s, f) in enumerate(zip(self.slugs, self.fingerprints, strict=True))}
        return [trained.get(key) for key in answers]


def from_json(raw: dict) -> AnswerRanker:
    answers = raw["answers"]
    word_df, char_df, documents = raw["df"]["w"], raw["df"]["c"], raw["documents"]
    scale = float(raw["weight_scale"])  # weights are stored as whole multiples of 1/scale
    features = list(raw["weights"].items())
    lengths = [len(classes) for _, (classes, _) in features]
    return AnswerRanker(
        slugs=tuple(a["slug"] for a in answers),
        fingerprints=tuple(a["fingerprint"] for a in answers),
        bias=np.array([a["bias"] for a in answers], dtype=np.float64),
        word_idf={t: idf(df, documents) for t, df in word_df.items()},
        char_idf={t: idf(df, documents) for t, df in char_df.items()},
        word_view=raw["word_view"],
        rows={feature: row for row, (feature, _) in enumerate(features)},
        starts=np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
        classes=np.array([c for _, (classes, _) in features for c in classes], dtype=np.int32),
        weights=np.array([w for _, (_, weights) in features for w in weights], dtype=np.float64) / scale,
    )


@lru_cache(maxsize=2)
def load_ranker(path: Path = RANKER_FILE) -> AnswerRanker | None:
    """The trained ranker, or None where none has been trained (the word search works alone)."""
    if not path.exists():
        return None
    return from_json(json.loads(path.read_text(encoding="utf-8")))
