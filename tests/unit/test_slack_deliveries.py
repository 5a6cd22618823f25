"""Slack as it really delivers: retries and redeliveries, files, edits, forged and stale requests.

The real connector (`python -m connectors.slack`, slack-bolt) runs in its own process against
the fake Slack (tests/fakes/fake_slack.py) and a stub of the Rasa bridge. Slack redelivers an
event it saw no ack for within 3 seconds (HTTP: the same body again with `X-Slack-Retry-Num`
and `X-Slack-Retry-Reason`; Socket Mode: a new envelope with `retry_attempt`), up to three
times, so the same `event_id` can arrive while the first delivery is still being answered,
or minutes later. A person can attach a file to a DM (`subtype: file_share`, the words they
typed in `text`) and edit a message (`subtype: message_changed`).
"""

from __future__ import annotations

import secrets
import time

import httpx
import pytest

from connectors.slack.redelivery import Recent
from tests.fakes.fake_slack import (
    FakeSlack,
    a_file,
    button_click,
    edit_event,
    file_share_event,
    mention_event,
    message_event,
)
from tests.unit.test_slack_connector import (
    FILES_NOTE,
    TEACHER,
    TEACHER_DM,
    PacedRasa,
    arrived,
    connector,
    post_click,
    post_event,
    posted,
)

SLACK_ACK_LIMIT_S = 3.0  # Slack retries an event it has no answer to within 3 seconds


@pytest.fixture(scope="module")
def slack():
    with FakeSlack() as fake:
        yield fake


@pytest.fixture(scope="module")
def rasa():
    with PacedRasa(secrets.token_hex(16)) as stub:
        yield stub


@pytest.fixture(scope="module")
def running(slack, rasa):
    with connector(slack, rasa, mode="http") as started:
        yield started


@pytest.fixture
def url(running, rasa):
    rasa.delay_s = 0.0
    yield running.url
    rasa.delay_s = 0.0


def settle(seconds: float = 1.0) -> None:
    """Give a wrongly repeated answer time to show up before asserting there is none."""
    time.sleep(seconds)


# --- 1. a repeat is answered once ---------------------------------------------------------


def test_slack_retrying_a_dm_event_gets_one_answer_and_one_turn(slack, rasa, url):
    event = message_event(TEACHER, "how do I request an EHCP assessment? (retried)")
    assert post_event(url, event).status_code == 200
    slack.wait_for(lambda s: posted(s, "echo: how do I request an EHCP assessment? (retried)"))

    for attempt, reason in ((1, "http_timeout"), (2, "http_error"), (3, "http_timeout")):
        assert post_event(url, event, retry=(attempt, reason)).status_code == 200
    settle()
    assert len(arrived(rasa, "how do I request an EHCP assessment? (retried)")) == 1
    assert len(posted(slack, "echo: how do I request an EHCP assessment? (retried)")) == 1


def test_a_retry_that_arrives_while_the_first_is_still_answered_is_acked_at_once_and_not_answered(
    slack, rasa, url
):
    rasa.delay_s = 2.5  # Rasa is still working on the first delivery when the retry comes
    event = message_event(TEACHER, "slow question while retried")
    started = time.monotonic()
    assert post_event(url, event).status_code == 200
    first_ack = time.monotonic() - started
    started = time.monotonic()
    assert post_event(url, event, retry=(1, "http_timeout")).status_code == 200
    retry_ack = time.monotonic() - started
    assert first_ack < 1.0 and retry_ack < 1.0, (first_ack, retry_ack)  # well inside Slack's 3 s

    slack.wait_for(lambda s: posted(s, "echo: slow question while retried"), timeout=15)
    settle(3.0)  # long enough for a second turn, had one started
    assert len(arrived(rasa, "slow question while retried")) == 1
    assert len(posted(slack, "echo: slow question while retried")) == 1


