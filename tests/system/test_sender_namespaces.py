"""Each channel owns its conversations: the open REST and socket.io channels cannot reach a
Telegram parent's or a Slack teacher's conversation by naming its sender id (chat ids are
not secrets), and the web page's conversation id is issued and signed by the server.

Everything goes through the running bot: Telegram and Slack through their real connectors
and the fake APIs, REST by HTTP, socket.io with python-socketio's client (as the page's
socket.io client speaks it)."""

from __future__ import annotations

import asyncio
import re
import secrets
import time
import uuid

import socketio
from sqlalchemy import select

from knowledge.shared.db import unit_of_work
from knowledge.shared.models import Subscriber
from tests.fakes.fake_slack import TEAM_ID
from tests.system.conftest import web_sender
from tests.system.test_slack_e2e import OTHER_TEACHER, StaffMemberOnSlack
from tests.system.test_telegram_e2e import ParentOnTelegram, keyboard

TOKEN = re.compile(r"[0-9a-f]{32}\.[0-9a-f]{64}")


def turns(bot, sender: str) -> list[tuple[str, str]]:
    """What was said and answered in a conversation (a fresh tracker has only bookkeeping)."""
    events = bot.tracker(sender)["events"]
    return [(e["event"], e.get("text") or "") for e in events if e["event"] in ("user", "bot")]


def ask_and_erase_as(bot, claimed: str) -> str:
    """Through REST as `claimed`: ask what is held, then erase it; wait until the erasure ran."""
    held = bot.ask("what do you keep about me?", claimed)
    assert "can't be undone" in bot.ask("/erase_my_data", claimed)
    assert bot.ask("/affirm", claimed).startswith("Done.")
    deadline = time.monotonic() + 40
    while turns(bot, web_sender(claimed)) and time.monotonic() < deadline:
        time.sleep(1)
    assert turns(bot, web_sender(claimed)) == [], "the REST caller's own conversation was not erased"
    return held


def test_the_rest_channel_cannot_describe_or_erase_a_telegram_parents_conversation(bot):
    parent = ParentOnTelegram(bot.telegram)
    welcome = parent.say("/start", "reminders")
    yes = next(data for label, data in keyboard(welcome[-1]) if label.lower().startswith("yes"))
    parent.press(yes, "/stop")
    parent.say("how long does an EHCP assessment take?", "20 weeks")
    telegram_sender = f"telegram-{parent.chat_id}"
    before = turns(bot, telegram_sender)
    assert ("user", "how long does an EHCP assessment take?") in before

    held = ask_and_erase_as(bot, telegram_sender)

    assert "1 message from you" in held, held  # only the question itself, in its own conversation
    assert "reminders" not in held, held
    assert turns(bot, telegram_sender) == before
    with unit_of_work(bot.settings.database_url) as session:
        subscriber = session.execute(
            select(Subscriber).where(
                Subscriber.channel == "telegram", Subscriber.address == str(parent.chat_id)
            )
        ).scalar_one()
        assert subscriber.opted_in
    parent.say("who is the senco?", "senco@example.sch.uk")  # the parent's conversation carries on


def test_the_rest_channel_cannot_describe_or_erase_a_slack_teachers_conversation(bot):
    teacher = StaffMemberOnSlack(bot.slack, OTHER_TEACHER)
    teacher.say("what is an ehcp", expect="plan")
    slack_sender = f"slack-{TEAM_ID}-{OTHER_TEACHER}"
    before = turns(bot, slack_sender)
    assert ("user", "what is an ehcp") in before

    held = ask_and_erase_as(bot, slack_sender)

    assert "1 message from you" in held, held
    assert turns(bot, slack_sender) == before


def test_a_rest_sender_that_looks_like_another_channels_lands_in_the_web_namespace(bot):
    claimed = f"telegram-{secrets.randbelow(10**9)}"
    bot.say("what is an ehcp", claimed)
    assert [t for t in turns(bot, web_sender(claimed)) if t[0] == "user"] == [("user", "what is an ehcp")]
    assert turns(bot, claimed) == []


# --- the web page's socket.io channel ---------------------------------------------------------


