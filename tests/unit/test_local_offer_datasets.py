"""Several local authorities' local offers in one database: ids are global, offers stay apart.

A trust serves schools in several local authorities. Each authority's ORUK file is a
dataset, and a school's parents see only its own. Two councils' files can share ids (both
exported from one supplier's template): the council loaded first keeps them, the other
council's clashing services are skipped with a reason, and nothing the first council's
parents see changes. Ids of a dataset no school uses (a renamed file's old name, a
one-school deployment) are taken over as before.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import shutil
from pathlib import Path
from typing import Callable

import pytest
from sqlalchemy import func, select

from bot import cli
from bot.seed import load_everything
from knowledge.parents.assistant import Assistant
from knowledge.parents.local_offer import export_oruk, search_services
from knowledge.parents.local_offer_import import import_oruk, services_per_dataset
from knowledge.shared.db import unit_of_work
from knowledge.shared.models import Location, Organization, Service
from knowledge.shared.settings import PROJECT_ROOT
from tests.conftest import make_settings

BOROUGH, COUNTY = "borough", "county"  # the datasets: the councils' file names


def _service(key: str, name: str, council: str, town: str) -> dict:
    """One fully nested ORUK service whose every id is made from `key` (or `council`, if shared)."""
    return {
        "id": f"svc-{key}",
        "name": name,
        "description": f"{name}: sessions for disabled children and young people in {town}.",
        "status": "active",
        "minimum_age": 5,
        "maximum_age": 18,
        "organization": {"id": f"org-{council}", "name": f"{town} Council"},
        "contacts": [
            {
                "id": f"contact-{key}",
                "name": "Duty desk",
                "phones": [{"id": f"phone-{key}", "number": "01632 960001"}],
            }
        ],
        "cost_options": [{"id": f"cost-{key}", "amount": 15, "amount_description": "£15 per session"}],
        "service_at_locations": [
            {
                "id": f"sal-{key}",
                "location": {
                    "id": f"loc-{council}",
                    "name": f"{town} Leisure Centre",
                    "addresses": [{"id": f"addr-{council}", "address_1": "1 High Street", "city": town}],
                },
            }
        ],
        "attributes": [
            {
                "id": f"attr-{key}",
                "link_type": "service_type",
                "taxonomy_term": {"id": "short_breaks", "name": "Short breaks", "code": "short_breaks"},
            }
        ],
    }


def _borough() -> dict:
    return {
        "contents": [
            _service("b1", "Exampletown Swim Club", BOROUGH, "Exampletown"),
            _service("b2", "Exampletown Art Club", BOROUGH, "Exampletown"),
        ]
    }


def _county() -> dict:
    return {
        "contents": [
            _service("c1", "Sampleford Swim Club", COUNTY, "Sampleford"),
            _service("c2", "Sampleford Art Club", COUNTY, "Sampleford"),
        ]
    }


def _write_trust(folder: Path, borough: dict, county: dict) -> Path:
    """A trust of two schools: the primary in the borough, the academy in the county."""
    (folder / f"{BOROUGH}.json").write_text(json.dumps(borough), encoding="utf-8")
    (folder / f"{COUNTY}.json").write_text(json.dumps(county), encoding="utf-8")
    schools = folder / "trust.yml"
    schools.write_text(
        "schools:\n"
        f"  - profile: {PROJECT_ROOT / 'school_data/example_school.yml'}\n"
        f"    local_offer: {BOROUGH}.json\n"
        f"  - profile: {PROJECT_ROOT / 'school_data/example_academy.yml'}\n"
        f"    local_offer: {COUNTY}.json\n",
        encoding="utf-8",
    )
    return schools


@pytest.fixture
def trust(tmp_path):
    """A loaded trust whose two councils' files share no id."""
    settings = make_settings(tmp_path, schools_file=_write_trust(tmp_path, _borough(), _county()))
    report = load_everything(settings)
    assert report.services == 4 and not report.skipped_services
    return settings


def _found(session, dataset: str) -> set[str]:
    """What a school of this dataset's parents find when they ask for short breaks."""
    found = search_services(session, service_types=["short_breaks"], dataset=dataset, limit=10)
    return {s.name for s in found.results}


