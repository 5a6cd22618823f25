"""The NLU model's second opinion: what to do when only the model reads a message as a concern.

The patterns (`screening.py`) found nothing, but the model's top intent is
`safeguarding_concern`. Looser wordings from the pattern file (`second_net`) say whether
someone is at risk now, the writer, or abuse at home (their reply at once); otherwise the
sender is asked first, unless the message is noise (a figure of speech, an everyday frame
that names nobody, an everyday request with no word of harm in it, a sum) or the second reader
does not read it as being about harm.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from knowledge.safeguarding.screening import (
    GROUPS,
    PATTERNS_FILE,
    compile_with_words,
    compiled_section,
    is_figure_of_speech,
    is_over_now,
    load_spellings,
    normalise,
    said_in,
    second_reading,
    who_else_at_home,
    word_lists,
    writer_of,
)
from knowledge.shared.yaml_files import read_yaml


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
    everyday_requests: tuple[re.Pattern, ...]
    words_of_harm: tuple[re.Pattern, ...]  # with about_harm and second_net: never noise
    not_missing_now: tuple[re.Pattern, ...]  # back within minutes, a dog, a web page: no danger_now
    not_the_writer_at_risk: tuple[re.Pattern, ...]  # suicide-prevention training, "so boring I'll die"


@lru_cache(maxsize=4)
def _second_net(path: Path) -> _SecondNet:
    raw = read_yaml(path)
    words = word_lists(raw)

    def compiled(items) -> tuple[re.Pattern, ...]:
        return compile_with_words(items, words)

    return _SecondNet(
        groups={group: compiled(items) for group, items in (raw.get("second_net") or {}).items()},
        about_harm=compiled(raw.get("about_harm")),
        mentions_someone=compiled(raw.get("mentions_someone")),
        not_about_a_person=compiled(raw.get("not_about_a_person")),
        everyday_requests=compiled(raw.get("everyday_requests")),
        words_of_harm=compiled(raw.get("words_of_harm")),
        not_missing_now=compiled(raw.get("not_missing_now")),
        not_the_writer_at_risk=compiled(raw.get("not_the_writer_at_risk")),
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
    if said_in("over_and_done", lowered):  # long ago, and how it ended: nothing to reply or ask
        return SecondOpinion(writer=writer)
    groups = tuple(g for g in GROUPS if any(p.search(lowered) for p in net.groups.get(g, ())))
    excused = {
        "danger_now": net.not_missing_now,
        "self_harm": net.not_the_writer_at_risk,
        # "she'll kill me for telling you": a figure of speech is not abuse at home
        "domestic_abuse": compiled_section(PATTERNS_FILE, "figures_of_speech"),
    }
    groups = tuple(g for g in groups if not _any(excused.get(g, ()), lowered))
    if groups:
        return SecondOpinion(groups=who_else_at_home(groups, writer, lowered), writer=writer)
    someone = _any(net.mentions_someone, lowered)
    about = someone or bool(_FIRST_PERSON.search(lowered)) or _any(net.about_harm, lowered)
    noise = (not someone and _any(net.not_about_a_person, lowered)) or everyday_noise(lowered)
    return SecondOpinion(ask=about and not noise and second_reading(text).about_harm, writer=writer)


def everyday_noise(lowered: str) -> bool:
    """Noise to the second reader as well as to the model: a figure of speech or a joke, or an
    everyday request (write me a letter, recommend a film, a healthy weight), a frame naming
    nobody (a car, a recipe), or something over and safe now ("all good now"), with no word of
    harm in it. Why: people write "any good films for
    me and my husband" or "my car tax has run out, sorry" with the words the readers learned
    from disclosures ("sorry", "not sure", "me and my husband"); the words of harm are what tell
    a disclosure in an everyday frame apart ("help me write to school, his dad locks him in").
    `lowered`: the message normalised, with the pattern file's spellings applied."""
    if is_figure_of_speech(lowered):
        return True
    net = _second_net(PATTERNS_FILE)
    harm = (net.about_harm, net.words_of_harm, *net.groups.values())
    if any(_any(wordings, lowered) for wordings in harm):
        return False
    framed = _any(net.not_about_a_person, lowered) and not _any(net.mentions_someone, lowered)
    return framed or _any(net.everyday_requests, lowered) or is_over_now(lowered)


def _any(wordings: tuple[re.Pattern, ...], lowered: str) -> bool:
    return any(p.search(lowered) for p in wordings)


# The writer speaking of themselves: a child's own disclosure often names nobody else.
_FIRST_PERSON = re.compile(r"\b(?:i|i'm|i've|i'd|me|my|mine|myself|we|we're|us|our|ours)\b")
