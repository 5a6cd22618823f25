"""Safeguarding screen: does a message suggest a child may be at risk?

Runs on every inbound message before anything else (connectors/rasa/channels.py).
High recall comes first: the pattern list (knowledge/content/safeguarding_patterns.yml)
is deliberately broad, and the NLU model's `safeguarding_concern` intent catches the
wordings the patterns miss. A concern is recorded verbatim in its own table and the
designated safeguarding lead (DSL) is alerted; see `knowledge/safeguarding/records.py`.

The pattern file has three parts, all applied to the lower-cased message:
- `spellings`: text-speak and common misspellings rewritten to one spelling first
  ("stpdad" -> "stepdad", "hittin" -> "hitting", "any1" -> "anyone"), so the patterns
  need only be written once;
- `words`: named word lists (people, harm verbs, ...) that patterns use as `{name}`;
- `patterns`: named regular expressions grouped by kind, each with optional `unless`
  phrases that make a match harmless.

Who is at risk (the groups, most urgent first) is worked out here too, from the same matches.
The second reader (`reader.py`) and the model's second opinion (`second_opinion.py`) are their
own modules. Why this one is past 600 lines: the pattern file's compiler (word lists merged
into tries, the literal strings each pattern needs, so that a message is only tried against
patterns that could match) and the screen that uses it change together.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

try:  # the regular-expression parser, used only to find the words a pattern needs
    from re import _parser as _sre_parse  # Python 3.11+
except ImportError:  # pragma: no cover - Python 3.10
    import sre_parse as _sre_parse


from knowledge.shared.settings import PROJECT_ROOT
from knowledge.shared.yaml_files import read_yaml

if TYPE_CHECKING:
    from knowledge.safeguarding.reader import Reading

PATTERNS_FILE = PROJECT_ROOT / "knowledge/content/safeguarding_patterns.yml"

# Only the first 100,000 characters of a message are screened: far beyond any real message
# (the bot reads 1,000), it bounds the work an absurd input can cause.
MAX_SCREENED_CHARS = 100_000
SENTENCE_REACH = 600

_CHILD_VOICE = re.compile(
    r"\b(i'?m|i am|im) (\d|1[0-8])( years? old| yrs?)?\b"
    r"|\b(my|me) (mum|mom|mam|mummy|dad|daddy|stepdad|step dad|step-dad|stepmum|step mum|"
    r"mums boyfriend|mum'?s boyfriend|parents|teacher|uncle|nan|grandad|brother|sister)\b"
    # a pupil's own school life: "im in year 9", "yr 11.", "year 8 girl", "my mocks", "my TA"
    r"|\b(i'?m|i am|im) (in )?(year|yr|y) ?([3-9]|1[0-3])\b|^(year|yr|y) ?([3-9]|1[0-3])\b"
    r"|\b(year|yr) ?([3-9]|1[0-3]) (girl|boy|student|pupil)\b"
    r"|\b(i'?m|i am|im) (at|in) (sixth form|college|secondary)\b"
    r"|\bmy (ta|senco|form tutor|head of year|mocks|gcses|sats|exams|classmates|college application)\b"
)
_PARENT_VOICE = re.compile(r"\bmy (son|daughter|child|kid|boy|girl|children|kids|ds|dd|little one)s?\b")
# An adult's own life: a child's parent, a partner, a job. Childline is for under-19s.
_ADULT_VOICE = re.compile(
    r"\bmy (son|daughter|child|kid|boy|girl|children|kids|ds|dd|little one|husband|wife|grandson|"
    r"granddaughter|grandchild|grandkids|foster (son|daughter|child)|pupils?|students?|job|colleagues?|"
    r"manager|boss|mortgage|ex-?(husband|wife)|mother-in-law|father-in-law|adult son|adult daughter)s?\b"
    r"|\b(mum|mom|dad|father|mother|parent|grandma|grandmother|grandad|grandfather|nan|carer) "
    r"(of|here|writing)\b"
    r"|\b(i'?m|im|i am) (a|the) (ta|teacher|senco|sendco|parent|mum|dad|carer|foster carer|grandparent|"
    r"teaching assistant|support worker|escort|headteacher|nursery manager|lsa|dsl|single mum|single dad)\b"
    r"|\b(senco|sendco|ta|teacher|staff|teaching assistant|dsl|foster carer|grandmother|grandma|grandad) "
    r"here\b"
    r"|\bi (work|teach)\b|\b(i'?m|im|i am) (19|[2-9]\d)\b|\bat work\b"
)

# `{name}` in a pattern stands for the word list `name`; regex repetition braces hold digits.
_WORD_REF = re.compile(r"\{([a-z_]+)\}")
# Letters typed three or more times over ("sooo", "pleeease") count once.
_REPEATED_LETTERS = re.compile(r"([a-z])\1{2,}")


@dataclass(frozen=True)
class Pattern:
    name: str
    kind: str
    match: tuple[re.Pattern, ...]
    unless: tuple[re.Pattern, ...]
    # For each `match` expression, strings of which any match must contain at least one
    # (None: no such strings known). Only a shortcut: an expression is skipped when the
    # message contains none of them, which cannot change the outcome.
    needs: tuple[frozenset[str] | None, ...] = field(default=(), compare=False)
    unless_needs: tuple[frozenset[str] | None, ...] = field(default=(), compare=False)
    # Said anywhere in the message: `only_with`, one must be ("searching", "not answering");
    # `unless_said`, none may be ("we found him", "hide and seek").
    only_with: tuple[re.Pattern, ...] = ()
    unless_said: tuple[re.Pattern, ...] = ()

    def hits(self, text: str, present: frozenset[str] | None = None) -> bool:
        """Does the (normalised) text match? `present`: which needed strings it contains."""
        found = self._remainder(text, present)
        return found is not None and any(p.search(found[1]) for p in found[0])

    def matches(self, text: str, present: frozenset[str] | None = None) -> list[tuple[str, re.Match]]:
        """Every match, as (the text it was found in, the match): the sentence around a match
        says whose it is ("I" or "she"). Harmless phrases are taken out of that text first."""
        found = self._remainder(text, present)
        if found is None:
            return []
        candidates, remainder = found
        return [(remainder, m) for p in candidates for m in p.finditer(remainder)]

    def _remainder(self, text: str, present: frozenset[str] | None) -> tuple[list[re.Pattern], str] | None:
        """The expressions worth trying and the text with harmless phrases taken out, or None."""
        if present is None:
            present = _needed_strings((self,)).present(text)
        candidates = [
            expression
            for expression, needed in zip(self.match, self.needs or (None,) * len(self.match), strict=True)
            if needed is None or not needed.isdisjoint(present)
        ]
        if not any(p.search(text) for p in candidates):
            return None
        if self.only_with and not any(p.search(text) for p in self.only_with):
            return None
        if any(p.search(text) for p in self.unless_said):
            return None
        # A harmless phrase only excuses the match if no other wording in the message
        # still matches once the harmless phrases are taken out.
        remainder = text
        for harmless, needed in zip(
            self.unless, self.unless_needs or (None,) * len(self.unless), strict=True
        ):
            if needed is None or not needed.isdisjoint(present):
                remainder = harmless.sub(" ", remainder)
        return candidates, remainder


# --- which strings must a match contain? -------------------------------------------------
# A small version of the "required literals" analysis that fast regex engines use: walk the
# parsed expression and collect, for each part, either every string it can match (when
# there are few) or a set of strings one of which any match must contain.
_MAX_STRINGS = 64
_PREFIX = 5


def _needs(expression: str) -> frozenset[str] | None:
    try:
        exact, needed = _sequence(_sre_parse.parse(expression).data)
    except Exception:  # anything unexpected: no shortcut, always run the expression
        return None
    best = _best([c for c in (exact, needed) if c])
    if not best or any(len(x) < 2 and x in _COMMON_TEXT for x in best):
        return None
    # "hit" already covers "hits" and "hitting": keep only the shortest strings.
    kept = sorted(best, key=len)
    minimal: list[str] = []
    for s in kept:
        if not any(m in s for m in minimal):
            minimal.append(s)
    return frozenset(minimal)


# Everyday wording of ordinary messages: a needed string found here ("her ", "when ") is
# in nearly every message, so it makes a poor shortcut and another one is preferred.
_COMMON_TEXT = (
    " my son is 9 and has autism and adhd, my daughter is 12. he has meltdowns at home when he is"
    " tired and she gets anxious in the morning before school. can i book a meeting with the senco"
    " about his ehcp, her sen support plan and their annual review? we are waiting to hear about the"
    " ehc needs assessment and the school is helpful. what time does the club start, is there a quiet"
    " room, who do i ask, how long does it take, will the council pay for transport to the new"
    " school? thanks, that's really helpful. i'm worried he won't cope with the change and she can't"
    " sleep. they have been good with us, we have had a lot of help from the teacher and the ta in his"
    " class. could you tell me when the next parents evening is and whether i can bring my partner?"
    " it was a hard day, she was upset after lunch, the noise in the hall was too much for her."
    " our little one starts reception in september; his dad and i would like to visit with him."
)


def _best(candidates: list[set[str]]) -> set[str] | None:
    # A prefix of a needed string is needed too ("hitting me" -> "hitti"); shortening makes
    # the sets much smaller, and cheaper to look for, at little cost in selectivity.
    usable = [{x[:_PREFIX] for x in c} for c in candidates if c and "" not in c]
    if not usable:
        return None
    # Prefer strings that everyday messages do not contain, then longer ones (up to four
    # letters), then fewer of them.
    return max(
        usable,
        key=lambda c: (-sum(x in _COMMON_TEXT for x in c), min(4, min(map(len, c))), -len(c)),
    )


def _sequence(items) -> tuple[set[str] | None, set[str] | None]:
    """(every string the sequence can match, or None; strings one of which it must contain)."""
    candidates: list[set[str]] = []
    run: set[str] | None = {""}
    all_exact = True
    for op, av in items:
        exact, needed = _node(str(op), av)
        if exact is not None and run is not None and len(run) * len(exact) <= _MAX_STRINGS:
            run = {a + b for a in run for b in exact}
            continue
        all_exact = False
        if run is not None:
            candidates.append(run)
        if exact is not None:
            run = exact
        else:
            run = {""}
            if needed:
                candidates.append(needed)
    if all_exact:
        return run, run
    if run:
        candidates.append(run)
    return None, _best(candidates)


def _node(op: str, av) -> tuple[set[str] | None, set[str] | None]:
    if op == "LITERAL":
        return {chr(av)}, {chr(av)}
    if op in ("AT", "ASSERT", "ASSERT_NOT"):
        return {""}, None
    if op == "SUBPATTERN":
        return _sequence(av[-1].data)
    if op == "IN":
        chars: set[str] = set()
        for kind, value in av:
            kind = str(kind)
            if kind == "LITERAL":
                chars.add(chr(value))
            elif kind == "RANGE" and value[1] - value[0] < 10:
                chars.update(chr(c) for c in range(value[0], value[1] + 1))
            else:
                return None, None
        return (chars, chars) if len(chars) <= 10 else (None, None)
    if op == "BRANCH":
        results = [_sequence(branch.data) for branch in av[1]]
        if all(exact is not None for exact, _ in results):
            union = set().union(*(exact for exact, _ in results))
            if len(union) <= _MAX_STRINGS:
                return union, union
        needed: set[str] = set()
        for exact, need in results:
            best = _best([c for c in (exact, need) if c])
            if best is None:
                return None, None
            needed |= best
        return None, needed
    if op in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
        low, high, inner = av
        exact, needed = _sequence(inner.data)
        if low == 0:
            if high == 1 and exact is not None:
                return exact | {""}, None
            return None, None
        if low == high == 1:
            return exact, needed
        return None, _best([c for c in (exact, needed) if c])
    return None, None


@dataclass(frozen=True)
class Screening:
    """The outcome of screening one message."""

    concern: bool
    kinds: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    child_voice: bool = False
    # Probably a SEND need, not harm (every match covered by a `check_first` rule whose
    # context is present): ask the sender before alerting anyone.
    check_first: bool = False
    # Who is at risk, most urgent first (a subset of GROUPS): what the reply gives help for.
    groups: tuple[str, ...] = ()
    # Who seems to be writing: "child", "adult", or "" (unclear).
    writer: str = ""


@dataclass(frozen=True)
class CheckFirstRule:
    name: str
    patterns: frozenset[str]
    context: tuple[re.Pattern, ...]
    # never asked first where one of these is said: an adult did it ("hit by his dad")
    unless: tuple[re.Pattern, ...] = ()

    def excuses(self, pattern: str, text: str) -> bool:
        return (
            pattern in self.patterns
            and any(c.search(text) for c in self.context)
            and not any(u.search(text) for u in self.unless)
        )


_TOKEN = re.compile(r"(?<!['a-z0-9])[a-z0-9]+")  # a word, not the 's or 't after an apostrophe


@dataclass(frozen=True)
class Spellings:
    """Rewrites applied before matching: whole words, phrases, and regex rules."""

    canonical: dict[str, str]  # one word -> its spelling
    phrases: re.Pattern | None  # variants of more than one word ("step dad", "no-one")
    phrase_canonical: dict[str, str]
    rules: tuple[tuple[re.Pattern, str], ...]

    def apply(self, text: str) -> str:
        text = _REPEATED_LETTERS.sub(r"\1", text)
        if self.phrases is not None:
            text = self.phrases.sub(lambda m: self.phrase_canonical[m.group(0)], text)
        canonical = self.canonical
        text = _TOKEN.sub(lambda m: canonical.get(m.group(0), m.group(0)), text)
        for rule, replacement in self.rules:
            text = rule.sub(replacement, text)
        return text


def normalise(text: str) -> str:
    """Lower case, straight quotes, single spaces: the form patterns are written for."""
    text = text[:MAX_SCREENED_CHARS].lower()
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("`", "'")
    return " ".join(text.split())


_PLAIN = re.compile(r"[a-z0-9' :-]+")


def _top_level_alternatives(expression: str) -> list[str]:
    """Split `a|b(c|d)|e` into ["a", "b(c|d)", "e"]."""
    parts, depth, start, escaped = [], 0, 0, False
    for i, c in enumerate(expression):
        if escaped:
            escaped = False
        elif c == "\\":
            escaped = True
        elif c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
        elif c == "|" and depth == 0:
            parts.append(expression[start:i])
            start = i + 1
    parts.append(expression[start:])
    return parts


def _alternation(items: list[str]) -> str:
    """A word list as one group. Plain words are merged into a trie ("dad|daddy|dance" ->
    "da(?:d(?:dy)?|nce)"): the same words, but the regex engine tries far fewer branches."""
    alternatives = [a for item in items for a in _top_level_alternatives(item)]
    plain = sorted({a for a in alternatives if _PLAIN.fullmatch(a)})
    other = [a for a in alternatives if not _PLAIN.fullmatch(a)]
    branches = ([_trie(plain)] if plain else []) + other
    return "(?:" + "|".join(branches) + ")"


def _expand(pattern: str, words: dict[str, str], depth: int = 0) -> str:
    """Replace each `{name}` with its word list, as a non-capturing group."""
    if depth > 5:
        raise ValueError(f"word lists nested too deeply in {pattern!r}")

    def one(m: re.Match) -> str:
        if m.group(1) not in words:
            raise KeyError(f"unknown word list {{{m.group(1)}}} in {pattern!r}")
        return _expand(words[m.group(1)], words, depth + 1)

    return _WORD_REF.sub(one, pattern)


@lru_cache(maxsize=4)
def _load(path: Path) -> tuple[tuple[Pattern, ...], Spellings, _Needed]:
    raw = read_yaml(path)
    words = word_lists(raw)

    def compiled(p: str) -> re.Pattern:
        return re.compile(_expand(p, words))

    patterns = tuple(
        Pattern(
            name=item["name"],
            kind=item["kind"],
            match=tuple(compiled(p) for p in item["match"]),
            unless=tuple(compiled(p) for p in item.get("unless") or ()),
            needs=tuple(_needs(_expand(p, words)) for p in item["match"]),
            unless_needs=tuple(_needs(_expand(p, words)) for p in item.get("unless") or ()),
            only_with=tuple(compiled(p) for p in item.get("only_with") or ()),
            unless_said=tuple(compiled(p) for p in item.get("unless_said") or ()),
        )
        for item in raw["patterns"]
    )
    spellings = raw.get("spellings") or {}
    canonical = {
        variant: word for word, variants in (spellings.get("words") or {}).items() for variant in variants
    }
    for stem in spellings.get("dropped_g") or ():
        canonical.setdefault(stem + "in", stem + "ing")
    single = {v: w for v, w in canonical.items() if _TOKEN.fullmatch(v)}
    phrases = {v: w for v, w in canonical.items() if v not in single}
    phrases_re = None
    if phrases:
        longest_first = sorted(phrases, key=len, reverse=True)
        phrases_re = re.compile(r"(?<![\w'])(?:" + "|".join(map(re.escape, longest_first)) + r")(?!\w)")
    rules = tuple((compiled(rule["match"]), rule["to"]) for rule in spellings.get("rules") or ())
    return (
        patterns,
        Spellings(canonical=single, phrases=phrases_re, phrase_canonical=phrases, rules=rules),
        _needed_strings(patterns),
    )


@dataclass(frozen=True)
class _Needed:
    """Every string some expression needs, and one expression that finds them all.

    The expression is a trie of the strings (common beginnings shared), run once over the
    message: at each position it takes the longest needed string starting there, and every
    needed string that begins that one is then present too. One pass, whatever the number
    of strings, so a 20,000-character message costs little more than a short one."""

    strings: frozenset[str]
    finder: re.Pattern | None

    def present(self, text: str) -> frozenset[str]:
        if self.finder is None:
            return frozenset()
        found: set[str] = set()
        strings = self.strings
        for m in self.finder.finditer(text):
            longest = m.group(1)
            if longest in found:
                continue
            found.update(longest[:k] for k in range(1, len(longest) + 1) if longest[:k] in strings)
        return frozenset(found)


def _trie(strings: list[str]) -> str:
    """A regular expression matching the longest of `strings` at a position."""
    children: dict[str, list[str]] = {}
    ends = False
    for x in strings:
        if x:
            children.setdefault(x[0], []).append(x[1:])
        else:
            ends = True
    if not children:
        return ""
    branches = [re.escape(c) + _trie(rest) for c, rest in sorted(children.items())]
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    return "(?:" + body + ")?" if ends else body


def _needed_strings(patterns: tuple[Pattern, ...]) -> _Needed:
    strings = frozenset(
        s for p in patterns for needed in (*p.needs, *p.unless_needs) if needed for s in needed
    )
    finder = re.compile("(?=(" + _trie(sorted(strings)) + "))") if strings else None
    return _Needed(strings=strings, finder=finder)


def load_patterns(path: Path = PATTERNS_FILE) -> tuple[Pattern, ...]:
    return _load(path)[0]


def load_spellings(path: Path = PATTERNS_FILE) -> Spellings:
    return _load(path)[1]


def looks_like_a_child_writing(text: str) -> bool:
    """A child's own voice ('my stepdad', 'I'm 12') rather than a parent's ('my son')."""
    lowered = normalise(text)
    return bool(_CHILD_VOICE.search(lowered)) and not _PARENT_VOICE.search(lowered)


