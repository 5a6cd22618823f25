"""Reading a child's age out of a parent's sentence ("my 7 year old", "aged seven")."""

from __future__ import annotations

import re

_NUMBER_WORDS = {
    w: i
    for i, w in enumerate(
        [
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
            "thirteen",
            "fourteen",
            "fifteen",
            "sixteen",
            "seventeen",
            "eighteen",
            "nineteen",
            "twenty",
        ]
    )
}
_NUMBER_WORDS.update(
    {"twenty one": 21, "twenty two": 22, "twenty three": 23, "twenty four": 24, "twenty five": 25}
)
_NUM = r"(\d{1,2}|" + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True)) + r")"

_PATTERNS = (
    re.compile(_NUM + r"\s*-?\s*(?:(?:years?|yrs?|yr)\s*-?\s*old|y/?o\b)"),
    re.compile(_NUM + r"\s*-?\s*(?:year|yr)s?\b"),
    re.compile(r"\b(?:aged?|age of)\s*" + _NUM + r"\b"),
    re.compile(
        r"\b(?:is|turned|turns|he's|she's|they're|hes|shes)\s+"
        + _NUM
        + r"\b(?!\s*(?:weeks?|months?|days?|%|pm|am))"
    ),
)

MAX_AGE = 25  # the SEND system covers 0 to 25


def extract_age(text: str) -> int | None:
    """The first plausible age (0-25) mentioned, or None. Year groups ("Year 6") are not ages."""
    lowered = " ".join(text.lower().replace("-", " ").split())
    lowered = re.sub(r"\byear\s+\d{1,2}\b(?!\s*(?:years?|yrs?)?\s*old)", " ", lowered)
    for pattern in _PATTERNS:
        for match in pattern.finditer(lowered):
            raw = match.group(1)
            value = int(raw) if raw.isdigit() else _NUMBER_WORDS.get(raw)
            if value is not None and 0 <= value <= MAX_AGE:
                return value
    return None