class PageClient:
    """A socket.io client speaking the web page's protocol (connectors/web/static/chat.js)."""

    def __init__(self, bot) -> None:
        self.bot = bot
        self.client = socketio.AsyncClient()
        self.confirmed: list[str] = []
        self.received: list[dict] = []
        self.client.on("session_confirm", lambda data: self.confirmed.append(data))
        self.client.on("bot_uttered", lambda data: self.received.append(data))

    async def __aenter__(self) -> PageClient:
        await self.client.connect(self.bot.rasa_url, socketio_path="/socket.io", transports=["polling"])
        return self

    async def __aexit__(self, *_exc) -> None:
        await self.client.disconnect()

    async def wait(self, condition, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, "timed out"
            await asyncio.sleep(0.1)

    async def session(self, session_id) -> str:
        count = len(self.confirmed)
        await self.client.emit("session_request", {"session_id": session_id})
        await self.wait(lambda: len(self.confirmed) > count)
        return self.confirmed[-1]

    async def say(self, text: str, session_id: str, message_id: str | None = None) -> list[dict]:
        """Send one message; the bot's replies, once the server has acknowledged it."""
        count, acked = len(self.received), asyncio.Event()
        uttered = {"message": text, "session_id": session_id}
        if message_id:
            uttered["message_id"] = message_id
        await self.client.emit("user_uttered", uttered, callback=lambda *_: acked.set())
        await asyncio.wait_for(acked.wait(), 60)
        await asyncio.sleep(0.3)  # events emitted before the ack have all arrived by now
        return self.received[count:]


def page_sender(token: str) -> str:
    return "web-page~" + token.split(".")[0]


def test_the_page_gets_a_signed_conversation_id_and_keeps_it_across_a_reload(bot):
    async def visit() -> tuple[str, str]:
        async with PageClient(bot) as page:
            token = await page.session(None)
            await page.say("what is an ehcp", token)
        async with PageClient(bot) as reloaded:  # a reload: a new socket with the stored id
            again = await reloaded.session(token)
            await reloaded.say("who is the senco", again)
        return token, again

    token, again = asyncio.run(visit())
    assert TOKEN.fullmatch(token), token
    assert again == token
    said = [text for kind, text in turns(bot, page_sender(token)) if kind == "user"]
    assert said == ["what is an ehcp", "who is the senco"]


def test_a_forged_or_tampered_conversation_id_gets_a_new_conversation(bot):
    parent = ParentOnTelegram(bot.telegram)
    parent.say("what is an ehcp", "plan")
    telegram_sender = f"telegram-{parent.chat_id}"
    before = turns(bot, telegram_sender)

    async def visit() -> dict[str, str]:
        async with PageClient(bot) as page:
            real = await page.session(None)
            conversation, signature = real.split(".")
            tampered = f"{conversation[:-1]}{'0' if conversation[-1] != '0' else '1'}.{signature}"
            given = {
                "telegram sender": telegram_sender,
                "unsigned": uuid.uuid4().hex,
                "tampered": tampered,
                "forged signature": f"{uuid.uuid4().hex}.{'ab' * 32}",
                "odd": "../../" + "x" * 5000,
            }
            got = {}
            for name, session_id in given.items():
                got[name] = await page.session(session_id)
            # a message naming someone else's conversation goes to this socket's own
            replies = await page.say("what do you keep about me?", telegram_sender)
            got["replies"] = " ".join(r.get("text", "") for r in replies)
            got["last"] = page.confirmed[-1]
            return {**got, "real": real, "given": given}

    got = asyncio.run(visit())
    for name, session_id in got["given"].items():
        assert TOKEN.fullmatch(got[name]), name
        assert got[name] not in (session_id, got["real"]), name
    assert len({got[name] for name in got["given"]}) == len(got["given"])  # each a new one
    assert "1 message from you" in got["replies"], got["replies"]
    assert turns(bot, telegram_sender) == before
    assert [t for kind, t in turns(bot, page_sender(got["last"])) if kind == "user"] == [
        "what do you keep about me?"
    ]


def test_the_same_message_from_the_page_twice_is_answered_once(bot):
    async def visit() -> tuple[str, list[dict], list, list[dict]]:
        async with PageClient(bot) as page:
            token = await page.session(None)
            first = await page.say("how long does an ehcp take", token, message_id="page-msg-1")
        after_first = turns(bot, page_sender(token))
        async with PageClient(bot) as again:  # sent again after the connection dropped
            await again.session(token)
            second = await again.say("how long does an ehcp take", token, message_id="page-msg-1")
        return token, first, after_first, second

    token, first, after_first, second = asyncio.run(visit())
    assert "20 weeks" in " ".join(r.get("text", "") for r in first)
    assert second == first  # the same replies, marked as the same parts of the same answer
    assert turns(bot, page_sender(token)) == after_first  # no second turn
    users = [e for e in bot.tracker(page_sender(token))["events"] if e["event"] == "user"]
    assert [(e["text"], e.get("message_id")) for e in users] == [("how long does an ehcp take", "page-msg-1")]
