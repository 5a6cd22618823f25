"""The NLU model's second opinion: what to do when only the model reads a message as a concern.

The patterns (`screening.py`) found nothing, but the model's top intent is
`safeguarding_concern`. Looser wordings from the pattern file (`second_net`) say whether
someone is at risk now, the writer, or abuse at home (their reply at once); otherwise the
sender is asked first, unless the message is noise (a figure of speech, an everyday frame
that names nobody, a sum) or the second reader does not read it as being about harm.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from knowledge.safeguarding.screening import (
    GROUPS,
    PATTERNS_FILE,
    compile_with_words,
    is_figure_of_speech,
    load_spellings,
    normalise,
    second_reading,
    with_children,
    word_lists,
    writer_of,
)


@dataclass(frozen=True)
class SecondOpinion:
    """What to do when only the NLU model reads a message as a possible concern."""

    groups: tuple[str, ...] = ()  # someone at risk now, the writer, abuse at home: reply at once
    ask: bool = False  # no group, but it reads as being about harm: ask the sender first
    writer: str = ""


@dataclass(frozen=True)
class _SecondNet:
    groups: dict[str, tuple[re.Pattern, ...]]
    about_harm: tuple[re.Pattern, ...]
    mentions_someone: tuple[re.Pattern, ...]
    not_about_a_person: tuple[re.Pattern, ...]


@lru_cache(maxsize=4)
def _second_net(path: Path) -> _SecondNet:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    words = word_lists(raw)

    def compiled(items) -> tuple[re.Pattern, ...]:
        return compile_with_words(items, words)

    return _SecondNet(
        groups={group: compiled(items) for group, items in (raw.get("second_net") or {}).items()},
        about_harm=compiled(raw.get("about_harm")),
        mentions_someone=compiled(raw.get("mentions_someone")),
        not_about_a_person=compiled(raw.get("not_about_a_person")),
    )


def second_opinion(text: object) -> SecondOpinion:
    """The model read `text` as a possible concern and the patterns found none: looser wordings
    (`second_net`) say whether someone is at risk now, the writer, or abuse at home (the reply
    for them at once, when the model is sure); otherwise ask the sender first, unless it is
    noise: a figure of speech or a joke, an everyday frame that names nobody (a film, a recipe,
    a game, the weather), or about nobody and no harm at all (a sum). A disclosure that mentions
    a game still names someone ("a man I met on a game") and is asked about."""
    if not isinstance(text, str) or not text.strip():
        return SecondOpinion()
    net = _second_net(PATTERNS_FILE)
    lowered = load_spellings().apply(normalise(text))
    writer = writer_of(text)
    groups = tuple(g for g in GROUPS if any(p.search(lowered) for p in net.groups.get(g, ())))
    if groups:
        return SecondOpinion(groups=with_children(groups, writer, lowered), writer=writer)
    someone = any(p.search(lowered) for p in net.mentions_someone)
    about = someone or bool(_FIRST_PERSON.search(lowered)) or any(p.search(lowered) for p in net.about_harm)
    noise = is_figure_of_speech(lowered) or (
        not someone and any(p.search(lowered) for p in net.not_about_a_person)
    )
    return SecondOpinion(ask=about and not noise and second_reading(text).about_harm, writer=writer)


# The writer speaking of themselves: a child's own disclosure often names nobody else.
_FIRST_PERSON = re.compile(r"\b(?:i|i'm|i've|i'd|me|my|mine|myself|we|we're|us|our|ours)\b")
