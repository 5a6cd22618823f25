"""The answer bank: specific answers to the questions parents and staff ask (issue #15).

Every answer answers in its first sentence, is short, names where each figure comes from
(source, must/should, checked-on date), and can be found by the ways people ask it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from urllib.parse import urlparse

import pytest
import yaml

from knowledge.parents.articles import (
    ANSWER,
    ARTICLE,
    FACT_STATUSES,
    ContentError,
    load_article_files,
    load_product_content,
    parse_article,
)
from knowledge.shared.settings import PROJECT_ROOT
from knowledge.text.readability import grade_level

CONTENT = load_product_content(PROJECT_ROOT / "knowledge/content")
ANSWERS = [spec for spec in CONTENT if spec.kind == ANSWER]
TOPICS = {spec.topic for spec in CONTENT if spec.kind == ARTICLE}
TODAY = dt.date(2026, 12, 8)

# Where a figure may come from: the law, the Code and government guidance, and the exam
# boards' own rules for access arrangements.
PRIMARY_SOURCES = ("legislation.gov.uk", "gov.uk", "jcq.org.uk", "lgo.org.uk", "parliament.uk")

NUMBER = re.compile(r"(?<![\w£])£?\d[\d,]*(?:\.\d+)?")


def _first_sentence(text: str) -> str:
    return re.split(r"(?<=[.!?])\s", text.strip(), maxsplit=1)[0]


def test_the_bank_holds_at_least_300_specific_answers():
    assert len(ANSWERS) >= 300, len(ANSWERS)


def test_every_answer_belongs_to_a_topic_that_has_an_overview():
    assert {a.topic for a in ANSWERS} <= TOPICS, {a.topic for a in ANSWERS} - TOPICS


@pytest.mark.parametrize("answer", ANSWERS, ids=lambda a: a.slug)
def test_the_first_sentence_answers_briefly(answer):
    first = _first_sentence(answer.summary)
    assert len(first.split()) <= 30, first
    assert len(answer.details) <= 2
    assert all(len(d.split()) <= 40 for d in answer.details), answer.details


@pytest.mark.parametrize("answer", ANSWERS, ids=lambda a: a.slug)
def test_every_figure_has_a_fact_with_source_status_and_date(answer):
    said = " ".join((answer.summary, *answer.details))
    figures = {n.lstrip("£").replace(",", "") for n in NUMBER.findall(said)}
    figures -= {str(y) for y in range(1990, 2031)}  # years name laws and dates, not periods
    stated = " ".join(f"{f.value} {f.statement}" for f in answer.facts).replace(",", "")
    missing = {n for n in figures if not re.search(rf"(?<!\d){re.escape(n)}(?!\d)", stated)}
    assert not missing, f"figures without a fact: {sorted(missing)}"
    for fact in answer.facts:
        assert fact.status in FACT_STATUSES
        assert fact.source and fact.checked_on <= TODAY


@pytest.mark.parametrize("answer", ANSWERS, ids=lambda a: a.slug)
def test_sources_are_primary(answer):
    urls = [answer.source_url, *(f.source_url for f in answer.facts)]
    for url in filter(None, urls):
        host = urlparse(url).hostname or ""
        assert host.endswith(PRIMARY_SOURCES), url


def test_no_question_is_listed_under_two_answers():
    owners = defaultdict(set)
    for answer in ANSWERS:
        for question in answer.questions:
            owners[re.sub(r"\W+", " ", question.lower()).strip()].add(answer.slug)
    shared = {q: s for q, s in owners.items() if len(s) > 1}
    assert not shared


def test_a_fact_key_means_the_same_in_every_answer_and_article():
    seen = defaultdict(set)
    for spec in CONTENT:
        for fact in spec.facts:
            seen[fact.key].add((fact.value, fact.unit, fact.status, fact.day_kind))
    assert not {key: v for key, v in seen.items() if len(v) > 1}


def test_answers_read_plainly_on_average():
    grades = [grade_level(a.summary) for a in ANSWERS]
    assert grades and sum(grades) / len(grades) <= 9.0


def test_the_national_award_is_never_given_as_the_qualification_a_new_senco_must_gain():
    for spec in CONTENT:
        text = " ".join((spec.summary, *spec.details))
        if "National Award" in text:
            assert "NPQ" in text or "National Professional Qualification" in text, spec.slug


# --- the format's rules --------------------------------------------------------------------


def _raw(**changes):
    raw = {
        "slug": "x",
        "topic": "annual_review",
        "title": "T",
        "questions": ["a?", "b?", "c?"],
        "answer": "Yes. It is so.",
        "source": {"title": "SEND Regulations 2014"},
        "checked_on": "2026-12-07",
    }
    raw.update(changes)
    return {k: v for k, v in raw.items() if v is not None}


def test_an_entry_with_questions_is_an_answer_and_its_answer_is_the_summary():
    spec = parse_article(_raw(), "t.yml")
    assert spec.kind == ANSWER and spec.summary == "Yes. It is so." and spec.questions == ("a?", "b?", "c?")


@pytest.mark.parametrize(
    "changes",
    [
        {"questions": ["only one?"]},
        {"details": ["1", "2", "3"]},
        {"answer": None},
        {"audience": "everyone"},
        {"answer": "word " * 80},
    ],
)
def test_a_broken_answer_is_refused_with_its_name(changes):
    with pytest.raises(ContentError, match="answer x"):
        parse_article(_raw(**changes), "t.yml")


def test_an_article_may_not_hide_a_fourth_detail():
    raw = _raw(questions=None, answer=None, summary="S.", details=["1", "2", "3", "4"])
    with pytest.raises(ContentError, match="at most 3 details"):
        parse_article(raw, "t.yml")


def test_a_missing_answers_folder_is_empty(tmp_path):
    assert load_article_files(tmp_path / "answers") == []


def test_more_ways_of_asking_are_added_to_their_answer_and_an_unknown_slug_is_refused(tmp_path):
    from knowledge.parents.articles import with_more_questions

    spec = parse_article(_raw(), "t.yml")
    (tmp_path / "more.yml").write_text("x: ['d?', 'a?']\n")
    [grown] = with_more_questions([spec], tmp_path)
    assert grown.questions == ("a?", "b?", "c?", "d?")
    (tmp_path / "more.yml").write_text("nobody: ['d?']\n")
    with pytest.raises(ContentError, match="nobody"):
        with_more_questions([spec], tmp_path)


class _NoDuplicateKeys(yaml.SafeLoader):
    """A YAML loader that refuses a key given twice in one mapping: PyYAML otherwise keeps
    the last and drops the first without a word (a slug listed twice in `more_questions/`
    lost its first list of ways of asking, 2026-12-07)."""

    def construct_mapping(self, node, deep=False):
        keys = [self.construct_object(k, deep=deep) for k, _ in node.value]
        repeated = sorted({k for k in keys if keys.count(k) > 1}, key=str)
        if repeated:
            raise yaml.constructor.ConstructorError(None, None, f"repeated keys {repeated}", node.start_mark)
        return super().construct_mapping(node, deep=deep)


@pytest.mark.parametrize(
    "path",
    sorted((PROJECT_ROOT / "knowledge/content/answers").rglob("*.yml")),
    ids=lambda p: p.name,
)
def test_no_answer_file_gives_the_same_key_twice(path):
    yaml.load(path.read_text(encoding="utf-8"), Loader=_NoDuplicateKeys)  # noqa: S506 (a SafeLoader)
