"""Flesch-Kincaid grade of a text, to keep answers at a reading age of about 12.

A grade of 7 corresponds to a reading age of about 12; the content tests allow a
little headroom because SEND terms ("assessment", "tribunal") are long words a
parent must learn anyway.
"""

from __future__ import annotations

import re

_SENTENCE = re.compile(r"[.!?]+(?:\s|$)")
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")
_ABBREVIATION = re.compile(r"^[A-Z]{2,}s?$")


def syllables(word: str) -> int:
    """Rough syllable count; abbreviations such as EHCP count as one word-sound."""
    if _ABBREVIATION.match(word):
        return 1
    word = word.lower().strip("'")
    groups = re.findall(r"[aeiouy]+", word)
    count = len(groups)
    if word.endswith("e") and not word.endswith(("le", "ee")) and count > 1:
        count -= 1
    return max(count, 1)


def grade_level(text: str) -> float:
    words = _WORD.findall(text)
    if not words:
        return 0.0
    sentences = max(len(_SENTENCE.findall(text.strip() + " ")), 1)
    total_syllables = sum(syllables(w) for w in words)
    return 0.39 * len(words) / sentences + 11.8 * total_syllables / len(words) - 15.59