def writer_of(text: str) -> str:
    """ "child", "adult" or "" (unclear): whether Childline belongs in the reply."""
    if looks_like_a_child_writing(text):
        return "child"
    return "adult" if _ADULT_VOICE.search(normalise(text)) else ""


def screen(text: object, patterns: tuple[Pattern, ...] | None = None, reading: bool = True) -> Screening:
    """Screen one message (any length, any type) against the safeguarding patterns, and the
    second reader for the at-risk groups the patterns' wordings missed (`reading=False`: the
    patterns alone, to measure them)."""
    if not isinstance(text, str) or not text.strip():
        return Screening(concern=False)
    loaded, spellings, needed = _load(PATTERNS_FILE)
    lowered = spellings.apply(normalise(text))
    if patterns is None:
        patterns = loaded
    else:
        needed = _needed_strings(patterns)
    present = needed.present(lowered)
    matched = [p for p in patterns if p.hits(lowered, present)]
    second = second_reading(text) if reading else None
    read = (
        second.groups
        if second and second.groups and not _everyday_noise(lowered) and not is_over_now(lowered)
        else ()
    )
    # what staff should do if there were a fire: a procedure asked about, not danger now
    read = tuple(g for g in read if g != "danger_now" or not said_in("a_procedure_asked_about", lowered))
    if not matched:
        if not read:
            return Screening(concern=False)
        writer = writer_of(text)
        if _happening_now(lowered, _at_risk(PATTERNS_FILE)):
            read = tuple(g for g in GROUPS if g in {*read, "danger_now"})
        return Screening(
            concern=True,
            kinds=read,
            patterns=("at_risk_reader",),
            child_voice=writer == "child",
            groups=who_else_at_home(read, writer, lowered),
            writer=writer,
        )
    rules = _check_first_rules(PATTERNS_FILE)
    writer = writer_of(text)
    at_risk = _at_risk(PATTERNS_FILE)
    # where the words could be anyone's, every match is looked at to see whose they are
    found = [(p, p.matches(lowered, present) if p.kind in at_risk.whose else []) for p in matched]
    from_patterns = _groups(found, lowered, at_risk)
    added = tuple(g for g in read if g not in from_patterns)  # what only the second reader saw
    return Screening(
        concern=True,
        kinds=tuple(dict.fromkeys(p.kind for p in matched)),
        patterns=tuple(p.name for p in matched) + (("at_risk_reader",) if added else ()),
        child_voice=writer == "child",
        # a SEND or harmless context the rules know (unless the second reader saw someone at
        # risk too: "I told her I fell"), or nothing like harm to the reader
        # the second reader seeing someone at risk as well (its own group or the same one) is
        # two readings that agree: the reply, not the question (2026-12-07, corpus L)
        check_first=(not read and all(any(rule.excuses(p.name, lowered) for rule in rules) for p in matched))
        or _nothing_like_harm(second, added, lowered),
        groups=who_else_at_home(tuple(g for g in GROUPS if g in {*from_patterns, *added}), writer, lowered),
        writer=writer,
    )


