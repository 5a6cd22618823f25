"""The parents' web chat in a real browser (Debian's Chromium, driven by Playwright):
keyboard only, a follow-up button, and the conversation still there after a reload."""

from __future__ import annotations

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
