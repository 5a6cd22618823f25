"""Corrections to the shipped SEND articles (issue #15, "errors a parent could act on").

Each test fails on the text the articles used to carry. The law they are checked against
is the revised text on legislation.gov.uk and the Code of Practice on gov.uk, as of the
date below: the SEND Regulations 2014 (reg 5(4), 20(6), 33, 49 as amended by SI 2024/535),
the SEN (Personal Budgets) Regulations 2014, the Children and Families Act 2014 (s.37,
s.44, s.49) and the Equality Act 2010 (Schedule 1, paragraph 2).
"""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlparse

import pytest

from knowledge.parents.articles import ARTICLE, MAX_DETAILS, load_article_files
from knowledge.shared.settings import PROJECT_ROOT

ARTICLES = load_article_files(PROJECT_ROOT / "knowledge/content/articles")
BY_SLUG = {a.slug: a for a in ARTICLES}
FACTS = [(a, f) for a in ARTICLES for f in a.facts]
CORRECTED_ON = dt.date(2026, 12, 7)

# Where a figure may come from: the law, the Code and government guidance.
PRIMARY_SOURCES = ("legislation.gov.uk", "gov.uk")
# An article about an organisation's own service may cite that organisation.
OWN_SITE = {"independent-advice-ipsea": "ipsea.org.uk", "exam-access-arrangements": "jcq.org.uk"}

# The word a fact's statement must use for its status: a duty says who "must".
STATUS_WORDS = {"must": r"\bmust\b", "should": r"\bshould\b", "should consider": r"\bshould consider\b"}


def _text(article) -> str:
    return " ".join((article.summary, *article.details))


def _sentences(text: str) -> list[str]:
    return re.split(r"(?<=[.!?])\s+", text)


def _everything_said() -> list[tuple[str, str]]:
    """(where, sentence) for every sentence an article or one of its facts says."""
    said = []
    for article in ARTICLES:
        for sentence in _sentences(_text(article)):
            said.append((article.slug, sentence))
        for fact in article.facts:
            said.append((f"{article.slug}:{fact.key}", fact.statement))
    return said


def _facts(key: str):
    found = [f for _, f in FACTS if f.key == key]
    assert found, f"no fact {key}"
    return found


def _host(url: str) -> str:
    return urlparse(url).hostname or ""


# --- the SENCo's qualification (SEND Regulations 2014 reg 49, as amended from 1 Sept 2024) --


def test_no_article_says_a_new_senco_must_gain_the_national_award():
    wrong = [
        (where, s)
        for where, s in _everything_said()
        if re.search(r"must (gain|get|hold|achieve|complete)\b[^.]*National Award", s)
    ]
    assert not wrong


def test_the_senco_qualification_is_the_npq_for_sencos_since_1_september_2024():
    article = BY_SLUG["senco-qualifications"]
    text = _text(article)
    assert "NPQ for SENCOs" in text and "1 September 2024" in text
    facts = _facts("senco_qualification_years")
    for fact in facts:
        assert (fact.value, fact.unit, fact.status) == ("3", "years", "must")
        assert "NPQ for SENCOs" in fact.statement
        assert "regulation 49" in fact.source
        assert fact.source_url == "https://www.legislation.gov.uk/uksi/2014/1530/regulation/49"
        assert fact.checked_on == CORRECTED_ON


def test_a_national_award_counts_only_if_begun_before_september_2024_and_finished_by_september_2027():
    text = _text(BY_SLUG["senco-qualifications"])
    assert "National Award" in text
    assert "before 1 September 2024" in text and "1 September 2027" in text


def test_the_head_teacher_may_be_the_senco():
    assert "head teacher" in _text(BY_SLUG["senco-qualifications"]).lower()


# --- personal budgets (CFA 2014 s.49; SEN (Personal Budgets) Regulations 2014) ------------


def test_personal_budget_is_prepared_on_request_when_a_plan_is_made_or_reviewed():
    article = BY_SLUG["personal-budget"]
    text = _text(article)
    assert "must prepare a personal budget if you ask" in text
    assert "review" in text  # a request may be made during a review or re-assessment
    assert "once it is in place" not in text  # not at any time: at set points only
    assert "Personal Budgets) Regulations 2014" in article.source_title
    assert _host(article.source_url).endswith("legislation.gov.uk")


def test_direct_payments_have_conditions_and_help_in_school_needs_the_heads_agreement():
    text = _text(BY_SLUG["personal-budget"])
    assert re.search(r"direct payments? only if", text, re.IGNORECASE), text
    assert "head teacher" in text


# --- disability: "long-term" (Equality Act 2010, Schedule 1, paragraph 2) ----------------