def _nothing_like_harm(second: Reading | None, added: tuple[str, ...], lowered: str) -> bool:
    """The second reader finds nothing like harm in a message only the patterns matched, and no
    wording that is never asked about first (`_never_asked_first`) is in it."""
    return second is not None and not added and second.nothing_like_harm and not _never_asked_first(lowered)


def is_over_now(lowered: str) -> bool:
    """Something over and safe now ("we're safe and settled now", "she's 17 now and doing really
    well"): the second reader's guess adds no group to it, and the model's check question is not
    asked about it (the pattern file's `over_now`)."""
    return said_in("over_now", lowered)


def _never_asked_first(lowered: str) -> bool:
    """Wordings the reader's "nothing like harm" may not turn into a check question (a weapon
    carried to school): the pattern file's `never_asked_first`."""
    return said_in("never_asked_first", lowered)


def second_reading(text: str) -> Reading:
    """The second reader (knowledge/safeguarding/reader.py): the groups the patterns' wordings
    missed, and whether anything in the message reads like harm at all."""
    from knowledge.safeguarding.reader import read  # it reads words the way this module does

    return read(text)


def _everyday_noise(lowered: str) -> bool:
    """A figure of speech, or an everyday request or frame with no word of harm in it: the second
    reader adds nothing to it (`second_opinion.everyday_noise`, where the noise is defined)."""
    from knowledge.safeguarding.second_opinion import everyday_noise  # it imports this module

    return everyday_noise(lowered)


