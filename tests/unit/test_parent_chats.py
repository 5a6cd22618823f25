"""A parent's chat, in the domain: its school, first contact and reminder choices (no Telegram).

The connector (`connectors/telegram`) is tested end to end against the fake Bot API; these
tests pin down what it relies on from `knowledge.broadcasts.parent_chats`, on a real
database loaded from the shipped example school and trust.
"""

from __future__ import annotations

import pytest

from bot.seed import load_everything
from knowledge.broadcasts import subscribers
from knowledge.broadcasts.parent_chats import (
    INTERESTS,
    NO_SCHOOL,
    YEAR_GROUPS,
    ParentChats,
    ReminderSettings,
)
from knowledge.shared.db import unit_of_work
from knowledge.shared.settings import PROJECT_ROOT
from tests.conftest import make_settings

CHANNEL = "telegram"
SCHOOL = "example-primary"


@pytest.fixture
def chats(settings) -> ParentChats:
    return ParentChats(settings.database_url, CHANNEL)


@pytest.fixture
def trust_chats(tmp_path) -> ParentChats:
    trust = make_settings(tmp_path, schools_file=PROJECT_ROOT / "school_data/example_trust.yml")
    load_everything(trust)
    return ParentChats(trust.database_url, CHANNEL)


def test_the_first_contact_is_recorded_once_so_the_privacy_notice_is_shown_once(chats):
    first = chats.welcome("101")
    assert first.profile is not None and first.profile.ref == SCHOOL
    assert first.first_contact and not first.opted_in
    again = chats.welcome("101")
    assert not again.first_contact and again.profile.ref == SCHOOL
    assert chats.school("101") == SCHOOL


def test_opting_in_offers_the_schools_own_lists_and_welcome_then_knows_it(chats):
    settings = chats.opt_in("102")
    assert settings.opted_in and settings.year_groups == () and settings.interests == ()
    assert settings.year_group_options[:2] == ("Nursery", "Reception")
    assert settings.interest_options == ("Workshops", "Coffee mornings", "Consultation events")
    assert chats.welcome("102").opted_in
    assert chats.reminders("102") == settings


def test_a_chosen_list_is_stored_and_the_other_list_is_kept(chats):
    chats.opt_in("103")
    chats.choose("103", INTERESTS, ["Workshops"])
    stored = chats.choose("103", YEAR_GROUPS, ["Year 2", "Reception"])
    assert stored.year_groups == ("Year 2", "Reception") and stored.interests == ("Workshops",)
    assert stored.chosen(YEAR_GROUPS) == ("Reception", "Year 2")  # the school's order
    assert chats.reminders("103") == stored


def test_stopping_forgets_the_choices_and_a_later_choice_is_not_stored(chats):
    chats.opt_in("104")
    chats.choose("104", YEAR_GROUPS, ["Year 1"])
    assert chats.opt_out("104") is True
    assert chats.opt_out("104") is False  # nothing left to stop
    assert chats.choose("104", YEAR_GROUPS, ["Year 1"]) is None
    settings = chats.reminders("104")
    assert not settings.opted_in and settings.year_groups == ()
    with unit_of_work(chats.database_url) as session:
        assert subscribers.choices(session, SCHOOL, CHANNEL, "104") == subscribers.Choices(opted_in=False)


def test_a_chat_never_seen_gets_no_reminders_and_stopping_it_stops_nothing(chats):
    assert not chats.reminders("105").opted_in
    assert chats.opt_out("105") is False


def test_in_a_trust_a_chat_without_a_schools_link_has_no_school_and_nothing_is_stored(trust_chats):
    assert trust_chats.welcome("201").profile is None
    assert trust_chats.welcome("201", "no-such-school").profile is None  # an unknown link is ignored
    assert trust_chats.school("201") is None
    assert trust_chats.opt_in("201") == NO_SCHOOL
    assert trust_chats.reminders("201") == NO_SCHOOL
    assert trust_chats.choose("201", YEAR_GROUPS, ["Year 7"]) is None
    with unit_of_work(trust_chats.database_url) as session:
        assert subscribers.schools_of(session, CHANNEL, "201") == []


def test_in_a_trust_the_latest_link_picks_the_school_and_stop_stops_every_school(trust_chats):
    academy = trust_chats.welcome("202", " Example-Academy ")
    assert academy.profile.ref == "example-academy" and academy.first_contact
    trust_chats.opt_in("202")
    primary = trust_chats.welcome("202", "example-primary")
    assert primary.profile.ref == "example-primary" and primary.first_contact  # each school's notice
    assert trust_chats.school("202") == "example-primary"
    assert not primary.opted_in  # opting in at the academy is the academy's
    trust_chats.opt_in("202")
    assert trust_chats.opt_out("202") is True
    with unit_of_work(trust_chats.database_url) as session:
        for ref in ("example-academy", "example-primary"):
            assert not subscribers.choices(session, ref, CHANNEL, "202").opted_in
    assert trust_chats.welcome("202").profile.ref == "example-primary"  # no link: the latest one


def test_the_settings_offer_only_the_lists_the_school_has_in_order():
    both = ReminderSettings(True, ("Year 9", "Gone"), (), ("Year 8", "Year 9"), ("Workshops",))
    assert both.chosen(YEAR_GROUPS) == ("Year 9",)  # a name the school removed is not shown
    assert both.first_step() == YEAR_GROUPS and both.step_after(YEAR_GROUPS) == INTERESTS
    assert both.step_after(INTERESTS) is None
    only_interests = ReminderSettings(True, interest_options=("Workshops",))
    assert only_interests.first_step() == INTERESTS
    assert ReminderSettings(True, year_group_options=("Year 1",)).step_after(YEAR_GROUPS) is None
    assert NO_SCHOOL.first_step() is None
