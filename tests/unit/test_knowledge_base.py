"""The knowledge base: loading, reloading, school-owned articles, answers by topic and words."""

from __future__ import annotations

import dataclasses
import textwrap

import pytest
from sqlalchemy import func, select

from bot.seed import load_everything
from knowledge.parents.assistant import Assistant
from knowledge.shared.db import unit_of_work
from knowledge.shared.models import Article, School, StatutoryFact

SENSORY_ROOM = textwrap.dedent(
    """\
    - slug: our-sensory-room
      topic: school_facilities
      title: Our sensory room
      summary: Our school has a quiet sensory room. Pupils use it with an adult when they feel overwhelmed.
      details:
        - Ask the class teacher or the SENCo if your child might benefit from using it.
      keywords: [sensory room, quiet room, calm space]
      follow_ups: [sen_support]
      source:
        title: Example Primary School SEN information report (example data)
      checked_on: 2026-11-20
    """
)


def test_loading_twice_changes_nothing(settings):
    with unit_of_work(settings.database_url) as session:
        before = session.execute(select(func.count(Article.id))).scalar_one()
        facts_before = session.execute(select(func.count(StatutoryFact.id))).scalar_one()
    load_everything(settings)
    with unit_of_work(settings.database_url) as session:
        assert session.execute(select(func.count(Article.id))).scalar_one() == before
        assert session.execute(select(func.count(StatutoryFact.id))).scalar_one() == facts_before


def test_the_school_profile_is_stored_with_its_reference(settings):
    with unit_of_work(settings.database_url) as session:
        school = session.execute(select(School)).scalar_one()
    assert school.ref == "example-primary"
    assert school.is_example


def test_an_article_the_school_adds_is_answerable_after_a_reload_without_retraining(settings):
    assistant = Assistant(settings)
    assert "sensory room" not in assistant.answer_unknown("do you have a sensory room?").text.lower()

    settings.school_articles_dir.mkdir()
    (settings.school_articles_dir / "facilities.yml").write_text(SENSORY_ROOM)
    load_everything(settings)

    reply = assistant.answer_unknown("do you have a sensory room?")
    assert "quiet sensory room" in reply.text
    assert "Example Primary School SEN information report" in reply.text


def test_school_articles_carry_the_school_reference(settings):
    settings.school_articles_dir.mkdir()
    (settings.school_articles_dir / "facilities.yml").write_text(SENSORY_ROOM)
    load_everything(settings)
    with unit_of_work(settings.database_url) as session:
        article = session.execute(select(Article).where(Article.slug == "our-sensory-room")).scalar_one()
        national = session.execute(select(Article).where(Article.origin == "product")).scalars().first()
    assert article.school_ref == "example-primary"
    assert article.origin == "school"
    assert national.school_ref is None


def test_another_schools_articles_are_not_shown(tmp_path, settings):
    settings.school_articles_dir.mkdir()
    (settings.school_articles_dir / "facilities.yml").write_text(SENSORY_ROOM)
    load_everything(settings)
    other = Assistant(settings, school_ref="another-school")
    with unit_of_work(settings.database_url) as session:
        session.add(School(ref="another-school", name="Another School", profile=_other_profile()))
    assert "sensory room" not in other.answer_unknown("do you have a sensory room?").text.lower()


def _other_profile() -> dict:
    return {
        "name": "Another School",
        "ref": "another-school",
        "senco": {"name": "Mr X", "email": "x@example.org"},
    }


def test_editing_an_article_changes_the_answer_after_a_reload(settings, tmp_path):
    content = tmp_path / "content"
    (content / "articles").mkdir(parents=True)
    original = (settings.content_dir / "articles/personal_budget.yml").read_text()
    (content / "articles/personal_budget.yml").write_text(original)
    (content / "glossary.yml").write_text((settings.content_dir / "glossary.yml").read_text())
    edited_settings = dataclasses.replace(settings, content_dir=content)
    load_everything(edited_settings)
    assistant = Assistant(edited_settings)
    assert "EDITED" not in assistant.answer_topic("personal_budget").text

    (content / "articles/personal_budget.yml").write_text(original.replace("summary:", "summary: EDITED.", 1))
    load_everything(edited_settings)
    assert "EDITED" in assistant.answer_topic("personal_budget").text