def is_figure_of_speech(lowered: str) -> bool:
    """A joke or an idiom ("my mum will kill me lol"): the second reader adds nothing to it."""
    return said_in("figures_of_speech", lowered)


def word_lists(raw: dict) -> dict[str, str]:
    """The pattern file's named word lists (`words`), each as one regex group."""
    return {name: _alternation(alternatives) for name, alternatives in (raw.get("words") or {}).items()}


def compile_with_words(patterns, words: dict[str, str]) -> tuple[re.Pattern, ...]:
    """Patterns that use `{name}` for a word list, compiled."""
    return tuple(re.compile(_expand(p, words)) for p in patterns or ())


def said_in(section: str, lowered: str) -> bool:
    """Is any wording of one list in the pattern file (e.g. `figures_of_speech`) in the text?"""
    return any(p.search(lowered) for p in compiled_section(PATTERNS_FILE, section))


@lru_cache(maxsize=16)
def compiled_section(path: Path, section: str) -> tuple[re.Pattern, ...]:
    """One list of wordings from the pattern file (e.g. `figures_of_speech`), compiled."""
    raw = read_yaml(path)
    return compile_with_words(raw.get(section), word_lists(raw))


# Children of the house named: "my son", "the kids", "our little one", "the baby".
_CHILDREN_AT_HOME = re.compile(
    r"\b(?:my|our|the|his|her) (?:[a-z]+ )?(?:kids?|children|child|sons?|daughters?|boys|girls|little ones?|"
    r"baby|babies|toddler|twins|teenagers?|stepson|stepdaughter|youngest|eldest)\b"
    # a child's own words ("mummy and daddy fight", "with us in it"), or a pupil reported by staff
    r"|\b(?:mummy|daddy|us kids|with us in it|pupil|student|y\d{1,2}|yr ?\d{1,2}|year \d{1,2})\b"
    r"|\b(?:his|her|their) (?:mum|mummy|mother)\b|\ba (?:child|pupil|kid)\b"
    # brothers and sisters at home, and a mum's partner named by her child (2026-12-07)
    r"|\b(?:my|our) (?:[a-z]+ )?(?:brothers?|sisters?|siblings)\b"
    r"|\b(?:mum|mam|mom)'?s (?:new )?(?:boyfriend|partner|fella|bloke)\b"
    # a child of the family named by what a parent does for them (2026-12-07, corpus L)
    r"|\b(?:his|her|their|[a-z]+'s) (?:ehcp|ehc plan|plan|sen support|sensory (?:equipment|needs|diet)|"
    r"annual review|school place|review|1:1)\b"
    r"|\b(?:the |our |my )?senco\b|\bhome[- ]school book\b|\bschool (?:run|gates?)\b|\ba disabled child\b"
    r"|\b(?:\d|two|three|four|five|six) (?:kids|children)\b"
    r"|\b(?:my|our) (?:girl|boy|son|daughter|kid|child) (?:aged )?\d{1,2}\b"
    r"|\b(?:children|kids) (?:cry|cried|crying|are crying|were crying|hide|hid|hiding|saw|heard|"
    r"were in|are in|are scared|were scared)\b"
    r"|\bpupils\b|\bstudents\b|\bmum (?:hides|gets it|gets (?:thrown|hit|hurt|pushed|beaten))\b"
    # a child of the house by age, or in the room ("our 17 year old", "in front of him")
    r"|\b(?:my|our) \d{1,2}[ -]?(?:yo|y/o|year[ -]old|yr[ -]old)\b"
    r"|\b(?:his|her) (?:little |big |baby )?(?:sister|brother)\b"
    r"|\bin front of (?:him|her|them|the (?:kids|children|boys|girls|baby))\b"
    # the parents named as "mum" and "dad": the writer is a child of the house (2026-12-07)
    r"|\b(?:dad|daddy|stepdad|step dad|step-dad)\b[^.?!]{0,60}\b(?:mum|mummy|mam|mom)(?:'?s)?\b"
    r"|\b(?:mum|mummy|mam|mom)\b[^.?!]{0,60}\b(?:dad|daddy|stepdad|step dad|step-dad)(?:'?s)?\b"
    r"|\b(?:take|taking|took) [a-z]+ to (?:her|his) (?:[a-z]+ ){0,2}(?:appointments?|nursery|clinic)\b"
)


