"""One deployment, two schools (the example trust): nothing crosses from one school to the other.

The example trust (`school_data/example_trust.yml`) has Example Primary School (Example
Borough's local offer) and Example Academy (Example County's), sharing one SENCo. Every
user-facing path a school's data flows through is checked from both sides.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt

import pytest
from sqlalchemy import select

from bot.seed import load_everything
from knowledge.broadcasts.audiences import resolve
from knowledge.broadcasts.subscribers import opt_in
from knowledge.parents import answers
from knowledge.parents.assistant import Assistant
from knowledge.parents.local_offer import search_services
from knowledge.safeguarding.alerts import acknowledge_from_slack
from knowledge.safeguarding.records import UNASSIGNED, NotTheDSL, list_records, record_concern, show_record
from knowledge.schools.deployment import DeploymentError, load_deployment
from knowledge.schools.staff import find_staff
from knowledge.schools.tenancy import parent_school, school_for_message, staff_school
from knowledge.shared.db import unit_of_work
from knowledge.shared.models import SafeguardingRecord, School
from knowledge.shared.settings import PROJECT_ROOT
from knowledge.surgery import booking as bookings
from knowledge.surgery.desk import SurgeryDesk
from tests.builders import add_slot
from tests.conftest import make_settings

PRIMARY, ACADEMY = "example-primary", "example-academy"
SHARED_SENCO = "U0EXSENCO1"
PRIMARY_TEACHER, ACADEMY_TEACHER = "U0EXTEACH1", "U0SATEACH1"
PRIMARY_DSL, ACADEMY_DSL = "U0EXDSL001", "U0SADSL001"
NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def trust(tmp_path):
    settings = make_settings(tmp_path, schools_file=PROJECT_ROOT / "school_data/example_trust.yml")
    load_everything(settings)
    return settings


def test_the_trust_file_loads_both_schools_each_with_its_own_local_authority(trust):
    with unit_of_work(trust.database_url) as session:
        schools = {s.ref: s for s in session.execute(select(School)).scalars()}
        assert set(schools) == {PRIMARY, ACADEMY}
        assert schools[PRIMARY].local_offer_dataset == "example_local_offer"
        assert schools[ACADEMY].local_offer_dataset == "example_county_local_offer"
        assert schools[ACADEMY].calendar["terms"]


def test_a_parent_gets_their_own_schools_contacts(trust):
    primary = Assistant(trust, PRIMARY).answer_topic("contact_senco", "how do i contact the senco")
    academy = Assistant(trust, ACADEMY).answer_topic("contact_senco", "how do i contact the senco")
    assert "Example Primary School" in primary.text and "Example Academy" not in primary.text
    assert "Example Academy" in academy.text and "Example Primary School" not in academy.text


def test_the_local_offer_is_the_schools_own_local_authoritys(trust):
    primary = Assistant(trust, PRIMARY).answer_local_offer("is there speech therapy for my 6 year old")
    academy = Assistant(trust, ACADEMY).answer_local_offer("is there speech therapy for my 6 year old")
    assert "Exampletown" in primary.text and "Sampleford" not in primary.text
    assert "Sampleford" in academy.text and "Exampletown" not in academy.text
    # Only the borough has a Saturday club: the academy's parents are never shown it.
    with unit_of_work(trust.database_url) as session:
        for dataset, expected in (("example_local_offer", True), ("example_county_local_offer", False)):
            found = search_services(session, text="saturday club short break", dataset=dataset, limit=20)
            assert any("Saturday Club" in s.name for s in found.results) is expected


def test_a_parent_without_a_schools_link_is_asked_to_use_it_not_given_a_guess(trust):
    with unit_of_work(trust.database_url) as session:
        assert parent_school(session, {}).ref is None
        assert parent_school(session, {"school": "no-such-school"}).ref is None
        assert parent_school(session, {"school": "Example-Academy "}).ref == ACADEMY
        known = parent_school(session, None).known
    reply = answers.choose_school_reply(known)
    assert "school's website" in reply.text and "Example Academy" in reply.text


def test_the_safeguarding_reply_without_a_school_names_no_schools_staff(trust):
    reply = Assistant(trust, None).safeguarding(
        already_recorded=True, text="my dad hits me", channel="rest", sender_ref="s1", child_voice=True
    )
    assert "999" in reply.text and "0808 800 5000" in reply.text and "0800 1111" in reply.text
    for someone in ("Mr B. Example", "Ms H. Sample", "Example Primary", "Example Academy"):
        assert someone not in reply.text


def test_a_concern_is_recorded_for_the_school_it_came_from_and_only_its_dsl_reads_it(trust):
    url = trust.database_url
    academy_concern = record_concern(
        url, channel="rest", sender_ref="s1", message="he says his stepdad hurts him", detected_by="test",
        school_ref=ACADEMY,
    )  # fmt: skip
    primary_concern = record_concern(
        url, channel="rest", sender_ref="s2", message="she is scared to go home", detected_by="test",
        school_ref=PRIMARY,
    )  # fmt: skip
    nowhere = record_concern(url, channel="rest", sender_ref="s3", message="x", detected_by="test")
    with unit_of_work(url) as session:
        assert session.get(SafeguardingRecord, nowhere).school_ref == UNASSIGNED
    assert [r.id for r in list_records(url, "Ms H. Sample", school_ref=ACADEMY)] == [academy_concern]
    assert [r.id for r in list_records(url, "Mr B. Example", school_ref=PRIMARY)] == [primary_concern]
    with pytest.raises(NotTheDSL):
        list_records(url, "Mr B. Example", school_ref=ACADEMY)  # the primary's DSL, asking for the academy
    with pytest.raises(NotTheDSL):
        list_records(url, "Mr B. Example")  # several schools: the school must be named
    with pytest.raises(LookupError):
        show_record(url, academy_concern, "Mr B. Example", PRIMARY)


def test_another_schools_lead_cannot_acknowledge_a_concern_from_slack(trust):
    concern = record_concern(
        trust.database_url, channel="rest", sender_ref="s1", message="m", detected_by="t", school_ref=ACADEMY
    )
    refused = acknowledge_from_slack(trust.database_url, concern, PRIMARY_DSL)
    assert "no safeguarding concern" in refused and "Ms H. Sample" not in refused
    assert "is acknowledged" in acknowledge_from_slack(trust.database_url, concern, ACADEMY_DSL)


def test_staff_belong_to_their_own_schools_only(trust):
    with unit_of_work(trust.database_url) as session:
        assert staff_school(session, PRIMARY_TEACHER).ref == PRIMARY
        # Writing in the academy's channel does not make a primary teacher academy staff.
        assert staff_school(session, PRIMARY_TEACHER, channel_id="C0EXACADEMY").ref == PRIMARY
        shared = staff_school(session, SHARED_SENCO)
        assert shared.ref is None and {ref for ref, _ in shared.known} == {PRIMARY, ACADEMY}
        assert staff_school(session, SHARED_SENCO, channel_id="C0EXACADEMY").ref == ACADEMY
        assert (
            staff_school(session, SHARED_SENCO, text="open surgery at example academy tuesdays").ref
            == ACADEMY
        )
        assert staff_school(session, "U0STRANGER").ref is None


def test_the_shared_senco_is_asked_which_school_when_it_is_not_clear(trust):
    choice = school_for_message(trust.database_url, {"slack": {"user_id": SHARED_SENCO}}, SHARED_SENCO, "hi")
    reply = answers.staff_choose_school_reply(choice.known)
    assert reply.text.startswith("You work at Example") and "Example Primary School" in reply.text
    assert "Example Academy" in reply.text


def _slot(settings, school_ref: str, starts_at: dt.datetime) -> int:
    return add_slot(settings.database_url, school_ref, starts_at)


def test_surgery_slots_and_bookings_stay_in_their_school(trust):
    primary_slot = _slot(trust, PRIMARY, NOW + dt.timedelta(days=1))
    academy_slot = _slot(trust, ACADEMY, NOW + dt.timedelta(days=1, hours=1))
    with unit_of_work(trust.database_url) as session:
        assert [s.id for s in bookings.free_slots(session, PRIMARY, NOW)] == [primary_slot]
        assert [s.id for s in bookings.free_slots(session, ACADEMY, NOW)] == [academy_slot]
    desk = SurgeryDesk(trust, school_ref=PRIMARY, clock=lambda: NOW)
    refused = desk.handle("choose_slot", "", {"slot_id": str(academy_slot)}, PRIMARY_TEACHER)
    assert "booked" not in refused.text.lower() or "not" in refused.text.lower()
    with unit_of_work(trust.database_url) as session:
        assert bookings.bookings_of(session, find_staff(session, PRIMARY, PRIMARY_TEACHER)) == []


def test_a_broadcast_audience_is_the_schools_own_people(trust):
    with unit_of_work(trust.database_url) as session:
        opt_in(session, PRIMARY, "telegram", "1001")
        opt_in(session, ACADEMY, "telegram", "2002")
        primary = resolve(session, PRIMARY, {"staff": "all", "parents": "all"})
        academy = resolve(session, ACADEMY, {"staff": "all", "parents": "all"})
    assert {r.address for r in primary} >= {"1001", PRIMARY_TEACHER} and "2002" not in {
        r.address for r in primary
    }
    assert {r.address for r in academy} >= {"2002", ACADEMY_TEACHER}
    assert not {"1001", PRIMARY_TEACHER} & {r.address for r in academy}


def test_a_slack_channel_listed_for_two_schools_is_refused(tmp_path):
    trust = tmp_path / "trust.yml"
    profile = PROJECT_ROOT / "school_data/example_school.yml"
    trust.write_text(
        f"schools:\n  - profile: {profile}\n    slack_channels: [C1]\n"
        f"  - profile: {PROJECT_ROOT / 'school_data/example_academy.yml'}\n    slack_channels: [C1]\n"
    )
    settings = dataclasses.replace(make_settings(tmp_path), schools_file=trust)
    with pytest.raises(DeploymentError, match="C1"):
        load_deployment(settings)


def test_one_school_needs_no_schools_file_and_sees_the_whole_local_offer(settings):
    assert not load_deployment(settings).several
    with unit_of_work(settings.database_url) as session:
        assert session.execute(select(School.local_offer_dataset)).scalar_one() is None
        assert parent_school(session, {}).ref == PRIMARY


def test_each_school_has_its_own_web_page_and_an_unknown_school_none(trust):
    from aiohttp.test_utils import TestClient, TestServer

    from connectors.web.server import make_app

    async def visit() -> None:
        async with TestClient(TestServer(make_app(trust))) as client:
            config = await (await client.get("/s/example-academy/config.json")).json()
            assert config["school"] == ACADEMY and config["schoolName"].startswith("Example Academy")
            assert config["privacyNoticeUrl"] == "https://example.org/academy/privacy"
            page = await client.get("/s/example-academy/")
            assert page.status == 200 and "chat.js" in await page.text()
            assert (await client.get("/s/example-academy/chat.js")).status == 200
            assert (await client.get("/s/no-such-school/config.json")).status == 404
            assert (await client.get("/s/example-academy/../../server.py")).status == 404
            moved = await client.get("/s/example-primary", allow_redirects=False)
            assert moved.status == 302 and moved.headers["Location"] == "/s/example-primary/"

    asyncio.run(visit())


def test_the_school_the_web_page_sends_reaches_rasa_as_message_metadata():
    """chat.js sends the page's school as `customData`; Rasa's socket.io channel reads the
    key its credentials name (`tests/prod` checks the whole path in a real browser)."""
    import yaml

    from connectors.rasa.channels import GuardedSocketIOInput

    credentials = yaml.safe_load((PROJECT_ROOT / "credentials.yml").read_text())
    channel = GuardedSocketIOInput.from_credentials(
        credentials["connectors.rasa.channels.GuardedSocketIOInput"]
    )
    chat_js = (PROJECT_ROOT / "connectors/web/static/chat.js").read_text()
    assert f"uttered.{channel.metadata_key} = {{ school: state.config.school }}" in chat_js


def test_the_shared_senco_gets_each_schools_digest_on_that_schools_own_school_days(trust):
    from knowledge.surgery import reminders
    from tests.unit.test_reminders import Outbox

    tuesday_0730 = dt.datetime(2026, 11, 24, 7, 30, tzinfo=dt.timezone.utc)
    outbox = Outbox()
    inset_at_the_academy = lambda school, day: school != ACADEMY  # noqa: E731
    sent = reminders.send_digests(
        trust.database_url, now=tuesday_0730, send=outbox, school_day=inset_at_the_academy
    )
    assert sent == 1 and [user for user, _ in outbox.sent] == [SHARED_SENCO]
    sent = reminders.send_digests(
        trust.database_url, now=tuesday_0730, send=outbox, school_day=lambda s, d: True
    )
    assert sent == 1 and len(outbox.sent) == 2  # the academy's, now; the primary's is not sent twice


# --- through the action server's actions ------------------------------------------------------


def _tracker(intent: str, text: str, metadata: dict, entities: list | None = None, channel: str = "rest"):
    from rasa_sdk import Tracker

    return Tracker.from_dict(
        {
            "sender_id": "trust-test",
            "slots": {},
            "latest_message": {
                "text": text,
                "intent": {"name": intent, "confidence": 0.9},
                "entities": entities or [],
                "metadata": metadata,
            },
            "events": [{"event": "user", "text": text, "input_channel": channel, "metadata": metadata}],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        }
    )


async def _say(trust, monkeypatch, action, tracker) -> str:
    from rasa_sdk.executor import CollectingDispatcher

    from actions import actions

    monkeypatch.setattr(actions, "get_settings", lambda: trust)
    dispatcher = CollectingDispatcher()
    await action.run(dispatcher, tracker, {})
    return "\n".join(m.get("text") or "" for m in dispatcher.messages)


async def test_the_action_answers_for_the_school_of_the_parents_link(trust, monkeypatch):
    from actions import actions

    ask = actions.ActionAnswerTopic()
    academy = await _say(
        trust, monkeypatch, ask, _tracker("ask_contact_senco", "senco?", {"school": ACADEMY})
    )
    assert "Example Academy" in academy and "Example Primary" not in academy
    nowhere = await _say(trust, monkeypatch, ask, _tracker("ask_contact_senco", "senco?", {}))
    assert "school's website" in nowhere and "Ms A. Example" not in nowhere


async def test_the_shared_senco_sees_both_schools_surgeries_at_once_but_must_say_where_to_open_one(
    trust, monkeypatch
):
    from actions import actions

    _slot(trust, PRIMARY, NOW + dt.timedelta(days=2))
    _slot(trust, ACADEMY, NOW + dt.timedelta(days=3))
    slack = {"slack": {"user_id": SHARED_SENCO, "team_id": "T1", "channel_id": "D1"}}
    surgery = actions.ActionSurgery()
    seen = await _say(
        trust, monkeypatch, surgery, _tracker("whos_booked", "who's booked", slack, channel="slack")
    )
    assert "Example Primary School:" in seen and "Example Academy:" in seen
    asked = await _say(
        trust,
        monkeypatch,
        surgery,
        _tracker("open_surgery", "open surgery tuesdays 3-4", slack, channel="slack"),
    )
    assert asked.startswith("You work at") and "Which school is this for?" in asked


async def test_a_disclosure_caught_by_the_screen_is_recorded_for_the_school_of_the_link(trust, monkeypatch):
    from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

    from connectors.rasa import channels as rasa_channels

    monkeypatch.setattr(rasa_channels, "get_settings", lambda: trust)
    handled: list[UserMessage] = []

    async def on_new_message(message: UserMessage) -> None:
        handled.append(message)

    handle = rasa_channels.guarded(on_new_message)
    for school, sender in ((ACADEMY, "web-1"), (None, "web-2")):
        metadata = {"school": school} if school else {}
        text = "my son says his dad hits him with a belt"
        await handle(UserMessage(text, CollectingOutputChannel(), sender, "socketio", metadata=metadata))
    assert [m.text for m in handled] == ["/safeguarding_concern", "/safeguarding_concern"]
    with unit_of_work(trust.database_url) as session:
        stored = [
            r.school_ref
            for r in session.execute(select(SafeguardingRecord).order_by(SafeguardingRecord.id)).scalars()
        ]
    assert stored == [ACADEMY, UNASSIGNED]
