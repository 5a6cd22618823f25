"""Running a custom action in-process, as the action server would, for tests of what it says
(with the `on` fixture of tests/unit/conftest.py, so that it reads the test's database)."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher


async def said(action, tracker: Tracker) -> str:
    """Everything the action sent, as one text."""
    dispatcher = CollectingDispatcher()
    await action.run(dispatcher, tracker, {})
    return "\n".join(m.get("text") or "" for m in dispatcher.messages)


def tracker(
    intent: str,
    text: str,
    ranking: list[dict] | None = None,
    metadata: dict | None = None,
    events: list[dict] | None = None,
) -> Tracker:
    """A parent's latest message as the action server receives it: the model's reading
    (`ranking`, best first; one sure intent when not given) and the conversation so far."""
    ranking = ranking or [{"name": intent, "confidence": 0.9}]
    return Tracker.from_dict(
        {
            "sender_id": "parent-13",
            "slots": {},
            "latest_message": {
                "text": text,
                "intent": {"name": intent, "confidence": ranking[0]["confidence"]},
                "intent_ranking": ranking,
                "entities": [],
                "metadata": metadata or {},
                "message_id": "m-13",
            },
            "events": events or [],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        }
    )
