"""Safeguarding records: kept verbatim, alerted at once, escalated, read only by the DSL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from bot.scheduler import run_due_jobs
from knowledge.parents.assistant import Assistant
from knowledge.safeguarding import records
from knowledge.shared.db import unit_of_work
from knowledge.shared.models import SafeguardingAccess, SafeguardingRecord

DSL = "Mr B. Example"
DEPUTY = "Mrs C. Example"
MESSAGE = "my son says his dad hits him when mum is out"


class RecordingAlerter:
    def __init__(self) -> None:
        self.alerts: list[tuple[int, str, bool]] = []

    def alert(self, record_id: int, to: str, *, repeat: bool = False) -> None:
        self.alerts.append((record_id, to, repeat))


def _record(settings, alerter=None, **extra) -> int:
    return records.record_concern(
        settings.database_url,
        channel="rest",
        sender_ref="abc123",
        message=MESSAGE,
        detected_by="someone_hits_a_child",
        kinds="physical_abuse",
        alerter=alerter,
        **extra,
    )


def test_a_concern_is_kept_verbatim_and_the_dsl_alerted_at_once(settings):
    alerter = RecordingAlerter()
    record_id = _record(settings, alerter)
    view = records.show_record(settings.database_url, record_id, DSL)
    assert view.message == MESSAGE
    assert view.channel == "rest" and view.sender_ref == "abc123"
    assert alerter.alerts == [(record_id, "designated safeguarding lead", False)]


def test_the_log_alert_names_the_record_but_never_the_message(settings, caplog):
    caplog.set_level("WARNING")
    record_id = _record(settings)
    assert f"#{record_id}" in caplog.text
    assert "hits him" not in caplog.text


def test_only_the_dsl_or_deputy_can_read_records(settings):
    record_id = _record(settings)
    for outsider in ("Ms A. Example", "a teacher", ""):
        with pytest.raises(records.NotTheDSL):
            records.show_record(settings.database_url, record_id, outsider)
        with pytest.raises(records.NotTheDSL):
            records.list_records(settings.database_url, outsider)
    assert records.list_records(settings.database_url, DEPUTY)[0].id == record_id


def test_every_read_is_audited(settings):
    record_id = _record(settings)
    records.list_records(settings.database_url, DSL)
    records.show_record(settings.database_url, record_id, DSL)
    records.acknowledge(settings.database_url, record_id, DEPUTY)
    with unit_of_work(settings.database_url) as session:
        audit = [(a.who, a.action) for a in session.execute(select(SafeguardingAccess)).scalars()]
    assert audit == [(DSL, "list"), (DSL, "show"), (DEPUTY, "acknowledge")]


def test_an_unacknowledged_alert_is_repeated_to_the_deputy_once(settings):
    alerter = RecordingAlerter()
    record_id = _record(settings)
    soon = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=5)
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=31)
    url = settings.database_url
    assert (
        records.escalate_unacknowledged(url, after=dt.timedelta(minutes=30), now=soon, alerter=alerter) == []
    )
    assert records.escalate_unacknowledged(
        url, after=dt.timedelta(minutes=30), now=later, alerter=alerter
    ) == [record_id]
    assert (
        records.escalate_unacknowledged(url, after=dt.timedelta(minutes=30), now=later, alerter=alerter) == []
    )
    assert alerter.alerts == [(record_id, "deputy designated safeguarding lead", True)]


def test_an_acknowledged_alert_is_not_repeated(settings):
    record_id = _record(settings)
    records.acknowledge(settings.database_url, record_id, DSL)
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=2)
    assert (
        records.escalate_unacknowledged(settings.database_url, after=dt.timedelta(minutes=30), now=later)
        == []
    )


def test_the_scheduler_runs_the_escalation(settings):
    record_id = _record(settings)
    run_due_jobs(settings, now=dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1))
    with unit_of_work(settings.database_url) as session:
        assert session.get(SafeguardingRecord, record_id).deputy_alerted_at is not None


def test_the_safeguarding_reply_is_calm_and_complete(settings):
    reply = Assistant(settings).safeguarding(
        already_recorded=True, text=MESSAGE, channel="rest", sender_ref="abc", child_voice=False
    )
    text = reply.text
    assert text.startswith("Thank you for telling us")
    assert "999" in text
    assert "Mr B. Example" in text and "01632 960124" in text
    assert "01632 960200" in text and "01632 960201" in text
    assert "0808 800 5000" in text
    assert "0800 1111" not in text  # Childline only when a child seems to be writing
    assert "can't keep this private" in text
    assert "?" not in text  # no questions, let alone leading ones
    assert not reply.buttons


def test_a_child_writing_is_also_given_childline(settings):
    reply = Assistant(settings).safeguarding(
        already_recorded=True, text="my stepdad hurts me", channel="rest", sender_ref="abc", child_voice=None
    )
    assert "0800 1111" in reply.text


def test_a_concern_found_by_the_nlu_model_is_recorded_by_the_action(settings):
    Assistant(settings).safeguarding(
        already_recorded=False,
        text="she's scared of what he does at night",
        channel="socketio",
        sender_ref="r1",
    )
    with unit_of_work(settings.database_url) as session:
        stored = session.execute(select(SafeguardingRecord)).scalar_one()
    assert stored.detected_by == "nlu"
    assert stored.message == "she's scared of what he does at night"
    assert stored.school_ref == "example-primary"


def test_the_full_reply_is_given_when_the_record_for_a_check_cannot_be_written(settings, monkeypatch, caplog):
    import knowledge.parents.assistant as assistant_module

    def broken(*_args, **_kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(assistant_module, "record_concern", broken)
    reply = Assistant(settings).safeguarding(
        already_recorded=False, text="she's scared of him", channel="rest", sender_ref="r2"
    )
    assert reply.text.startswith("Thank you for telling us")
    assert "could NOT be recorded" in caplog.text


# --- a concern only the NLU model saw: checked with the sender first ------------------------

CHECKED = "she's scared of what he does at night"


def _checked(settings, sender: str = "r1") -> tuple[object, int]:
    reply = Assistant(settings).safeguarding(
        already_recorded=False, text=CHECKED, channel="socketio", sender_ref=sender
    )
    with unit_of_work(settings.database_url) as session:
        record_id = session.execute(
            select(SafeguardingRecord.id).order_by(SafeguardingRecord.id.desc())
        ).scalar()
    return reply, record_id


def _alerts_sent(settings, now: dt.datetime) -> list[str]:
    from knowledge.safeguarding.alerts import send_new_alerts

    told: list[str] = []
    send_new_alerts(settings.database_url, now=now, send=lambda user, text, blocks: told.append(user))
    return told


def test_the_sender_is_asked_calmly_with_999_and_two_buttons_and_nobody_is_alerted_yet(settings):
    reply, record_id = _checked(settings)
    assert reply.text.startswith("Before I answer, can I check one thing") and "999" in reply.text
    assert not reply.text.startswith("Thank you for telling us")
    assert [b.payload for b in reply.buttons] == [
        f'/safeguarding_answer{{"answer": "yes", "record_id": "{record_id}"}}',
        f'/safeguarding_answer{{"answer": "no", "record_id": "{record_id}"}}',
    ]
    assert _alerts_sent(settings, dt.datetime.now(dt.timezone.utc)) == []


def test_yes_gives_the_full_reply_and_alerts_the_leads_at_once(settings):
    _, record_id = _checked(settings)
    reply = Assistant(settings).safeguarding_answer(
        sender_ref="r1", yes=True, record_id=record_id, channel="socketio"
    )
    assert reply.text.startswith("Thank you for telling us") and "0808 800 5000" in reply.text
    assert sorted(_alerts_sent(settings, dt.datetime.now(dt.timezone.utc))) == ["U0EXDDSL01", "U0EXDSL001"]


def test_no_answers_the_question_and_the_leads_are_never_alerted(settings):
    _, record_id = _checked(settings)
    ranking = [{"name": "safeguarding_concern"}, {"name": "ask_everyday_support"}]
    reply = Assistant(settings).safeguarding_answer(
        sender_ref="r1", yes=False, record_id=record_id, channel="socketio", rankings={CHECKED: ranking}
    )
    assert reply.text.startswith("Thank you for checking") and "Thank you for telling us" not in reply.text
    assert "Source:" in reply.text or "source" in reply.text.lower()  # the everyday support article
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)
    assert _alerts_sent(settings, later) == []
    assert (
        records.escalate_unacknowledged(settings.database_url, after=dt.timedelta(minutes=1), now=later) == []
    )
    assert records.list_records(settings.database_url, DSL, open_only=True) == []
    (kept,) = records.list_records(settings.database_url, DSL)
    assert kept.sender_answer == "no"


def test_an_unanswered_check_is_treated_as_a_concern_when_its_time_runs_out(settings):
    _, record_id = _checked(settings)
    now = dt.datetime.now(dt.timezone.utc)
    assert _alerts_sent(settings, now + dt.timedelta(minutes=settings.safeguarding_check_minutes - 1)) == []
    assert _alerts_sent(settings, now + dt.timedelta(minutes=settings.safeguarding_check_minutes + 1))
    escalated = records.escalate_unacknowledged(
        settings.database_url, after=dt.timedelta(minutes=30), now=now + dt.timedelta(minutes=45)
    )
    assert escalated == [record_id]


def test_only_the_sender_can_answer_their_check_and_only_once(settings):
    _, record_id = _checked(settings, sender="r1")
    stranger = Assistant(settings).safeguarding_answer(
        sender_ref="someone-else", yes=False, record_id=record_id, channel="socketio"
    )
    assert stranger.text == "Thank you. What would you like to know?"
    Assistant(settings).safeguarding_answer(
        sender_ref="r1", yes=True, record_id=record_id, channel="socketio"
    )
    again = records.answer_check(settings.database_url, "r1", yes=False, record_id=record_id)
    assert again.record_id is None  # a yes can't be taken back by a second button press


def test_a_dismissed_message_goes_with_the_chat_logs_and_real_records_stay(settings):
    _, dismissed = _checked(settings)
    records.answer_check(settings.database_url, "r1", yes=False, record_id=dismissed)
    real = _record(settings)
    records.purge_dismissed(settings.database_url, dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1))
    with unit_of_work(settings.database_url) as session:
        assert session.get(SafeguardingRecord, dismissed) is None
        assert session.get(SafeguardingRecord, real) is not None


async def test_a_screen_match_in_a_send_context_is_recorded_and_checked_with_the_sender_first(
    settings, monkeypatch
):
    from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher

    from actions import actions
    from connectors.rasa import channels as rasa_channels

    monkeypatch.setattr(rasa_channels, "get_settings", lambda: settings)
    monkeypatch.setattr(actions, "get_settings", lambda: settings)
    handled: list[UserMessage] = []

    async def on_new_message(message: UserMessage) -> None:
        handled.append(message)

    text = "he punched his sister over the ipad, he has adhd, can he bring his fidget into assembly"
    await rasa_channels.guarded(on_new_message)(
        UserMessage(text, CollectingOutputChannel(), "p1", "socketio")
    )
    (message,) = handled
    assert message.text == "/safeguarding_concern" and message.metadata["safeguarding"]["check"] is True
    with unit_of_work(settings.database_url) as session:
        record = session.execute(select(SafeguardingRecord)).scalar_one()
        assert record.message == text and record.confirm_by is not None
    latest = {
        "text": message.text,
        "intent": {"name": "safeguarding_concern"},
        "entities": [],
        "metadata": message.metadata,
    }
    tracker = Tracker.from_dict(
        {
            "sender_id": "p1",
            "slots": {},
            "latest_message": latest,
            "events": [{"event": "user", "text": message.text, "input_channel": "socketio"}],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        }
    )
    dispatcher = CollectingDispatcher()
    await actions.ActionSafeguarding().run(dispatcher, tracker, {})
    (reply,) = dispatcher.messages
    assert reply["text"].startswith("Before I answer, can I check one thing")
    assert f'"record_id": "{record.id}"' in reply["buttons"][0]["payload"]