def test_each_topic_answer_has_a_source_a_date_buttons_and_a_person(settings):
    assistant = Assistant(settings)
    reply = assistant.answer_topic("ehcp_timeline", "how long does an ehcp take")
    assert "20 weeks" in reply.text
    assert "Source:" in reply.text and "Checked " in reply.text
    assert "Ms A. Example" in reply.text and "SENDIASS" in reply.text
    assert 1 <= len(reply.buttons) <= 3
    assert reply.buttons[-1].payload == "/ask_contact_senco"


def test_the_words_pick_between_articles_of_one_topic(settings):
    assistant = Assistant(settings)
    mediation = assistant.answer_topic("appeal", "how does mediation work")
    assert "mediation" in mediation.text.lower().split("\n\n")[0]


def test_a_question_about_wales_gets_the_england_only_answer(settings):
    reply = Assistant(settings).answer_topic("ehcp_timeline", "how long does it take in wales")
    assert "England" in reply.text
    assert "Wales" in reply.text


@pytest.mark.parametrize(
    ("question", "fact"),
    [
        ("what do they call an EHC plan in Scotland", "coordinated support plan"),
        ("we're off to Wales in the summer, is there an EHCP there", "individual development plan"),
    ],
)
def test_a_specific_question_about_another_nation_gets_its_specific_answer(settings, question, fact):
    """England only, said plainly, with the specific answer the bank holds for that nation."""
    reply = Assistant(settings).answer_question(question)
    assert fact in reply.text


def test_a_question_about_england_law_in_another_nation_gets_the_england_only_answer(settings):
    reply = Assistant(settings).answer_question(
        "in wales how long does the council have to decide on an assessment"
    )
    assert "England" in reply.text and "Wales" in reply.text


def test_contact_answer_comes_from_the_school_profile(settings):
    reply = Assistant(settings).answer_topic("contact_senco")
    assert "Ms A. Example" in reply.text
    assert "senco@example.sch.uk" in reply.text
    assert "01632 960123" in reply.text


def test_the_information_report_answer_links_the_schools_report(settings):
    reply = Assistant(settings).answer_topic("sen_information_report", "where is the report")
    assert "https://example.org/school/send-information-report" in reply.text


def test_an_unanswerable_question_gets_an_honest_reply_not_a_guess(settings):
    assistant = Assistant(settings)
    for question in ("what's for lunch today", "will it rain tomorrow", "who won the football"):
        reply = assistant.answer_unknown(question)
        assert reply.text.startswith("Sorry, I can't help with that"), question
        assert "Ms A. Example" in reply.text


def test_a_clear_question_the_model_missed_is_still_answered_by_its_words(settings):
    reply = Assistant(settings).answer_unknown("what is a personal budget")
    assert "personal budget" in reply.text.lower() and "Source:" in reply.text
    assert not reply.text.startswith("Sorry")


def test_small_talk(settings):
    assistant = Assistant(settings)
    greeting = assistant.small_talk("greet")
    assert "Example Primary School" in greeting.text
    assert "don't type your child's name" in greeting.text
    assert "not a person" in assistant.small_talk("bot_challenge").text
    assert assistant.small_talk("thanks").text
    assert assistant.small_talk("goodbye").text
    assert len(assistant.small_talk("help").buttons) >= 4


def test_bad_input_replies_are_clear(settings):
    assistant = Assistant(settings)
    assert "didn't get any words" in assistant.bad_input("empty").text
    assert "emoji" in assistant.bad_input("no_words").text
    assert "markup" in assistant.bad_input("markup_only").text
    assert "English" in assistant.bad_input("other_language").text


def test_a_question_from_a_welsh_or_scottish_city_is_told_the_law_there_differs(settings):
    reply = Assistant(settings).answer_question("we live in Swansea, how long does an EHCP take")
    assert "England only" in reply.text
