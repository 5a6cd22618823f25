"""The parents' web chat in a real browser (Debian's Chromium, driven by Playwright):
keyboard only, a follow-up button, and the conversation still there after a reload."""

from __future__ import annotations

import json
import os

import pytest
from playwright.sync_api import expect, sync_playwright

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def page(bot):
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"no Chromium at {CHROMIUM}: `make test` installs Debian's chromium package")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(bot.web_url)
        yield page
        browser.close()
        assert not errors, errors


def test_a_parent_asks_by_keyboard_clicks_a_follow_up_and_reloads(page):
    expect(page.locator("#status")).to_contain_text("Connected", timeout=30_000)
    page.keyboard.press("Tab")  # the skip link first, as a keyboard user meets it
    page.locator("#message-input").focus()
    page.keyboard.type("how long does an ehcp take")
    page.keyboard.press("Enter")

    bot_messages = page.locator(".msg-bot")
    expect(bot_messages.filter(has_text="20 weeks")).to_have_count(1, timeout=60_000)
    expect(page.locator("#message-input")).to_be_focused()

    follow_up = page.locator(".quick-reply").first
    expect(follow_up).to_be_visible(timeout=30_000)
    title = follow_up.inner_text()
    before = bot_messages.count()
    follow_up.focus()
    page.keyboard.press("Enter")
    expect(page.locator(".msg-user").last).to_contain_text(title)
    for _ in range(600):  # the page's CSP forbids wait_for_function's string evaluation
        if bot_messages.count() > before:
            break
        page.wait_for_timeout(100)
    assert bot_messages.count() > before, "no answer to the follow-up button"
    shown = page.locator(".msg").count()

    page.reload()
    expect(page.locator(".msg")).to_have_count(shown, timeout=10_000)
    expect(page.locator(".msg-bot").filter(has_text="20 weeks")).to_have_count(1)


def test_markup_typed_by_a_parent_is_shown_as_text(page):
    expect(page.locator("#status")).to_contain_text("Connected", timeout=30_000)
    page.locator("#message-input").fill("<img src=x onerror=alert(1)> what is an ehcp")
    page.keyboard.press("Enter")
    expect(page.locator(".msg-user").last).to_contain_text("<img src=x onerror=alert(1)>")
    assert page.locator("#chat-log img").count() == 0
    expect(page.locator(".msg-bot").last).to_be_visible(timeout=60_000)


def _user_messages(bot, page) -> list[dict]:
    """The user messages of the page's conversation, as the Rasa server keeps them."""
    token = page.evaluate("() => sessionStorage.getItem('sendbot.session_id')")
    events = bot.tracker("web-page~" + token.split(".")[0])["events"]
    return [e for e in events if e["event"] == "user"]


def test_a_message_still_in_flight_at_a_reload_is_sent_again_with_its_id_and_answered_once(bot, page):
    sent: list[dict] = []

    def watch(ws) -> None:
        def frame(payload) -> None:
            text = payload if isinstance(payload, str) else payload.decode(errors="replace")
            if '"user_uttered"' in text:
                sent.append(json.loads(text[text.index("[") :])[1])

        ws.on("framesent", frame)

    page.on("websocket", watch)
    page.reload()  # so the first socket is watched too
    expect(page.locator("#status")).to_contain_text("Connected", timeout=30_000)
    page.locator("#message-input").fill("how long does an ehcp take")
    page.keyboard.press("Enter")
    page.reload()  # before the answer came: the page sends the message again after the reload
    answer = page.locator(".msg-bot").filter(has_text="20 weeks")
    expect(answer).to_have_count(1, timeout=60_000)
    page.wait_for_timeout(2000)  # a second answer would have come by now
    expect(answer).to_have_count(1)
    expect(page.locator(".msg-user").filter(has_text="how long does an ehcp take")).to_have_count(1)

    ids = {m["message_id"] for m in sent if m.get("message") == "how long does an ehcp take"}
    assert len(ids) == 1 and next(iter(ids)).startswith("page-"), sent
    said = [(e["text"], e.get("message_id")) for e in _user_messages(bot, page)]
    assert said == [("how long does an ehcp take", next(iter(ids)))]


def test_a_conversation_id_that_does_not_verify_gets_a_new_conversation_kindly(bot, page):
    expect(page.locator("#status")).to_contain_text("Connected", timeout=30_000)
    page.locator("#message-input").fill("what is an ehcp")
    page.keyboard.press("Enter")
    expect(page.locator(".msg-bot").first).to_be_visible(timeout=60_000)
    token = page.evaluate("() => sessionStorage.getItem('sendbot.session_id')")
    conversation, signature = token.split(".")
    flipped = ("1" if conversation[0] == "0" else "0") + conversation[1:]
    page.evaluate(f"() => sessionStorage.setItem('sendbot.session_id', '{flipped}.{signature}')")

    page.reload()
    expect(page.locator("#status")).to_contain_text("new one has started", timeout=30_000)
    expect(page.locator(".msg")).to_have_count(0)
    page.locator("#message-input").fill("who is the senco")
    page.keyboard.press("Enter")
    expect(page.locator(".msg-bot").filter(has_text="senco@example.sch.uk")).to_have_count(1, timeout=60_000)
    fresh = page.evaluate("() => sessionStorage.getItem('sendbot.session_id')")
    assert fresh.split(".")[0] not in (conversation, flipped)
    assert [e["text"] for e in _user_messages(bot, page)] == ["who is the senco"]
