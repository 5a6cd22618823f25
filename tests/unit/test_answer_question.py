"""The parent's question gets its answer; a broad one the overview; anything else honesty (issue #15).

Runs the Assistant on a real database of the shipped content (no Rasa, no TensorFlow).
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import textwrap
from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import event

from bot.seed import load_everything
from knowledge.parents import unanswered
from knowledge.parents.assistant import Assistant
from knowledge.privacy.rights import purge_chat_logs
from knowledge.shared.db import get_engine
from knowledge.shared.settings import PROJECT_ROOT

NOW = dt.datetime.now(dt.timezone.utc)

OUR_QUIET_ROOM = textwrap.dedent(
    """\
    - slug: our-quiet-room-at-lunch
      topic: everyday_support
      title: The quiet room at lunchtime
      questions:
        - Is there somewhere quiet my child can go at lunchtime?
        - does the school have a calm space at dinner time
        - where can he go when the playground is too noisy
      answer: Yes. The library is open as a quiet room every lunchtime, with an adult there.
      source:
        title: Example Primary School SEN information report (example data)
      checked_on: 2026-12-07
    """
)


def _unanswered(settings) -> list[unanswered.Unanswered]:
    return unanswered.recent(settings.database_url, now=NOW + dt.timedelta(seconds=1), days=30)


def test_a_specific_question_is_answered_first_with_its_source(settings):
    reply = Assistant(settings).answer_question("Can I see the reports before the annual review meeting?")
    first_line = reply.text.splitlines()[0]
    assert "2 weeks" in first_line
    assert "Source:" in reply.text and "Checked" in reply.text
    assert reply.buttons[-1].title == "Talk to a person"


def test_each_part_of_a_two_part_question_is_answered(settings):
    reply = Assistant(settings).answer_question(
        "How long does the council have to decide whether to assess, and how long do I have to "
        "comment on the draft plan?"
    )
    assert "6 weeks" in reply.text and "15 days" in reply.text


def test_a_broad_question_gets_the_overview_with_specific_questions_as_buttons(settings):
    ranking = [{"name": "ask_annual_review", "confidence": 0.95}]
    reply = Assistant(settings).answer_question("annual reviews?", ranking)
    assert "review" in reply.text.lower()
    asked = [b.payload for b in reply.buttons if not b.payload.startswith("/")]
    assert len(asked) >= 2  # the topic's specific questions, asked as typed words


def test_an_off_topic_message_is_declined_and_not_kept(settings):
    reply = Assistant(settings).answer_question("how do I renew my car tax online", [])
    assert reply.text.startswith("Sorry, I can't help with that")
    assert "week" not in reply.text  # no SEND fact, no deadline
    assert _unanswered(settings) == []


def test_a_send_question_with_no_answer_is_honest_and_kept_without_the_sender(settings):
    text = "Does having an EHCP change which council tax band we pay? email me on jo@example.com"
    reply = Assistant(settings).answer_question(text, [], channel="telegram")
    assert "I don't have a reliable answer to that" in reply.text
    assert "SENCo" in reply.text
    [kept] = _unanswered(settings)
    assert kept.channel == "telegram" and kept.school_ref == "example-primary"
    assert "jo@example.com" not in kept.text and "[e-mail address]" in kept.text


def test_unanswered_questions_go_with_the_chat_logs(settings):
    Assistant(settings).answer_question("Does an EHCP change which council tax band we pay?", [])
    assert len(_unanswered(settings)) == 1
    purge_chat_logs(settings, NOW + dt.timedelta(days=settings.chat_log_retention_days + 1))
    assert _unanswered(settings) == []


def test_the_cli_lists_the_last_30_days_unanswered_questions(settings, monkeypatch):
    Assistant(settings).answer_question("Does an EHCP change which council tax band we pay?", [])
    result = _bot_cli("unanswered", DATABASE_URL=settings.database_url)
    assert result.returncode == 0, result.stderr
    assert "council tax band" in result.stdout and "1 unanswered question" in result.stdout


def test_an_answer_the_school_adds_is_found_at_once_without_retraining(settings):
    question = "is there a calm space at dinner time for pupils with SEN?"
    assert "library is open" not in Assistant(settings).answer_question(question, []).text
    settings.school_articles_dir.mkdir()
    (settings.school_articles_dir / "answers.yml").write_text(OUR_QUIET_ROOM)
    load_everything(settings)
    assert "library is open" in Assistant(settings).answer_question(question, []).text


def test_staff_only_answers_are_not_given_on_the_parents_channels(settings):
    staff_only = OUR_QUIET_ROOM.replace(
        "  topic: everyday_support", "  topic: everyday_support\n  audience: staff"
    )
    settings.school_articles_dir.mkdir()
    (settings.school_articles_dir / "answers.yml").write_text(staff_only)
    load_everything(settings)
    question = "Is there somewhere quiet my child can go at lunchtime?"
    assert "library is open" in Assistant(settings).answer_question(question, [], staff=True).text
    assert "library is open" not in Assistant(settings).answer_question(question, []).text


# --- the answer bank is read once, and an edit is still found on the next message -------------

QUIET_ROOM_QUESTION = "Is there somewhere quiet my child can go at lunchtime?"


def _school_answers(settings, text: str) -> None:
    """The school's own answers file, loaded as `bot.cli reload` does."""
    settings.school_articles_dir.mkdir(exist_ok=True)
    (settings.school_articles_dir / "answers.yml").write_text(text)
    load_everything(settings)


