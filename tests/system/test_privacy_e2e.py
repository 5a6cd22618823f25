"""A family asks what the bot holds and has their conversation deleted, end to end."""

from __future__ import annotations

import secrets
import time

from tests.system.conftest import texts, web_sender


def said_or_answered(bot, sender: str) -> list[dict]:
    """What the family said and the bot answered (a fresh tracker has only bookkeeping events)."""
    return [e for e in bot.tracker(web_sender(sender))["events"] if e["event"] in ("user", "bot")]


def test_a_family_sees_what_is_held_and_erases_it(bot):
    sender = "privacy-" + secrets.token_hex(6)
    bot.say("what is an ehcp", sender)
    held = bot.say("what information do you keep about me", sender)
    assert "2 messages from you" in texts(held)  # the question itself is held too
    assert any(b["payload"] == "/erase_my_data" for r in held for b in r.get("buttons", []))

    assert "can't be undone" in bot.ask("/erase_my_data", sender)
    assert bot.ask("/affirm", sender).startswith("Done.")

    deadline = time.monotonic() + 30
    while said_or_answered(bot, sender) and time.monotonic() < deadline:
        time.sleep(1)
    assert said_or_answered(bot, sender) == []


def test_changing_your_mind_deletes_nothing(bot):
    sender = "privacy-" + secrets.token_hex(6)
    bot.say("please delete this conversation", sender)
    assert "haven't deleted" in bot.ask("/deny", sender)
    time.sleep(8)
    assert said_or_answered(bot, sender)
