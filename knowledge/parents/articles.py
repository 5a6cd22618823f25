"""Loading SEND articles and answers from YAML files into the database, and reading them back.

Two kinds of entry share one format and one table:
- an *article* is a topic's overview ("tell me about EHCPs"): summary, up to three details;
- an *answer* answers one specific question ("can I see the reports before the review?"):
  it lists the ways people ask it (`questions`), its first sentence answers, and it has at
  most two details.
Product content lives in `knowledge/content/articles/*.yml` and `knowledge/content/answers/*.yml`;
a school adds its own in `school_data/articles/*.yml` (either kind: an entry with `questions`
is an answer). `sync_articles` makes the database match the files, so an edited or added
entry is answerable after a reload, without retraining the NLU model.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from knowledge.shared.models import Article, StatutoryFact
from knowledge.shared.yaml_files import read_yaml

FACT_STATUSES = ("must", "should", "should consider")
DAY_KINDS = ("calendar", "working", None)
AUDIENCES = ("all", "parents", "staff")

ARTICLE, ANSWER = "article", "answer"
MAX_DETAILS = {ARTICLE: 3, ANSWER: 2}
MIN_QUESTIONS = 3
MAX_ANSWER_WORDS = 70


class ContentError(ValueError):
    """An article file that cannot be loaded; the message names the file and field."""


@dataclass(frozen=True)
class FactSpec:
    key: str
    statement: str
    value: str
    unit: str
    day_kind: str | None
    status: str
    measured_from: str | None
    source: str
    source_url: str | None
    checked_on: dt.date


@dataclass(frozen=True)
class ArticleSpec:
    slug: str
    topic: str
    title: str
    summary: str
    details: tuple[str, ...]
    keywords: tuple[str, ...]
    follow_ups: tuple[str, ...]
    source_title: str
    source_url: str | None
    checked_on: dt.date
    facts: tuple[FactSpec, ...] = field(default_factory=tuple)
    position: int = 0
    kind: str = ARTICLE
    questions: tuple[str, ...] = ()
    audience: str = "all"


def _date(value, where: str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise ContentError(f"{where}: checked_on must be a date like 2026-11-23") from exc


def _required(raw: dict, key: str, where: str) -> str:
    value = raw.get(key)
    if value is None or not str(value).strip():
        raise ContentError(f"{where}: '{key}' is required")
    return " ".join(str(value).split())


def _fact(raw: dict, where: str) -> FactSpec:
    where = f"{where} fact {raw.get('key', '?')}"
    status = _required(raw, "status", where)
    if status not in FACT_STATUSES:
        raise ContentError(f"{where}: status must be one of {FACT_STATUSES}")
    day_kind = raw.get("day_kind")
    if day_kind not in DAY_KINDS:
        raise ContentError(f"{where}: day_kind must be calendar, working or null")
    return FactSpec(
        key=_required(raw, "key", where),
        statement=_required(raw, "statement", where),
        value=_required(raw, "value", where),
        unit=_required(raw, "unit", where),
        day_kind=day_kind,
        status=status,
        measured_from=raw.get("measured_from"),
        source=_required(raw, "source", where),
        source_url=raw.get("source_url"),
        checked_on=_date(raw.get("checked_on"), where),
    )


def parse_article(raw: dict, where: str, position: int = 0) -> ArticleSpec:
    """Validate one article mapping from a YAML file."""
    if not isinstance(raw, dict):
        raise ContentError(f"{where}: each article must be a mapping")
    kind = ANSWER if "questions" in raw else ARTICLE
    where = f"{where} {kind} {raw.get('slug', '?')}"
    source = raw.get("source") or {}
    details = tuple(" ".join(str(d).split()) for d in raw.get("details") or ())
    if len(details) > MAX_DETAILS[kind]:
        raise ContentError(f"{where}: at most {MAX_DETAILS[kind]} details (every one is shown)")
    questions = tuple(" ".join(str(q).split()) for q in raw.get("questions") or () if str(q).strip())
    audience = str(raw.get("audience") or "all").strip()
    if audience not in AUDIENCES:
        raise ContentError(f"{where}: audience must be one of {AUDIENCES}")
    if kind == ANSWER:
        if len(questions) < MIN_QUESTIONS:
            raise ContentError(f"{where}: give at least {MIN_QUESTIONS} ways people ask the question")
        if len(_required(raw, "answer", where).split()) > MAX_ANSWER_WORDS:
            raise ContentError(f"{where}: the answer is longer than {MAX_ANSWER_WORDS} words")
    return ArticleSpec(
        slug=_required(raw, "slug", where),
        topic=_required(raw, "topic", where),
        title=_required(raw, "title", where),
        summary=_required(raw, "answer" if kind == ANSWER else "summary", where),
        details=details,
        keywords=tuple(str(k).lower().strip() for k in raw.get("keywords") or ()),
        follow_ups=tuple(str(t).strip() for t in raw.get("follow_ups") or ()),
        source_title=_required(source, "title", f"{where} source"),
        source_url=source.get("url"),
        checked_on=_date(raw.get("checked_on"), where),
        facts=tuple(_fact(f, where) for f in raw.get("facts") or ()),
        position=position,
        kind=kind,
        questions=questions,
        audience=audience,
    )


def load_article_files(folder: Path) -> list[ArticleSpec]:
    """Every article in `folder/*.yml`, in file then list order. A missing folder is empty."""
    specs: list[ArticleSpec] = []
    if not folder.is_dir():
        return specs
    for path in sorted(folder.glob("*.yml")):
        data = read_yaml(path) or []
        if not isinstance(data, list):
            raise ContentError(f"{path.name}: the file must hold a list of articles")
        specs.extend(parse_article(raw, path.name, i) for i, raw in enumerate(data))
    _no_duplicate_slugs(specs, str(folder))
    return specs


def load_product_content(content_dir: Path) -> list[ArticleSpec]:
    """The shipped overview articles and specific answers, checked together for duplicate slugs,
    with the further ways of asking each answer's question (`answers/more_questions/*.yml`)."""
    specs = load_article_files(content_dir / "articles") + load_article_files(content_dir / "answers")
    _no_duplicate_slugs(specs, str(content_dir))
    return with_more_questions(specs, content_dir / "answers" / "more_questions")


