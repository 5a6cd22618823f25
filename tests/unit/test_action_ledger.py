"""A delivered message changes things once, even when its turn is run twice.

The case: a Rasa server dies after its action server booked, broadcast or recorded, but
before the turn was saved; the client (or nginx) sends the message again to the other
server, which runs the turn again. The action then finds its earlier result and says the
same again instead of acting twice.
"""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import func, select

from actions import actions
from knowledge.privacy.rights import process_erasures, purge_chat_logs, request_erasure
from knowledge.safeguarding.records import record_concern
from knowledge.shared import action_ledger
from knowledge.shared.db import unit_of_work
from knowledge.shared.ids import sender_ref
from knowledge.shared.models import ActionResult, Booking, Broadcast, SafeguardingRecord, utcnow
from knowledge.shared.replies import Button, Reply
from tests.builders import add_slot

TEACHER, SENCO = "U0EXTEACH1", "U0EXSENCO1"


class Counting:
    """A unit of work that counts its runs and answers with the run number."""

    def __init__(self, pause_s: float = 0.0, fail_first: bool = False) -> None:
        self.runs = 0
        self.pause_s = pause_s
        self.fail_first = fail_first

    def __call__(self) -> Reply:
        self.runs += 1
        time.sleep(self.pause_s)
        if self.fail_first and self.runs == 1:
            raise RuntimeError("database went away")
        return Reply(f"run {self.runs}", (Button("Again", "/again"),), ({"calendar": "x"},))


def once(settings, work, *, sender="parent-1", message_id="m-1", action="action_x", **kwargs) -> Reply:
    return action_ledger.run_once(
        settings.database_url, sender_ref=sender, message_id=message_id, action=action, work=work, **kwargs
    )


def test_a_repeated_delivery_gets_the_first_reply_without_running_again(settings):
    work = Counting()
    first = once(settings, work)
    again = once(settings, work)
    assert work.runs == 1
    assert again == first == Reply("run 1", (Button("Again", "/again"),), ({"calendar": "x"},))


def test_another_message_another_action_or_no_message_id_runs_again(settings):
    work = Counting()
    once(settings, work)
    once(settings, work, message_id="m-2")
    once(settings, work, action="action_y")
    once(settings, work, message_id=None)
    once(settings, work, message_id=None)
    assert work.runs == 5


def test_someone_elses_message_id_never_fetches_their_reply(settings):
    work = Counting()
    once(settings, work, sender="parent-1")
    theirs = once(settings, work, sender="parent-2")
    assert theirs.text == "run 2" and work.runs == 2