def _reusing(change: Callable[[dict], None]) -> dict:
    """The county's file with its swim club changed by `change` to reuse one of the borough's ids."""
    county = _county()
    change(county["contents"][0])
    return county


# How a skipped service's reason names the id -> (the borough's id the county reuses, how).
CLASHES = {
    "id": ("svc-b1", lambda s: s.update(id="svc-b1")),  # the service's own
    "organisation id": ("org-borough", lambda s: s["organization"].update(id="org-borough")),
    "location id": (
        "loc-borough",
        lambda s: s["service_at_locations"][0]["location"].update(id="loc-borough"),
    ),
    "contact id": ("contact-b1", lambda s: s["contacts"][0].update(id="contact-b1")),
    "phone id": ("phone-b1", lambda s: s["contacts"][0]["phones"][0].update(id="phone-b1")),
    "cost option id": ("cost-b1", lambda s: s["cost_options"][0].update(id="cost-b1")),
    "service-at-location id": ("sal-b1", lambda s: s["service_at_locations"][0].update(id="sal-b1")),
    "attribute id": ("attr-b1", lambda s: s["attributes"][0].update(id="attr-b1")),
    "address id": (
        "addr-borough",
        lambda s: s["service_at_locations"][0]["location"]["addresses"][0].update(id="addr-borough"),
    ),
}


@pytest.mark.parametrize("what", list(CLASHES))
def test_a_council_reusing_an_id_of_another_schools_council_is_skipped_leaving_that_offer_as_it_was(
    trust, what
):
    clashing_id, change = CLASHES[what]
    with unit_of_work(trust.database_url) as session:
        borough_before = export_oruk(session, BOROUGH)
    with unit_of_work(trust.database_url) as session:  # no IntegrityError, whatever the id
        report = import_oruk(session, _reusing(change), COUNTY)
    assert report.imported == 1
    assert report.skipped == [
        f"Sampleford Swim Club: its {what} '{clashing_id}' is already used by the local offer 'borough' of "
        "another school; skipped. Each local authority's services need their own ids."
    ]
    with unit_of_work(trust.database_url) as session:
        assert export_oruk(session, BOROUGH) == borough_before
        assert _found(session, BOROUGH) == {"Exampletown Swim Club", "Exampletown Art Club"}
        assert _found(session, COUNTY) == {"Sampleford Art Club"}


def test_the_first_councils_service_organisation_and_address_stay_its_own(trust):
    county = _county()
    swim = county["contents"][0]
    swim["id"] = "svc-b1"
    swim["organization"]["id"] = "org-borough"
    swim["service_at_locations"][0]["location"]["id"] = "loc-borough"
    with unit_of_work(trust.database_url) as session:
        report = import_oruk(session, county, COUNTY)
    assert len(report.skipped) == 1 and "'borough'" in report.skipped[0]
    with unit_of_work(trust.database_url) as session:
        service = session.get(Service, "svc-b1")
        assert (service.name, service.dataset) == ("Exampletown Swim Club", BOROUGH)
        organization = session.get(Organization, "org-borough")
        assert (organization.name, organization.dataset) == ("Exampletown Council", BOROUGH)
        location = session.get(Location, "loc-borough")
        assert location.name == "Exampletown Leisure Centre"
        assert [a.city for a in location.addresses] == ["Exampletown"]
        found = search_services(session, service_types=["short_breaks"], dataset=BOROUGH, limit=10).results
        assert {s.town for s in found} == {"Exampletown"}


def test_the_setup_reports_the_clash_and_keeps_both_schools_offers_apart(tmp_path):
    county = _reusing(CLASHES["contact id"][1])
    settings = make_settings(tmp_path, schools_file=_write_trust(tmp_path, _borough(), county))
    report = load_everything(settings)
    assert report.services == 3
    assert len(report.skipped_services) == 1
    assert "local offer 'borough' of another school" in report.skipped_services[0]
    assert "  skipped: Sampleford Swim Club: its contact id 'contact-b1'" in "\n".join(report.lines())
    again = load_everything(settings)  # every start reloads: the same council keeps the ids
    assert (again.services, again.skipped_services) == (report.services, report.skipped_services)
    with unit_of_work(settings.database_url) as session:
        assert _found(session, BOROUGH) == {"Exampletown Swim Club", "Exampletown Art Club"}
        assert _found(session, COUNTY) == {"Sampleford Art Club"}


