"""The booking conversation as staff have it on Slack, without Rasa: intent + words + button
entities in, a Reply out. Real SQLite, the example school, and a fixed clock:
Monday 23 November 2026, 9am UK time."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from sqlalchemy import select

from knowledge.shared.db import unit_of_work
from knowledge.shared.models import Booking, BookingAudit
from knowledge.surgery.desk import SurgeryDesk
from tests.builders import add_slot

UK = ZoneInfo("Europe/London")
NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=UK).astimezone(dt.timezone.utc)
SCHOOL = "example-primary"
SENCO, TEACHER, OTHER_TEACHER, ADMIN = "U0EXSENCO1", "U0EXTEACH1", "U0EXTEACH2", "U0EXADMIN1"


def add_slots(settings, day: dt.date, times=("15:15", "15:30", "15:45", "16:00")) -> list[int]:
    return [
        add_slot(settings.database_url, SCHOOL, dt.datetime.combine(day, dt.time.fromisoformat(hhmm), UK))
        for hhmm in times
    ]


@pytest.fixture
def desk(settings) -> SurgeryDesk:
    add_slots(settings, dt.date(2026, 11, 24))  # Tuesday
    add_slots(settings, dt.date(2026, 12, 1))  # the Tuesday after
    return SurgeryDesk(settings, clock=lambda: NOW)


def payloads(reply) -> list[str]:
    return [b.payload for b in reply.buttons]


def entities_of(payload: str) -> dict:
    return json.loads(payload[payload.index("{") :])


def custom(reply, key: str) -> dict:
    return next(c[key] for c in reply.custom if key in c)


def book(
    desk, who=TEACHER, text="can I book a SENCo slot on Tuesday afternoon?", topic="reading", note="", **more
):
    offer = desk.handle("book_surgery", text, dict(more), who)
    slot = entities_of(offer.buttons[0].payload)
    return desk.handle("choose_slot", "", {**slot, "topic": topic, "note": note, **more}, who)


def test_a_teacher_is_offered_next_tuesday_afternoons_free_slots_with_a_topic_menu(desk):
    asked = desk.handle("book_surgery", "can I book a SENCo slot next Tuesday afternoon?", {}, TEACHER)
    offer = desk.handle("book_surgery", "", entities_of(asked.buttons[0].payload), TEACHER)
    assert "Tuesday 24 November" in offer.text
    assert [b.title for b in offer.buttons] == [
        "Tue 24 Nov, 3:15pm",
        "Tue 24 Nov, 3:30pm",
        "Tue 24 Nov, 3:45pm",
        "Tue 24 Nov, 4pm",
    ]
    options = custom(offer, "booking_options")
    assert [t["value"] for t in options["topics"]] == [
        "reading",
        "behaviour",
        "ehcp_paperwork",
        "access_arrangements",
        "other",
    ]
    assert "pupils' names" in options["note_hint"] and options["note_max"] == 200


def test_clicking_a_time_books_it_in_uk_time_with_a_calendar_file(desk, settings):
    booked = book(desk, note="Year 3 phonics group")
    assert booked.text.startswith("Booked: Tuesday 24 November, 3:15pm to 3:30pm (UK time)")
    assert "remind you the day before and an hour before" in booked.text
    calendar = custom(booked, "calendar_file")
    event = Calendar.from_ical(calendar["content"]).walk("VEVENT")[0]
    assert event.decoded("DTSTART") == dt.datetime(2026, 11, 24, 15, 15, tzinfo=dt.timezone.utc)  # GMT
    assert calendar["filename"].endswith(".ics")
    with unit_of_work(settings.database_url) as session:
        made = session.execute(select(Booking)).scalars().one()
        assert (made.topic, made.note, made.staff.slack_user_id) == (
            "reading",
            "Year 3 phonics group",
            TEACHER,
        )


def test_a_time_clicked_without_a_topic_asks_for_the_topic_and_books_nothing(desk, settings):
    offer = desk.handle("book_surgery", "book a slot", {}, TEACHER)
    reply = desk.handle("choose_slot", "", entities_of(offer.buttons[0].payload), TEACHER)
    assert "choose what it's about" in reply.text
    with unit_of_work(settings.database_url) as session:
        assert session.execute(select(Booking)).first() is None


def test_a_slot_just_taken_is_refused_at_once_with_the_next_free_ones(desk):
    first = entities_of(desk.handle("book_surgery", "tuesday", {}, TEACHER).buttons[0].payload)
    desk.handle("choose_slot", "", {**first, "topic": "reading"}, TEACHER)
    late = desk.handle("choose_slot", "", {**first, "topic": "behaviour"}, OTHER_TEACHER)
    assert "just taken" in late.text
    assert late.buttons and first["slot_id"] not in {entities_of(p)["slot_id"] for p in payloads(late)}


def test_a_teacher_lists_moves_and_cancels_their_booking(desk, settings):
    book(desk)
    mine = desk.handle("my_bookings", "what have I booked", {}, TEACHER)
    assert "Tuesday 24 November, 3:15pm to 3:30pm: reading" in mine.text
    assert [b.title for b in mine.buttons] == ["Move Tue 24 Nov, 3:15pm", "Cancel Tue 24 Nov, 3:15pm"]

    offer = desk.handle("move_booking", "move my booking to 1 December", {}, TEACHER)
    assert all(b.title.startswith("Tue 1 Dec") for b in offer.buttons)
    moved = desk.handle("choose_slot", "", entities_of(offer.buttons[1].payload), TEACHER)
    assert moved.text.startswith("Moved: your slot is now Tuesday 1 December, 3:30pm to 3:45pm")
    event = Calendar.from_ical(custom(moved, "calendar_file")["content"]).walk("VEVENT")[0]
    assert int(event["SEQUENCE"]) == 1

    confirm = desk.handle("cancel_booking", "cancel my booking", {}, TEACHER)
    assert confirm.text.startswith("Cancel your SENCo surgery slot on Tuesday 1 December")
    done = desk.handle("cancel_booking", "", entities_of(confirm.buttons[0].payload), TEACHER)
    assert done.text.startswith("Cancelled") and "free for others" in done.text
    cancel_file = Calendar.from_ical(custom(done, "calendar_file")["content"])
    assert str(cancel_file["METHOD"]) == "CANCEL"
    again = desk.handle("book_surgery", "tuesday 1 december", {}, OTHER_TEACHER)
    assert "Tue 1 Dec, 3:30pm" in [b.title for b in again.buttons]  # free again


def test_with_two_bookings_the_teacher_is_asked_which_one(desk):
    book(desk, text="this tuesday")
    book(desk, text="1 december")
    which = desk.handle("cancel_booking", "cancel my booking", {}, TEACHER)
    assert which.text == "Which booking would you like to cancel?"
    assert len(which.buttons) == 2
    by_day = desk.handle("cancel_booking", "cancel my tuesday 1st december booking", {}, TEACHER)
    assert by_day.text.startswith("Cancel your SENCo surgery slot on Tuesday 1 December")


@pytest.mark.parametrize(
    "text, expected",
    [
        ("book me in on tuesday or wednesday", "did you mean"),
        ("can I have a slot yesterday", "already passed"),
        ("31 February please", "31 February"),
    ],
)
def test_unclear_or_past_dates_get_a_question_or_an_explanation_not_a_guess(desk, text, expected):
    reply = desk.handle("book_surgery", text, {}, TEACHER)
    assert expected.lower() in reply.text.lower()


@pytest.mark.parametrize("text", ["", "🙂🙂", "<b>slot</b> please", "x" * 5000, "un créneau mardi svp"])
def test_odd_messages_still_get_the_next_free_slots(desk, text):
    reply = desk.handle("book_surgery", text, {}, TEACHER)
    assert reply.buttons


def test_no_free_slots_in_the_window_offers_the_next_ones(desk):
    reply = desk.handle("book_surgery", "this thursday", {}, TEACHER)
    assert reply.text.startswith("There are no free slots for Thursday 26 November")
    assert reply.buttons[0].title == "Tue 1 Dec, 3:15pm"


def test_people_who_are_not_staff_on_slack_cannot_book(desk):
    stranger = desk.handle("book_surgery", "book a slot", {}, "U0NOBODY")
    assert "ask the SENCo to add you" in stranger.text and not stranger.buttons
    parent = desk.handle("book_surgery", "book a slot", {}, None)
    assert "for school staff" in parent.text and "senco@example.sch.uk" in parent.text


def test_only_the_senco_or_an_admin_opens_slots_blocks_out_and_sees_who_is_booked(desk):
    for intent, text in [
        ("open_surgery", "open slots on Thursdays 3:15 to 4:15"),
        ("block_out", "block out 4 December"),
        ("whos_booked", "who is booked tomorrow"),
    ]:
        assert "Only the SENCo or an admin" in desk.handle(intent, text, {}, TEACHER).text


def test_the_senco_opens_a_weekly_surgery_after_confirming_it(desk, settings):
    preview = desk.handle(
        "open_surgery",
        "open surgery slots on Thursdays 3:15 to 4:15, 15 minutes each, for the autumn term",
        {},
        SENCO,
    )
    assert preview.text.startswith("I'll open: Thursdays 3:15pm to 4:15pm, 15-minute slots")
    assert [b.title for b in preview.buttons] == ["Yes, open them", "No"]
    done = desk.handle("open_surgery", "", entities_of(preview.buttons[0].payload), SENCO)
    # 26 Nov, 3, 10, 17 Dec: four Thursdays, four slots each (27 Nov INSET is a Friday).
    assert done.text.startswith("Done: 16 new slots are open")
    never_mind = desk.handle("open_surgery", "", entities_of(preview.buttons[1].payload), SENCO)
    assert "haven't changed anything" in never_mind.text


def test_a_vague_open_request_gets_a_question(desk):
    reply = desk.handle("open_surgery", "open some slots", {}, SENCO)
    assert "?" in reply.text and not reply.buttons


def test_blocking_out_a_booked_day_cancels_and_tells_the_teacher(desk, settings):
    book(desk)
    preview = desk.handle("block_out", "block out this tuesday", {}, SENCO)
    assert preview.text.startswith("Block out Tuesday 24 November?")
    done = desk.handle("block_out", "", entities_of(preview.buttons[0].payload), SENCO)
    assert "1 booking(s)" in done.text
    told = custom(done, "notify")
    assert [n["slack_user_id"] for n in told] == [TEACHER]
    assert "cancelled" in told[0]["text"]
    with unit_of_work(settings.database_url) as session:
        assert session.execute(select(Booking.status)).scalar_one() == "cancelled"
        actions = set(session.execute(select(BookingAudit.action)).scalars())
        assert {"block", "override", "cancel"} <= actions
    offered = desk.handle("book_surgery", "tuesday", {}, OTHER_TEACHER)
    assert not [b for b in offered.buttons if b.title.startswith("Tue 24 Nov")]


def test_the_senco_sees_who_is_booked_on_a_day_with_topics_and_notes(desk):
    book(desk, note="Year 3 phonics group")
    listing = desk.handle("whos_booked", "who's booked tomorrow?", {}, SENCO)
    assert listing.text == (
        "Booked on Tuesday 24 November (UK time):\n"
        "• 3:15pm: Mr D. Example, reading (note: Year 3 phonics group)"
    )
    assert desk.handle("whos_booked", "who's booked on 1 december", {}, ADMIN).text.startswith("Nobody")


def test_the_senco_cancels_a_teachers_booking_from_the_list_and_the_teacher_is_told(desk, settings):
    book(desk)
    listing = desk.handle("whos_booked", "who's booked tomorrow?", {}, SENCO)
    assert [b.title for b in listing.buttons] == ["Cancel 3:15pm (Mr D. Example)"]
    confirm = desk.handle("cancel_booking", "", entities_of(listing.buttons[0].payload), SENCO)
    assert confirm.text.startswith("Cancel Mr D. Example's SENCo surgery slot on Tuesday 24 November")
    done = desk.handle("cancel_booking", "", entities_of(confirm.buttons[0].payload), SENCO)
    assert done.text.startswith("Cancelled Mr D. Example's slot")
    (notice,) = custom(done, "notify")
    assert notice["slack_user_id"] == TEACHER and "Ms A. Example had to cancel" in notice["text"]
    with unit_of_work(settings.database_url) as session:
        audit = set(session.execute(select(BookingAudit.action)).scalars())
        assert "override" in audit
    teacher_try = desk.handle("cancel_booking", "", entities_of(listing.buttons[0].payload), OTHER_TEACHER)
    assert "can't find that booking" in teacher_try.text


def test_a_staff_message_about_the_surgery_the_model_could_not_place_gets_a_menu(desk):
    menu = desk.menu_if_about_surgery("somebody grabbed the last drop-in, any others?", TEACHER)
    assert [b.payload for b in menu.buttons] == [
        "/list_free_slots",
        "/my_bookings",
        "/move_booking",
        "/cancel_booking",
    ]
    senco_menu = desk.menu_if_about_surgery("surgery stuff", SENCO)
    assert "/whos_booked" in [b.payload for b in senco_menu.buttons] and "block out" in senco_menu.text
    assert desk.menu_if_about_surgery("what is the weather like", TEACHER) is None
    assert "ask the SENCo to add you" in desk.menu_if_about_surgery("my slot", "U0NOBODY").text


def test_a_move_or_cancel_button_without_a_booking_named_works_from_the_menu(desk):
    book(desk)
    assert desk.handle("cancel_booking", "", {}, TEACHER).text.startswith("Cancel your SENCo surgery slot")
    assert "Choose the new time" in desk.handle("move_booking", "", {}, TEACHER).text


def test_the_senco_adds_a_one_off_extra_slot(desk):
    preview = desk.handle(
        "open_surgery", "add an extra slot on Friday 4 December at 2pm, 20 minutes", {}, SENCO
    )
    assert preview.text == "Add one extra 20-minute slot on Friday 4 December, 2pm?"
    done = desk.handle("open_surgery", "", entities_of(preview.buttons[0].payload), SENCO)
    assert done.text == "Done: an extra slot is open on Friday 4 December, 2pm to 2:20pm (UK time)."
    offered = desk.handle("book_surgery", "4 december", {}, TEACHER)
    assert [b.title for b in offered.buttons] == ["Fri 4 Dec, 2pm"]
    inset = desk.handle("open_surgery", "add an extra slot on Friday 27 November at 2pm", {}, SENCO)
    refused = desk.handle("open_surgery", "", entities_of(inset.buttons[0].payload), SENCO)
    assert "INSET" in refused.text


def test_fifty_teachers_clicking_one_slot_get_one_booking_and_49_just_taken_replies(settings):
    import threading

    from knowledge.shared.db import unit_of_work as uow
    from knowledge.shared.models import StaffMember

    (slot_id,) = add_slots(settings, dt.date(2026, 11, 24), times=("15:15",))
    with uow(settings.database_url) as session:
        for i in range(50):
            session.add(
                StaffMember(school_ref=SCHOOL, slack_user_id=f"U0RACE{i:04d}", name=f"T{i}", role="teacher")
            )
    desk = SurgeryDesk(settings, clock=lambda: NOW)
    replies: list[str] = []
    barrier = threading.Barrier(50)

    def click(i: int) -> None:
        barrier.wait()
        entities = {"slot_id": str(slot_id), "topic": "reading"}
        replies.append(desk.handle("choose_slot", "", entities, f"U0RACE{i:04d}").text)

    threads = [threading.Thread(target=click, args=(i,)) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r.startswith("Booked:") for r in replies) == 1
    assert sum("just taken" in r for r in replies) == 49


# --- issue #12: a second click on one's own slot ---------------------------------------------


def test_a_second_click_on_ones_own_slot_says_it_is_already_theirs_and_what_they_can_do(desk, settings):
    offer = desk.handle("book_surgery", "tuesday 24 november", {}, TEACHER)
    click = {**entities_of(offer.buttons[0].payload), "topic": "reading"}
    assert desk.handle("choose_slot", "", click, TEACHER).text.startswith("Booked:")
    again = desk.handle("choose_slot", "", click, TEACHER)
    assert again.text.startswith("You've already booked this slot: Tue 24 Nov, 3:15pm.")
    assert "that day" not in again.text and "per person per day" not in again.text
    with unit_of_work(settings.database_url) as session:
        (mine,) = session.execute(select(Booking)).scalars().all()
    assert [(b.title, b.payload) for b in again.buttons] == [
        ("What have I booked?", "/my_bookings"),
        ("Move it", "/move_booking" + json.dumps({"booking_id": str(mine.id)})),
        ("Cancel it", "/cancel_booking" + json.dumps({"booking_id": str(mine.id)})),
    ]
    move = desk.handle("move_booking", "", entities_of(again.buttons[1].payload), TEACHER)
    assert "Choose the new time" in move.text


def test_another_slot_the_same_day_still_cites_the_one_a_day_rule(desk):
    offer = desk.handle("book_surgery", "tuesday 24 november", {}, TEACHER)
    first, second = (entities_of(b.payload) for b in offer.buttons[:2])
    desk.handle("choose_slot", "", {**first, "topic": "reading"}, TEACHER)
    refused = desk.handle("choose_slot", "", {**second, "topic": "reading"}, TEACHER)
    assert "already have a booking that day" in refused.text


# --- issue #12: topics as people write them ---------------------------------------------------


def test_topics_are_shown_with_their_labels_acronyms_in_capitals(desk):
    booked = book(desk, text="tuesday 24 november", topic="ehcp_paperwork")
    assert "about EHCP paperwork." in booked.text
    book(desk, text="1 december", topic="other")
    mine = desk.handle("my_bookings", "what have I booked", {}, TEACHER).text
    assert "3:15pm to 3:30pm: EHCP paperwork" in mine and "3:15pm to 3:30pm: something else" in mine
    assert "ehcp" not in mine
    listing = desk.handle("whos_booked", "who's booked tomorrow?", {}, SENCO).text
    assert listing.endswith("• 3:15pm: Mr D. Example, EHCP paperwork")


def test_an_ordinary_topic_reads_in_lower_case_inside_a_sentence(desk):
    assert "about access arrangements." in book(desk, text="1 december", topic="access_arrangements").text


# --- issue #12: where the calendar file went ----------------------------------------------------

IN_A_CHANNEL = {"channel_type": "channel"}  # a mention in a channel, or a click on its private reply
IN_A_DM = {"channel_type": "im"}


def test_in_a_direct_message_the_calendar_file_is_below_the_reply(desk):
    booked = book(desk, text="tuesday 24 november", **IN_A_DM)
    assert "The calendar file below adds it to your calendar." in booked.text
    offer = desk.handle("move_booking", "move my booking to 1 December", IN_A_DM, TEACHER)
    moved = desk.handle("choose_slot", "", {**entities_of(offer.buttons[0].payload), **IN_A_DM}, TEACHER)
    assert "The updated calendar file is below." in moved.text
    confirm = desk.handle("cancel_booking", "cancel my booking", IN_A_DM, TEACHER)
    done = desk.handle("cancel_booking", "", {**entities_of(confirm.buttons[0].payload), **IN_A_DM}, TEACHER)
    assert "The calendar file below removes it from your calendar." in done.text


def test_in_a_channel_the_reply_says_the_calendar_file_went_to_direct_messages(desk):
    booked = book(desk, text="tuesday 24 november", **IN_A_CHANNEL)
    assert "below" not in booked.text
    assert "I've sent the calendar file to our direct messages" in booked.text
    assert custom(booked, "calendar_file")["filename"].endswith(".ics")
    offer = desk.handle("move_booking", "move my booking to 1 December", IN_A_CHANNEL, TEACHER)
    moved = desk.handle("choose_slot", "", {**entities_of(offer.buttons[0].payload), **IN_A_CHANNEL}, TEACHER)
    assert "below" not in moved.text
    assert "I've sent the updated calendar file to our direct messages" in moved.text
    confirm = desk.handle("cancel_booking", "cancel my booking", IN_A_CHANNEL, TEACHER)
    done = desk.handle(
        "cancel_booking", "", {**entities_of(confirm.buttons[0].payload), **IN_A_CHANNEL}, TEACHER
    )
    assert "below" not in done.text
    assert "I've sent a calendar file to our direct messages that removes it from your calendar" in done.text


# --- issue #12: "next Tuesday" said on a Monday ------------------------------------------------


def test_next_tuesday_on_a_monday_asks_which_tuesday_with_both_as_buttons(desk, settings):
    asked = desk.handle("book_surgery", "can I book a SENCo slot next Tuesday afternoon?", {}, TEACHER)
    assert asked.text == "Do you mean Tuesday 24 November (tomorrow) or Tuesday 1 December?"
    assert [b.title for b in asked.buttons] == ["Tuesday 24 November (tomorrow)", "Tuesday 1 December"]
    assert all(b.answers is None for b in asked.buttons)  # a choice of two days, not a yes or no
    offer = desk.handle("book_surgery", "", entities_of(asked.buttons[1].payload), TEACHER)
    assert offer.text.startswith("Here are the free SENCo surgery slots for Tuesday 1 December, 12pm to 5pm:")
    assert [b.title for b in offer.buttons] == [
        "Tue 1 Dec, 3:15pm",
        "Tue 1 Dec, 3:30pm",
        "Tue 1 Dec, 3:45pm",
        "Tue 1 Dec, 4pm",
    ]
    booked = desk.handle(
        "choose_slot", "", {**entities_of(offer.buttons[0].payload), "topic": "reading"}, TEACHER
    )
    assert booked.text.startswith("Booked: Tuesday 1 December, 3:15pm to 3:30pm")


def test_the_list_of_free_slots_asks_the_same_way(desk):
    asked = desk.handle("list_free_slots", "what's free next tuesday", {}, TEACHER)
    assert asked.text == "Do you mean Tuesday 24 November (tomorrow) or Tuesday 1 December?"
    offer = desk.handle("list_free_slots", "", entities_of(asked.buttons[0].payload), TEACHER)
    assert [b.title for b in offer.buttons][0] == "Tue 24 Nov, 3:15pm"


@pytest.mark.parametrize("text", ["this Tuesday", "on Tuesday", "Tuesday week", "Tuesday next week"])
def test_unambiguous_tuesdays_are_not_asked_about(desk, text):
    offer = desk.handle("book_surgery", f"can I have a slot {text}", {}, TEACHER)
    assert "Do you mean" not in offer.text and offer.buttons
    expected = "Tue 1 Dec" if "week" in text else "Tue 24 Nov"
    assert all(b.title.startswith(expected) for b in offer.buttons)


def test_moving_to_next_tuesday_asks_which_tuesday_then_offers_that_days_times(desk):
    book(desk, text="1 december")
    asked = desk.handle("move_booking", "move my booking to next tuesday", {}, TEACHER)
    assert asked.text == "Do you mean Tuesday 24 November (tomorrow) or Tuesday 1 December?"
    offer = desk.handle("move_booking", "", entities_of(asked.buttons[0].payload), TEACHER)
    assert "Choose the new time" in offer.text
    assert [b.title for b in offer.buttons][0] == "Tue 24 Nov, 3:15pm"
    moved = desk.handle("choose_slot", "", entities_of(offer.buttons[0].payload), TEACHER)
    assert moved.text.startswith("Moved: your slot is now Tuesday 24 November, 3:15pm")


def test_the_senco_asking_who_is_booked_next_tuesday_is_asked_which_tuesday(desk):
    book(desk, text="1 december", topic="behaviour")
    asked = desk.handle("whos_booked", "who's booked next tuesday?", {}, SENCO)
    assert asked.text == "Do you mean Tuesday 24 November (tomorrow) or Tuesday 1 December?"
    listing = desk.handle("whos_booked", "", entities_of(asked.buttons[1].payload), SENCO)
    assert listing.text.startswith("Booked on Tuesday 1 December (UK time):")
    assert "Mr D. Example, behaviour" in listing.text


def test_blocking_out_next_tuesday_asks_which_tuesday_and_the_choice_blocks_it_out(desk, settings):
    asked = desk.handle("block_out", "block out next tuesday afternoon", {}, SENCO)
    assert asked.text.startswith("Do you mean Tuesday 24 November (tomorrow) or Tuesday 1 December?")
    assert "anyone already booked will be told" in asked.text
    assert [b.title for b in asked.buttons] == [
        "Block out Tuesday 24 November",
        "Block out Tuesday 1 December",
        "No",
    ]
    done = desk.handle("block_out", "", entities_of(asked.buttons[1].payload), SENCO)
    assert done.text == "Blocked out Tuesday 1 December from 12:00 to 23:59."
    offered = desk.handle("book_surgery", "tuesday 1 december", {}, TEACHER)
    assert not [b for b in offered.buttons if b.title.startswith("Tue 1 Dec")]


def test_an_extra_slot_next_tuesday_asks_which_tuesday(desk):
    asked = desk.handle("open_surgery", "add an extra slot next tuesday at 2pm", {}, SENCO)
    assert asked.text.startswith("Do you mean Tuesday 24 November (tomorrow) or Tuesday 1 December?")
    assert [b.title for b in asked.buttons] == [
        "Add Tuesday 24 November, 2pm",
        "Add Tuesday 1 December, 2pm",
        "No",
    ]
    done = desk.handle("open_surgery", "", entities_of(asked.buttons[1].payload), SENCO)
    assert done.text == "Done: an extra slot is open on Tuesday 1 December, 2pm to 2:15pm (UK time)."
