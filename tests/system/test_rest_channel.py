"""End to end through the real REST channel, the real action server and a real database."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json

import httpx
import socketio

from tests.system.conftest import texts


def buttons(replies: list[dict]) -> list[dict]:
    return [b for r in replies for b in r.get("buttons", [])]


def test_how_long_an_ehcp_takes(bot, fresh_sender):
    replies = bot.say("how long does an ehcp take", fresh_sender)
    answer = texts(replies)
    assert "20 weeks" in answer
    assert "Source:" in answer and "Checked" in answer
    assert "Ms A. Example" in answer
    assert {"title": "Talk to a person", "payload": "/ask_contact_senco"} in buttons(replies)


def test_parent_questions_in_their_own_words(bot, fresh_sender):
    expectations = {
        "whats the diffrence between sen support and an ehcp": "SEN support",
        "who is the senco and how do i contact them": "senco@example.sch.uk",
        "is there speech therapy near us": "Speech and Language Therapy",
        "the council refused to assess, can I appeal": "Tribunal",
    }
    for question, expected in expectations.items():
        answer = bot.ask(question, fresh_sender)
        assert expected in answer, (question, answer[:300])


def test_a_follow_up_button_is_answered(bot, fresh_sender):
    first = bot.say("how do i get an ehcp", fresh_sender)
    follow_up = next(b for b in buttons(first) if b["payload"] != "/ask_contact_senco")
    answer = bot.ask(follow_up["payload"], fresh_sender)
    assert "Source:" in answer


def test_an_unanswerable_question_gets_an_honest_reply(bot, fresh_sender):
    answer = bot.ask("what's the weather going to be like tomorrow", fresh_sender)
    assert answer.startswith("Sorry, I can't help with that")


def test_bad_input_gets_a_clear_reply_and_the_server_keeps_serving(bot, fresh_sender):
    cases = {
        "": "didn't get any words",
        "     ": "didn't get any words",
        "😀😀😀": "emoji",
        "<script>alert('x')</script>": "markup",
        "Jak mogę uzyskać EHCP dla mojego syna?": "English",
    }
    for message, expected in cases.items():
        answer = bot.ask(message, fresh_sender)
        assert expected in answer, (message, answer)
        assert "<script>" not in answer
    assert "20 weeks" in bot.ask("how long does an ehcp take", fresh_sender)


def test_a_huge_message_is_cut_and_the_parent_is_told(bot, fresh_sender):
    message = "how long does an ehcp take? " + "The council has had our request since September. " * 450
    assert len(message) > 20_000
    replies = bot.say(message, fresh_sender)
    assert "first 1,000 characters" in replies[0]["text"]
    assert "20 weeks" in texts(replies[1:])


def test_markup_in_a_question_is_not_echoed(bot, fresh_sender):
    answer = bot.ask("<b>what is an ehcp</b><img src=x onerror=alert(1)>", fresh_sender)
    assert "<img" not in answer and "<b>" not in answer
    assert "plan" in answer.lower()


def test_message_text_is_not_written_to_the_logs(bot, fresh_sender):
    secret = "zebracrossing-unique-phrase"
    bot.say(f"my son {secret} needs help with reading", fresh_sender)
    assert secret not in bot.log_text()


def test_conversations_are_kept_apart(bot):
    questions = {
        f"parallel-{i}": q for i, q in enumerate(["who is the senco", "how long does an ehcp take"] * 4)
    }
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        replies = pool.map(lambda s: bot.ask(questions[s], s), questions)
        answers = dict(zip(questions, replies, strict=True))
    for sender, question in questions.items():
        expected = "senco@example.sch.uk" if "senco" in question else "20 weeks"
        assert expected in answers[sender], sender


def test_the_rest_channel_refuses_nonsense_without_crashing(bot):
    response = httpx.post(bot.rest_url, content=b"not json", timeout=30)
    assert response.status_code in (200, 400, 500)
    assert "20 weeks" in bot.ask("how long does an ehcp take", "after-nonsense")


def test_the_socketio_channel_answers_with_quick_replies(bot):
    async def talk() -> list[dict]:
        client = socketio.AsyncClient()
        received: list[dict] = []
        confirmed = {}

        @client.on("session_confirm")
        async def on_confirm(data):
            confirmed["id"] = data if isinstance(data, str) else data.get("session_id")

        @client.on("bot_uttered")
        async def on_bot(data):
            received.append(data)

        await client.connect(bot.rasa_url, socketio_path="/socket.io", transports=["polling"])
        await client.emit("session_request", {"session_id": None})
        for _ in range(100):
            if confirmed:
                break
            await client.sleep(0.1)
        await client.emit("user_uttered", {"message": "what is an ehcp", "session_id": confirmed["id"]})
        for _ in range(300):  # the reply arrives as one event per paragraph; buttons on the last
            if any(r.get("quick_replies") for r in received):
                break
            await client.sleep(0.1)
        await client.disconnect()
        return received

    received = asyncio.run(talk())
    assert received, "no bot_uttered event"
    assert "plan" in received[0]["text"].lower()
    assert received[-1]["quick_replies"]


def test_the_web_page_is_served_with_a_strict_content_security_policy(bot):
    response = httpx.get(bot.web_url, timeout=10)
    assert response.status_code == 200
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    config = json.loads(httpx.get(bot.web_url + "config.json", timeout=10).text)
    assert config["maxMessageChars"] == 1000
    assert httpx.get(bot.web_url + "vendor/socket.io.min.js", timeout=10).status_code == 200
    assert httpx.get(bot.web_url + "../bot/settings.py", timeout=10).status_code == 404
