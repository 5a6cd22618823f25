"""Grading a reply against a blind set's expectations: on the fact, not the wording.

A question's `expect` lists one entry per part; each entry is a list of alternative phrases,
and the reply must contain at least one of each entry (numbers written in words count as
digits). `must_not` phrases mark a wrong answer. Shared by the gate in make test
(tests/system/test_answers_e2e.py) and the development measure (scripts/measure_answers.py).
"""

from __future__ import annotations

import re

NUMBER_WORDS = {
    "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7",
    "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12", "fifteen": "15",
    "sixteen": "16", "eighteen": "18", "nineteen": "19", "twenty": "20", "twenty-five": "25",
    "thirty": "30", "first": "1st", "second": "2nd",
}  # fmt: skip
_NUMBER_WORD = re.compile(r"\b(" + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True)) + r")\b")

# The honest decline of an off-topic message (knowledge.parents.answers.fallback_reply).
DECLINE = "sorry, i can't help with that"
# A SEND question with no close answer (knowledge.parents.answers.no_reliable_answer_reply).
NO_RELIABLE_ANSWER = "i don't have a reliable answer"
# The safeguarding check question (knowledge.safeguarding.replies.safeguarding_check_reply).
CHECK_QUESTION = "are you worried that a child"


def normalise(text: str) -> str:
    text = text.lower().replace("’", "'").replace("–", "-")
    text = _NUMBER_WORD.sub(lambda m: NUMBER_WORDS[m.group(1)], text)
    return " ".join(re.sub(r"[^\w£%'/.-]+", " ", text).split())


def answers_every_part(reply: str, expect: list[list[str]], must_not: list[str] | None = None) -> bool:
    said = normalise(reply)
    if any(normalise(wrong) in said for wrong in must_not or ()):
        return False
    return all(any(normalise(str(alt)) in said for alt in part) for part in expect)


def declined(reply: str) -> bool:
    return normalise(reply).startswith(normalise(DECLINE))


def said_no_reliable_answer(reply: str) -> bool:
    return normalise(NO_RELIABLE_ANSWER) in normalise(reply)


def asked_the_check_question(reply: str) -> bool:
    return normalise(CHECK_QUESTION) in normalise(reply)
