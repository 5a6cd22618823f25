"""Staff on Slack, end to end: fake Slack (Socket Mode + Web API) -> the real slack-bolt
connector -> the signed bridge -> Rasa -> the action server -> the database, and back.

Every message here is pushed by the fake Slack over the Socket Mode WebSocket, exactly
as Slack would deliver it; every reply is read from the Web API calls the connector made.
"""

from __future__ import annotations

import json
import re
import threading
import time
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from knowledge.shared.db import unit_of_work
from knowledge.shared.models import Booking, SafeguardingRecord, SurgeryPattern, SurgerySlot
from tests.fakes.fake_slack import button_click, edit_event, file_share_event, message_event

UK = ZoneInfo("Europe/London")
SCHOOL = "example-primary"
SENCO, DSL, DEPUTY = "U0EXSENCO1", "U0EXDSL001", "U0EXDDSL01"
TEACHER, OTHER_TEACHER, ADMIN = "U0EXTEACH1", "U0EXTEACH2", "U0EXADMIN1"


class StaffMemberOnSlack:
    """One person writing to the bot in their DM and clicking its buttons."""

    def __init__(self, slack, user_id: str) -> None:
        self.slack, self.user_id = slack, user_id
        self.dm = "D" + user_id.removeprefix("U")

    def _posts(self) -> list:
        return [c for c in self.slack.posts() if c.body.get("channel") == self.dm]

    def _exchange(self, push, expect: str | None, timeout: float) -> list:
        before = len(self._posts())
        push()
        pattern = re.compile(expect, re.IGNORECASE) if expect else None

        def arrived(slack):
            new = self._posts()[before:]
            if new and (pattern is None or any(pattern.search(c.body.get("text", "")) for c in new)):
                return new
            return None

        new = self.slack.wait_for(arrived, timeout)
        time.sleep(0.3)  # let the rest of a multi-part reply arrive
        return self._posts()[before:] or new

    def say(self, text: str, expect: str | None = None, timeout: float = 60) -> list:
        return self.send(message_event(self.user_id, text, channel=self.dm), expect, timeout)

    def send(self, event: dict, expect: str | None = None, timeout: float = 60, **envelope) -> list:
        """Any Events API body (a DM, a file, an edit, a redelivery with `retry_attempt`)."""
        return self._exchange(lambda: self.slack.push("events_api", event, **envelope), expect, timeout)

    def click(self, value: str, expect: str | None = None, *, topic=None, note=None, timeout=60) -> list:
        payload = button_click(self.user_id, self.dm, value, topic=topic, note=note)
        return self._exchange(lambda: self.slack.push("interactive", payload), expect, timeout)


def text_of(posts: list) -> str:
    return "\n".join(p.body.get("text", "") for p in posts)


def buttons(posts: list) -> list[tuple[str, str]]:
    """(label, payload) of every button in the posts, in order."""
    return [
        (element["text"]["text"], element["value"])
        for post in posts
        for block in post.body.get("blocks") or []
        if block.get("type") == "actions"
        for element in block["elements"]
    ]


def button(posts: list, label_pattern: str) -> str:
    for label, value in buttons(posts):
        if re.search(label_pattern, label, re.IGNORECASE):
            return value
    raise AssertionError(f"no button like {label_pattern!r} in {buttons(posts)}")


def uploaded_calendars(slack) -> list[str]:
    return [content.decode() for content in slack.uploads.values()]


