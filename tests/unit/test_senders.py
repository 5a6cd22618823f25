"""Sender ids per channel (connectors/rasa/senders.py): whatever a web client sends, it cannot name
a Slack, Telegram or web page conversation, and page tokens verify only as issued."""

from __future__ import annotations

import dataclasses
import re

import pytest

from connectors.rasa import senders
from knowledge.shared.settings import Settings

OTHER_CHANNELS = ("slack-", "telegram-")
CLAIMS = [
    "parent-1",
    "telegram-4242",
    "slack-T0EXAMPLE1-U0EXTEACH1",
    "web-parent-1",
    "web-page~0123456789abcdef0123456789abcdef",
    "web-~0123456789abcdef0123456789abcdef",
    "page~0123456789abcdef0123456789abcdef",
    "~0123456789abcdef0123456789abcdef",
    " telegram-4242",
    "TELEGRAM-4242",
    "a b",
    "ünïcødé",
    "line\nbreak",
    "../../etc/passwd",
    "%",
    "\ud800",  # a lone surrogate, as a JSON body may carry
    "x" * 65,
    "x" * 100_000,
    4242,
    -1001234,
    12.5,
    True,
]


@pytest.mark.parametrize("claimed", CLAIMS, ids=lambda c: repr(c)[:30])
def test_a_rest_sender_always_lands_in_the_web_namespace(claimed):
    sender = senders.rest_sender(claimed)
    assert sender.startswith("web-")
    assert not sender.startswith(OTHER_CHANNELS)
    assert not sender.startswith(senders.PAGE_PREFIX)  # a web page's conversation is never named
    assert len(sender) <= 68 and sender.isascii() and sender.isprintable()
    assert sender == senders.rest_sender(claimed)  # the same sender keeps its conversation


def test_a_plain_rest_sender_stays_readable_and_anything_else_is_hashed():
    assert senders.rest_sender("parent-1") == "web-parent-1"
    assert senders.rest_sender("telegram-4242") == "web-telegram-4242"
    assert senders.rest_sender("web-parent-1") == "web-web-parent-1"
    assert senders.rest_sender(4242) == "web-4242"
    hashed = senders.rest_sender("x" * 65)
    assert re.fullmatch(r"web-~[0-9a-f]{32}", hashed)
    assert senders.rest_sender("a b") != senders.rest_sender("a_b") != hashed


def test_no_rest_sender_is_a_conversation_of_its_own_each_time():
    made = {senders.rest_sender(nothing) for nothing in (None, "", None, "")}
    assert len(made) == 4
    assert all(re.fullmatch(r"web-~[0-9a-f]{32}", s) for s in made)


def test_page_tokens_verify_only_as_issued():
    sender, token = senders.new_page_conversation("secret-1")
    assert re.fullmatch(r"web-page~[0-9a-f]{32}", sender)
    assert re.fullmatch(r"[0-9a-f]{32}\.[0-9a-f]{64}", token)
    assert senders.page_sender("secret-1", token) == sender
    assert senders.new_page_conversation("secret-1")[0] != sender  # fresh each time

    conversation, signature = token.split(".")
    flipped = "0" if conversation[0] != "0" else "1"
    for bad in (
        f"{flipped}{conversation[1:]}.{signature}",  # someone else's conversation, same signature
        f"{conversation}.{signature[:-1]}{'0' if signature[-1] != '0' else '1'}",
        conversation,  # unsigned
        f"{conversation}.",
        f"{conversation.upper()}.{signature}",
        f" {token}",
        token + "x",
        "telegram-4242",
        "",
        None,
        42,
        {"session_id": token},
    ):
        assert senders.page_sender("secret-1", bad) is None, bad
    assert senders.page_sender("another-secret", token) is None
    assert senders.page_sender("", token) is None


def test_only_a_bridges_own_senders_are_accepted_on_it():
    assert senders.belongs_to("slack", "slack-T0EXAMPLE1-U0EXTEACH1")
    assert senders.belongs_to("telegram", "telegram-4242")
    assert senders.belongs_to("telegram", "telegram--1001234")  # a group chat's id is negative
    for channel, sender in (
        ("slack", "telegram-4242"),
        ("telegram", "slack-T0EXAMPLE1-U0EXTEACH1"),
        ("telegram", "web-telegram-4242"),
        ("telegram", "4242"),
        ("telegram", "telegram-"),
        ("slack", "SLACK-T-U"),
        ("rest", "rest-x"),
        ("telegram", 4242),
    ):
        assert not senders.belongs_to(channel, sender), (channel, sender)


def test_the_page_secret_is_shared_by_every_server_and_never_empty():
    settings = Settings.from_env()
    assert (
        senders.page_secret(dataclasses.replace(settings, web_conversation_secret="w", bridge_secret="b"))
        == "w"
    )
    assert (
        senders.page_secret(dataclasses.replace(settings, web_conversation_secret="", bridge_secret="b"))
        == "b"
    )
    alone = dataclasses.replace(settings, web_conversation_secret="", bridge_secret="")
    assert senders.page_secret(alone) and senders.page_secret(alone) == senders.page_secret(alone)