def with_more_questions(specs: Sequence[ArticleSpec], folder: Path) -> list[ArticleSpec]:
    """Each answer with the extra ways of asking listed for its slug in `folder/*.yml`
    (a mapping of slug to a list of questions), so the answer files stay short to read."""
    extra: dict[str, list[str]] = {}
    for path in sorted(folder.glob("*.yml")) if folder.is_dir() else ():
        data = read_yaml(path) or {}
        if not isinstance(data, dict):
            raise ContentError(f"{path.name}: the file must map answer slugs to lists of questions")
        for slug, questions in data.items():
            if not isinstance(questions, list):
                raise ContentError(f"{path.name} {slug}: give a list of questions")
            asked = (" ".join(str(q).split()) for q in questions if str(q).strip())
            extra.setdefault(str(slug), []).extend(asked)
    answers = {s.slug for s in specs if s.kind == ANSWER}
    unknown = sorted(set(extra) - answers)
    if unknown:
        raise ContentError(f"more_questions name answers that do not exist: {unknown}")
    return [
        dataclasses.replace(s, questions=tuple(dict.fromkeys((*s.questions, *extra[s.slug]))))
        if s.slug in extra
        else s
        for s in specs
    ]


def _no_duplicate_slugs(specs: Sequence[ArticleSpec], where: str) -> None:
    slugs = [s.slug for s in specs]
    duplicates = {s for s in slugs if slugs.count(s) > 1}
    if duplicates:
        raise ContentError(f"duplicate slugs in {where}: {sorted(duplicates)}")