# The writer hurt at home by family or a partner, and 16 or over (or hurt by a grown-up son or
# daughter): domestic abuse in law (Domestic Abuse Act 2021 s.1-2: both 16 or over, personally
# connected), so the domestic abuse helpline as well as a child's help (2026-12-07, corpus N).
_HURT_ME_AT_HOME = re.compile(
    r"\b(?:hits?|hitting|beats?|beating|beat|slaps?|slapping|kicks?|kicking|punch\w*|hurts?|hurting|"
    r"attack\w*|strangl\w*|chok\w*) me\b|\bbeats? me up\b|\bkicking my (?:bedroom )?door\b|"
    r"\bnot letting me (?:leave|go|out)\b"
)
_AN_ADULT_OF_THE_FAMILY = re.compile(
    r"\b(?:i'?m|im|i am) (?:1[6-9]|2\d)\b(?! (?:weeks|months|mins|minutes|days|hours))|"
    r"\b(?:adult|grown[- ]up) (?:son|daughter|child)\b|"
    r"\b(?:son|daughter|he|she)\b[^.?!]{0,40}\b(?:he's|she's|he is|she is|aged) (?:1[89]|[2-9]\d)\b"
)


def who_else_at_home(groups: tuple[str, ...], writer: str, lowered: str) -> tuple[str, ...]:
    """The groups for everyone at risk in the home, given who the words found at risk: the
    children who live with abuse or are in danger (`with_children`), and a writer of 16 or over
    hurt by family (`with_adults`). The screen and the model-only second opinion both use it, so
    the two paths never tell the same home apart differently."""
    return with_adults(with_children(groups, writer, lowered), lowered)


