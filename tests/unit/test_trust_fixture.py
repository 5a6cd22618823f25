"""The generated trust of `make bench-scale` (bench/trust_fixture.py) is a real trust deployment.

50 schools in 5 local authorities, loaded through the production code path (`load_deployment`,
`load_everything`, which `bot.cli setup` runs), each with its own profile, SENCo, staff and
local offer; no Rasa needed.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bench.trust_fixture import generate_trust, mentioned_schools, seed_with_cli, stored_schools
from bot.seed import load_everything
from knowledge.parents.assistant import Assistant
from knowledge.parents.local_offer import search_services
from knowledge.schools.deployment import load_deployment
from knowledge.schools.profile import load_profile_file
from knowledge.schools.tenancy import parent_school, staff_school
from knowledge.shared.db import unit_of_work
from knowledge.shared.models import School, StaffMember
from tests.conftest import make_settings

SCHOOLS = 50


@pytest.fixture(scope="module")
def trust(tmp_path_factory):
    return generate_trust(tmp_path_factory.mktemp("trust"), SCHOOLS)


@pytest.fixture(scope="module")
def seeded(trust, tmp_path_factory):
    settings = make_settings(tmp_path_factory.mktemp("db"), schools_file=trust.schools_file)
    load_everything(settings)
    return settings


def test_the_deployment_lists_fifty_schools_each_with_its_own_files(trust, seeded):
    deployment = load_deployment(seeded)
    assert deployment.several and len(deployment.schools) == SCHOOLS
    refs = [load_profile_file(source.profile).ref for source in deployment.schools]
    assert refs == [f"school-{n:02d}" for n in range(1, SCHOOLS + 1)] == list(trust.refs)
    assert len({source.profile for source in deployment.schools}) == SCHOOLS
    assert len({source.staff for source in deployment.schools}) == SCHOOLS
    assert all(source.calendar and source.calendar.exists() for source in deployment.schools)
    assert len(deployment.local_offers) == 5
    assert all(trust.folder in source.profile.parents for source in deployment.schools)


def test_seeding_creates_fifty_schools_each_with_its_own_senco_and_staff(trust, seeded):
    with unit_of_work(seeded.database_url) as session:
        schools = {s.ref: s for s in session.execute(select(School)).scalars()}
        staff = list(session.execute(select(StaffMember)).scalars())
    assert set(schools) == set(trust.refs)
    sencos = {ref: school.profile["senco"] for ref, school in schools.items()}
    assert all(senco["email"] == f"senco@{ref}.example.sch.uk" for ref, senco in sencos.items())
    assert len({senco["name"] for senco in sencos.values()}) == SCHOOLS
    assert all(school.is_example and school.calendar["terms"] for school in schools.values())
    assert len({school.name for school in schools.values()}) == SCHOOLS
    # Every school's roster is its own: no Slack id on two schools' rosters.
    assert len(staff) == 7 * SCHOOLS
    assert len({member.slack_user_id for member in staff}) == len(staff)
    with unit_of_work(seeded.database_url) as session:
        assert parent_school(session, {"school": "school-37"}).ref == "school-37"
        assert staff_school(session, "U0B037SNC").ref == "school-37"


def test_each_parent_gets_their_own_schools_senco_and_no_other_school(trust, seeded):
    for school in trust.schools:
        reply = Assistant(seeded, school.ref).answer_topic("contact_senco", "how do i contact the senco")
        assert school.senco_email in reply.text and school.senco_name in reply.text
        assert mentioned_schools(reply.text) == {school.ref}


def test_two_local_authorities_local_offers_are_kept_apart(trust, seeded):
    first, eleventh = trust.school("school-01"), trust.school("school-11")
    assert first.local_offer_dataset != eleventh.local_offer_dataset
    assert trust.school("school-10").local_offer_dataset == first.local_offer_dataset
    question = "is there speech therapy for my 6 year old"
    one = Assistant(seeded, first.ref).answer_local_offer(question).text
    other = Assistant(seeded, eleventh.ref).answer_local_offer(question).text
    assert first.town in one and eleventh.town not in one
    assert eleventh.town in other and first.town not in other
    assert "Example Borough 01" in one and "Example Borough 02" in other
    with unit_of_work(seeded.database_url) as session:
        for school in (first, eleventh):
            dataset = school.local_offer_dataset
            found = search_services(session, text="speech therapy", dataset=dataset, limit=20)
            assert found.results and all(school.town in service.name for service in found.results)


def test_mentions_of_generated_schools_are_found_and_the_shipped_examples_are_not():
    text = "Email senco@school-07.example.sch.uk, see example.org/school-12/privacy or Example School 33."
    assert mentioned_schools(text) == {"school-07", "school-12", "school-33"}
    assert mentioned_schools("Our SENCo at Example Primary School, https://example.org/school") == set()


def test_bot_cli_setup_loads_the_generated_trust(tmp_path):
    trust = generate_trust(tmp_path / "trust", 12, councils=3)
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert "schools: 12" in seed_with_cli(trust, url)
    stored = stored_schools(url)
    assert stored == {s.ref: (s.senco_email, s.local_offer_dataset) for s in trust.schools}
    assert len({dataset for _, dataset in stored.values()}) == 3
