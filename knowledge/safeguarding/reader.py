"""A second reader for the at-risk screen: a small linear model over words, word pairs and word pieces.

Why: the patterns (`knowledge/content/safeguarding_patterns.yml`) catch the wordings someone
thought of; people at risk write in ways nobody listed ("the kids would cope better if I
wasn't around", "he's got my bank card and my phone again"). This reader learned, from a few
thousand written examples, which words, word pairs and pieces of words make a message read as
the writer at risk of suicide or self-harm, someone in danger now, or abuse at home. It only ever adds a
group the patterns missed; it never clears one.

The weights are trained by `scripts/train_at_risk_reader.py` (scikit-learn, at build time) and
stored as plain JSON (`knowledge/content/at_risk_reader.json`), so reading a message needs no
machine-learning library: a sum of weights and a logistic. Each group's threshold was chosen
on held-out folds so that ordinary messages (everyday SEND questions and off-topic messages
with alarming-sounding words) almost never cross it.

A long message is read whole and sentence by sentence (in windows of two), because a
disclosure buried inside an EHCP question is a few words among many ordinary ones.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from knowledge.safeguarding.screening import load_spellings, normalise
from knowledge.shared.settings import PROJECT_ROOT

READER_FILE = PROJECT_ROOT / "knowledge/content/at_risk_reader.json"
READER_GROUPS = ("danger_now", "self_harm", "domestic_abuse")
# Not a group: whether a message reads as being about harm, risk or someone's safety at all
# (any disclosure); gates the check question the NLU model alone would ask.
ABOUT_HARM = "about_harm"

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_SENTENCE_END = re.compile(r"[.?!\n;]")
# Far beyond any real message (the bot answers the first 1,000 characters): bounds the work.
MAX_READ_CHARS = 20_000
# Lengths of the letter pieces read within each word (with its start and end marked).
LETTER_PIECES = (4, 5)
# Apostrophe-less spellings people type, written one way so that "im" and "i'm" are one word.
_CONTRACTIONS = {
    "im": "i'm",
    "ive": "i've",
    "id": "i'd",
    "ill": "i'll",
    "dont": "don't",
    "cant": "can't",
    "wont": "won't",
    "didnt": "didn't",
    "doesnt": "doesn't",
    "isnt": "isn't",
    "wasnt": "wasn't",
    "hes": "he's",
    "shes": "she's",
    "theyre": "they're",
    "hasnt": "hasn't",
    "havent": "haven't",
    "couldnt": "couldn't",
    "wouldnt": "wouldn't",
}


def words_of(text: str) -> list[str]:
    """The message's words as the screen sees them (lower case, common misspellings fixed)."""
    return _words(load_spellings().apply(normalise(text)))


def _words(lowered: str) -> list[str]:
    return [_CONTRACTIONS.get(w, w) for w in _WORD.findall(lowered)]


def features(words: list[str]) -> set[str]:
    """Words, adjacent word pairs ("kill myself" apart from "kill time"), pairs one word apart
    ("took my tablets" and "took the tablets" share "took _ tablets"), and each word's 4- and
    5-letter pieces, so that a typo or a slang form ("suicidle", "self harmin") still shares most
    of what the reader learned from the spelling it saw."""
    found = {"w:" + w for w in words}
    found.update("b:" + a + " " + b for a, b in zip(words, words[1:], strict=False))
    found.update("s:" + a + " " + b for a, b in zip(words, words[2:], strict=False))
    for word in set(words):
        found.update(_letter_pieces(word))
    return found


@lru_cache(maxsize=8_192)
def _letter_pieces(word: str) -> tuple[str, ...]:
    """The word's LETTER_PIECES-long pieces, its start and end marked ("<kill", "ill>")."""
    marked = "<" + word + ">"
    return tuple("c:" + marked[i : i + n] for n in LETTER_PIECES for i in range(len(marked) - n + 1))


def passages(text: str) -> list[list[str]]:
    """The whole message, and each run of two sentences in it when there are more than two.
    Only the first MAX_READ_CHARS are read (the patterns screen the rest)."""
    marked = _SENTENCE_END.sub(lambda m: m.group(0) + " \x00 ", text[:MAX_READ_CHARS])
    lowered = load_spellings().apply(normalise(marked))  # once for the whole message
    sentences = [s for s in (_words(chunk) for chunk in lowered.split("\x00")) if s]
    whole = [w for s in sentences for w in s]
    if len(sentences) <= 2:
        return [whole]
    return [whole] + [a + b for a, b in zip(sentences, sentences[1:], strict=False)]


@dataclass(frozen=True)
class _Group:
    bias: float
    threshold: float
    weights: dict[str, float]
    confirm: float = 0.0  # about_harm only: below it, a pattern match is asked about first

    def probability(self, found: set[str]) -> float:
        score = self.bias + sum(self.weights.get(f, 0.0) for f in found)
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, score))))


@dataclass(frozen=True)
class Reading:
    """What the reader made of one message."""

    groups: tuple[str, ...] = ()  # alarm groups crossing their thresholds, most urgent first
    about_harm: bool = True  # reads as being about harm, risk or safety: the check question may be asked
    nothing_like_harm: bool = False  # below the confirm floor: a pattern's match is asked about first


@dataclass(frozen=True)
class Reader:
    groups: dict[str, _Group]

    def probabilities(self, text: str) -> dict[str, float]:
        """Each group's highest probability over the message's passages."""
        found = [frozenset(features(p)) for p in passages(text)]
        return {name: max(g.probability(f) for f in found) for name, g in self.groups.items()}

    def read(self, text: str) -> Reading:
        scores = self.probabilities(text)
        about = self.groups.get(ABOUT_HARM)
        return Reading(
            groups=tuple(g for g in READER_GROUPS if g in scores and scores[g] >= self.groups[g].threshold),
            about_harm=about is None or scores[ABOUT_HARM] >= about.threshold,
            nothing_like_harm=about is not None and scores[ABOUT_HARM] < about.confirm,
        )


@lru_cache(maxsize=2)
def load_reader(path: Path = READER_FILE) -> Reader | None:
    """The trained reader, or None where none has been trained (the patterns work alone)."""
    if not path.exists():
        return None
    raw = json.loads(path.read_text(encoding="utf-8"))
    return Reader(
        groups={
            name: _Group(
                bias=g["bias"], threshold=g["threshold"], weights=g["weights"], confirm=g.get("confirm", 0.0)
            )
            for name, g in raw["groups"].items()
        }
    )


def read(text: object) -> Reading:
    """Read one message (any type). Nothing to read is no concern and nothing about harm;
    where no reader has been trained, the patterns and the model decide as before."""
    if not isinstance(text, str) or not text.strip():
        return Reading(about_harm=False)
    reader = load_reader()
    return reader.read(text) if reader else Reading()