def test_reimporting_a_council_replaces_its_own_services(trust):
    borough = _borough()
    borough["contents"][0]["name"] = "Exampletown Swimming Club"
    del borough["contents"][1]
    borough["contents"].append(_service("b3", "Exampletown Drama Club", BOROUGH, "Exampletown"))
    with unit_of_work(trust.database_url) as session:
        report = import_oruk(session, borough, BOROUGH)
    assert (report.imported, report.skipped) == (2, [])
    with unit_of_work(trust.database_url) as session:
        assert _found(session, BOROUGH) == {"Exampletown Swimming Club", "Exampletown Drama Club"}
        assert session.get(Service, "svc-b2") is None
        assert _found(session, COUNTY) == {"Sampleford Swim Club", "Sampleford Art Club"}


def test_a_school_whose_local_offer_file_is_renamed_takes_over_its_old_ids(tmp_path, trust):
    """The county's file renamed: its old dataset is no school's any more, so its ids are free."""
    shutil.copyfile(tmp_path / f"{COUNTY}.json", tmp_path / "county_2026.json")
    schools = tmp_path / "trust.yml"
    schools.write_text(schools.read_text(encoding="utf-8").replace(f"{COUNTY}.json", "county_2026.json"))
    report = load_everything(trust)
    assert (report.services, report.skipped_services) == (4, [])
    with unit_of_work(trust.database_url) as session:
        assert _found(session, "county_2026") == {"Sampleford Swim Club", "Sampleford Art Club"}
        assert _found(session, COUNTY) == set()
        assert session.get(Organization, "org-county").dataset == "county_2026"


def test_one_school_renaming_its_local_offer_file_keeps_its_services(tmp_path, settings):
    """One school: no school has a dataset, so the renamed file replaces the old one's services."""
    renamed = tmp_path / "local_offer_2026.json"
    shutil.copyfile(PROJECT_ROOT / "school_data/example_local_offer.json", renamed)
    with unit_of_work(settings.database_url) as session:
        before = session.execute(select(func.count(Service.id))).scalar_one()
    report = load_everything(dataclasses.replace(settings, local_offer_file=renamed))
    assert (report.services, report.skipped_services) == (before, [])
    with unit_of_work(settings.database_url) as session:
        datasets = session.execute(select(Service.dataset, func.count()).group_by(Service.dataset)).all()
        assert datasets == [("local_offer_2026", before)]
        speech = search_services(session, service_types=["speech_and_language_therapy"], limit=10).results
        assert len({s.name for s in speech}) == len(speech) > 0  # each service once, not twice


def test_a_school_switching_to_its_own_councils_file_is_told_the_example_offer_is_still_answered(
    tmp_path, settings, monkeypatch, capsys
):
    """One school: its new file shares no id with the example, so both would be answered;
    setup says so and how to remove the old one, and the command removes only that."""
    own = tmp_path / "our_council.json"
    own.write_text(json.dumps(_borough()), encoding="utf-8")
    switched = dataclasses.replace(settings, local_offer_file=own)
    report = load_everything(switched)
    with unit_of_work(settings.database_url) as session:
        example = services_per_dataset(session)["example_local_offer"]
    assert report.unlisted_datasets == {"example_local_offer": example}
    assert any(
        "'example_local_offer'" in line
        and "still answered" in line
        and "remove-local-offer example_local_offer" in line
        for line in report.lines()
    ), report.lines()

    monkeypatch.setattr(cli, "get_settings", lambda: switched)
    assert cli.main(["remove-local-offer", "example_local_offer"]) == 0
    assert f"Removed the {example} services" in capsys.readouterr().out
    with unit_of_work(settings.database_url) as session:
        assert services_per_dataset(session) == {"our_council": 2}
        assert _found(session, None) == {"Exampletown Swim Club", "Exampletown Art Club"}
        assert session.execute(select(func.count(Organization.id))).scalar_one() == 1
    assert load_everything(switched).unlisted_datasets == {}