def test_a_teacher_books_moves_and_cancels_a_surgery_slot(bot, slots):
    teacher = StaffMemberOnSlack(bot.slack, TEACHER)

    offer = teacher.say("can I book a SENCo slot please?", expect="free")
    assert "Choose what it's about" in text_of(offer)
    first_slot = button(offer, r"\d(am|pm)")
    assert first_slot.startswith("/choose_slot")
    block_types = [b["type"] for b in offer[0].body["blocks"]]
    assert block_types.index("input") < block_types.index("actions")  # topic menu above the times

    uploads_before = len(bot.slack.uploads)
    booked = teacher.click(first_slot, expect="Booked", topic="reading", note="Year 3 phonics group")
    assert "(UK time)" in text_of(booked)
    bot.slack.wait_for(lambda s: len(s.uploads) > uploads_before)
    ics = uploaded_calendars(bot.slack)[-1]
    assert "METHOD:REQUEST" in ics and "SEQUENCE:0" in ics and "ATTENDEE" not in ics
    uid = re.search(r"UID:(\S+)", ics).group(1)

    mine = teacher.say("what have I booked?", expect="Your SENCo surgery bookings")
    assert "reading" in text_of(mine)

    move_offer = teacher.click(button(mine, "^Move"), expect="Choose the new time")
    uploads_before = len(bot.slack.uploads)
    moved = teacher.click(button(move_offer, r"\d(am|pm)"), expect="Moved")
    assert "Reminders follow the new time" in text_of(moved)
    bot.slack.wait_for(lambda s: len(s.uploads) > uploads_before)
    ics = uploaded_calendars(bot.slack)[-1]
    assert f"UID:{uid}" in ics and "SEQUENCE:1" in ics

    confirm = teacher.say("cancel my booking", expect="Cancel your SENCo surgery slot")
    uploads_before = len(bot.slack.uploads)
    cancelled = teacher.click(button(confirm, "Yes, cancel"), expect="Cancelled")
    assert "free for others" in text_of(cancelled)
    bot.slack.wait_for(lambda s: len(s.uploads) > uploads_before)
    ics = uploaded_calendars(bot.slack)[-1]
    assert "METHOD:CANCEL" in ics and "STATUS:CANCELLED" in ics and f"UID:{uid}" in ics

    with unit_of_work(bot.settings.database_url) as session:
        left = session.execute(select(Booking).where(Booking.status == "active")).scalars().all()
        assert not [b for b in left if b.staff.slack_user_id == TEACHER]


