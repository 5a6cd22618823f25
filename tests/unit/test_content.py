"""The shipped SEND content: complete, sourced, correct on every statutory figure, readable."""

from __future__ import annotations

from collections import defaultdict

import pytest
import yaml

from knowledge.parents.articles import FACT_STATUSES, load_article_files
from knowledge.shared.settings import PROJECT_ROOT
from knowledge.text.readability import grade_level

ARTICLES = load_article_files(PROJECT_ROOT / "knowledge/content/articles")
FACTS = [(a, f) for a in ARTICLES for f in a.facts]
RULES = yaml.safe_load((PROJECT_ROOT / "nlu/rules/rules.yml").read_text())["rules"]
TOPIC_RULE = next(r for r in RULES if r["steps"][-1] == {"action": "action_answer_topic"})
TOPIC_INTENTS = [s["intent"] for s in TOPIC_RULE["steps"][0]["or"] if s["intent"] != "ask_contact_senco"]


@pytest.mark.parametrize("intent", TOPIC_INTENTS)
def test_every_topic_intent_has_an_article(intent):
    assert any(a.topic == intent.removeprefix("ask_") for a in ARTICLES)


def test_follow_ups_point_at_topics_that_exist():
    known = {a.topic for a in ARTICLES} | {"contact_senco", "search_local_offer"}
    for article in ARTICLES:
        assert set(article.follow_ups) <= known, article.slug
        assert article.topic not in article.follow_ups, article.slug


def test_every_article_names_its_source_and_when_it_was_checked():
    for article in ARTICLES:
        assert article.source_title and article.checked_on, article.slug


def test_every_fact_has_source_status_and_checked_date():
    assert len(FACTS) >= 15
    for article, fact in FACTS:
        assert fact.status in FACT_STATUSES, (article.slug, fact.key)
        assert fact.source and fact.checked_on, (article.slug, fact.key)


def test_a_fact_cited_in_several_articles_says_the_same_everywhere():
    seen = defaultdict(set)
    for _, fact in FACTS:
        seen[fact.key].add((fact.value, fact.unit, fact.status, fact.day_kind))
    disagreeing = {key: values for key, values in seen.items() if len(values) > 1}
    assert not disagreeing


def _facts_about(*needles: str):
    return [
        f for _, f in FACTS if all(n.lower() in f"{f.key} {f.statement} {f.source}".lower() for n in needles)
    ]


@pytest.mark.parametrize(
    ("needles", "value", "unit", "status"),
    [
        (("regulation 5",), "6", "weeks", "must"),
        (("regulation 10",), "16", "weeks", "must"),
        (("regulation 13(1)",), "15", "days", "must"),
        (("regulation 13(2)",), "20", "weeks", "must"),
        (("section 44",), "12", "months", "must"),
    ],
)
def test_statutory_deadlines_are_stated_exactly(needles, value, unit, status):
    facts = _facts_about(*needles)
    assert facts, f"no fact cites {needles}"
    assert any(f.value == value and f.unit.startswith(unit) and f.status == status for f in facts), [
        (f.key, f.value, f.unit, f.status) for f in facts
    ]


def test_draft_plan_days_are_calendar_days():
    facts = [f for _, f in FACTS if f.value == "15" and f.unit.startswith("day")]
    assert facts and all(f.day_kind == "calendar" for f in facts)


def test_under_fives_review_is_a_should_consider_not_a_must():
    facts = [f for _, f in FACTS if "3" in f.value and "6" in f.value and "month" in f.unit]
    assert facts, "no 3-6 month under-fives fact"
    assert all(f.status == "should consider" for f in facts)


def test_phase_transfer_dates():
    values = {f.value for _, f in FACTS}
    assert "15 February" in values
    assert "31 March" in values


def test_tribunal_appeal_deadlines():
    appeal = [f for a, f in FACTS if a.topic == "appeal"]
    assert any(f.value == "2" and f.unit.startswith("month") and f.status == "must" for f in appeal)
    assert any(f.value == "1" and f.unit.startswith("month") for f in appeal)


def test_annual_review_meeting_notice_is_two_weeks():
    facts = [f for a, f in FACTS if a.topic == "annual_review" and f.unit.startswith("week")]
    assert any(f.value == "2" for f in facts)


def test_senco_national_award_within_three_years():
    facts = [f for a, f in FACTS if a.topic == "senco_role"]
    assert any(f.value == "3" and f.unit.startswith("year") and f.status == "must" for f in facts)


def test_summaries_are_short_and_plain():
    for article in ARTICLES:
        assert len(article.summary.split()) <= 60, article.slug
        assert grade_level(article.summary) <= 10.0, (article.slug, round(grade_level(article.summary), 1))


def test_average_reading_grade_is_about_a_reading_age_of_twelve():
    grades = [grade_level(a.summary) for a in ARTICLES]
    assert sum(grades) / len(grades) <= 8.0


def test_other_nations_are_said_to_differ():
    article = next(a for a in ARTICLES if a.topic == "other_nation")
    text = f"{article.summary} {' '.join(article.details)}"
    assert "England" in text
    for nation in ("Wales", "Scotland", "Northern Ireland"):
        assert nation in text


def test_example_school_data_is_marked_as_example():
    profile = yaml.safe_load((PROJECT_ROOT / "school_data/example_school.yml").read_text())
    assert profile["example"] is True
    assert "example" in profile["name"].lower()
    local_offer = (PROJECT_ROOT / "school_data/example_local_offer.json").read_text()
    assert '"(example data)"' not in local_offer  # marker is part of names, not a field
    import json

    for service in json.loads(local_offer)["contents"]:
        assert "example data" in service["name"].lower()