def test_removing_the_configured_or_an_unknown_local_offer_is_refused_with_a_reason(
    settings, monkeypatch, capsys
):
    monkeypatch.setattr(cli, "get_settings", lambda: settings)
    assert cli.main(["remove-local-offer", "example_local_offer"]) == 1
    assert "your settings name" in capsys.readouterr().err
    assert cli.main(["remove-local-offer", "no_such_council"]) == 1
    refused = capsys.readouterr().err
    assert "no local offer called 'no_such_council' (there are: example_local_offer)" in refused
    with unit_of_work(settings.database_url) as session:
        assert services_per_dataset(session)["example_local_offer"] > 0


def test_a_trust_is_told_of_a_council_file_no_school_lists_any_more(tmp_path, trust):
    dropped = tmp_path / "trust.yml"
    dropped.write_text(
        "schools:\n"
        f"  - profile: {PROJECT_ROOT / 'school_data/example_school.yml'}\n"
        f"    local_offer: {BOROUGH}.json\n"
        f"  - profile: {PROJECT_ROOT / 'school_data/example_academy.yml'}\n",
        encoding="utf-8",
    )
    report = load_everything(trust)
    assert report.unlisted_datasets == {COUNTY: 2}
    assert any("no school's parents see it" in line for line in report.lines())
    # ...and the academy, now without a local offer, is not shown the borough's instead.
    academy = Assistant(trust, "example-academy").answer_local_offer("is there a swim club in town")
    assert "Swim Club" not in academy.text and "couldn't find" in academy.text
    primary = Assistant(trust, "example-primary").answer_local_offer("is there a swim club in town")
    assert "Exampletown Swim Club" in primary.text


def test_ids_of_a_dataset_no_school_uses_are_taken_over_not_refused(settings):
    """One school: another service's contact id in a second file moves to the new service."""
    with unit_of_work(settings.database_url) as session:
        old = export_oruk(session)["contents"][0]
    newer = copy.deepcopy(old)
    newer["id"], newer["name"] = "a-new-service-id", "A newer service"
    with unit_of_work(settings.database_url) as session:
        report = import_oruk(session, [newer], "another_file")
    assert (report.imported, report.skipped) == (1, [])
    with unit_of_work(settings.database_url) as session:
        assert [c.id for c in session.get(Service, "a-new-service-id").contacts] == [
            c["id"] for c in old["contacts"]
        ]
        assert session.get(Service, old["id"]).contacts == []


def test_ids_repeated_within_one_file_skip_the_later_service_instead_of_failing(settings):
    first = _service("x1", "First Club", "x", "Exampletown")
    same_id = _service("x2", "Same Id Club", "x", "Exampletown")
    same_id["id"] = "svc-x1"
    same_contact = _service("x3", "Same Contact Club", "x", "Exampletown")
    same_contact["contacts"][0]["id"] = "contact-x1"
    other_place = _service("x4", "Moved Address Club", "x", "Exampletown")
    other_place["service_at_locations"][0]["location"]["id"] = "loc-elsewhere"
    shares_the_place = _service("x5", "Neighbour Club", "x", "Exampletown")
    with unit_of_work(settings.database_url) as session:
        report = import_oruk(session, [first, same_id, same_contact, other_place, shares_the_place], "x")
    assert report.imported == 2  # the first, and the neighbour sharing its organisation and location
    assert report.skipped == [
        "Same Id Club: its id 'svc-x1' is used by another service in this file; skipped. "
        "Each service needs its own ids.",
        "Same Contact Club: its contact id 'contact-x1' is used twice in this file; skipped. "
        "Each service needs its own ids.",
        "Moved Address Club: its address id 'addr-x' is also given for another location in this file; "
        "skipped. Each address needs its own id.",
    ]


def test_a_child_row_without_an_id_is_reported_not_a_crash(settings):
    broken = _service("y1", "No Contact Id Club", "y", "Exampletown")
    del broken["contacts"][0]["id"]
    with unit_of_work(settings.database_url) as session:
        report = import_oruk(session, [broken], "y")
    assert (report.imported, report.skipped) == (0, ["No Contact Id Club: a contact without an id"])