def with_adults(groups: tuple[str, ...], lowered: str) -> tuple[str, ...]:
    """Domestic abuse too, where the writer is 16 or over and hurt at home (`_HURT_ME_AT_HOME`)."""
    if "child_harm" not in groups or "domestic_abuse" in groups:
        return groups
    if _HURT_ME_AT_HOME.search(lowered) and _AN_ADULT_OF_THE_FAMILY.search(lowered):
        return tuple(g for g in GROUPS if g in {*groups, "domestic_abuse"})
    return groups


def with_children(groups: tuple[str, ...], writer: str, lowered: str) -> tuple[str, ...]:
    """The help for a child being harmed as well, where a child is in it. Children who see, hear
    or live with domestic abuse are victims of it too (Domestic Abuse Act 2021, s.3): a child
    writing about it, or an adult naming the children at home. And a child in danger now or
    missing now may come to harm: after 999 and the school, the DSL and the NSPCC or Childline."""
    if "child_harm" in groups:
        return groups
    children_at_home = writer == "child" or bool(_CHILDREN_AT_HOME.search(lowered))
    abuse_at_home = "domestic_abuse" in groups and children_at_home
    a_child_in_danger = "danger_now" in groups and (children_at_home or bool(_A_CHILD.search(lowered)))
    if abuse_at_home or a_child_in_danger:
        return tuple(g for g in GROUPS if g in {*groups, "child_harm"})
    return groups


