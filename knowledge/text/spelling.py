"""Typing slips: a word typed one or two keys wrong, read as the word meant.

Parents type on phones, in a hurry, often upset: "anual reveiw", "mediaton", "tribnal".
`Corrector` maps an unknown word to the known word it is one slip from (two for long words),
never across a first letter and never for an inflection ("blinds" is not a slip for "blind").
"""

from __future__ import annotations

from collections import defaultdict
from functools import lru_cache
from typing import Iterable


def slips(a: str, b: str, limit: int) -> int:
    """Damerau-Levenshtein distance (a swap of neighbours is one slip), stopping past `limit`."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


class Corrector:
    """Known words, by first letter; `correct(word)` gives the known word a slip away, or `word`."""

    def __init__(self, known: Iterable[str], min_length: int = 4) -> None:
        self.known = frozenset(known)
        self.min_length = min_length
        self._by_letter: dict[str, list[str]] = defaultdict(list)
        for word in sorted(self.known):
            self._by_letter[word[0]].append(word)
        self.correct = lru_cache(maxsize=8192)(self._correct)

    def _correct(self, word: str) -> str:
        if len(word) < self.min_length or word in self.known or not word.isalpha():
            return word
        allowed = 1 if len(word) < 8 else 2
        best, best_slips = word, allowed + 1
        for known in self._by_letter.get(word[0], ()):
            if abs(len(known) - len(word)) > allowed or word.startswith(known) or known.startswith(word):
                continue
            found = slips(word, known, allowed)
            if found < best_slips:
                best, best_slips = known, found
        return best
