"""A booking made on Slack says truly where its calendar file went (issue #12).

The whole path after Rasa, as the connector really runs it: `ActionSurgery` with the Slack
metadata the connector sends (`connectors.slack.sender.SlackSender.metadata`), the reply
rendered by `connectors.slack.blocks.render` and delivered by `connectors.slack.app.deliver`
to a recording Web API client. In a direct message the reply and then the file are posted in
that DM; in a channel the reply is private (ephemeral) and the file goes to the person's DM.
"""

from __future__ import annotations

import datetime as dt

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import actions
from connectors.slack.app import deliver
from connectors.slack.blocks import render
from connectors.slack.sender import SlackSender
from knowledge.shared.models import utcnow
from tests.builders import add_slot

TEACHER, TEACHER_DM, STAFF_ROOM = "U0EXTEACH1", "D0TEACHER1", "C0STAFFRM1"


@pytest.fixture(autouse=True)
def use_test_settings(settings, monkeypatch):
    monkeypatch.setattr(actions, "get_settings", lambda: settings)


class RecordingSlack:
    """The Web API calls `deliver` makes, in order; a DM with anyone is `D<their id>`."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict]] = []

    async def chat_postMessage(self, **kwargs):
        self.calls.append(("chat.postMessage", kwargs))

    async def chat_postEphemeral(self, **kwargs):
        self.calls.append(("chat.postEphemeral", kwargs))

    async def files_upload_v2(self, **kwargs):
        self.calls.append(("files.upload", kwargs))

    async def conversations_open(self, users: str):
        self.calls.append(("conversations.open", {"users": users}))
        return {"channel": {"id": TEACHER_DM}}


def clicked(intent: str, entities: dict, sender: SlackSender, message_id: str) -> Tracker:
    """A button click as the Slack bridge hands it to Rasa: a payload, the sender's metadata."""
    metadata = sender.metadata()
    return Tracker.from_dict(
        {
            "sender_id": sender.sender_id,
            "slots": {},
            "latest_message": {
                "text": f"/{intent}",
                "intent": {"name": intent, "confidence": 1.0},
                "entities": [{"entity": k, "value": v} for k, v in entities.items()],
                "metadata": metadata,
                "message_id": message_id,
            },
            "events": [
                {"event": "user", "text": f"/{intent}", "input_channel": "slack", "metadata": metadata}
            ],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        }
    )


async def book_and_deliver(settings, sender: SlackSender) -> tuple[str, list[tuple[str, dict]]]:
    starts = (utcnow() + dt.timedelta(days=3)).replace(hour=15, minute=0, second=0, microsecond=0)
    slot_id = add_slot(settings.database_url, "example-primary", starts)
    dispatcher = CollectingDispatcher()
    click = {"slot_id": str(slot_id), "topic": "ehcp_paperwork"}
    await actions.ActionSurgery().run(dispatcher, clicked("choose_slot", click, sender, "evt-1"), {})
    slack = RecordingSlack()
    await deliver(slack, sender, render(dispatcher.messages))
    said = "\n".join(m.get("text") or "" for m in dispatcher.messages)
    assert said.startswith("Booked:") and "about EHCP paperwork" in said
    return said, slack.calls


async def test_booked_in_a_direct_message_the_calendar_file_is_posted_below_the_reply(settings):
    in_dm = SlackSender("T0EXAMPLE1", TEACHER, TEACHER_DM, "im")
    said, calls = await book_and_deliver(settings, in_dm)
    assert [(name, kwargs.get("channel")) for name, kwargs in calls] == [
        ("chat.postMessage", TEACHER_DM),
        ("files.upload", TEACHER_DM),
    ]
    assert "The calendar file below adds it to your calendar." in said


async def test_booked_from_a_channel_the_reply_is_private_and_says_the_file_went_to_our_dm(settings):
    in_channel = SlackSender("T0EXAMPLE1", TEACHER, STAFF_ROOM, "channel")
    said, calls = await book_and_deliver(settings, in_channel)
    assert [(name, kwargs.get("channel")) for name, kwargs in calls] == [
        ("chat.postEphemeral", STAFF_ROOM),
        ("conversations.open", None),
        ("files.upload", TEACHER_DM),
    ]
    assert "below" not in said
    assert "I've sent the calendar file to our direct messages" in said
