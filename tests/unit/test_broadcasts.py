"""The SENCo's broadcasts in the domain layer: audiences from data, requests read from words,
preview before sending, only the SENCo or an admin may act, and every action audited."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select, update

from bot.seed import load_everything
from knowledge.broadcasts import sending as broadcasts
from knowledge.broadcasts import subscribers
from knowledge.broadcasts.audiences import Recipient, describe, parse_audience, resolve
from knowledge.broadcasts.outbox import expand_due_sends
from knowledge.broadcasts.requests import MORNING_OF, NOW, BroadcastRequest, parse_broadcast_request
from knowledge.schools.staff import NotAllowed, find_staff
from knowledge.shared.db import get_engine, unit_of_work
from knowledge.shared.models import Broadcast, BroadcastAudit, BroadcastSend, OutboxMessage, StaffMember
from tests.conftest import make_settings

UTC = dt.timezone.utc
SCHOOL = "example-primary"
NOW_AT = dt.datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # Monday 23 November 2026, 9am GMT (= UK time)
THURSDAY_1530 = dt.datetime(2026, 11, 26, 15, 30, tzinfo=UTC)
STAFF_IDS = ["U0EXADMIN1", "U0EXDDSL01", "U0EXDSL001", "U0EXSENCO1", "U0EXTA0001", "U0EXTEACH1", "U0EXTEACH2"]
ISSUE_REQUEST = (
    "remind all staff about the autism awareness training on Thursday 3:30pm in the library, "
    "the day before and an hour before"
)
ISSUE_TEXT = "Reminder: autism awareness training, Thursday 26 November, 3:30pm, in the library."


# --- Fixtures and helpers shared with test_outbox.py and test_sender.py ------------------------


def build_template(tmp_path_factory) -> Path:
    """The example school (profile, content, staff roster) loaded once, as `settings` does per test."""
    folder = tmp_path_factory.mktemp("broadcast-template")
    settings = make_settings(folder)
    load_everything(settings)
    get_engine(settings.database_url).dispose()  # checkpoints the WAL into the file
    return folder / "knowledge.shared.db"


def fresh_copy(template: Path, tmp_path: Path) -> str:
    """A copy of the template database for one test; returns its URL."""
    target = tmp_path / "knowledge.shared.db"
    shutil.copyfile(template, target)
    return f"sqlite:///{target}"


@pytest.fixture(scope="module")
def template_db(tmp_path_factory) -> Path:
    return build_template(tmp_path_factory)


@pytest.fixture
def db(template_db: Path, tmp_path: Path) -> str:
    """A fresh database with the example school and its staff roster (a copy: milliseconds, not 0.8 s)."""
    return fresh_copy(template_db, tmp_path)


def member(session, slack_id: str = "U0EXSENCO1") -> StaffMember:
    return find_staff(session, SCHOOL, slack_id)


def add_parent(
    db: str,
    address: str,
    *,
    year_groups: list[str] | None = None,
    interests: list[str] | None = None,
    channel: str = "telegram",
    opted_in: bool = True,
) -> None:
    with unit_of_work(db) as session:
        if opted_in:
            subscribers.opt_in(
                session, SCHOOL, channel, address, year_groups=year_groups, interests=interests, now=NOW_AT
            )
        else:
            subscribers.get_or_create(session, SCHOOL, channel, address)


def add_parents(db: str, count: int, prefix: str = "tg") -> list[str]:
    addresses = [f"{prefix}{n:04d}" for n in range(count)]
    for address in addresses:
        add_parent(db, address)
    return addresses


def create(
    db: str,
    request: BroadcastRequest | str,
    *,
    by: str = "U0EXSENCO1",
    now: dt.datetime = NOW_AT,
    confirm: bool = False,
) -> int:
    if isinstance(request, str):
        parsed = parse_broadcast_request(request, now=now)
        assert isinstance(parsed, BroadcastRequest), parsed
        request = parsed
    with unit_of_work(db) as session:
        broadcast = broadcasts.create_draft(session, member(session, by), request, now)
        if confirm:
            broadcasts.confirm(session, member(session, by), broadcast.id, now)
        return broadcast.id


def send_now(audience: dict, text: str = "Fire drill at 2pm.") -> BroadcastRequest:
    return BroadcastRequest(audience=audience, text=text)


def outbox_rows(db: str, broadcast_id: int | None = None) -> list[OutboxMessage]:
    with unit_of_work(db) as session:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        if broadcast_id is not None:
            query = query.where(OutboxMessage.broadcast_id == broadcast_id)
        return list(session.execute(query).scalars())


def sends_of(db: str, broadcast_id: int) -> list[tuple[int, dt.datetime, str]]:
    with unit_of_work(db) as session:
        return [
            (s.offset_minutes, s.due_at, s.status)
            for s in session.execute(
                select(BroadcastSend)
                .where(BroadcastSend.broadcast_id == broadcast_id)
                .order_by(BroadcastSend.due_at)
            ).scalars()
        ]


def summary_of(db: str, broadcast_id: int, now: dt.datetime = NOW_AT) -> str:
    with unit_of_work(db) as session:
        return broadcasts.summary(session, broadcast_id, now=now)


# --- Audiences: from data, resolved to people ---------------------------------------------------


def test_all_staff_means_everyone_active_on_the_roster_by_slack_dm(db):
    with unit_of_work(db) as session:
        recipients = resolve(session, SCHOOL, {"staff": "all"})
    assert recipients == [Recipient("slack", slack_id, "staff") for slack_id in STAFF_IDS]


@pytest.mark.parametrize(
    ("roles", "expected"),
    [
        (["teacher"], ["U0EXTEACH1", "U0EXTEACH2"]),
        (["teaching_assistant"], ["U0EXTA0001"]),
        (["dsl", "deputy_dsl"], ["U0EXDDSL01", "U0EXDSL001"]),
        (["teacher", "teaching_assistant"], ["U0EXTA0001", "U0EXTEACH1", "U0EXTEACH2"]),
    ],
)
def test_a_staff_role_from_the_roster_is_exactly_the_people_with_that_role(db, roles, expected):
    with unit_of_work(db) as session:
        assert [r.address for r in resolve(session, SCHOOL, {"staff": roles})] == expected


def test_staff_who_left_or_explicitly_opted_out_on_slack_are_left_out(db):
    with unit_of_work(db) as session:
        session.execute(
            update(StaffMember).where(StaffMember.slack_user_id == "U0EXTEACH1").values(active=False)
        )
        subscribers.get_or_create(session, SCHOOL, "slack", "U0EXTEACH2", kind="staff")
        subscribers.opt_out(session, SCHOOL, "slack", "U0EXTEACH2", now=NOW_AT)
        subscribers.get_or_create(session, SCHOOL, "slack", "U0EXTA0001", kind="staff")  # no choice made
        assert resolve(session, SCHOOL, {"staff": ["teacher", "teaching_assistant"]}) == [
            Recipient("slack", "U0EXTA0001", "staff")
        ]


def test_parents_are_only_those_opted_in_and_reachable_on_their_own_channel(db):
    add_parent(db, "111")
    add_parent(db, "222")
    add_parent(db, "333", opted_in=False)  # started a chat, never opted in
    add_parent(db, "444")
    add_parent(db, "555")
    with unit_of_work(db) as session:
        subscribers.opt_out(session, SCHOOL, "telegram", "222", now=NOW_AT)
        subscribers.mark_unreachable(session, SCHOOL, "telegram", "444", NOW_AT)  # blocked the bot
        assert resolve(session, SCHOOL, {"parents": "all"}) == [
            Recipient("telegram", "111", "parent"),
            Recipient("telegram", "555", "parent"),
        ]


def test_a_year_group_filter_keeps_parents_who_chose_it_and_a_parent_with_no_choice_counts_as_all_year_groups(
    db,
):
    add_parent(db, "y3", year_groups=["Year 3"])
    add_parent(db, "y3y5", year_groups=["Year 5", "year 3"])
    add_parent(db, "y4", year_groups=["Year 4"])
    add_parent(db, "none")  # opted in and chose no year group ("All year groups" or Skip)
    with unit_of_work(db) as session:
        year_3 = resolve(session, SCHOOL, {"parents": {"year_groups": ["Y3"]}})
        everyone = resolve(session, SCHOOL, {"parents": "all"})
    assert [r.address for r in year_3] == ["none", "y3", "y3y5"]
    assert [r.address for r in everyone] == ["none", "y3", "y3y5", "y4"]


def test_an_interest_filter_keeps_parents_who_chose_that_interest_or_chose_none(db):
    add_parent(db, "coffee", interests=["Coffee mornings"])
    add_parent(db, "workshops", interests=["workshops"])
    add_parent(db, "y3-coffee", year_groups=["Year 3"], interests=["coffee mornings"])
    add_parent(db, "y4-any", year_groups=["Year 4"])
    add_parent(db, "y3-any", year_groups=["Year 3"])
    with unit_of_work(db) as session:
        coffee = resolve(session, SCHOOL, {"parents": {"interests": ["coffee mornings"]}})
        year_3_coffee = resolve(
            session, SCHOOL, {"parents": {"year_groups": ["Year 3"], "interests": ["coffee mornings"]}}
        )
    assert [r.address for r in coffee] == ["coffee", "y3-any", "y3-coffee", "y4-any"]
    assert [r.address for r in year_3_coffee] == ["coffee", "y3-any", "y3-coffee"]


def test_staff_and_parents_together_list_each_person_once(db):
    add_parent(db, "111")
    with unit_of_work(db) as session:
        recipients = resolve(session, SCHOOL, {"staff": "all", "parents": "all"})
    assert len(recipients) == len(set(recipients)) == len(STAFF_IDS) + 1


@pytest.mark.parametrize(
    ("words", "audience"),
    [
        ("all staff", {"staff": "all", "parents": None}),
        ("the staff", {"staff": "all", "parents": None}),
        ("teachers", {"staff": ["teacher"], "parents": None}),
        ("TAs", {"staff": ["teaching_assistant"], "parents": None}),
        ("teaching assistants", {"staff": ["teaching_assistant"], "parents": None}),
        ("teachers and TAs", {"staff": ["teacher", "teaching_assistant"], "parents": None}),
        ("the safeguarding team", {"staff": ["dsl", "deputy_dsl"], "parents": None}),
        ("parents", {"staff": None, "parents": "all"}),
        ("Year 3 parents", {"staff": None, "parents": {"year_groups": ["Year 3"], "interests": []}}),
        (
            "parents of Y5 and 6",
            {"staff": None, "parents": {"year_groups": ["Year 5", "Year 6"], "interests": []}},
        ),
        ("Reception parents", {"staff": None, "parents": {"year_groups": ["Reception"], "interests": []}}),
        (
            "parents interested in coffee mornings",
            {"staff": None, "parents": {"year_groups": [], "interests": ["coffee mornings"]}},
        ),
        ("parents and staff", {"staff": "all", "parents": "all"}),
        ("everyone", {"staff": "all", "parents": "all"}),
    ],
)
def test_the_sencos_words_for_an_audience_become_data(words, audience):
    assert parse_audience(words) == audience


@pytest.mark.parametrize("words", ["the cat", "", "Thursday at 3"])
def test_words_that_name_nobody_are_not_an_audience(words):
    assert parse_audience(words) is None


@pytest.mark.parametrize(
    ("audience", "words"),
    [
        ({"staff": "all"}, "all staff"),
        ({"staff": ["teacher", "teaching_assistant"]}, "teachers and teaching assistants"),
        ({"parents": {"year_groups": ["Year 3"]}}, "Year 3 parents who opted in"),
        ({"staff": "all", "parents": "all"}, "all staff and parents who opted in"),
    ],
)
def test_an_audience_is_described_in_words_for_the_preview(audience, words):
    assert describe(audience) == words


# --- Reading the request -------------------------------------------------------------------------


def test_the_issue_example_gives_the_audience_the_event_two_reminders_and_a_kind_short_text():
    request = parse_broadcast_request(ISSUE_REQUEST, now=NOW_AT)
    assert request == BroadcastRequest(
        audience={"staff": "all", "parents": None},
        text=ISSUE_TEXT,
        event_at=THURSDAY_1530,
        offsets_minutes=[1440, 60],
        subject="autism awareness training",
        place="in the library",
    )


def test_an_announcement_to_year_3_parents_without_reminders_is_sent_now():
    request = parse_broadcast_request(
        "tell Year 3 parents about the coffee morning on Friday 9am in the hall", now=NOW_AT
    )
    assert isinstance(request, BroadcastRequest)
    assert request.audience == {"staff": None, "parents": {"year_groups": ["Year 3"], "interests": []}}
    assert request.text == "Reminder: coffee morning, Friday 27 November, 9am, in the hall."
    assert request.offsets_minutes == []


def test_send_now_with_a_colon_sends_the_sencos_own_words():
    request = parse_broadcast_request("send all staff now: fire drill at 2pm", now=NOW_AT)
    assert isinstance(request, BroadcastRequest)
    assert (request.audience["staff"], request.text, request.offsets_minutes, request.event_at) == (
        "all",
        "Fire drill at 2pm.",
        [],
        None,
    )


@pytest.mark.parametrize(
    ("when", "offsets"),
    [
        ("the day before", [1440]),
        ("an hour before", [60]),
        ("a week before", [10080]),
        ("2 days before", [2880]),
        ("on the morning", [MORNING_OF]),
        ("a week before, the day before and on the morning", [10080, 1440, MORNING_OF]),
        ("now and an hour before", [NOW, 60]),
        ("half an hour before", [30]),
    ],
)
def test_reminder_offsets_are_read_from_the_sencos_words(when, offsets):
    request = parse_broadcast_request(
        f"remind teachers about the INSET day on Friday 27th November at 9am, {when}", now=NOW_AT
    )
    assert isinstance(request, BroadcastRequest), request
    assert request.offsets_minutes == offsets
    assert request.event_at == dt.datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("words", "question"),
    [
        (
            "remind all staff about the training on Thursday, an hour before",
            "What time does the training start?",
        ),
        ("remind all staff about the training, the day before", "When is the training?"),
        ("remind the cat about the training on Thursday 3pm", "Who should get it?"),
        ("remind all staff about the training on 4/5/6 at 3pm, the day before", "?"),
        ("hello", "Tell me who, what and when"),
    ],
)
def test_a_request_that_cannot_be_read_safely_gets_a_question_not_a_guess(words, question):
    answer = parse_broadcast_request(words, now=NOW_AT)
    assert isinstance(answer, str)
    assert question in answer


# --- Who may do what, and the audit trail -----------------------------------------------------------


def test_a_teacher_cannot_create_confirm_edit_move_cancel_or_list_broadcasts(db):
    broadcast_id = create(db, ISSUE_REQUEST)
    request = parse_broadcast_request(ISSUE_REQUEST, now=NOW_AT)
    with unit_of_work(db) as session:
        teacher = member(session, "U0EXTEACH1")
        attempts = [
            lambda: broadcasts.create_draft(session, teacher, request, NOW_AT),
            lambda: broadcasts.confirm(session, teacher, broadcast_id, NOW_AT),
            lambda: broadcasts.edit_text(session, teacher, broadcast_id, "Hello", NOW_AT),
            lambda: broadcasts.reschedule(session, teacher, broadcast_id, THURSDAY_1530, NOW_AT),
            lambda: broadcasts.cancel(session, teacher, broadcast_id, NOW_AT),
            lambda: broadcasts.list_scheduled(session, teacher, NOW_AT),
        ]
        for attempt in attempts:
            with pytest.raises(NotAllowed, match="Only the SENCo or an admin"):
                attempt()
    assert sends_of(db, broadcast_id) == []


def test_every_change_by_the_senco_or_an_admin_is_audited_with_who_and_when(db):
    broadcast_id = create(db, ISSUE_REQUEST)
    later = NOW_AT + dt.timedelta(minutes=5)
    with unit_of_work(db) as session:
        senco, admin = member(session), member(session, "U0EXADMIN1")
        broadcasts.confirm(session, senco, broadcast_id, later)
        broadcasts.edit_text(session, admin, broadcast_id, ISSUE_TEXT + " Tea provided.", later)
        broadcasts.reschedule(session, senco, broadcast_id, THURSDAY_1530 + dt.timedelta(days=1), later)
        broadcasts.cancel(session, admin, broadcast_id, later)
        trail = [
            (a.action, a.staff_id, a.at)
            for a in session.execute(
                select(BroadcastAudit)
                .where(BroadcastAudit.broadcast_id == broadcast_id)
                .order_by(BroadcastAudit.id)
            ).scalars()
        ]
    assert trail == [
        ("create", senco.id, NOW_AT),
        ("confirm", senco.id, later),
        ("edit", admin.id, later),
        ("reschedule", senco.id, later),
        ("cancel", admin.id, later),
    ]


def test_a_broadcast_of_another_school_is_not_found(db):
    broadcast_id = create(db, ISSUE_REQUEST)
    with unit_of_work(db) as session:
        session.execute(
            update(Broadcast).where(Broadcast.id == broadcast_id).values(school_ref="other-school")
        )
    with unit_of_work(db) as session, pytest.raises(broadcasts.BroadcastNotFound):
        broadcasts.confirm(session, member(session), broadcast_id, NOW_AT)


# --- Preview and warnings ----------------------------------------------------------------------------


def test_the_preview_shows_the_exact_text_the_recipients_per_channel_and_every_send(db):
    add_parents(db, 3)
    request = parse_broadcast_request(ISSUE_REQUEST.replace("all staff", "everyone"), now=NOW_AT)
    broadcast_id = create(db, request)
    with unit_of_work(db) as session:
        shown = broadcasts.preview(session, session.get(Broadcast, broadcast_id), NOW_AT)
    assert shown.text == ISSUE_TEXT
    assert shown.recipients_by_channel == {"slack": 7, "telegram": 3}
    assert shown.sends == [
        ("the day before", THURSDAY_1530 - dt.timedelta(days=1)),
        ("an hour before", THURSDAY_1530 - dt.timedelta(hours=1)),
    ]
    assert shown.warnings == []
    assert "To: all staff and parents who opted in (10 people: 7 on Slack, 3 on Telegram)" in shown.as_text()


def test_the_preview_warns_when_parents_would_get_it_after_quiet_hours(db):
    add_parents(db, 1)
    broadcast_id = create(db, "remind parents about the sponsored walk on Saturday at 8am, an hour before")
    with unit_of_work(db) as session:
        shown = broadcasts.preview(session, session.get(Broadcast, broadcast_id), NOW_AT)
    assert shown.warnings == [
        "Parents get the \u201can hour before\u201d message at Saturday 28 November, 7:30am, "
        "after quiet hours (20:00 to 07:30)."
    ]


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("Please remind pupil Jayden to bring his kit.", ["Jayden"]),
        ("Year 4's Jayden will read at assembly.", ["Jayden"]),
        ("Well done to Jayden in Year 4!", ["Jayden"]),
        ("Thank you to Amelia's mum for the cakes.", ["Amelia"]),
        ("My son Oliver loved it.", ["Oliver"]),
        ("Amelia (Y3) read beautifully.", ["Amelia"]),
        (ISSUE_TEXT, []),
        ("Year 3 parents: the coffee morning is on Friday in the hall.", []),
        ("Please see Mrs Example in Year 4 about the trip.", []),
        ("Mr Smith's class will perform on Friday.", []),
        ("Children in Year 5 need their PE kit on Monday.", []),
    ],
)
def test_a_message_that_looks_like_it_names_a_pupil_is_warned_about_not_blocked(text, names):
    assert broadcasts.pupil_names(text) == names
    warnings = broadcasts.text_warnings(text)
    assert bool(warnings) == bool(names)
    if names:
        assert f"\u201c{names[0]}\u201d" in warnings[0] and "leave children's names out" in warnings[0]


def test_a_long_message_is_warned_about_and_an_overlong_one_refused(db):
    assert "1,001 characters" in broadcasts.text_warnings("x" * 1001)[0]
    assert broadcasts.text_warnings("x" * 1000) == []
    create(db, send_now({"staff": "all"}, "x" * 1001))  # a warning, not a block
    with pytest.raises(broadcasts.BroadcastRefused, match="the most I can send is 4,000"):
        create(db, send_now({"staff": "all"}, "x" * 4001))


# --- Confirming, editing, moving, cancelling, listing -----------------------------------------------


def test_nothing_is_scheduled_until_the_senco_confirms(db):
    broadcast_id = create(db, ISSUE_REQUEST)
    assert sends_of(db, broadcast_id) == []
    with unit_of_work(db) as session:
        confirmation = broadcasts.confirm(session, member(session), broadcast_id, NOW_AT)
        assert confirmation.broadcast.status == "scheduled"
    assert sends_of(db, broadcast_id) == [
        (1440, THURSDAY_1530 - dt.timedelta(days=1), "pending"),
        (60, THURSDAY_1530 - dt.timedelta(hours=1), "pending"),
    ]


def test_confirming_twice_makes_the_sends_once(db):
    broadcast_id = create(db, ISSUE_REQUEST, confirm=True)
    with unit_of_work(db) as session:
        again = broadcasts.confirm(session, member(session), broadcast_id, NOW_AT)
    assert again.notes == ["It was already confirmed."]
    assert len(sends_of(db, broadcast_id)) == 2


def test_a_send_now_broadcast_has_one_send_due_when_confirmed(db):
    broadcast_id = create(db, "send all staff now: fire drill at 2pm", confirm=True)
    assert sends_of(db, broadcast_id) == [(NOW, NOW_AT, "pending")]


def test_sends_already_past_when_confirmed_are_left_out_with_a_note(db):
    broadcast_id = create(db, ISSUE_REQUEST)
    thursday_morning = dt.datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    with unit_of_work(db) as session:
        confirmation = broadcasts.confirm(session, member(session), broadcast_id, thursday_morning)
    assert confirmation.notes == [
        "The \u201cthe day before\u201d reminder would have been due already, so it won't be sent."
    ]
    assert sends_of(db, broadcast_id) == [(60, THURSDAY_1530 - dt.timedelta(hours=1), "pending")]


def test_confirming_is_refused_when_every_reminder_time_has_passed(db):
    broadcast_id = create(db, ISSUE_REQUEST)
    with unit_of_work(db) as session, pytest.raises(broadcasts.BroadcastRefused, match="send now"):
        broadcasts.confirm(session, member(session), broadcast_id, THURSDAY_1530 - dt.timedelta(minutes=30))


def test_cancel_stops_pending_sends_and_messages_still_queued(db):
    add_parents(db, 2)
    now_id = create(db, send_now({"parents": "all"}), confirm=True)
    later_id = create(db, ISSUE_REQUEST, confirm=True)
    expand_due_sends(db, NOW_AT)
    with unit_of_work(db) as session:
        first = broadcasts.cancel(session, member(session), now_id, NOW_AT)
        second = broadcasts.cancel(session, member(session), later_id, NOW_AT)
    assert (first.sends_cancelled, first.messages_cancelled) == (0, 2)
    assert (second.sends_cancelled, second.messages_cancelled) == (2, 0)
    assert [r.status for r in outbox_rows(db, now_id)] == ["cancelled", "cancelled"]
    assert [status for _, _, status in sends_of(db, later_id)] == ["cancelled", "cancelled"]
    assert expand_due_sends(db, THURSDAY_1530) == 0
    assert summary_of(db, now_id) == "Cancelled. 0 of 2 delivered, 2 cancelled"


def test_editing_changes_the_text_of_sends_to_come_and_of_messages_not_yet_sent(db):
    add_parent(db, "111")
    broadcast_id = create(
        db, send_now({"parents": "all", "staff": ["teacher"]}, "Coffee at 9."), confirm=True
    )
    expand_due_sends(db, NOW_AT)
    with unit_of_work(db) as session:
        session.execute(update(OutboxMessage).where(OutboxMessage.channel == "slack").values(status="sent"))
        broadcasts.edit_text(session, member(session), broadcast_id, "Coffee at 9:30 <tea & cake>.", NOW_AT)
    texts = {(r.channel, r.status): r.text for r in outbox_rows(db, broadcast_id)}
    assert texts == {
        ("slack", "sent"): "Coffee at 9.",
        ("telegram", "queued"): "Coffee at 9:30 <tea & cake>.",
    }


def test_moving_the_event_moves_the_sends_to_come_and_the_date_in_the_text(db):
    broadcast_id = create(db, ISSUE_REQUEST, confirm=True)
    friday_1530 = THURSDAY_1530 + dt.timedelta(days=1)
    with unit_of_work(db) as session:
        moved = broadcasts.reschedule(session, member(session), broadcast_id, friday_1530, NOW_AT)
        assert (
            moved.broadcast.text
            == "Reminder: autism awareness training, Friday 27 November, 3:30pm, in the library."
        )
    assert moved.notes == ["The message now says \u201cFriday 27 November, 3:30pm\u201d."]
    assert sends_of(db, broadcast_id) == [
        (1440, friday_1530 - dt.timedelta(days=1), "pending"),
        (60, friday_1530 - dt.timedelta(hours=1), "pending"),
    ]


def test_the_list_shows_drafts_and_scheduled_broadcasts_the_next_to_go_first(db):
    later = create(db, ISSUE_REQUEST, confirm=True)
    sooner = create(
        db, "remind teachers about the staff meeting on Tuesday at 3:30pm, an hour before", confirm=True
    )
    draft = create(db, "send all staff now: fire drill at 2pm")
    done = create(db, send_now({"staff": "all"}), confirm=True)
    with unit_of_work(db) as session:
        session.execute(update(Broadcast).where(Broadcast.id == done).values(status="done"))
        listed = broadcasts.list_scheduled(session, member(session), NOW_AT)
    assert [(b.id, b.status, b.sends_to_come) for b in listed] == [
        (sooner, "scheduled", 1),
        (later, "scheduled", 2),
        (draft, "draft", 0),
    ]
    assert listed[0].next_send == ("an hour before", dt.datetime(2026, 11, 24, 14, 30, tzinfo=UTC))
    assert listed[1].audience == "all staff"


# --- The delivery summary -----------------------------------------------------------------------------


def _set_statuses(db: str, broadcast_id: int, statuses: list[tuple[str, str | None]]) -> None:
    rows = outbox_rows(db, broadcast_id)
    with unit_of_work(db) as session:
        for row, (status, error) in zip(rows, statuses, strict=False):
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row.id)
                .values(status=status, last_error=error)
            )


def test_the_summary_says_how_many_were_delivered_and_why_the_others_failed(db):
    add_parents(db, 415)
    broadcast_id = create(db, send_now({"parents": "all"}), confirm=True)
    expand_due_sends(db, NOW_AT)
    _set_statuses(db, broadcast_id, [("failed", "blocked the bot")] * 3 + [("sent", None)] * 412)
    assert summary_of(db, broadcast_id) == "412 of 415 delivered, 3 failed (blocked the bot)"


def test_the_summary_of_an_unfinished_send_counts_what_is_still_to_go_and_what_happened(db):
    add_parents(db, 8)
    broadcast_id = create(db, send_now({"parents": "all"}), confirm=True)
    expand_due_sends(db, NOW_AT)
    _set_statuses(
        db,
        broadcast_id,
        [("sent", None)] * 2
        + [("failed", "blocked the bot"), ("failed", "chat not found"), ("failed", "blocked the bot")]
        + [("skipped_opted_out", "stopped reminders"), ("unknown", "interrupted")],
    )
    assert summary_of(db, broadcast_id) == (
        "2 of 8 delivered, 3 failed (2 blocked the bot, 1 chat not found), 1 not sent (stopped reminders), "
        "1 not confirmed (interrupted while sending; not resent, to avoid a duplicate), 1 still to send"
    )


def test_the_summary_of_a_broadcast_with_reminders_goes_send_by_send(db):
    broadcast_id = create(db, ISSUE_REQUEST, confirm=True)
    day_before = THURSDAY_1530 - dt.timedelta(days=1)
    expand_due_sends(db, day_before)
    _set_statuses(db, broadcast_id, [("sent", None)] * 7)
    assert summary_of(db, broadcast_id, day_before) == (
        "The day before: 7 of 7 delivered. An hour before: due Thursday 26 November, 2:30pm."
    )