@contextmanager
def _statements(settings) -> Iterator[list[str]]:
    """The SQL this process sends to the test's database while the block runs."""
    seen: list[str] = []

    def remember(_conn, _cursor, statement, *_args) -> None:
        seen.append(statement)

    engine = get_engine(settings.database_url)
    event.listen(engine, "before_cursor_execute", remember)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", remember)


def test_a_later_message_does_not_read_every_answer_from_the_database_again(settings):
    Assistant(settings).answer_question("how long does the council have to decide whether to assess?")
    with _statements(settings) as seen:
        reply = Assistant(settings).answer_question("Can I see the reports before the annual review meeting?")
    assert "2 weeks" in reply.text
    full_reads = [s for s in seen if "articles.summary" in s]
    assert full_reads == []  # only a small check that the content is unchanged


def test_a_changed_answer_text_is_served_on_the_next_message(settings):
    _school_answers(settings, OUR_QUIET_ROOM)
    assert "library is open" in Assistant(settings).answer_question(QUIET_ROOM_QUESTION, []).text
    _school_answers(settings, OUR_QUIET_ROOM.replace("The library is open", "The nurture room is open"))
    reply = Assistant(settings).answer_question(QUIET_ROOM_QUESTION, []).text
    assert "nurture room is open" in reply and "library is open" not in reply


def test_an_answer_the_school_removes_is_not_served_on_the_next_message(settings):
    _school_answers(settings, OUR_QUIET_ROOM)
    assert "library is open" in Assistant(settings).answer_question(QUIET_ROOM_QUESTION, []).text
    _school_answers(settings, "[]\n")
    assert "library is open" not in Assistant(settings).answer_question(QUIET_ROOM_QUESTION, []).text


def test_an_answer_replaced_by_another_in_one_reload_is_found(settings):
    """As many entries as before, so only what changed tells the two apart."""
    _school_answers(settings, OUR_QUIET_ROOM)
    assert "library is open" in Assistant(settings).answer_question(QUIET_ROOM_QUESTION, []).text
    replaced = OUR_QUIET_ROOM.replace("our-quiet-room-at-lunch", "our-calm-room").replace(
        "The library is open", "The calm room is open"
    )
    _school_answers(settings, replaced)
    assert "calm room is open" in Assistant(settings).answer_question(QUIET_ROOM_QUESTION, []).text


def test_an_answer_reloaded_by_another_process_is_served_on_the_next_message(settings):
    """Production runs two action servers and `bot.cli reload` in a third process: the
    database, not this process's memory, says whether the content changed."""
    _school_answers(settings, OUR_QUIET_ROOM)
    assert "library is open" in Assistant(settings).answer_question(QUIET_ROOM_QUESTION, []).text
    (settings.school_articles_dir / "answers.yml").write_text(
        OUR_QUIET_ROOM.replace("The library is open", "The nurture room is open")
    )
    result = _bot_cli(
        "reload", DATABASE_URL=settings.database_url, SCHOOL_ARTICLES_DIR=str(settings.school_articles_dir)
    )
    assert result.returncode == 0, result.stderr
    assert "nurture room is open" in Assistant(settings).answer_question(QUIET_ROOM_QUESTION, []).text


def _bot_cli(command: str, **env: str) -> subprocess.CompletedProcess:
    """`python -m bot.cli <command>` in a separate process, as the server's operator runs it."""
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", command],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        env={**env, "PATH": "/usr/bin:/bin"},
        timeout=120,
    )


def test_a_question_naming_wales_gets_the_banks_answer_for_wales(settings):
    """A question about Wales is answered from what the bank says about Wales, not with the
    general England-only note, when the words alone are not close enough to it."""
    reply = Assistant(settings).answer_question(
        "We're based in Cardiff. Does the council there do EHC plans?"
    )
    assert "individual development plan" in reply.text.lower()


def test_an_everyday_message_naming_scotland_is_declined_not_given_the_england_only_note(settings):
    """The England-only note is for SEND questions about another nation; a train fare to
    Edinburgh is no SEND question at all."""
    reply = Assistant(settings).answer_question("cheapest train from Leeds to Glasgow on a Saturday?")
    assert reply.text.startswith("Sorry, I can't help with that")