# A child named in any way: "my son", "a Y4 girl", "the 9 year old", "Kayla, she's 12".
_A_CHILD = re.compile(
    r"\b(?:sons?|daughters?|child|children|kids?|boys?|girls?|toddler|baby|pupils?|students?|grandson|"
    r"granddaughter|nephew|niece|stepson|stepdaughter|little one|\d{1,2} ?(?:year old|yr old|yo)|"
    r"(?:she|he)(?:'s| is) (?:[1-9]|1[0-7])\b|[a-z]+'s (?:ta|class teacher|key worker|1:1|one to one)\b|"
    # a stranger who claims to know the writer's mum or dad: a child writing (2026-12-07)
    r"(?:says|said|claims|claimed) (?:he's|hes|he is|she's|shes|she is) (?:my )?(?:mum|mam|mom|dad)'?s "
    r"(?:friend|mate)|"
    r"(?:stepdad|step-dad|step dad|dad|father|uncle|man) (?:she|he)(?:'s| is) "
    r"(?:scared|frightened|afraid|terrified) of|"
    # an age in brackets: "her sister (14)" (2026-12-07, corpus N)
    r"[a-z]+ \((?:[1-9]|1[0-7])\))"
)


# --- who is at risk, and how urgent ---------------------------------------------------------
# The reply gives each group's help in this order, the most urgent first: someone in danger
# now or a child missing (999 first); the writer thinking of suicide or self-harm; domestic
# abuse at home; a child being harmed. Kinds map to groups in the pattern file (`groups`).
GROUPS = ("danger_now", "self_harm", "domestic_abuse", "child_harm")


@dataclass(frozen=True)
class AtRisk:
    """The pattern file's `groups`, `whose` and `urgent` sections."""

    kind_groups: dict[str, str]  # pattern kind -> group; any other kind is child_harm
    whose: frozenset[str]  # kinds whose sentence decides who is at risk (self-harm words)
    urgent: tuple[re.Pattern, ...]  # happening now: any concern with one of these is danger_now too


@lru_cache(maxsize=4)
def _at_risk(path: Path) -> AtRisk:
    raw = read_yaml(path)
    words = word_lists(raw)
    return AtRisk(
        kind_groups={kind: group for group, kinds in (raw.get("groups") or {}).items() for kind in kinds},
        whose=frozenset(raw.get("whose") or ()),
        urgent=compile_with_words(raw.get("urgent"), words),
    )


