"""Safeguarding records: kept verbatim, alerted at once, escalated, read only by the DSL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from bot.scheduler import run_due_jobs
from knowledge import safeguarding_records as records
from knowledge.assistant import Assistant
from knowledge.db import unit_of_work
from knowledge.models import SafeguardingAccess, SafeguardingRecord

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


def test_the_reply_is_given_even_when_the_record_cannot_be_written(settings, monkeypatch, caplog):
    import knowledge.assistant as assistant_module

    def broken(*_args, **_kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(assistant_module, "record_concern", broken)
    reply = Assistant(settings).safeguarding(
        already_recorded=False, text="she's scared of him", channel="rest", sender_ref="r2"
    )
    assert reply.text.startswith("Thank you for telling us")
    assert "could NOT be recorded" in caplog.text