def test_a_delivery_arriving_while_the_first_still_runs_waits_for_its_reply(settings):
    work = Counting(pause_s=0.5)
    replies: list[Reply] = []
    threads = [threading.Thread(target=lambda: replies.append(once(settings, work))) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert work.runs == 1
    assert [r.text for r in replies] == ["run 1"] * 3


def test_a_run_that_failed_lets_the_next_delivery_do_the_work(settings):
    work = Counting(fail_first=True)
    with pytest.raises(RuntimeError):
        once(settings, work)
    assert once(settings, work).text == "run 2"


def test_a_run_that_died_holding_its_claim_is_taken_over_when_its_lease_ends(settings):
    now = utcnow()
    with unit_of_work(settings.database_url) as session:  # a claim left by an action server that died
        session.add(
            ActionResult(
                sender_ref="parent-1",
                message_id="m-1",
                action="action_x",
                status="running",
                lease_until=now + dt.timedelta(seconds=0.6),
                created_at=now,
            )
        )
    work = Counting()
    started = time.monotonic()
    assert once(settings, work, poll_s=0.05).text == "run 1"
    assert time.monotonic() - started >= 0.5  # it waited for the lease, then ran
    assert once(settings, work).text == "run 1"


def test_stored_replies_are_purged_within_a_day_and_with_an_erasure(settings):
    once(settings, Counting())
    once(settings, Counting(), sender=sender_ref("web-7"))
    assert purge_chat_logs(settings, utcnow()) >= 0
    assert _results(settings) == 2  # younger than a day
    request_erasure(settings, "web-7")
    process_erasures(settings, utcnow() + dt.timedelta(minutes=5))
    assert _results(settings) == 1
    purge_chat_logs(settings, utcnow() + dt.timedelta(days=1, minutes=1))
    assert _results(settings) == 0


def _results(settings) -> int:
    with unit_of_work(settings.database_url) as session:
        return session.execute(select(func.count(ActionResult.id))).scalar_one()


# --- through the action server's classes -------------------------------------------------------


@pytest.fixture(autouse=True)
def use_test_settings(settings, monkeypatch):
    monkeypatch.setattr(actions, "get_settings", lambda: settings)


def slack_tracker(
    intent: str, entities: dict, message_id: str | None, user: str = TEACHER, text: str | None = None
) -> Tracker:
    metadata = {"slack": {"user_id": user, "team_id": "T1", "channel_id": "D1", "channel_type": "im"}}
    text = f"/{intent}" if text is None else text
    return Tracker.from_dict(
        {
            "sender_id": f"slack-T1-{user}",
            "slots": {},
            "latest_message": {
                "text": text,
                "intent": {"name": intent, "confidence": 1.0},
                "entities": [{"entity": k, "value": v} for k, v in entities.items()],
                "metadata": metadata,
                "message_id": message_id,
            },
            "events": [{"event": "user", "text": text, "input_channel": "slack", "metadata": metadata}],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        }
    )


def _group_slot(settings) -> int:
    starts = (utcnow() + dt.timedelta(days=3)).replace(hour=15, minute=0, second=0, microsecond=0)
    return add_slot(settings.database_url, "example-primary", starts, minutes=30, capacity=3)


async def _say(action, tracker: Tracker) -> str:
    dispatcher = CollectingDispatcher()
    await action.run(dispatcher, tracker, {})
    return "\n".join(m.get("text") or "" for m in dispatcher.messages)


def _bookings(settings) -> int:
    with unit_of_work(settings.database_url) as session:
        return session.execute(select(func.count(Booking.id))).scalar_one()


async def test_a_booking_delivered_twice_is_made_once_and_confirmed_twice_in_the_same_words(settings):
    slot_id = _group_slot(settings)
    click = {"slot_id": str(slot_id), "topic": "reading"}
    first = await _say(actions.ActionSurgery(), slack_tracker("choose_slot", click, "slack-evt-1"))
    again = await _say(actions.ActionSurgery(), slack_tracker("choose_slot", click, "slack-evt-1"))
    assert first.startswith("Booked:") and again == first
    assert _bookings(settings) == 1


async def test_the_same_click_as_a_new_message_is_a_new_request(settings):
    """The ledger is what keeps the booking single above: without the same id, the same
    click is a second request, and the booking rules answer it."""
    slot_id = _group_slot(settings)
    click = {"slot_id": str(slot_id), "topic": "reading"}
    first = await _say(actions.ActionSurgery(), slack_tracker("choose_slot", click, "slack-evt-1"))
    second = await _say(actions.ActionSurgery(), slack_tracker("choose_slot", click, "slack-evt-2"))
    assert first.startswith("Booked:") and second != first


async def test_a_broadcast_request_delivered_twice_makes_one_draft_with_one_preview(settings):
    request = "remind all staff about the autism awareness training Thursday week at 3:30pm in the library"

    def delivered(message_id: str) -> Tracker:
        return slack_tracker("send_broadcast", {}, message_id, user=SENCO, text=request)

    first = await _say(actions.ActionBroadcast(), delivered("slack-evt-7"))
    again = await _say(actions.ActionBroadcast(), delivered("slack-evt-7"))
    assert "not sent yet" in first and again == first
    assert _drafts(settings) == 1
    await _say(actions.ActionBroadcast(), delivered("slack-evt-8"))  # asked again: a new request
    assert _drafts(settings) == 2


def _drafts(settings) -> int:
    with unit_of_work(settings.database_url) as session:
        return session.execute(select(func.count(Broadcast.id))).scalar_one()


async def test_a_disclosure_the_model_saw_delivered_twice_is_recorded_once(settings):
    def disclosure() -> Tracker:
        return Tracker.from_dict(
            {
                "sender_id": "web-9",
                "slots": {},
                "latest_message": {
                    "text": "i am scared to go home",
                    "intent": {"name": "safeguarding_concern", "confidence": 0.8},
                    "entities": [],
                    "metadata": {},
                    "message_id": "web-msg-1",
                },
                "events": [],
                "paused": False,
                "followup_action": None,
                "active_loop": {},
                "latest_action_name": "action_listen",
            }
        )

    first = await _say(actions.ActionSafeguarding(), disclosure())
    again = await _say(actions.ActionSafeguarding(), disclosure())
    assert first == again
    assert _records(settings) == 1


def _records(settings) -> int:
    with unit_of_work(settings.database_url) as session:
        return session.execute(select(func.count(SafeguardingRecord.id))).scalar_one()


class Alerts:
    def __init__(self) -> None:
        self.sent: list[int] = []

    def alert(self, record_id: int, to: str, *, repeat: bool = False) -> None:
        self.sent.append(record_id)


def test_a_disclosure_screened_twice_is_recorded_and_alerted_once(settings):
    alerts = Alerts()

    def record(message_id: str | None, sender: str = "ref-1") -> int:
        return record_concern(
            settings.database_url,
            channel="telegram",
            sender_ref=sender,
            message="he hits me",
            detected_by="pattern",
            alerter=alerts,
            message_id=message_id,
        )

    first = record("tg-100")
    assert record("tg-100") == first
    assert alerts.sent == [first]
    assert record("tg-101") != first  # another message
    assert record("tg-100", sender="ref-2") != first  # another person's message
    assert record(None) != record(None)  # no id: each delivery is its own record
    assert _records(settings) == 5
