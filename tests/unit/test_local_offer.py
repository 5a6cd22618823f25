"""The local offer: Open Referral UK import and export, and searching it for a parent."""

from __future__ import annotations

import json

from knowledge.parents.assistant import Assistant
from knowledge.parents.local_offer import export_oruk, search_services
from knowledge.parents.local_offer_import import import_oruk
from knowledge.shared.db import unit_of_work
from knowledge.shared.settings import PROJECT_ROOT

EXAMPLE = json.loads((PROJECT_ROOT / "school_data/example_local_offer.json").read_text())


def _contains(exported, original) -> bool:
    """Every value the feed gave is in the export (the export may add ORUK fields)."""
    if isinstance(original, dict):
        return isinstance(exported, dict) and all(
            v is None or _contains(exported.get(k), v) for k, v in original.items()
        )
    if isinstance(original, list):  # ORUK collections are unordered: match items by id
        by_id = {item.get("id"): item for item in exported}
        return len(exported) == len(original) and all(_contains(by_id.get(o.get("id")), o) for o in original)
    return exported == original


def test_export_gives_back_what_was_imported(settings):
    with unit_of_work(settings.database_url) as session:
        exported = export_oruk(session)
    assert exported["total_items"] == len(EXAMPLE["contents"])
    by_id = {s["id"]: s for s in exported["contents"]}
    for original in EXAMPLE["contents"]:
        assert _contains(by_id[original["id"]], original), original["name"]


def test_reimporting_the_export_is_stable(settings):
    with unit_of_work(settings.database_url) as session:
        first = export_oruk(session)
    with unit_of_work(settings.database_url) as session:
        import_oruk(session, first, "example_local_offer")
    with unit_of_work(settings.database_url) as session:
        assert export_oruk(session) == first


def test_broken_entries_are_skipped_and_reported(settings):
    document = {"contents": [{"id": "x1"}, {"name": "No id"}, EXAMPLE["contents"][0], "junk"]}
    with unit_of_work(settings.database_url) as session:
        report = import_oruk(session, document, "broken")
    assert report.imported == 1
    assert len(report.skipped) == 3


def test_search_by_service_type_and_age(settings):
    with unit_of_work(settings.database_url) as session:
        outcome = search_services(session, service_types=["speech_and_language_therapy"], age=6)
    assert outcome.results
    assert all("Speech" in s.name for s in outcome.results)


def test_closed_services_are_never_offered(settings):
    with unit_of_work(settings.database_url) as session:
        outcome = search_services(session, service_types=["physiotherapy"], limit=10)
    assert outcome.results
    assert not any("Hydrotherapy" in s.name for s in outcome.results)


def test_a_service_for_another_age_is_mentioned_not_offered(settings):
    with unit_of_work(settings.database_url) as session:
        outcome = search_services(session, service_types=["early_years"], age=12)
    assert not outcome.results
    assert outcome.wrong_age


def test_a_parent_asking_for_speech_therapy_for_a_young_child(settings):
    reply = Assistant(settings).answer_local_offer("is there speech therapy near us for my 4 year old")
    assert "Speech and Language Therapy" in reply.text
    assert "for a 4-year-old" in reply.text
    assert "01632" in reply.text
    assert "checked" in reply.text


def test_entities_from_the_nlu_model_are_used(settings):
    entities = [{"entity": "service_type", "value": "salt"}]
    reply = Assistant(settings).answer_local_offer("anything like that round here", entities)
    assert "Speech and Language Therapy" in reply.text


def test_nothing_found_is_said_honestly_with_where_to_look(settings):
    reply = Assistant(settings).answer_local_offer("early years support for my 15 year old")
    assert reply.text.startswith("I couldn't find")
    assert "https://example.org/council/local-offer" in reply.text


def test_no_service_named_gets_a_question_back(settings):
    reply = Assistant(settings).answer_local_offer("")
    assert reply.text.startswith("What kind of service")


def test_costs_keep_their_conditions_and_ages_read_naturally(settings):
    reply = Assistant(settings).answer_local_offer("any holiday clubs for my 8 year old")
    assert "for an 8-year-old" in reply.text
    assert "£15 per day" in reply.text
    assert "Free (free places for children" in reply.text
