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
