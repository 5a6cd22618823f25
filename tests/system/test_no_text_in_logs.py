"""No message text in any log line, on any path, including the libraries' own logging.

One marker phrase per path goes down every way words reach the bot (the REST channel, the
web page's socket.io, Slack DMs, mentions, files, edits and a booking note, Telegram
messages, captions, edits and groups), including requests that are refused. Each path's
answer is waited for; then the whole log of the run (every server writes to it) must hold
none of the markers. A marker found names the path that leaked.
"""

from __future__ import annotations

import asyncio
import secrets

import httpx
import pytest
from sqlalchemy import select

from knowledge.shared.db import unit_of_work
from knowledge.shared.models import SafeguardingRecord
from tests.fakes.fake_slack import edit_event, file_share_event, mention_event, message_event
from tests.system.test_sender_namespaces import PageClient
from tests.system.test_slack_e2e import StaffMemberOnSlack, button
from tests.system.test_telegram_e2e import ParentOnTelegram

TEACHER_FOR_LOGS = "U0EXTEACH2"
RUN = secrets.token_hex(4)


def marker(path: str) -> str:
    return f"qx{RUN}{path.replace('-', '')}zq"


@pytest.fixture(scope="module")
def markers() -> dict[str, str]:
    return {}


def mark(markers: dict[str, str], path: str) -> str:
    markers[path] = marker(path)
    return markers[path]


def test_rest_paths_and_refusals(bot, markers):
    who = "logs-" + RUN
    bot.say(f"how long does an ehcp take {mark(markers, 'rest-question')}", who)
    bot.say(f"my stepdad hits my son with a belt {mark(markers, 'rest-disclosure')}", who)
    bot.say(f"<script>{mark(markers, 'rest-markup')}</script>", who)
    bot.say(f"Bonjour, je voudrais savoir {mark(markers, 'rest-french')} pour mon fils", who)
    bot.say(f"yes {mark(markers, 'rest-yes')}", who)
    huge = f"{mark(markers, 'rest-huge-start')} " + "my son needs help with reading. " * 700
    bot.say(huge + mark(markers, "rest-huge-end"), who)
    refused = httpx.post(
        bot.rest_url,
        json={"sender": who, "message": mark(markers, "rest-bad-id"), "message_id": {"x": 1}},
        timeout=30,
    )
    assert refused.status_code == 400
    httpx.post(bot.rest_url, content=f"not json {mark(markers, 'rest-not-json')}".encode(), timeout=30)
    for channel in ("slack", "telegram"):
        unsigned = httpx.post(
            f"{bot.rasa_url}/webhooks/{channel}/webhook",
            json={"sender": f"{channel}-1", "message": mark(markers, f"bridge-unsigned-{channel}")},
            timeout=30,
        )
        assert unsigned.status_code == 401


def test_the_web_page(bot, markers):
    async def visit() -> list[dict]:
        async with PageClient(bot) as page:
            token = await page.session(None)
            return await page.say(f"who is the senco {mark(markers, 'socketio')}", token)

    assert asyncio.run(visit())


def test_slack_paths(bot, markers, slots):
    teacher = StaffMemberOnSlack(bot.slack, TEACHER_FOR_LOGS)
    teacher.say(f"what is an ehcp {mark(markers, 'slack-dm')}")
    first = message_event(teacher.user_id, f"hello {mark(markers, 'slack-before-edit')}", channel=teacher.dm)
    teacher.send(first)
    teacher.send(edit_event(first, f"what is sen support {mark(markers, 'slack-edit')}"))
    teacher.send(
        file_share_event(teacher.user_id, f"can you read this {mark(markers, 'slack-file')}", teacher.dm),
        expect="open files",
    )
    before = len(bot.slack.posts())
    bot.slack.push(
        "events_api", mention_event(teacher.user_id, f"who is the senco {mark(markers, 'slack-mention')}")
    )
    bot.slack.wait_for(lambda s: len(s.posts()) > before or None, 60)
    offer = teacher.say("can I book a SENCo slot please?", expect="free")
    teacher.click(
        button(offer, r"\d(am|pm)"), expect="Booked", topic="reading", note=mark(markers, "slack-note")
    )


def test_telegram_paths(bot, markers):
    parent = ParentOnTelegram(bot.telegram)
    parent.say("/start", "reminders")  # started the bot, so a group message can be answered privately
    parent.say(f"what is an ehcp {mark(markers, 'telegram-text')}", "")
    parent.send_photo(f"is this form right {mark(markers, 'telegram-caption')}", "")
    document = f"my daughter's report {mark(markers, 'telegram-document')}"
    parent._after(lambda: bot.telegram.push_file(parent.chat_id, "document", caption=document), "")
    pushed: list[int] = []
    first = f"hello {mark(markers, 'telegram-before-edit')}"
    parent._after(lambda: pushed.append(bot.telegram.push_message(parent.chat_id, first)), "")
    parent.edit(pushed[0], f"what is sen support {mark(markers, 'telegram-edit')}", "")
    group = -(10**12) - int(RUN, 16) % 1000
    disclosure = f"my stepdad hits my son with a belt {mark(markers, 'telegram-group')}"
    parent._after(lambda: bot.telegram.push_message_from(group, parent.chat_id, disclosure), "0808")
    parent.say(f"yes please {mark(markers, 'telegram-yes')}", "")


def test_no_marker_reached_the_log(bot, markers):
    assert len(markers) >= 25, sorted(markers)
    log = bot.log_text()
    leaked = sorted(path for path, phrase in markers.items() if phrase in log)
    assert not leaked, f"message text in the log from: {leaked}"
    with unit_of_work(
        bot.settings.database_url
    ) as session:  # the words did go through: kept where they belong
        kept = " ".join(session.execute(select(SafeguardingRecord.message)).scalars())
    assert markers["rest-disclosure"] in kept and markers["telegram-group"] in kept