def sync_articles(
    session: Session, specs: Sequence[ArticleSpec], *, origin: str, school_ref: str | None
) -> int:
    """Make the stored articles of this origin (and school) match `specs`. Returns the count."""
    owner = Article.school_ref.is_(None) if school_ref is None else Article.school_ref == school_ref
    existing = {
        a.slug: a
        for a in session.execute(
            select(Article).where(Article.origin == origin, owner).options(selectinload(Article.facts))
        ).scalars()
    }
    wanted = {s.slug for s in specs}
    for slug, article in existing.items():
        if slug not in wanted:
            session.delete(article)
    session.flush()
    for spec in specs:
        article = existing.get(spec.slug)
        if article is not None and _unchanged(article, spec, school_ref, origin):
            continue  # a reload of unchanged files writes nothing
        if article is None:
            article = Article(slug=spec.slug)
            session.add(article)
        else:
            # Drop old facts before adding new ones: a fact key is unique and may be re-used.
            article.facts.clear()
            session.flush()
        _copy(spec, article, school_ref, origin)
        article.facts.extend(StatutoryFact(**fact.__dict__) for fact in spec.facts)
    session.flush()
    return len(specs)


def _copy(spec: ArticleSpec, article: Article, school_ref: str | None, origin: str) -> None:
    article.school_ref = school_ref
    article.origin = origin
    for name, value in _fields(spec).items():
        setattr(article, name, value)


def _fields(spec: ArticleSpec) -> dict:
    return {
        "topic": spec.topic,
        "title": spec.title,
        "summary": spec.summary,
        "details": list(spec.details),
        "keywords": list(spec.keywords),
        "follow_ups": list(spec.follow_ups),
        "source_title": spec.source_title,
        "source_url": spec.source_url,
        "checked_on": spec.checked_on,
        "position": spec.position,
        "kind": spec.kind,
        "questions": list(spec.questions),
        "audience": spec.audience,
    }


def _unchanged(article: Article, spec: ArticleSpec, school_ref: str | None, origin: str) -> bool:
    if article.school_ref != school_ref or article.origin != origin:
        return False
    if any(getattr(article, name) != value for name, value in _fields(spec).items()):
        return False
    stored = [{k: getattr(f, k) for k in FactSpec.__dataclass_fields__} for f in article.facts]
    return stored == [fact.__dict__ for fact in spec.facts]


def visible_articles(
    session: Session, school_ref: str, topic: str | None = None, *, kind: str = ARTICLE
) -> list[Article]:
    """Product entries of `kind` plus this school's own, optionally for one topic, in display order.

    Replies never show the fact records, so they are not loaded here (`article.facts`
    still loads them on demand).
    """
    query = (
        select(Article)
        .where(or_(Article.school_ref.is_(None), Article.school_ref == school_ref), Article.kind == kind)
        .order_by(Article.topic, Article.position, Article.id)
    )
    if topic is not None:
        query = query.where(Article.topic == topic)
    return list(session.execute(query).scalars())


def content_version(session: Session, school_ref: str) -> tuple:
    """A fingerprint of every entry `visible_articles` returns for this school (both kinds),
    read with one small query, so a cached copy can be checked on every message.

    Adding an entry changes the count and the sum of ids; removing one changes the count; an
    edit (by `sync_articles` or any ORM write, in any process) stamps `updated_at`, which moves
    the latest change; a removal plus an addition in one reload moves the latest change too.
    """
    row = session.execute(
        select(func.count(Article.id), func.sum(Article.id), func.max(Article.updated_at)).where(
            or_(Article.school_ref.is_(None), Article.school_ref == school_ref)
        )
    ).one()
    return tuple(row)


def topic_titles(articles: Iterable[Article]) -> dict[str, str]:
    """The first article title of each topic, used as follow-up button labels."""
    titles: dict[str, str] = {}
    for article in articles:
        titles.setdefault(article.topic, article.title)
    return titles
