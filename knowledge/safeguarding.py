"""Safeguarding screen: does a message suggest a child may be at risk?

Runs on every inbound message before anything else (connectors/rasa_channels.py).
High recall comes first: the pattern list (knowledge/content/safeguarding_patterns.yml)
is deliberately broad, and the NLU model's `safeguarding_concern` intent catches the
wordings the patterns miss. A concern is recorded verbatim in its own table and the
designated safeguarding lead (DSL) is alerted; see `knowledge/safeguarding_records.py`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from bot.settings import PROJECT_ROOT

PATTERNS_FILE = PROJECT_ROOT / "knowledge/content/safeguarding_patterns.yml"

# Only the first 100,000 characters of a message are screened: far beyond any real message
# (the bot reads 1,000), it bounds the work an absurd input can cause.
MAX_SCREENED_CHARS = 100_000

_CHILD_VOICE = re.compile(
    r"\b(i'?m|i am|im) (\d|1[0-7])( years? old| yrs?)?\b"
    r"|\b(my|me) (mum|mom|mam|mummy|dad|daddy|stepdad|step dad|step-dad|stepmum|step mum|"
    r"mums boyfriend|mum'?s boyfriend|parents|teacher|uncle|nan|grandad|brother|sister)\b"
)
_PARENT_VOICE = re.compile(r"\bmy (son|daughter|child|kid|boy|girl|children|kids|ds|dd|little one)s?\b")


@dataclass(frozen=True)
class Pattern:
    name: str
    kind: str
    match: tuple[re.Pattern, ...]
    unless: tuple[re.Pattern, ...]

    def hits(self, text: str) -> bool:
        if not any(p.search(text) for p in self.match):
            return False
        if not self.unless:
            return True
        # A harmless phrase only excuses the match if no other wording in the message
        # still matches once the harmless phrases are taken out.
        remainder = text
        for harmless in self.unless:
            remainder = harmless.sub(" ", remainder)
        return any(p.search(remainder) for p in self.match)


@dataclass(frozen=True)
class Screening:
    """The outcome of screening one message."""

    concern: bool
    kinds: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    child_voice: bool = False


def normalise(text: str) -> str:
    """Lower case, straight quotes, single spaces: the form patterns are written for."""
    text = text[:MAX_SCREENED_CHARS].lower()
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("`", "'")
    return " ".join(text.split())


@lru_cache(maxsize=4)
def load_patterns(path: Path = PATTERNS_FILE) -> tuple[Pattern, ...]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    return tuple(
        Pattern(
            name=item["name"],
            kind=item["kind"],
            match=tuple(re.compile(p) for p in item["match"]),
            unless=tuple(re.compile(p) for p in item.get("unless") or ()),
        )
        for item in raw["patterns"]
    )


def looks_like_a_child_writing(text: str) -> bool:
    """A child's own voice ('my stepdad', 'I'm 12') rather than a parent's ('my son')."""
    lowered = normalise(text)
    return bool(_CHILD_VOICE.search(lowered)) and not _PARENT_VOICE.search(lowered)


def screen(text: object, patterns: tuple[Pattern, ...] | None = None) -> Screening:
    """Screen one message (any length, any type) against the safeguarding patterns."""
    if not isinstance(text, str) or not text.strip():
        return Screening(concern=False)
    lowered = normalise(text)
    matched = [p for p in (patterns or load_patterns()) if p.hits(lowered)]
    if not matched:
        return Screening(concern=False)
    return Screening(
        concern=True,
        kinds=tuple(dict.fromkeys(p.kind for p in matched)),
        patterns=tuple(p.name for p in matched),
        child_voice=looks_like_a_child_writing(text),
    )