# Whose words are they? The writer's ("I", "myself") or someone else's ("she", "herself").
_WRITER_IN_MATCH = re.compile(r"\b(?:i|i'm|im|i've|ive|i'd|i'll|me|myself|my (?:own )?life)\b")
_OTHER_IN_MATCH = re.compile(
    r"\b(?:him|her|them)sel(?:f|ves)\b|\b(?:his|her|their) (?:own )?life\b"
    r"|\b(?:his|her|their) (?:arms?|wrists?|legs?|thighs?|skin|stomach|tummy|forearms?|body|drawer|room|bag|"
    r"pencil case|sleeves)\b"
)
# The person named nearest before the words (an object such as "asked me" is not a subject).
_SUBJECT = re.compile(
    r"\b(?P<writer>i|i'm|im|i've|ive|i'd|i'll|myself)\b"
    r"|\b(?P<other>he|she|he's|she's|hes|shes|he'd|she'd|son|daughter|child|kid|boy|girl|pupil|student|friend|"
    r"brother|sister|teenager|grandson|granddaughter|\d+ ?(?:year|yr) old)\b"
)
# Someone else's words reported: "he wrote I want to disappear", "she asked me if it hurts to die".
_REPORTED = re.compile(
    r"\b(?:he|she|they|son|daughter|child|pupil|student|friend|brother|sister|[a-z]+ old)\b"
    r"(?: [a-z']+){0,2}? "
    r"(?:said|says|wrote|writes|told|tells|asked|asks|texted|messaged|keeps saying|kept saying|has said|"
    r"has been saying|whispered|admitted)\b"
)
# Someone else named after the words: "I found a stash of pills hidden in her room".
_OTHER_AFTER = re.compile(r"\b(?:his|her|their) [a-z]+|\b(?:him|her|them)sel(?:f|ves)\b")
_SENTENCE_END = re.compile(r"[.?!\n]")


def _whose(text: str, match: re.Match) -> set[str]:
    """{"self_harm"} when the writer is the one at risk, {"child_harm"} when it is someone else,
    both when it is not clear (a parent's own words next to their child's)."""
    said = match.group(0)
    if _OTHER_IN_MATCH.search(said):
        return {"child_harm"}
    if _WRITER_IN_MATCH.search(said):
        return {"self_harm"}
    # the sentence around the words, looked for within SENTENCE_REACH characters either side
    # (a whole-text search for every match made a long repeated message quadratic: 100,000
    # characters took 90 s)
    reach_back = max(0, match.start() - SENTENCE_REACH)
    ends_before = _SENTENCE_END.finditer(text, reach_back, match.start())
    start = max((m.end() for m in ends_before), default=reach_back)
    reach_on = min(len(text), match.end() + SENTENCE_REACH)
    end = next((m.start() for m in _SENTENCE_END.finditer(text, match.end(), reach_on)), reach_on)
    if _REPORTED.search(text, start, match.start()):
        return {"child_harm"}
    before = list(_SUBJECT.finditer(text, start, match.start()))
    if before:  # the nearest person named before the words
        if before[-1].group("other"):
            return {"child_harm"}
        return {"self_harm", "child_harm"} if _OTHER_AFTER.search(text, match.end(), end) else {"self_harm"}
    after = _SUBJECT.search(text, match.end(), end)  # nobody named before: the writer, and maybe who follows
    return {"self_harm", "child_harm"} if after and after.group("other") else {"self_harm"}


def _groups(found: list, text: str, at_risk: AtRisk) -> tuple[str, ...]:
    groups: set[str] = set()
    for pattern, matches in found:
        if pattern.kind in at_risk.whose:
            for remainder, m in matches:
                if {"self_harm", "child_harm"} <= groups:
                    break  # nothing more to learn from the same words again
                groups.update(_whose(remainder, m))
        else:
            groups.add(at_risk.kind_groups.get(pattern.kind, "child_harm"))
    if _happening_now(text, at_risk):
        groups.add("danger_now")
    return tuple(g for g in GROUPS if g in groups)


def _happening_now(lowered: str, at_risk: AtRisk) -> bool:
    """Said as happening now (the pattern file's `urgent`): a concern of any kind is danger now too."""
    return any(u.search(lowered) for u in at_risk.urgent)


@lru_cache(maxsize=4)
def _check_first_rules(path: Path) -> tuple[CheckFirstRule, ...]:
    raw = read_yaml(path)
    return tuple(
        CheckFirstRule(
            name=rule["name"],
            patterns=frozenset(rule["patterns"]),
            context=tuple(re.compile(c) for c in rule["context"]),
            unless=tuple(re.compile(u) for u in rule.get("unless") or ()),
        )
        for rule in raw.get("check_first") or ()
    )
