"""Parents' reminder choices: which year groups and kinds of reminder they want, offered from the
school's own profile, stored only while they are opted in, and honoured when a broadcast is sent."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from knowledge.broadcasts import subscribers
from knowledge.broadcasts.audiences import resolve
from knowledge.broadcasts.subscribers import CHOICE_CHARS, MAX_CHOICES, Choices
from knowledge.schools.profile import ProfileError, load_profile_file, profile_from_dict
from knowledge.shared.db import unit_of_work
from knowledge.shared.settings import PROJECT_ROOT
from tests.unit.test_broadcasts import NOW_AT, SCHOOL, add_parent, build_template, fresh_copy

EXAMPLE_PROFILE = PROJECT_ROOT / "school_data/example_school.yml"


@pytest.fixture(scope="module")
def template_db(tmp_path_factory) -> Path:
    return build_template(tmp_path_factory)


@pytest.fixture
def db(template_db: Path, tmp_path: Path) -> str:
    return fresh_copy(template_db, tmp_path)


def choose(db: str, address: str, **lists) -> Choices | None:
    with unit_of_work(db) as session:
        return subscribers.choose(session, SCHOOL, "telegram", address, **lists)


def choices(db: str, address: str) -> Choices:
    with unit_of_work(db) as session:
        return subscribers.choices(session, SCHOOL, "telegram", address)


def parents_for(db: str, parents: dict) -> list[str]:
    with unit_of_work(db) as session:
        return [r.address for r in resolve(session, SCHOOL, {"parents": parents})]


# --- What the school offers -------------------------------------------------------------------


def test_the_example_school_profile_offers_its_year_groups_and_kinds_of_reminder_as_example_data():
    profile = load_profile_file(EXAMPLE_PROFILE)
    assert profile.is_example
    assert profile.reminder_year_groups[:3] == ("Nursery", "Reception", "Year 1")
    assert "Year 6" in profile.reminder_year_groups
    assert profile.reminder_interests == ("Workshops", "Coffee mornings", "Consultation events")


def test_a_profile_without_a_reminders_section_offers_nothing_to_choose():
    raw = yaml.safe_load(EXAMPLE_PROFILE.read_text())
    del raw["reminders"]
    profile = profile_from_dict(raw)
    assert profile.reminder_year_groups == () and profile.reminder_interests == ()


def test_a_schools_own_lists_are_read_tidied_and_kept_in_the_schools_order():
    raw = yaml.safe_load(EXAMPLE_PROFILE.read_text())
    raw["reminders"] = {"year_groups": ["Year 7", " Year  8 ", "Year 7", "Year 11"], "interests": None}
    profile = profile_from_dict(raw)
    assert profile.reminder_year_groups == ("Year 7", "Year 8", "Year 11")
    assert profile.reminder_interests == ()


@pytest.mark.parametrize(
    ("reminders", "complaint"),
    [
        ("Year 3", "must be a mapping"),
        ({"year_groups": "Year 3"}, "must be a list"),
        ({"interests": ["x" * (CHOICE_CHARS + 1)]}, f"{CHOICE_CHARS} characters or fewer"),
        ({"year_groups": [f"Class {n}" for n in range(MAX_CHOICES + 1)]}, f"at most {MAX_CHOICES}"),
    ],
)
def test_a_reminders_section_the_bot_cannot_offer_is_refused_with_a_clear_message(reminders, complaint):
    raw = yaml.safe_load(EXAMPLE_PROFILE.read_text())
    raw["reminders"] = reminders
    with pytest.raises(ProfileError, match=complaint):
        profile_from_dict(raw, "my_school.yml")


# --- Storing a parent's choices ---------------------------------------------------------------


def test_someone_never_seen_is_not_opted_in_and_has_chosen_nothing(db):
    assert choices(db, "never") == Choices(opted_in=False, year_groups=(), interests=())


def test_an_opted_in_parent_choosing_year_groups_keeps_their_interests_and_the_reverse(db):
    add_parent(db, "501")
    assert choose(db, "501", year_groups=["Year 3", "Year 5"]) == Choices(True, ("Year 3", "Year 5"), ())
    assert choose(db, "501", interests=["Coffee mornings"]) == Choices(
        True, ("Year 3", "Year 5"), ("Coffee mornings",)
    )
    assert choose(db, "501", year_groups=[]) == Choices(True, (), ("Coffee mornings",))
    assert choices(db, "501") == Choices(True, (), ("Coffee mornings",))


def test_choices_are_tidied_kept_once_cut_to_length_and_capped(db):
    add_parent(db, "502")
    many = [f"Group {n}" for n in range(MAX_CHOICES + 5)]
    stored = choose(db, "502", year_groups=[" Year  3 ", "Year 3", "", *many], interests=["w" * 100])
    assert stored.year_groups[0] == "Year 3"
    assert len(stored.year_groups) == MAX_CHOICES
    assert stored.interests == ("w" * CHOICE_CHARS,)


def test_nothing_is_stored_for_someone_who_has_not_opted_in_or_has_stopped(db):
    add_parent(db, "503", opted_in=False)
    assert choose(db, "503", year_groups=["Year 3"]) is None
    assert choose(db, "never-seen", year_groups=["Year 3"]) is None
    assert choices(db, "503").year_groups == ()

    add_parent(db, "504", year_groups=["Year 4"])
    with unit_of_work(db) as session:
        subscribers.opt_out(session, SCHOOL, "telegram", "504", now=NOW_AT)
    assert choose(db, "504", interests=["Workshops"]) is None
    assert choices(db, "504") == Choices(opted_in=False)


def test_stopping_reminders_forgets_the_year_groups_and_interests_and_opting_in_again_starts_afresh(db):
    add_parent(db, "505", year_groups=["Year 2"], interests=["Workshops"])
    with unit_of_work(db) as session:
        assert subscribers.opt_out(session, SCHOOL, "telegram", "505", now=NOW_AT)
    assert choices(db, "505") == Choices(opted_in=False, year_groups=(), interests=())
    add_parent(db, "505")
    assert choices(db, "505") == Choices(opted_in=True, year_groups=(), interests=())


# --- Honoured when a broadcast is sent --------------------------------------------------------


def test_a_parents_chosen_year_groups_decide_which_year_group_broadcasts_reach_them(db):
    add_parent(db, "601")
    choose(db, "601", year_groups=["Year 3"])
    assert parents_for(db, {"year_groups": ["Year 3"]}) == ["601"]
    assert parents_for(db, {"year_groups": ["Year 4"]}) == []

    choose(db, "601", year_groups=["Year 4", "Reception"])
    assert parents_for(db, {"year_groups": ["Year 3"]}) == []
    assert parents_for(db, {"year_groups": ["Reception"]}) == ["601"]
    assert parents_for(db, "all") == ["601"]


def test_a_parent_who_chose_all_year_groups_or_skipped_gets_every_year_groups_broadcast(db):
    add_parent(db, "602")
    choose(db, "602", year_groups=[])  # "All year groups"
    add_parent(db, "603")  # skipped: never chose
    add_parent(db, "604", year_groups=["Year 6"])
    assert parents_for(db, {"year_groups": ["Year 1"]}) == ["602", "603"]
    assert parents_for(db, {"year_groups": ["Year 6"]}) == ["602", "603", "604"]


def test_a_parents_chosen_kinds_of_reminder_decide_which_interest_broadcasts_reach_them(db):
    add_parent(db, "701")
    choose(db, "701", year_groups=["Year 3"], interests=["Coffee mornings"])
    add_parent(db, "702", year_groups=["Year 3"])  # every kind
    add_parent(db, "703", interests=["Workshops"])  # every year group
    assert parents_for(db, {"interests": ["coffee mornings"]}) == ["701", "702"]
    assert parents_for(db, {"interests": ["workshops"]}) == ["702", "703"]
    assert parents_for(db, {"year_groups": ["Year 3"], "interests": ["workshops"]}) == ["702", "703"]
    assert parents_for(db, {"year_groups": ["Year 5"], "interests": ["workshops"]}) == ["703"]


def test_a_parent_who_stopped_gets_no_broadcast_whatever_they_had_chosen(db):
    add_parent(db, "801", year_groups=["Year 3"], interests=["Coffee mornings"])
    with unit_of_work(db) as session:
        subscribers.opt_out(session, SCHOOL, "telegram", "801", now=NOW_AT)
    assert parents_for(db, {"year_groups": ["Year 3"], "interests": ["coffee mornings"]}) == []
    assert parents_for(db, "all") == []