def test_long_term_means_has_lasted_or_is_likely_to_last_12_months():
    article = BY_SLUG["disability-equality-act"]
    assert "likely to last" in _text(article)
    for fact in _facts("disability_long_term_months"):
        assert "likely to last" in fact.statement
        assert "Schedule 1, paragraph 2" in fact.source
        assert fact.source_url == "https://www.legislation.gov.uk/ukpga/2010/15/schedule/1/paragraph/2"
        assert fact.checked_on == CORRECTED_ON


# --- the 6-week decision: the narrow exceptions of SEND Regulations 2014 reg 5(4) --------


def test_no_article_says_deadlines_move_around_school_holidays():
    wrong = [(w, s) for w, s in _everything_said() if re.search(r"around (the )?school holidays", s)]
    assert not wrong


@pytest.mark.parametrize("slug", ["request-assessment", "ehcp-timeline"])
def test_the_deadline_exceptions_are_the_narrow_ones_in_the_regulations(slug):
    article = BY_SLUG[slug]
    text = _text(article)
    assert "4 weeks or more" in text  # a school closure, or the family away from the area
    assert "exceptional personal circumstances" in text
    assert "5(4)" in article.source_title


# --- the school's SEN information report: the Code says "should" update it every year ---


def test_the_information_report_should_be_updated_every_year():
    article = BY_SLUG["sen-information-report"]
    assert not re.search(r"\bis updated every year|must be updated", _text(article))
    assert "should be updated every year" in _text(article)
    for fact in _facts("sen_information_report_update_years"):
        assert fact.status == "should"
        assert "6.79" in fact.source
        assert _host(fact.source_url).endswith("gov.uk")
        assert fact.checked_on == CORRECTED_ON


# --- mediation: contacting the adviser within 2 months is regulation 33, not 32 ----------


def test_the_mediation_adviser_duty_cites_regulation_33():
    for fact in _facts("mediation_adviser_contact_months"):
        assert "regulation 33" in fact.source and "regulation 32" not in fact.source
        assert fact.source_url == "https://www.legislation.gov.uk/uksi/2014/1530/regulation/33"
        assert fact.checked_on == CORRECTED_ON


# --- SENDIASS: the Code says it "should" be impartial and at arm's length ----------------


def test_sendiass_should_be_at_arms_length():
    sentences = [s for s in _sentences(_text(BY_SLUG["independent-advice-sendiass"])) if "arm's length" in s]
    assert sentences and all("should" in s for s in sentences), sentences


# --- definitions are not duties ------------------------------------------------------------


@pytest.mark.parametrize(("article", "fact"), FACTS, ids=lambda x: getattr(x, "key", getattr(x, "slug", "")))
def test_a_facts_statement_says_what_its_status_says(article, fact):
    """A "must" fact names a duty ("the council must..."); a definition is not one."""
    assert re.search(STATUS_WORDS[fact.status], fact.statement), (article.slug, fact.key, fact.statement)


# --- sources --------------------------------------------------------------------------------


def test_no_article_takes_a_rule_of_law_from_a_charity_or_a_local_service():
    """The Christmas/August appeal rule and the school-only appeal are in the law itself."""
    told_by = re.compile(r"\b(IPSEA|SENDIASS services) says?\b")
    second_hand = [(w, s) for w, s in _everything_said() if told_by.search(s)]
    assert not second_hand


@pytest.mark.parametrize("article", ARTICLES, ids=lambda a: a.slug)
def test_every_source_is_primary(article):
    allowed = PRIMARY_SOURCES + ((OWN_SITE[article.slug],) if article.slug in OWN_SITE else ())
    urls = [article.source_url, *(f.source_url for f in article.facts)]
    for url in filter(None, urls):
        assert _host(url).endswith(allowed), url


# --- every detail is shown ------------------------------------------------------------------


@pytest.mark.parametrize("article", ARTICLES, ids=lambda a: a.slug)
def test_every_article_has_at_most_the_details_a_reply_shows(article):
    assert len(article.details) <= MAX_DETAILS[ARTICLE], article.details


def test_the_31_march_date_is_for_a_move_to_a_post_16_institution_not_a_school_sixth_form():
    # SEND Regulations 2014 reg 18(1)(a) and reg 2 ("secondary school to a post-16 institution");
    # Children and Families Act 2014 s.83(2): a post-16 institution is not a school.
    article = BY_SLUG["transition-phase-transfer"]
    for sentence in _sentences(_text(article)):
        if "31 March" in sentence:
            assert "post-16 institution" in sentence and "sixth form" not in sentence, sentence
    assert all("sixth form" not in f.statement for _, f in FACTS if f.value == "31 March")