def test_each_message_goes_to_rasa_with_a_message_id_that_survives_a_restart(slack, rasa, url):
    first = message_event(TEACHER, "same words")
    second = message_event(TEACHER, "same words")  # the same words posted again: a new message
    second["event"]["ts"] = f"{float(first['event']['ts']) + 1:.6f}"
    for event in (first, second):
        post_event(url, event)
    slack.wait_for(lambda _: len(arrived(rasa, "same words")) == 2)
    ids = [m["message_id"] for m in arrived(rasa, "same words")]
    assert ids[0] != ids[1]
    assert all(i and len(i) <= 200 and TEACHER not in i and TEACHER_DM not in i for i in ids)

    # A connector that restarted (nothing in memory) sends Slack's redelivery with the same
    # message_id, so the Rasa side answers it from the conversation instead of a second turn.
    with connector(slack, rasa, mode="http") as restarted:
        post_event(restarted.url, first, retry=(1, "http_timeout"))
        slack.wait_for(lambda _: len(arrived(rasa, "same words")) == 3)
    assert arrived(rasa, "same words")[-1]["message_id"] == ids[0]


def test_a_click_delivered_twice_is_answered_once_and_two_clicks_twice(slack, rasa, url):
    click = button_click(TEACHER, TEACHER_DM, "/ask_ehcp_timeline")
    for _ in range(2):
        response = post_click(url, click)
        assert response.status_code == 200
    slack.wait_for(lambda s: posted(s, "echo: /ask_ehcp_timeline"))
    settle()
    assert len(arrived(rasa, "/ask_ehcp_timeline")) == 1

    again = button_click(TEACHER, TEACHER_DM, "/ask_ehcp_timeline")  # the person clicks again
    assert post_click(url, again).status_code == 200
    slack.wait_for(lambda _: len(arrived(rasa, "/ask_ehcp_timeline")) == 2)
    first_id, second_id = (m["message_id"] for m in arrived(rasa, "/ask_ehcp_timeline"))
    assert first_id and second_id and first_id != second_id
    slack.wait_for(lambda s: len(posted(s, "echo: /ask_ehcp_timeline")) == 2)


def test_a_click_is_acked_before_rasa_answers(slack, rasa, url):
    rasa.delay_s = 2.5
    started = time.monotonic()
    assert post_click(url, button_click(TEACHER, TEACHER_DM, "/slow_click")).status_code == 200
    assert time.monotonic() - started < 1.0
    slack.wait_for(lambda s: posted(s, "echo: /slow_click"), timeout=15)


def test_socket_mode_redeliveries_of_an_event_and_a_click_are_answered_once(slack, rasa):
    with connector(slack, rasa, mode="socket"):
        event = message_event(TEACHER, "socket question, redelivered")
        first = slack.push("events_api", event)
        slack.wait_for(lambda s: first in s.acks)
        again = slack.push("events_api", event, retry_attempt=1, retry_reason="timeout")
        slack.wait_for(lambda s: again in s.acks)  # the retry is acknowledged too
        slack.wait_for(lambda s: posted(s, "echo: socket question, redelivered"))

        click = button_click(TEACHER, TEACHER_DM, "/socket_click")
        for _ in range(2):
            envelope = slack.push("interactive", click)
            slack.wait_for(lambda s, e=envelope: e in s.acks)
        slack.wait_for(lambda s: posted(s, "echo: /socket_click"))
        settle()
    assert len(arrived(rasa, "socket question, redelivered")) == 1
    assert len(posted(slack, "echo: socket question, redelivered")) == 1
    assert len(arrived(rasa, "/socket_click")) == 1


# --- 2. files and edits carry words too ---------------------------------------------------


def test_the_words_sent_with_a_file_are_answered_then_the_person_is_told_files_cant_be_opened(
    slack, rasa, url
):
    before = len(slack.of("chat.postMessage"))
    event = file_share_event(TEACHER, "is this EHCP draft right?")
    assert post_event(url, event).status_code == 200
    slack.wait_for(lambda s: posted(s, FILES_NOTE)[0:1] and posted(s, "echo: is this EHCP draft"))
    [sent] = arrived(rasa, "is this EHCP draft right?")
    assert sent["metadata"]["slack"]["channel_type"] == "im" and sent["message_id"]
    texts = [c.body["text"] for c in slack.of("chat.postMessage")[before:]]
    assert texts[0] == "echo: is this EHCP draft right?"  # the words first (screened, answered)
    assert FILES_NOTE in texts[1] and "type" in texts[1]
    assert all(c.body["channel"] == TEACHER_DM for c in slack.of("chat.postMessage")[before:])

    post_event(url, event, retry=(1, "http_timeout"))
    settle()
    assert len(arrived(rasa, "is this EHCP draft right?")) == 1
    assert len([t for t in (c.body["text"] for c in slack.of("chat.postMessage")[before:])]) == 2


