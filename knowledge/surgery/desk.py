"""The SENCo's surgery desk: what staff say about slots, turned into bookings and replies.

This is the booking conversation without Rasa: the actions pass the intent, the words,
the button entities and the Slack user id, and get a `Reply` back. Every permission is
checked in the domain layer (`knowledge.schools.staff`, `knowledge.surgery.booking`,
`knowledge.surgery.availability`); this module only decides what to say.

Button payloads carry ids, never names: `/choose_slot{"slot_id": "12"}` books (with
the topic and note the person chose in the same message), `/choose_slot{"slot_id": "12",
"move": "5"}` moves booking 5 there, `/cancel_booking{"booking_id": "5", "confirm": "yes"}`
cancels. A "which day?" button (for "next Tuesday" said on a Monday) carries the day and the
times asked for: `/book_surgery{"day": "2026-12-01", "start": "12:00", "end": "17:00"}`.

`entities["channel_type"]` is where the reply goes, set by the action from the Slack message
metadata (never from a button): in a direct message ("im") the calendar file is posted below
the reply; anywhere else the reply is private to the person and the file goes to their direct
messages with the bot (`connectors.slack.app.deliver`), and the wording says so.

Why about 700 lines: one short handler per staff intent (the `HANDLERS` table at the bottom)
and the wording they share; split up, one booking conversation would be spread over files.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections.abc import Callable, Sequence
from zoneinfo import ZoneInfo

from knowledge.schools.calendar import SchoolCalendar
from knowledge.schools.profile import SchoolProfile, read_profile
from knowledge.schools.staff import NotAllowed, UnknownStaff, find_staff
from knowledge.schools.tenancy import school_calendar
from knowledge.shared.db import unit_of_work
from knowledge.shared.models import Booking, SurgerySlot, utcnow
from knowledge.shared.replies import NO, YES, Button, Reply
from knowledge.shared.settings import Settings
from knowledge.surgery import availability, booking, requests
from knowledge.surgery.calendar_file import booking_ics, ics_filename
from knowledge.text import dates
from knowledge.text.uk_time import clock_words, date_words, format_uk, format_uk_range, short_date_words

log = logging.getLogger(__name__)

SLOTS_SHOWN = 8
# Words that mean a staff message is about the surgery, when the model could not say what.
SURGERY_WORDS = re.compile(
    r"\b(slots?|surgery|surgeries|drop[- ]?ins?|book(ed|ing|ings)?|appoint(ment|ments)?|appts?|"
    r"availab(le|ility)|reschedul\w*|sen(d)?cos?|reserv\w*|sessions?)\b",
    re.IGNORECASE,
)
ONE_OFF = re.compile(r"\b(extra|one[- ]off|single|additional)\b", re.IGNORECASE)
NEVER_MIND = '/open_surgery{"never_mind": "yes"}'

# What the reply says about its calendar file: (in a direct message, anywhere else).
CALENDAR_FILE_WORDS = {
    "book": (
        "The calendar file below adds it to your calendar.",
        "I've sent the calendar file to our direct messages: it adds the slot to your calendar.",
    ),
    "move": (
        "The updated calendar file is below.",
        "I've sent the updated calendar file to our direct messages.",
    ),
    "cancel": (
        "The calendar file below removes it from your calendar.",
        "I've sent a calendar file to our direct messages that removes it from your calendar.",
    ),
}
BLOCK_OUT_WARNING = (
    "No slots will be offered then, and anyone already booked will be told their booking is cancelled."
)

NOT_ON_SLACK = (
    "Booking the SENCo's surgery is for school staff, in the school's Slack. "
    "If you're a parent or carer and would like to talk to the SENCo, {contact}"
)


class SurgeryDesk:
    """Staff conversations about the SENCo's surgery, for one school."""

    def __init__(
        self,
        settings: Settings,
        *,
        school_ref: str | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.school_ref = school_ref
        self.clock = clock
        self.tz = ZoneInfo(settings.timezone)
        self.tz_name = settings.timezone
        self.rules = booking.BookingRules.from_settings(settings)

    # --- entry point ------------------------------------------------------------------

    def handle(self, intent: str, text: str, entities: dict[str, str], slack_user_id: str | None) -> Reply:
        """The reply to one staff message or button click."""
        with unit_of_work(self.settings.database_url) as session:
            profile = read_profile(session, self.school_ref)
            if not slack_user_id:
                return Reply(NOT_ON_SLACK.format(contact=_contact(profile)))
            try:
                member = find_staff(session, profile.ref, slack_user_id)
            except UnknownStaff as refusal:
                return Reply(str(refusal))
            if entities.get("never_mind"):
                return Reply("OK, I haven't changed anything.")
            handler = HANDLERS.get(intent)
            if handler is None:
                return Reply(
                    "Sorry, I didn't follow that. Try “what's free this week?” or “what have I booked?”"
                )
            try:
                return handler(self, session, profile, member, text, entities)
            except NotAllowed as refusal:
                return Reply(f"{refusal} If you need this, please ask the SENCo.")

    def menu_if_about_surgery(self, text: str, slack_user_id: str) -> Reply | None:
        """For a staff message the model couldn't place: if it is about the surgery, offer the
        things the bot can do as buttons, rather than a "can't help"."""
        if not SURGERY_WORDS.search(text or ""):
            return None
        return self.menu(slack_user_id, "Sorry, I'm not sure what you'd like to do with the SENCo's surgery.")

    def menu(self, slack_user_id: str, lead: str) -> Reply:
        """What a member of staff can do with the surgery, as buttons, after `lead`."""
        with unit_of_work(self.settings.database_url) as session:
            profile = read_profile(session, self.school_ref)
            try:
                member = find_staff(session, profile.ref, slack_user_id)
            except UnknownStaff as refusal:
                return Reply(str(refusal))
            buttons = [
                Button("Find a free slot", "/list_free_slots"),
                Button("What have I booked?", "/my_bookings"),
                Button("Move a booking", "/move_booking"),
                Button("Cancel a booking", "/cancel_booking"),
            ]
            lead += " Choose one"
            if member.role in ("senco", "admin"):
                buttons.append(Button("Who's booked today?", "/whos_booked"))
                lead += (
                    ", or say for example “open slots on Tuesdays 3:15 to 4:15, 15 minutes each, this term”"
                    " or “block out 4 December”"
                )
            return Reply(lead + ":", tuple(buttons))

    # --- finding and booking slots --------------------------------------------------------

    def _book_surgery(self, session, profile, member, text, entities) -> Reply:
        lead = "Here are the free SENCo surgery slots"
        return self._offer_slots(session, profile, text, lead=lead, chosen=self._chosen(entities))

    def _offer_slots(
        self,
        session,
        profile,
        text: str,
        *,
        lead: str,
        move: Booking | None = None,
        chosen: dates.When | None = None,
    ) -> Reply:
        now = self.clock()
        when = chosen or dates.parse_when(text, now.astimezone(self.tz), self.settings.timezone)
        if when.question and move is not None:
            return self._which_day(when, "/move_booking", booking_id=str(move.id))
        if when.question:
            return self._which_day(when, "/book_surgery")
        window = ""
        if when.found and when.in_past:
            return self._slot_reply(
                session, profile, "That time has already passed. These are the next free slots:", move=move
            )
        if when.found:
            slots = availability.free_slots_between(
                session, profile.ref, now=now, start=when.start, end=when.end, limit=SLOTS_SHOWN
            )
            window = "for " + format_uk_range(when.start, when.end, self.settings.timezone)
            if not slots:
                return self._slot_reply(
                    session,
                    profile,
                    f"There are no free slots {window}. The next free ones after that are:",
                    move=move,
                    after=when.start,
                )
            return self._slot_buttons(slots, f"{lead} {window}:", move=move)
        return self._slot_reply(session, profile, f"{lead}:", move=move)

    def _which_day(self, when: dates.When, intent: str, **carried: str) -> Reply:
        """The question back for an unsure date; for "next Tuesday", both Tuesdays as buttons."""
        today = self.clock().astimezone(self.tz).date()
        buttons = []
        for choice in when.choices:
            start, end = choice.start.astimezone(self.tz), choice.end.astimezone(self.tz)
            entities = {**carried, "day": start.date().isoformat(), **_times(start, end)}
            buttons.append(Button(dates.day_label(start.date(), today), intent + json.dumps(entities)))
        return Reply(when.question, tuple(buttons))

    def _chosen(self, entities: dict[str, str]) -> dates.When | None:
        """The window a "which day?" button carries (its day and times), or None."""
        day = _iso_day(entities.get("day"))
        if day is None:
            return None
        start = _local(day, entities.get("start"), self.tz) or dt.datetime.combine(day, dt.time(0), self.tz)
        end = _local(day, entities.get("end"), self.tz) or dt.datetime.combine(
            day + dt.timedelta(days=1), dt.time(0), self.tz
        )
        now = self.clock()
        return dates.When(max(start, now), end, exact=False, question=None, in_past=end <= now)

    def _slot_reply(self, session, profile, lead: str, *, move: Booking | None, after=None) -> Reply:
        now = self.clock()
        slots = availability.next_free_after(
            session, profile.ref, now=now, after=after or now, limit=SLOTS_SHOWN
        )
        if not slots:
            # Keep what happened ("that slot was just taken", "that time has passed") in the reply.
            what_happened = lead.split(". ")[0] + ". " if ". " in lead else ""
            return Reply(
                f"{what_happened}There are no free SENCo surgery slots at the moment. "
                f"The SENCo, {profile.senco.name}, can open more; you can also contact them directly."
            )
        return self._slot_buttons(slots, lead, move=move)

    def _slot_buttons(self, slots: Sequence[SurgerySlot], lead: str, *, move: Booking | None) -> Reply:
        buttons = []
        for slot in slots:
            entities = {"slot_id": str(slot.id)}
            if move is not None:
                entities["move"] = str(move.id)
            buttons.append(Button(self._short(slot.starts_at), "/choose_slot" + json.dumps(entities)))
        if move is not None:
            return Reply(lead + "\nChoose the new time:", tuple(buttons))
        options = {
            "topics": [{"value": t, "label": booking.topic_label(t)} for t in booking.TOPICS],
            "note_hint": booking.NOTE_HINT,
            "note_max": booking.MAX_NOTE_CHARS,
        }
        return Reply(
            lead + "\nChoose what it's about, add a note if you like, then click a time to book it.",
            tuple(buttons),
            ({"booking_options": options},),
        )

    def _choose_slot(self, session, profile, member, text, entities) -> Reply:
        slot_id = _int(entities.get("slot_id"))
        if slot_id is None:
            return self._slot_reply(session, profile, "Which slot would you like? These are free:", move=None)
        if entities.get("move"):
            return self._move_to(session, profile, member, _int(entities["move"]), slot_id, entities)
        topic = entities.get("topic") or ""
        if topic not in booking.TOPICS:
            return Reply(
                "Please choose what it's about in the menu above the times, then click the time again."
            )
        now = self.clock()
        try:
            made = booking.book(
                session,
                member,
                slot_id,
                topic=topic,
                note=entities.get("note") or "",
                now=now,
                rules=self.rules,
            )
        except booking.SlotTaken:
            return self._slot_reply(
                session, profile, "Sorry, that slot was just taken. These are the next free ones:", move=None
            )
        except booking.AlreadyBooked as already:
            return self._already_theirs(session, already.booking_id)
        except booking.BookingRefused as refusal:
            return Reply(str(refusal))
        slot = made.slot
        return Reply(
            f"Booked: {self._range(slot)} (UK time) with {profile.senco.name}, about "
            f"{booking.topic_words(topic)}. I'll remind you the day before and an hour before. "
            + _calendar_file_words("book", entities),
            custom=(self._calendar(profile, made, now),),
        )

    def _already_theirs(self, session, booking_id: int) -> Reply:
        """A second click on one's own slot: it is theirs already, and what they can do with it."""
        held = session.get(Booking, booking_id)
        which = json.dumps({"booking_id": str(booking_id)})
        return Reply(
            f"You've already booked this slot: {self._short(held.slot.starts_at)}. "
            "You can see your bookings, or move or cancel this one:",
            (
                Button("What have I booked?", "/my_bookings"),
                Button("Move it", "/move_booking" + which),
                Button("Cancel it", "/cancel_booking" + which),
            ),
        )

    # --- what I've booked, moving and cancelling -------------------------------------------

    def _my_bookings(self, session, profile, member, text, entities) -> Reply:
        mine = booking.bookings_of(session, member)
        if not mine:
            return Reply("You have no SENCo surgery bookings. Say “what's free this week?” to find a slot.")
        lines, buttons = [], []
        for b in mine:
            lines.append(f"• {self._range(b.slot)}: {booking.topic_words(b.topic)}")
            day = self._short(b.slot.starts_at)
            buttons.append(Button(f"Move {day}", "/move_booking" + json.dumps({"booking_id": str(b.id)})))
            buttons.append(Button(f"Cancel {day}", "/cancel_booking" + json.dumps({"booking_id": str(b.id)})))
        return Reply("Your SENCo surgery bookings (UK time):\n" + "\n".join(lines), tuple(buttons))

    def _pick_booking(self, session, member, text, entities, verb: str) -> Booking | Reply:
        """The booking the person means: by button, by the day they named, or the only one."""
        mine = booking.bookings_of(session, member)
        chosen = _int(entities.get("booking_id"))
        if chosen is not None:
            match = [b for b in mine if b.id == chosen]
            return match[0] if match else Reply("I can't find that booking. It may already be cancelled.")
        if not mine:
            return Reply("You have no SENCo surgery bookings to " + verb + ".")
        if len(mine) == 1:
            return mine[0]
        named = dates.day_readings(text, self.clock().astimezone(self.tz), self.settings.timezone)
        if named:  # "my next Tuesday booking": whichever Tuesday they have one on
            on_day = [b for b in mine if b.slot.starts_at.astimezone(self.tz).date() in named[0]]
            if len(on_day) == 1:
                return on_day[0]
        intent = "move_booking" if verb == "move" else "cancel_booking"
        buttons = tuple(
            Button(self._short(b.slot.starts_at), f"/{intent}" + json.dumps({"booking_id": str(b.id)}))
            for b in mine
        )
        return Reply(f"Which booking would you like to {verb}?", buttons)

    def _move_booking(self, session, profile, member, text, entities) -> Reply:
        picked = self._pick_booking(session, member, text, entities, "move")
        if isinstance(picked, Reply):
            return picked
        lead = f"Moving your slot on {self._short(picked.slot.starts_at)}. Free slots"
        chosen = self._chosen(entities)
        if chosen is not None:
            return self._offer_slots(session, profile, "", lead=lead, move=picked, chosen=chosen)
        now = self.clock().astimezone(self.tz)
        named = dates.day_readings(text, now, self.settings.timezone)
        to = named[1] if len(named) > 1 else named[0] if len(named) == 1 else ()
        if len(to) > 1:  # "move it to next Tuesday", said on a Monday
            return _which_of(to, now.date(), "/move_booking", booking_id=str(picked.id))
        target = date_words(to[0]) if to else ""
        if len(named) == 1 and picked.slot.starts_at.astimezone(self.tz).date() == to[0]:
            target = ""  # the day named is the booking's own: it was naming which booking
        return self._offer_slots(session, profile, target, lead=lead, move=picked)

    def _move_to(
        self, session, profile, member, booking_id: int | None, slot_id: int, entities: dict[str, str]
    ) -> Reply:
        now = self.clock()
        try:
            moved = booking.move(session, member, booking_id or -1, slot_id, now=now, rules=self.rules)
        except booking.SlotTaken:
            return self._slot_reply(
                session, profile, "Sorry, that slot was just taken. These are free:", move=None
            )
        except booking.BookingRefused as refusal:
            return Reply(str(refusal))
        return Reply(
            f"Moved: your slot is now {self._range(moved.slot)} (UK time). Reminders follow the new time. "
            + _calendar_file_words("move", entities),
            custom=(self._calendar(profile, moved, now),),
        )

    def _cancel_booking(self, session, profile, member, text, entities) -> Reply:
        if member.role in ("senco", "admin") and entities.get("booking_id"):
            picked = session.get(Booking, _int(entities["booking_id"]) or -1)
            if picked is None or picked.status != "active":
                return Reply("I can't find that booking. It may already be cancelled.")
        else:
            picked = self._pick_booking(session, member, text, entities, "cancel")
        if isinstance(picked, Reply):
            return picked
        if picked.staff_id != member.id:
            return self._cancel_for_someone_else(session, member, picked, entities)
        if entities.get("confirm") != "yes":
            payload = json.dumps({"booking_id": str(picked.id), "confirm": "yes"})
            return Reply(
                f"Cancel your SENCo surgery slot on {self._range(picked.slot)}?",
                (
                    Button("Yes, cancel it", "/cancel_booking" + payload, answers=YES),
                    Button("No, keep it", "/my_bookings", answers=NO),
                ),
            )
        now = self.clock()
        try:
            cancelled = booking.cancel(session, member, picked.id, now=now, rules=self.rules)
        except booking.BookingRefused as refusal:
            return Reply(str(refusal))
        return Reply(
            f"Cancelled your slot on {self._range(cancelled.slot)}. The slot is free for others now. "
            + _calendar_file_words("cancel", entities),
            custom=(self._calendar(profile, cancelled, now, cancelled=True),),
        )

    def _cancel_for_someone_else(self, session, member, picked: Booking, entities) -> Reply:
        """The SENCo or an admin cancels a teacher's booking: confirmed, audited, the teacher told."""
        owner = picked.staff
        if entities.get("confirm") != "yes":
            payload = json.dumps({"booking_id": str(picked.id), "confirm": "yes"})
            return Reply(
                f"Cancel {owner.name}'s SENCo surgery slot on {self._range(picked.slot)}? "
                "I'll let them know.",
                (
                    Button("Yes, cancel it", "/cancel_booking" + payload, answers=YES),
                    Button("No, keep it", NEVER_MIND, answers=NO),
                ),
            )
        try:
            cancelled = booking.cancel(session, member, picked.id, now=self.clock(), rules=self.rules)
        except booking.BookingRefused as refusal:
            return Reply(str(refusal))
        when = self._range(cancelled.slot)
        notice = {
            "slack_user_id": owner.slack_user_id,
            "text": f"Sorry: {member.name} had to cancel your SENCo surgery slot on {when}. "
            "Say “what's free this week?” to book another one.",
        }
        return Reply(
            f"Cancelled {owner.name}'s slot on {when}, and told them.", custom=({"notify": [notice]},)
        )

    # --- the SENCo: opening slots, blocking out, who is booked ---------------------------

    def _calendar_file(self, session=None, school_ref: str | None = None) -> SchoolCalendar:
        """The school's own calendar as loaded from its file; the settings' file before any load."""
        if session is not None and school_ref:
            stored = school_calendar(session, school_ref)
            if stored is not None:
                return stored
        return SchoolCalendar.load(self.settings.school_calendar)

    def _open_surgery(self, session, profile, member, text, entities) -> Reply:
        from knowledge.schools.staff import require_slot_manager

        require_slot_manager(member)
        today = self.clock().astimezone(self.tz).date()
        calendar = self._calendar_file(session, profile.ref)
        if entities.get("pattern"):
            request = requests.SurgeryRequest(**json.loads(entities["pattern"]))
            try:
                results = availability.open_request(
                    session, member, request, calendar=calendar, now=self.clock(), tz=self.tz_name
                )
            except availability.AvailabilityError as problem:
                return Reply(str(problem))
            created = sum(r.created for r in results)
            return Reply(
                f"Done: {created} new slots are open ({requests.describe(request)}). "
                "School closures and days you blocked out are left out."
            )
        if entities.get("extra") or ONE_OFF.search(text or ""):
            return self._extra_slot(session, member, text, entities, calendar)
        parsed = requests.parse_surgery_request(text, today=today, calendar=calendar)
        if isinstance(parsed, requests.NeedsQuestion):
            return Reply(parsed.question)
        payload = json.dumps({"pattern": json.dumps(requests.as_dict(parsed))})
        return Reply(
            f"I'll open: {requests.describe(parsed)}. Shall I go ahead?",
            (
                Button("Yes, open them", "/open_surgery" + payload, answers=YES),
                Button("No", NEVER_MIND, answers=NO),
            ),
        )

    def _extra_slot(self, session, member, text, entities, calendar) -> Reply:
        """A one-off slot: "add an extra slot on Friday 4 December at 2pm"."""
        now = self.clock()
        if entities.get("extra"):
            starts_iso, minutes = entities["extra"].split("|")
            try:
                slot = availability.add_extra_slot(
                    session,
                    member,
                    starts_at=dt.datetime.fromisoformat(starts_iso),
                    minutes=int(minutes),
                    calendar=calendar,
                    now=now,
                    tz=self.tz_name,
                )
            except availability.AvailabilityError as problem:
                return Reply(str(problem))
            return Reply(f"Done: an extra slot is open on {self._range(slot)} (UK time).")
        when = dates.parse_when(text, now.astimezone(self.tz), self.tz_name)
        length = re.search(r"\b(\d{1,3})\s*(?:-\s*)?(?:mins?|minutes?)\b", text, re.IGNORECASE)
        minutes = int(length.group(1)) if length else 15
        if when.choices and all(choice.exact for choice in when.choices):  # "next Tuesday at 2pm"
            return Reply(
                f"{when.question} I'll add one extra {minutes}-minute slot on the day you choose.",
                tuple(
                    Button(
                        f"Add {format_uk(choice.start, self.tz_name)}",
                        "/open_surgery"
                        + json.dumps({"extra": f"{choice.start.astimezone(self.tz).isoformat()}|{minutes}"}),
                    )
                    for choice in when.choices
                )
                + (Button("No", NEVER_MIND),),
            )
        if when.question:
            return Reply(when.question)
        if not (when.found and when.exact) or when.in_past:
            return Reply(
                "What day and time should the extra slot be? "
                "For example: “add an extra slot on Friday 4 December at 2pm, 20 minutes”."
            )
        start = when.start.astimezone(self.tz)
        payload = json.dumps({"extra": f"{start.isoformat()}|{minutes}"})
        return Reply(
            f"Add one extra {minutes}-minute slot on {format_uk(start, self.tz_name)}?",
            (
                Button("Yes, add it", "/open_surgery" + payload, answers=YES),
                Button("No", NEVER_MIND, answers=NO),
            ),
        )

    def _block_out(self, session, profile, member, text, entities) -> Reply:
        from knowledge.schools.staff import require_slot_manager

        require_slot_manager(member)
        now = self.clock()
        today = now.astimezone(self.tz).date()
        if entities.get("day"):
            day = dt.date.fromisoformat(entities["day"])
            start, end = entities.get("start") or None, entities.get("end") or None
            try:
                result = availability.block_out(
                    session,
                    member,
                    day=day,
                    start=start,
                    end=end,
                    reason=None,
                    now=now,
                    tz=self.settings.timezone,
                )
            except availability.AvailabilityError as problem:
                return Reply(str(problem))
            notices, cancelled = [], 0
            for affected in result.affected_bookings:
                gone = booking.cancel(session, member, affected.booking_id, now=now, rules=self.rules)
                cancelled += 1
                notices.append(
                    {
                        "slack_user_id": gone.staff.slack_user_id,
                        "text": f"Sorry: the SENCo isn't available on {self._range(gone.slot)}, so your "
                        "surgery booking was cancelled. Say “what's free this week?” to book another slot.",
                    }
                )
            said = f"Blocked out {date_words(day)}{_part(start, end)}."
            if cancelled:
                said += (
                    f" {cancelled} booking(s) in that time were cancelled and the teachers have been told."
                )
            return Reply(said, custom=({"notify": notices},) if notices else ())
        parsed = requests.parse_blockout_request(text, today=today)
        if isinstance(parsed, requests.NeedsQuestion) and parsed.choices:  # "next Tuesday"
            return Reply(
                f"{parsed.question} {BLOCK_OUT_WARNING}",
                tuple(
                    Button(f"Block out {date_words(choice.day)}", "/block_out" + _block_out_payload(*choice))
                    for choice in parsed.choices
                )
                + (Button("No", NEVER_MIND),),
            )
        if isinstance(parsed, requests.NeedsQuestion):
            return Reply(parsed.question)
        day, start, end = parsed
        payload = _block_out_payload(day, start, end)
        return Reply(
            f"Block out {date_words(day)}{_part(start, end)}? {BLOCK_OUT_WARNING}",
            (
                Button("Yes, block it out", "/block_out" + payload, answers=YES),
                Button("No", NEVER_MIND, answers=NO),
            ),
        )

    def _whos_booked(self, session, profile, member, text, entities) -> Reply:
        from knowledge.schools.staff import require_slot_manager

        require_slot_manager(member)
        now = self.clock().astimezone(self.tz)
        day = _iso_day(entities.get("day"))
        named = dates.day_readings(text, now, self.settings.timezone) if day is None else [(day,)]
        if named and len(named[0]) > 1:  # "who's booked next Tuesday?", said on a Monday
            return _which_of(named[0], now.date(), "/whos_booked")
        day = named[0][0] if named else now.date()
        rows = availability.bookings_on_day(session, member, day=day, tz=self.settings.timezone)
        if not rows:
            return Reply(f"Nobody is booked on {date_words(day)}.")
        lines = [
            f"• {clock_words(slot.starts_at.astimezone(self.tz))}: {staff.name}, "
            f"{booking.topic_words(b.topic)}" + (f" (note: {b.note})" if b.note else "")
            for b, slot, staff in rows
        ]
        buttons = tuple(
            Button(
                f"Cancel {clock_words(slot.starts_at.astimezone(self.tz))} ({staff.name})",
                "/cancel_booking" + json.dumps({"booking_id": str(b.id)}),
            )
            for b, slot, staff in rows
            if slot.starts_at > self.clock()
        )
        return Reply(f"Booked on {date_words(day)} (UK time):\n" + "\n".join(lines), buttons)

    # --- wording ---------------------------------------------------------------------------

    def _short(self, at: dt.datetime) -> str:
        local = at.astimezone(self.tz)
        return f"{short_date_words(local.date())}, {clock_words(local)}"

    def _range(self, slot: SurgerySlot) -> str:
        return format_uk_range(slot.starts_at, slot.ends_at, self.settings.timezone)

    def _calendar(
        self, profile: SchoolProfile, made: Booking, now: dt.datetime, cancelled: bool = False
    ) -> dict:
        content = booking_ics(
            made,
            made.slot,
            school_name=profile.name,
            location=profile.name,
            organiser_email=profile.senco.email or None,
            cancelled=cancelled,
            now=now,
        )
        return {
            "calendar_file": {
                "filename": ics_filename(made),
                "content": content.decode() if isinstance(content, bytes) else content,
                "title": "SENCo surgery (cancelled)" if cancelled else "SENCo surgery",
            }
        }


def _calendar_file_words(what: str, entities: dict[str, str]) -> str:
    """Where the calendar file went, truly: below the reply in a DM, else to the person's DM."""
    in_a_dm, elsewhere = CALENDAR_FILE_WORDS[what]
    return in_a_dm if entities.get("channel_type", "im") == "im" else elsewhere


def _which_of(days: Sequence[dt.date], today: dt.date, intent: str, **carried: str) -> Reply:
    """ "Do you mean Tuesday 24 November (tomorrow) or Tuesday 1 December?", a button for each."""
    return Reply(
        dates.which_day_question(days, today),
        tuple(
            Button(dates.day_label(day, today), intent + json.dumps({**carried, "day": day.isoformat()}))
            for day in days
        ),
    )


def _times(start: dt.datetime, end: dt.datetime) -> dict[str, str]:
    """The times of a window within one day, as a button carries them; none for the whole day."""
    times = {}
    if start.time() != dt.time(0):
        times["start"] = f"{start:%H:%M}"
    if end.time() != dt.time(0) or end.date() == start.date():
        times["end"] = f"{end:%H:%M}"
    return times


def _block_out_payload(day: dt.date, start: str | None, end: str | None) -> str:
    return json.dumps({"day": day.isoformat(), "start": start or "", "end": end or ""})


def _iso_day(value: object) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _local(day: dt.date, hhmm: str | None, tz: ZoneInfo) -> dt.datetime | None:
    """`day` at "15:15" in the school's time zone; None for no time or one that can't be read."""
    try:
        return dt.datetime.combine(day, dt.time.fromisoformat(hhmm), tz) if hhmm else None
    except ValueError:
        return None


def _int(value: object) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


def _part(start: str | None, end: str | None) -> str:
    return f" from {start} to {end}" if start and end else ""


def _contact(profile: SchoolProfile) -> str:
    return f"contact {profile.senco.name}: {profile.senco.contact_line()}."


# Which method answers which staff intent (the intents are SURGERY_INTENTS in actions/actions.py).
HANDLERS: dict[str, Callable[..., Reply]] = {
    "book_surgery": SurgeryDesk._book_surgery,
    "list_free_slots": SurgeryDesk._book_surgery,  # the same question: which slots are free
    "choose_slot": SurgeryDesk._choose_slot,
    "my_bookings": SurgeryDesk._my_bookings,
    "move_booking": SurgeryDesk._move_booking,
    "cancel_booking": SurgeryDesk._cancel_booking,
    "open_surgery": SurgeryDesk._open_surgery,
    "block_out": SurgeryDesk._block_out,
    "whos_booked": SurgeryDesk._whos_booked,
}
