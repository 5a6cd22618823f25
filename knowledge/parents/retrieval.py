"""Finding the specific answer to a question among the answer bank's entries.

Each answer lists the ways people ask its question. A message is compared with every one
of them (and with the answer's title and keywords) by TF-IDF cosine similarity over two
views of the words: the words themselves, lightly stemmed, with pairs of neighbouring
words; and character n-grams inside words, which forgive typing slips ("asessment",
"tribnal"). The index is built from the answers as they are stored, so an answer a school
has just added is found at once, with no retraining.

The candidates the words find are put in order with a learned ranker's help
(`knowledge.parents.ranker`, trained on the shipped answers' ways of asking); an answer it was
not trained on keeps its place by the words alone. A match's `score` stays the TF-IDF
closeness, which the thresholds were measured on.

Pure functions and plain data: no database, no Rasa. The thresholds that turn a score
into "answer", "maybe" or "no reliable answer" live with the caller
(`knowledge.parents.understanding`), where they are measured.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Iterable, Literal, Mapping, Sequence

import numpy as np

from knowledge.parents.ranker import AnswerRanker, fingerprint, load_ranker
from knowledge.parents.search import ALIASES, STOPWORDS, _stem
from knowledge.text.spelling import Corrector

_WORD = re.compile(r"[a-z0-9£]+")

# Question words carry meaning here ("who writes" vs "when is"), unlike in the article search.
QUESTION_WORDS = frozenset(
    "who when what why where which how can could must should will would does do is are if after before "
    "long often much many refuse refused".split()
)
RETRIEVAL_STOPWORDS = STOPWORDS - QUESTION_WORDS - {"no", "not", "school", "child", "children"}

# Words parents use for the same thing, mapped to one form (beyond the article search's).
MORE_ALIASES = {
    "ehcp": "ehcp", "ehc": "ehcp", "statement": "ehcp",
    "lea": "council", "las": "council", "authorities": "council", "councils": "council",
    "headteacher": "head", "headmaster": "head", "headmistress": "head", "principal": "head",
    "nan": "grandparent", "nana": "grandparent", "gran": "grandparent", "granny": "grandparent",
    "grandma": "grandparent", "grandad": "grandparent", "grandpa": "grandparent", "granddad": "grandparent",
    "nanna": "grandparent",
    "grandparents": "grandparent", "grandmother": "grandparent", "grandfather": "grandparent",
    "mum": "parent", "dad": "parent", "mam": "parent", "mom": "parent", "parents": "parent",
    "carer": "parent", "carers": "parent",
    "sendiass": "sendiass", "sendias": "sendiass", "iass": "sendiass",
    "tribunal": "tribunal", "sendist": "tribunal", "fttt": "tribunal",
    "wk": "week", "wks": "week", "weeks": "week", "days": "day", "months": "month", "mths": "month",
    "ot": "occupational", "salt": "speech", "ep": "psychologist",
    "iep": "iep", "ieps": "iep", "sen": "sen", "send": "sen",
    "yr": "year", "y9": "year 9", "y10": "year 10", "y11": "year 11",
}  # fmt: skip
# Text-speak, read as the words meant (digits stay digits: "2 weeks" is two weeks).
TEXT_SPEAK = {
    "hav": "have", "b": "be", "r": "are", "u": "you", "ur": "your", "coz": "because", "cos": "because",
    "cuz": "because", "wen": "when", "wat": "what", "wot": "what", "shud": "should", "cud": "could",
    "wud": "would", "dnt": "dont", "pls": "please", "plz": "please", "n": "and", "2day": "today",
    "b4": "before", "lng": "long", "tht": "that", "wiv": "with", "sed": "said", "y": "why",
    "becuz": "because", "bcoz": "because", "bcos": "because", "tho": "though", "thru": "through",
}  # fmt: skip
CHAR_N = (3, 4, 5)
WORD_WEIGHT = 0.65  # the words' view against the characters' (measured on the dev set)


# "section K", "sections C and D", "section H1": the letter is what is asked about, so the two
# are read as one word ("sectionk"); alone, a single letter is dropped as filler.
_SECTION_LETTERS = re.compile(r"\bsections? ([a-k])(\d?)(?:(?:,| and| &| or) ([a-k])(\d?)\b)?(?![a-z0-9])")


def _joined_sections(lowered: str) -> str:
    def joined(match: re.Match) -> str:
        first = f"section{match[1]}{match[2]}"
        return f"{first} section{match[3]}{match[4]}" if match[3] else first

    return _SECTION_LETTERS.sub(joined, lowered)


def words(text: str) -> list[str]:
    """Lower-cased, aliased, lightly stemmed words, question words kept, filler dropped."""
    out: list[str] = []
    for raw in _WORD.findall(_joined_sections(text.lower())):
        raw = TEXT_SPEAK.get(raw, raw)
        word = MORE_ALIASES.get(raw) or ALIASES.get(raw, raw)
        for part in word.split():
            if part in RETRIEVAL_STOPWORDS or (len(part) < 2 and not part.isdigit()):
                continue
            out.append(part if part in QUESTION_WORDS or part.isdigit() else _stem(part))
    return out


def word_features(text: str) -> Counter:
    found = words(text)
    features = Counter(found)
    features.update(f"{a}_{b}" for a, b in zip(found, found[1:], strict=False))
    return features


def char_features(text: str) -> Counter:
    features: Counter = Counter()
    for word in words(text):
        if word in QUESTION_WORDS:
            continue
        padded = f" {word} "
        for n in CHAR_N:
            features.update(padded[i : i + n] for i in range(max(1, len(padded) - n + 1)))
    return features


class _View:
    """One TF-IDF view over a set of documents, searchable through an inverted index.

    Each term's postings are two numpy arrays (documents, weights) rather than lists of tuples:
    an index of the shipped bank holds millions of postings, and as Python tuples they took
    about 100 MB and most of a message's time; a query adds each of its terms' weights into
    one array of scores."""

    def __init__(self, documents: Sequence[Counter]) -> None:
        df: Counter = Counter()
        for doc in documents:
            df.update(doc.keys())
        total = max(1, len(documents))
        self.size = len(documents)
        self.idf = {term: math.log((1 + total) / (1 + count)) + 1.0 for term, count in df.items()}
        self.unseen_idf = math.log(1 + total) + 1.0
        gathered: dict[str, tuple[list[int], list[float]]] = defaultdict(lambda: ([], []))
        for i, doc in enumerate(documents):
            for term, weight in self._vector(doc).items():
                docs, weights = gathered[term]
                docs.append(i)
                weights.append(weight)
        self.postings: dict[str, tuple[np.ndarray, np.ndarray]] = {
            term: (np.array(docs, dtype=np.int32), np.array(weights, dtype=np.float64))
            for term, (docs, weights) in gathered.items()
        }

    def _vector(self, features: Counter) -> dict[str, float]:
        # Words no answer uses still count in the length: a message mostly about something
        # else ("...change his council tax band") is far from every answer.
        unseen = self.unseen_idf
        vector = {t: (1.0 + math.log(c)) * self.idf.get(t, unseen) for t, c in features.items() if c > 0}
        norm = math.sqrt(sum(w * w for w in vector.values())) or 1.0
        return {t: w / norm for t, w in vector.items() if t in self.idf}

    def similarities(self, features: Counter) -> dict[int, float]:
        """Cosine similarity of `features` with every document that shares a term with it."""
        scores = np.zeros(self.size, dtype=np.float64)
        touched = np.zeros(self.size, dtype=bool)
        for term, weight in self._vector(features).items():
            docs, doc_weights = self.postings[term]  # a document holds a term once: no repeats
            scores[docs] += weight * doc_weights
            touched[docs] = True
        found = np.flatnonzero(touched)
        return dict(zip(found.tolist(), scores[found].tolist(), strict=True))


@dataclass(frozen=True)
class Entry:
    """What the index needs of one answer."""

    slug: str
    topic: str
    title: str
    questions: tuple[str, ...]
    keywords: tuple[str, ...] = ()
    answer: str = ""  # the answer's own words ("Section F", "4 weeks"), matched a little less


@dataclass(frozen=True)
class Scored:
    entry: Entry
    # 0..1: the TF-IDF closeness of the message to the answer's questions. A ranked list is in
    # the learned ranker's order, so a later match may have a higher score than an earlier one.
    score: float


def _spelling_vocabulary(entries: Sequence[Entry]) -> set[str]:
    """The words slips are corrected towards: the answers' own text, titles and keywords, and
    words the ways of asking share. A word found in one way of asking only may be a slip kept on
    purpose ("do u need a diagnoses"), and must not pull a real slip ("diagnosys") its way."""
    curated = {w for e in entries for t in (e.title, e.answer, *e.keywords) for w in _WORD.findall(t.lower())}
    asked = Counter(w for e in entries for q in e.questions for w in set(_WORD.findall(q.lower())))
    return (curated | {w for w, n in asked.items() if n >= SHARED_BY}) - _listed_slips(entries)


def _listed_slips(entries: Sequence[Entry]) -> set[str]:
    """Slips an answer lists on purpose beside the word meant ("appeal, apeal" among an overview's
    keywords, for the article search): not words to correct towards, or a message's "apeal" would
    match that one keyword list instead of the hundreds of ways of asking that say "appeal"."""
    used = Counter(
        w
        for e in entries
        for t in (e.title, e.answer, *e.keywords, *e.questions)
        for w in _WORD.findall(t.lower())
    )
    slips: set[str] = set()
    for entry in entries:
        listed = {w for t in entry.keywords for w in _WORD.findall(t.lower())}
        for word in listed:
            meant = Corrector(listed - {word}).correct(word)
            if meant != word and used[meant] >= LISTED_SLIP_RARITY * used[word]:
                slips.add(word)
    return slips


# A listed word is a slip of its neighbour in the list only when the bank uses the neighbour
# this many times as often (on the shipped bank: "apeal" 4 to "appeal" 302, "anual" 1 to 82).
LISTED_SLIP_RARITY = 10


# How many ways of asking must share a word before slips are corrected towards it.
SHARED_BY = 3


class AnswerIndex:
    """Every answer's questions, title and keywords, as documents pointing back to the answer."""

    def __init__(
        self, entries: Iterable[Entry], ranker: AnswerRanker | None | Literal["shipped"] = "shipped"
    ) -> None:
        self.entries = list(entries)
        self._ranker = load_ranker() if isinstance(ranker, str) else ranker
        self._learned_as = (
            self._ranker.classes_for(
                (e.slug, fingerprint(e.title, e.questions, e.keywords)) for e in self.entries
            )
            if self._ranker is not None
            else []
        )
        owners: list[int] = []
        weights: list[float] = []
        texts: list[str] = []
        for i, entry in enumerate(self.entries):
            asked = [(t, 1.0) for t in (*entry.questions, entry.title, " ".join(entry.keywords))]
            for text, weight in [*asked, (entry.answer, ANSWER_TEXT_WEIGHT)]:
                if text.strip():
                    owners.append(i)
                    weights.append(weight)
                    texts.append(text)
        self._owners = owners
        self._weights = weights
        # Every way of asking an answer's question, as one document: the words they share
        # matter more than the words of any one of them.
        together = [" ".join((*e.questions, e.title, *e.keywords)) for e in self.entries]
        self._together_words = _View([word_features(t) for t in together])
        self._together_chars = _View([char_features(t) for t in together])
        self._spelling = Corrector(_spelling_vocabulary(self.entries))
        self._words = _View([word_features(t) for t in texts])
        self._chars = _View([char_features(t) for t in texts])

    def rank(
        self, text: str, topic_weights: Mapping[str, float] | None = None, limit: int = 5
    ) -> list[Scored]:
        """The answers closest to `text`, best first. `topic_weights` (the NLU model's topic
        confidences) nudge answers of the topic the model read, never more than a little."""
        text = self.spelt_right(text)
        word_feats, char_feats = word_features(text), char_features(text)
        by_words = self._words.similarities(word_feats)
        by_chars = self._chars.similarities(char_feats)
        best: dict[int, float] = defaultdict(float)
        for doc in set(by_words) | set(by_chars):
            score = WORD_WEIGHT * by_words.get(doc, 0.0) + (1 - WORD_WEIGHT) * by_chars.get(doc, 0.0)
            score *= self._weights[doc]
            owner = self._owners[doc]
            best[owner] = max(best[owner], score)
        if TOGETHER_WEIGHT:
            words_together = self._together_words.similarities(word_feats)
            chars_together = self._together_chars.similarities(char_feats)
            for owner in set(words_together) | set(chars_together):
                by_word, by_char = words_together.get(owner, 0.0), chars_together.get(owner, 0.0)
                together = WORD_WEIGHT * by_word + (1 - WORD_WEIGHT) * by_char
                best[owner] = (1 - TOGETHER_WEIGHT) * best.get(owner, 0.0) + TOGETHER_WEIGHT * together
        if topic_weights:
            for owner in best:
                best[owner] += TOPIC_NUDGE * topic_weights.get(self.entries[owner].topic, 0.0)
        order = self._learned_order(best, word_feats, char_feats)
        return [Scored(self.entries[i], round(best[i], 4)) for i in order[:limit]]

    def _learned_order(
        self, best: Mapping[int, float], word_feats: Counter, char_feats: Counter
    ) -> list[int]:
        """The word search's candidates, best first by the TF-IDF score blended with the learned
        ranker's margin (mapped from -1..1 to 0..1); one it was not trained on by its score alone."""
        if self._ranker is None:
            return sorted(best, key=lambda owner: -best[owner])
        margins = self._ranker.margins(word_feats, char_feats)

        def blended(owner: int) -> float:
            learned_as = self._learned_as[owner]
            if learned_as is None:
                return best[owner]
            return (1 - LEARNED_WEIGHT) * best[owner] + LEARNED_WEIGHT * (margins[learned_as] + 1) / 2

        return sorted(best, key=lambda owner: -blended(owner))

    def spelt_right(self, text: str) -> str:
        """Each word the answers never use, as the answers' word it is a typing slip of."""
        return _WORD.sub(lambda m: self._spelling.correct(m.group(0)), text.lower())


TOPIC_NUDGE = 0.1
ANSWER_TEXT_WEIGHT = 0.8
TOGETHER_WEIGHT = 0.5
# The learned ranker's share of the order (measured on the development questions: 0.5-0.85
# all put the right answer first more often than the words alone, 0.7 the most; through the
# whole reply, scripts/measure_answers.py, 0.5/0.7/0.85/0.95/1.0 answered 98/99/101/101/100
# of 160 right, with the same off-topic declines, so 0.85).
LEARNED_WEIGHT = 0.85