def test_a_file_sent_without_words_gets_the_note_only(slack, rasa, url):
    received = len(rasa.received)
    before = len(slack.of("chat.postMessage"))
    assert post_event(url, file_share_event(TEACHER, "")).status_code == 200
    slack.wait_for(lambda s: [c for c in s.of("chat.postMessage")[before:] if FILES_NOTE in c.body["text"]])
    settle(0.5)
    assert len(rasa.received) == received
    assert len(slack.of("chat.postMessage")) == before + 1


def test_an_edited_dm_is_answered_as_a_new_message_and_its_repeat_once(slack, rasa, url):
    original = message_event(TEACHER, "what is SEN support")
    post_event(url, original)
    slack.wait_for(lambda _: arrived(rasa, "what is SEN support"))
    edit = edit_event(original, "what is SEN support in year 2?")
    assert post_event(url, edit).status_code == 200
    slack.wait_for(lambda s: posted(s, "echo: what is SEN support in year 2?"))
    [first] = arrived(rasa, "what is SEN support")
    [edited] = arrived(rasa, "what is SEN support in year 2?")
    assert edited["message_id"] and edited["message_id"] != first["message_id"]
    assert edited["sender"] == first["sender"] and edited["metadata"] == first["metadata"]

    post_event(url, edit, retry=(1, "http_timeout"))
    second_edit = edit_event(original, "what is SEN support in year 3?")
    post_event(url, second_edit)
    slack.wait_for(lambda _: arrived(rasa, "what is SEN support in year 3?"))
    settle()
    assert len(arrived(rasa, "what is SEN support in year 2?")) == 1
    assert arrived(rasa, "what is SEN support in year 3?")[0]["message_id"] != edited["message_id"]


def test_an_edited_file_share_is_screened_too(slack, rasa, url):
    original = file_share_event(TEACHER, "see attached")
    post_event(url, original)
    slack.wait_for(lambda _: arrived(rasa, "see attached"))
    post_event(url, edit_event(original, "see attached, from the parent's email"))
    slack.wait_for(lambda s: posted(s, "echo: see attached, from the parent's email"))


def test_changes_that_are_not_edits_and_messages_not_from_a_person_are_ignored(slack, rasa, url):
    original = message_event(TEACHER, "a message with a link https://example.org")
    post_event(url, original)
    slack.wait_for(lambda s: posted(s, "echo: a message with a link https://example.org"))
    settle(0.5)  # every earlier answer is in before counting
    received, posts = len(rasa.received), len(slack.posts())

    preview_added = edit_event(original, original["event"]["text"], edited=False)  # an unfurl
    same_text = edit_event(original, original["event"]["text"])  # language detection, no new words
    bot_post = message_event(TEACHER, "a post by another app")
    bot_post["event"].update(subtype="bot_message", bot_id="B0OTHERAPP", username="Other app")
    del bot_post["event"]["user"]
    joined = message_event(TEACHER, "<@U0EXTEACH1> has joined the channel")
    joined["event"]["subtype"] = "channel_join"
    deleted = message_event(TEACHER, "")
    deleted["event"] = {
        "type": "message",
        "subtype": "message_deleted",
        "hidden": True,
        "channel": TEACHER_DM,
        "channel_type": "im",
        "ts": f"{time.time():.6f}",
        "deleted_ts": original["event"]["ts"],
        "previous_message": original["event"],
    }
    channel_chatter = message_event(TEACHER, "not for the bot", "C0STAFFRM1", "channel")
    for event in (preview_added, same_text, bot_post, joined, deleted, channel_chatter):
        assert post_event(url, event).status_code == 200
    settle()
    assert len(rasa.received) == received
    assert len(slack.posts()) == posts


