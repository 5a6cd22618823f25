"""Finding the article that best answers a question, by its words.

Used twice: to pick between several articles of one topic ("mediation" vs "appeals"),
and as the safety net when the NLU model is unsure, so an article a school has just
added is answerable without retraining. It is deliberately strict: answering the
wrong question confidently is worse than saying "I can't help with that".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Sequence

from knowledge.shared.models import Article

_WORD = re.compile(r"[a-z0-9]+")

STOPWORDS = frozenset(
    """a about after again all also am an and any are as at be because been before being but by
    can could did do does doing done for from get got had has have having he her here him
    his how i if in into is it its just know let like me might more most much must my need
    no not now of off on one only or other our out over please really said same say she
    should so some still such take tell than that the their them then there these they thing
    think this those through to too up us very want was we well were what when where which
    while who why will with would yes yet you your im ive dont cant wont hi hello thanks
    thank child children son daughter kid kids school""".split()
)

# Spellings and shorthand parents use, mapped to the form used in the articles.
ALIASES = {
    "ehc": "ehcp",
    "ehcps": "ehcp",
    "ehcs": "ehcp",
    "sendco": "senco",
    "sencos": "senco",
    "la": "council",
    "authority": "council",
    "tribunals": "tribunal",
    "appealing": "appeal",
    "assess": "assessment",
    "assessed": "assessment",
}


def _stem(word: str) -> str:
    if len(word) > 6 and word.endswith("sis"):  # diagnosis and diagnoses, one stem
        return word[:-2]
    for suffix in ("ings", "ing", "ies", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return word


def terms(text: str) -> list[str]:
    """Content words of `text`, lower-cased, aliased and lightly stemmed."""
    words = (ALIASES.get(w, w) for w in _WORD.findall(text.lower()))
    return [_stem(w) for w in words if w not in STOPWORDS and len(w) > 1]


@dataclass(frozen=True)
class Match:
    article: Article
    score: float
    keyword_hits: int


@lru_cache(maxsize=2048)
def _article_terms(
    title: str, summary: str, details: tuple[str, ...], keywords: tuple[str, ...]
) -> tuple[frozenset, frozenset, frozenset]:
    """An article's title, body and keyword terms; cached on its text, so an edit is seen at once."""
    return (
        frozenset(terms(title)),
        frozenset(terms(" ".join([summary, *details]))),
        frozenset(terms(" ".join(keywords))),
    )


def score_article(article: Article, question_terms: Sequence[str], question: str) -> Match:
    """Keywords weigh most (a school chose them), then the title, then the body."""
    lowered = f" {' '.join(_WORD.findall(question.lower()))} "
    keyword_hits = 0
    for keyword in article.keywords:
        phrase = " ".join(_WORD.findall(keyword.lower()))
        if phrase and f" {phrase} " in lowered:
            keyword_hits += 1 + phrase.count(" ")
    wanted = set(question_terms)
    title_terms, body_terms, keyword_terms = _article_terms(
        article.title, article.summary, tuple(article.details), tuple(article.keywords)
    )
    score = (
        3.0 * keyword_hits
        + 2.0 * len(wanted & title_terms)
        + 1.0 * len(wanted & keyword_terms)
        + 0.5 * len(wanted & body_terms)
    )
    return Match(article=article, score=score, keyword_hits=keyword_hits)


def rank(articles: Iterable[Article], question: str) -> list[Match]:
    """Articles ordered from best to worst match for `question` (stable for ties)."""
    question_terms = terms(question)
    matches = [score_article(a, question_terms, question) for a in articles]
    return sorted(matches, key=lambda m: -m.score)


def best_for_topic(articles: Sequence[Article], question: str) -> Article | None:
    """The topic's article that fits the question best; the first one when none stands out."""
    if not articles:
        return None
    ranked = rank(articles, question)
    if ranked[0].score > 0 and (len(ranked) == 1 or ranked[0].score > ranked[1].score):
        return ranked[0].article
    return articles[0]


# A confident text-only answer needs a keyword phrase hit plus more evidence.
CONFIDENT_SCORE = 6.0


def confident_match(articles: Iterable[Article], question: str) -> Match | None:
    """The best article when the words alone make the question's meaning clear, else None."""
    ranked = rank(articles, question)
    if not ranked:
        return None
    best = ranked[0]
    runner_up = ranked[1].score if len(ranked) > 1 else 0.0
    if best.keyword_hits >= 1 and best.score >= CONFIDENT_SCORE and best.score >= 1.5 * runner_up:
        return best
    return None