def test_two_teachers_clicking_one_slot_at_once_one_gets_it_the_other_is_told_straight_away(bot, slots):
    slot_id = slots[-1]
    payload = "/choose_slot" + json.dumps({"slot_id": str(slot_id)})
    first, second = StaffMemberOnSlack(bot.slack, OTHER_TEACHER), StaffMemberOnSlack(bot.slack, ADMIN)
    replies: dict[str, list] = {}

    def click(person):
        replies[person.user_id] = person.click(payload, expect="Booked|just taken", topic="behaviour")

    threads = [threading.Thread(target=click, args=(p,)) for p in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    outcomes = sorted(
        "booked" if "Booked" in text_of(r) else "taken" if "just taken" in text_of(r) else "?"
        for r in replies.values()
    )
    assert outcomes == ["booked", "taken"]
    taken = next(r for r in replies.values() if "just taken" in text_of(r))
    assert buttons(taken), "the person who missed out is shown the next free slots"
    with unit_of_work(bot.settings.database_url) as session:
        assert session.get(SurgerySlot, slot_id).booked == 1


def test_a_teacher_cannot_open_slots_and_someone_not_on_the_roster_cannot_book(bot, slots):
    teacher = StaffMemberOnSlack(bot.slack, TEACHER)
    refused = teacher.say("open surgery slots on Tuesdays 3:15 to 4:15, 15 minutes each, for this term")
    assert "Only the SENCo or an admin" in text_of(refused)

    stranger = StaffMemberOnSlack(bot.slack, "U0NOTSTAFF")
    told = stranger.say("can I book a SENCo slot tomorrow?")
    assert "ask the SENCo to add you" in text_of(told)


def test_the_senco_opens_a_weekly_surgery_and_sees_who_is_booked(bot, slots):
    senco = StaffMemberOnSlack(bot.slack, SENCO)
    preview = senco.say(
        "open surgery slots on Wednesdays 12:30 to 13:30, 20 minutes each, for this term", expect="Shall I"
    )
    assert "Wednesdays" in text_of(preview)
    with unit_of_work(bot.settings.database_url) as session:
        before = len(session.execute(select(SurgerySlot.id)).all())
    done = senco.click(button(preview, "Yes, open"), expect="Done")
    with unit_of_work(bot.settings.database_url) as session:
        after = session.execute(select(SurgerySlot)).scalars().all()
    created = len(after) - before
    assert created > 0 and f"{created} new slots" in text_of(done)
    assert {s.starts_at.astimezone(UK).strftime("%a %H:%M") for s in after[before:]} <= {
        "Wed 12:30",
        "Wed 12:50",
        "Wed 13:10",
    }

    teacher = StaffMemberOnSlack(bot.slack, TEACHER)
    offer = teacher.say("any senco slots free?", expect="free")
    teacher.click(button(offer, r"\d(am|pm)"), expect="Booked", topic="ehcp_paperwork")
    with unit_of_work(bot.settings.database_url) as session:
        mine = session.execute(select(Booking).where(Booking.status == "active")).scalars().all()
        day = max(b.slot.starts_at for b in mine if b.staff.slack_user_id == TEACHER).astimezone(UK).date()
    listing = senco.say(f"who is booked on {day:%A %d %B}?", expect="Booked on|Nobody")
    assert "Mr D. Example" in text_of(listing) and "EHCP paperwork" in text_of(listing)

    teacher_view = teacher.say(f"who is booked on {day:%A %d %B}?")
    assert "Only the SENCo or an admin" in text_of(teacher_view)
    assert "EHCP paperwork" not in text_of(teacher_view)


def test_staff_identity_cannot_be_claimed_through_the_open_rest_channel(bot, slots):
    claim = {
        "sender": "forger",
        "message": "open surgery slots on Tuesdays 3:15 to 4:15, 15 minutes each, for this term",
        "input_channel": "slack",
        "metadata": {"slack": {"user_id": SENCO, "team_id": "T0EXAMPLE1"}},
    }
    import httpx

    with unit_of_work(bot.settings.database_url) as session:
        patterns_before = session.execute(select(func.count(SurgeryPattern.id))).scalar_one()
    replies = httpx.post(bot.rest_url, json=claim, timeout=60).json()
    answer = "\n".join(r.get("text", "") for r in replies)
    # the staff-only action never runs on the open channel: the words are a parent's question
    assert answer and "Shall I" not in answer and "open surgery" not in answer.lower()
    with unit_of_work(bot.settings.database_url) as session:
        assert session.execute(select(func.count(SurgeryPattern.id))).scalar_one() == patterns_before


def test_a_concern_raised_on_the_web_is_dmed_to_the_dsl_and_deputy_who_acknowledge_it_in_slack(bot):
    dsl = StaffMemberOnSlack(bot.slack, DSL)
    bot.ask("my daughter told me her uncle hurts her when I'm at work", "sg-slack-alert")
    with unit_of_work(bot.settings.database_url) as session:
        record = (
            session.execute(select(SafeguardingRecord).order_by(SafeguardingRecord.id.desc()))
            .scalars()
            .first()
        )
        record_id = record.id

    def alerted(slack, person):
        return [
            c
            for c in slack.of("chat.postMessage")
            if c.body.get("channel") == "D" + person.removeprefix("U")
            and f"Safeguarding concern #{record_id}" in c.body.get("text", "")
        ]

    to_dsl = bot.slack.wait_for(lambda s: alerted(s, DSL), timeout=30)
    bot.slack.wait_for(lambda s: alerted(s, DEPUTY), timeout=30)
    assert "uncle" not in to_dsl[0].body["text"]  # the words stay in the safeguarding record
    assert not [
        c for c in bot.slack.posts() if c.body.get("channel", "").startswith("C") and "#" in c.body["text"]
    ]

    ack = dsl.click(button(to_dsl, "acknowledge"), expect="acknowledged")
    assert f"Concern #{record_id} is acknowledged" in text_of(ack)
    with unit_of_work(bot.settings.database_url) as session:
        assert session.get(SafeguardingRecord, record_id).acknowledged_by == "Mr B. Example"

    teacher = StaffMemberOnSlack(bot.slack, TEACHER)
    refused = teacher.click(button(to_dsl, "acknowledge"))
    assert "Only the designated safeguarding lead or deputy" in text_of(refused)


def test_staff_who_describe_a_concern_get_the_child_protection_procedure(bot):
    teacher = StaffMemberOnSlack(bot.slack, OTHER_TEACHER)
    reply = teacher.say(
        "a pupil in my class just told me her stepdad hits her, what do I do", expect="child protection"
    )
    said = text_of(reply)
    assert (
        "999" in said and "Mr B. Example" in said and "passed your message to the safeguarding lead" in said
    )
    assert "Childline" not in said


# --- Slack's redeliveries, files and edits (issue #12) -------------------------------------

FILES_NOTE = "can't open files"


def records_of(bot, text: str) -> list[SafeguardingRecord]:
    with unit_of_work(bot.settings.database_url) as session:
        found = session.execute(select(SafeguardingRecord).where(SafeguardingRecord.message == text))
        return list(found.scalars())


def alerts_about(slack, record_id: int, person: str) -> list:
    return [
        c
        for c in slack.of("chat.postMessage")
        if c.body.get("channel") == "D" + person.removeprefix("U")
        and f"Safeguarding concern #{record_id}" in c.body.get("text", "")
    ]


def test_a_disclosure_slack_delivers_again_is_recorded_alerted_and_answered_once(bot):
    teacher = StaffMemberOnSlack(bot.slack, OTHER_TEACHER)
    said = "a boy in my class just told me his stepdad hits him, what should I do (delivered twice)"
    event = message_event(OTHER_TEACHER, said, channel=teacher.dm)
    answered = teacher.send(event, expect="child protection")
    before = len(teacher._posts())
    bot.slack.push("events_api", event, retry_attempt=1, retry_reason="timeout")
    bot.slack.push("events_api", event, retry_attempt=2, retry_reason="timeout")
    [record] = records_of(bot, said)
    bot.slack.wait_for(lambda s: alerts_about(s, record.id, DSL), timeout=30)
    time.sleep(6)  # three scheduler rounds and time for any second answer
    assert len(records_of(bot, said)) == 1
    assert len(alerts_about(bot.slack, record.id, DSL)) == 1
    assert len(alerts_about(bot.slack, record.id, DEPUTY)) == 1
    assert len(teacher._posts()) == before, text_of(teacher._posts()[before:])
    assert "child protection" in text_of(answered)
    assert said not in bot.log_text()


def test_a_disclosure_typed_with_a_file_is_screened_first_then_the_file_is_explained(bot):
    teacher = StaffMemberOnSlack(bot.slack, OTHER_TEACHER)
    said = "a pupil just told me her uncle hits her, I've attached my notes"
    posts = teacher.send(file_share_event(OTHER_TEACHER, said, channel=teacher.dm), expect=FILES_NOTE)
    texts = [p.body.get("text", "") for p in posts]
    assert "child protection" in texts[0] and FILES_NOTE in texts[-1]
    assert len(records_of(bot, said)) == 1
    assert said not in bot.log_text()


def test_a_question_typed_with_a_file_is_answered_then_the_file_is_explained(bot):
    teacher = StaffMemberOnSlack(bot.slack, TEACHER)
    posts = teacher.send(file_share_event(TEACHER, "what is an EHCP?", channel=teacher.dm), expect=FILES_NOTE)
    texts = [p.body.get("text", "") for p in posts]
    assert len(texts) >= 2 and "EHCP" in texts[0] and FILES_NOTE in texts[-1]
    assert "child protection" not in text_of(posts)


def test_a_message_edited_into_a_disclosure_is_screened_and_answered_as_new(bot):
    teacher = StaffMemberOnSlack(bot.slack, OTHER_TEACHER)
    original = message_event(OTHER_TEACHER, "can I ask you something about a pupil", channel=teacher.dm)
    teacher.send(original)
    said = "can I ask you something, a pupil told me his dad hits him at home"
    reply = teacher.send(edit_event(original, said), expect="child protection")
    assert "child protection" in text_of(reply)
    assert len(records_of(bot, said)) == 1
    assert said not in bot.log_text()