def test_a_mention_with_a_file_is_answered_then_told_privately_files_cant_be_opened(slack, rasa, url):
    before = len(slack.of("chat.postEphemeral"))
    event = mention_event(TEACHER, "can you read this plan?")
    event["event"]["files"] = [a_file("plan.docx")]
    post_event(url, event)
    slack.wait_for(lambda s: len(s.of("chat.postEphemeral")[before:]) >= 2)
    texts = [c.body["text"] for c in slack.of("chat.postEphemeral")[before:]]
    assert texts[0] == "echo: can you read this plan?" and FILES_NOTE in texts[1]
    assert all(c.body["user"] == TEACHER for c in slack.of("chat.postEphemeral")[before:])


def test_an_edited_mention_is_answered_as_a_new_message(slack, rasa, url):
    original = mention_event(TEACHER, "who is the SENCo?")
    post_event(url, original)
    slack.wait_for(lambda _: arrived(rasa, "who is the SENCo?"))
    edited = mention_event(TEACHER, "who is the SENCo at the academy?")
    edited["event"].update(ts=original["event"]["ts"], edited={"user": TEACHER, "ts": f"{time.time():.6f}"})
    post_event(url, edited)
    slack.wait_for(lambda _: arrived(rasa, "who is the SENCo at the academy?"))
    assert (
        arrived(rasa, "who is the SENCo at the academy?")[0]["message_id"]
        != arrived(rasa, "who is the SENCo?")[0]["message_id"]
    )


# --- 3. refused requests and message text stay out of the logs ------------------------------

MARKER = "purple-giraffe-4417"


def test_forged_and_stale_requests_are_refused_and_their_words_never_logged(slack, rasa, url, running):
    event = message_event(TEACHER, f"my pupil {MARKER} said something worrying")
    received = len(rasa.received)
    assert post_event(url, event, secret="rotated-secret").status_code == 401  # forged / wrong secret
    assert post_event(url, event, timestamp=int(time.time()) - 600).status_code == 401  # clock skew
    assert httpx.post(f"{url}/slack/events", json=event, timeout=10).status_code == 401  # unsigned
    settle(0.5)
    assert len(rasa.received) == received

    log = running.log()
    assert MARKER not in log
    refused = [line for line in log.splitlines() if "Slack request refused" in line]
    assert len(refused) == 3, log
    assert any("signature" in line for line in refused)
    assert any("timestamp" in line and "clock" in line for line in refused)


def test_no_message_text_in_the_connectors_log_on_any_path(slack, rasa, url, running):
    said = f"{MARKER} dm words"
    dm = message_event(TEACHER, said)
    post_event(url, dm)
    post_event(url, dm, retry=(1, "http_timeout"))
    post_event(url, file_share_event(TEACHER, f"{MARKER} file words"))
    post_event(url, edit_event(dm, f"{MARKER} edited words"))
    post_event(url, mention_event(TEACHER, f"{MARKER} mention words"))
    post_click(url, button_click(TEACHER, TEACHER_DM, f"/{MARKER}", note=f"{MARKER} note"))
    slack.wait_for(lambda s: len(posted(s, MARKER)) >= 4)
    slack.wait_for(lambda s: posted(s, MARKER, "chat.postEphemeral"))
    settle()
    assert MARKER not in running.log()


def test_message_ids_are_remembered_for_an_hour_and_the_oldest_forgotten_first():
    now = [0.0]
    recent = Recent(keep_s=3600, most=3, clock=lambda: now[0])
    assert recent.first_time("a") and not recent.first_time("a")
    now[0] = 3500.0  # Slack's last retry comes about 5 minutes after the first try
    assert not recent.first_time("a")
    now[0] = 3601.0
    assert recent.first_time("a")  # an hour on, the id is forgotten
    for key in ("b", "c", "d"):
        assert recent.first_time(key)
    assert recent.first_time("a")  # at most 3 remembered: the oldest went first
    assert not recent.first_time("d")
