"""Importing a local authority's local offer (Open Referral UK 3.0) into the ORUK tables.

`import_oruk` reads the body of an ORUK `GET /services` response (or a plain list of
fully nested services). Import is forgiving where the standard is loose: a service without
an id, a name or an organisation is skipped and reported rather than failing the whole feed.

Ids are global in these tables, but a trust serves several local authorities, one
dataset each. A service whose ids (its own, its organisation's, its location's or a
contact's, phone's, cost option's, service_at_location's, attribute's or address's) are
already used by the dataset of another school is skipped and reported too, and that
school's offer is left exactly as it was. Ids held by a dataset no school uses (a renamed
file's old name, any dataset in a one-school deployment) are taken over instead.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from knowledge.parents.local_offer import ACTIVE
from knowledge.shared.models import (
    Address,
    Attribute,
    Contact,
    CostOption,
    Location,
    Organization,
    Phone,
    School,
    Service,
    ServiceAtLocation,
    TaxonomyTerm,
)


@dataclass
class ImportReport:
    dataset: str
    imported: int = 0
    skipped: list[str] = field(default_factory=list)


# What each kind of id is called in a skipped service's reason, in the order they are checked.
_ID_NAMES = {
    "service": "id",
    "organization": "organisation id",
    "location": "location id",
    "contact": "contact id",
    "phone": "phone id",
    "cost_option": "cost option id",
    "service_at_location": "service-at-location id",
    "attribute": "attribute id",
    "address": "address id",
}
# Rows that belong to one service only: two services of one file cannot share their ids.
_ONE_SERVICE_EACH = ("service", "contact", "phone", "cost_option", "service_at_location", "attribute")
# Ids per IN (...) list: well under SQLite's oldest limit of 999 bound parameters.
_CHUNK = 500


def _date(value: Any) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _datetime(value: Any) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None and value != "" else None
    except (TypeError, ValueError):
        return None


def _services_of(document: Any) -> list[dict]:
    if isinstance(document, list):
        return document
    if isinstance(document, dict) and isinstance(document.get("contents"), list):
        return document["contents"]
    raise ValueError("expected an ORUK /services page ({'contents': [...]}) or a list of services")


# The parts of a service that are stored. The clash checks and `_service_from` both read a
# service through these, so the ids checked are exactly the ids written.


def _dicts(value: Any) -> list[dict]:
    """The objects of a JSON array; anything else in a feed is ignored, as the standard is loose."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _contacts(raw: dict) -> list[dict]:
    return _dicts(raw.get("contacts"))


def _phones(contact_raw: dict) -> list[dict]:
    return [p for p in _dicts(contact_raw.get("phones")) if p.get("number")]


def _cost_options(raw: dict) -> list[dict]:
    return _dicts(raw.get("cost_options"))


def _places(raw: dict) -> list[tuple[dict, dict]]:
    """(service_at_location, location) pairs; a location without an id cannot be stored."""
    pairs = [(sal, sal.get("location")) for sal in _dicts(raw.get("service_at_locations"))]
    return [(sal, location) for sal, location in pairs if isinstance(location, dict) and location.get("id")]


def _addresses(location_raw: dict) -> list[dict]:
    """A location's addresses with an id, each once (a repeat would be a second row with one id)."""
    seen: dict[str, dict] = {}
    for address in _dicts(location_raw.get("addresses")):
        if address.get("id"):
            seen.setdefault(str(address["id"]), address)
    return list(seen.values())


def _attributes(raw: dict) -> list[tuple[dict, dict]]:
    """(attribute, taxonomy term) pairs, each term once per link type (the table allows no repeat)."""
    seen: dict[tuple[Any, str], tuple[dict, dict]] = {}
    for attribute in _dicts(raw.get("attributes")):
        term = attribute.get("taxonomy_term")
        if isinstance(term, dict) and term.get("id"):
            seen.setdefault((attribute.get("link_type"), str(term["id"])), (attribute, term))
    return list(seen.values())


@dataclass(frozen=True)
class _Incoming:
    """One well-formed service of the file and every id it would write."""

    label: str
    ids: dict[str, tuple[str, ...]]  # kind (a key of _ID_NAMES) -> ids
    address_places: dict[str, str]  # address id -> the location it is written under

    @classmethod
    def of(cls, raw: dict) -> _Incoming:
        contacts = _contacts(raw)
        places = _places(raw)
        ids = {
            "service": (str(raw["id"]),),
            "organization": (str(raw["organization"]["id"]),),
            "location": tuple(dict.fromkeys(str(location["id"]) for _, location in places)),
            "contact": tuple(str(c["id"]) for c in contacts),
            "phone": tuple(str(p["id"]) for c in contacts for p in _phones(c)),
            "cost_option": tuple(str(c["id"]) for c in _cost_options(raw)),
            "service_at_location": tuple(str(sal["id"]) for sal, _ in places),
            "attribute": tuple(str(a["id"]) for a, _ in _attributes(raw)),
        }
        address_places: dict[str, str] = {}
        for _, location in places:
            for address in _addresses(location):
                address_places.setdefault(str(address["id"]), str(location["id"]))
        ids["address"] = tuple(address_places)
        return cls(label=_label(raw), ids=ids, address_places=address_places)


def _label(raw: dict) -> str:
    return str(raw.get("name") or raw.get("id") or "a service").strip()


def import_oruk(session: Session, document: Any, dataset: str) -> ImportReport:
    """Replace the services of `dataset` with those in `document`, leaving other schools' offers alone.

    Ids are global in the ORUK tables, so a service whose id (or its organisation's,
    location's or a child row's) already belongs to the local offer another school uses is
    skipped and reported: taking it would silently change that school's offer. Ids of a
    dataset no school uses (an old file name, a single-school deployment) are taken over,
    so renaming a file keeps working.
    """
    report = ImportReport(dataset=dataset)
    entries = _services_of(document)
    reasons: dict[int, str] = {}
    candidates: dict[int, _Incoming] = {}
    for index, raw in enumerate(entries):
        problem = _problem(raw)
        if problem:
            reasons[index] = problem
        else:
            candidates[index] = _Incoming.of(raw)
    protected = _other_schools_datasets(session, dataset)
    owners = _protected_owners(session, list(candidates.values()), protected)
    claimed: dict[str, set[str]] = defaultdict(set)
    address_places: dict[str, str] = {}
    for index, incoming in candidates.items():
        reason = _clash(incoming, owners) or _repeated(incoming, claimed, address_places)
        if reason:
            reasons[index] = reason
            continue
        for kind, ids in incoming.ids.items():
            claimed[kind].update(ids)
        address_places.update(incoming.address_places)
    _make_room(session, dataset, [c for index, c in candidates.items() if index not in reasons])

    for index, raw in enumerate(entries):
        if index in reasons:
            report.skipped.append(reasons[index])
            continue
        session.add(_service_from(session, raw, dataset))
        session.flush()
        report.imported += 1
    return report


def remove_dataset(session: Session, dataset: str) -> int:
    """Take one dataset's services out of the local offer (a council file a school stopped
    using, or an import by hand); returns how many there were."""
    count = select(func.count(Service.id)).where(Service.dataset == dataset)
    removed = session.execute(count).scalar_one()
    _make_room(session, dataset, [])
    return removed


def services_per_dataset(session: Session) -> dict[str, int]:
    """How many services each dataset in the database holds."""
    rows = session.execute(select(Service.dataset, func.count(Service.id)).group_by(Service.dataset))
    return {dataset: count for dataset, count in rows}


def _problem(raw: Any) -> str | None:
    if not isinstance(raw, dict):
        return "an entry that is not an object"
    label = _label(raw)
    for key in ("id", "name"):
        if not str(raw.get(key) or "").strip():
            return f"{label}: missing {key}"
    organization = raw.get("organization")
    if not isinstance(organization, dict) or not organization.get("id") or not organization.get("name"):
        return f"{label}: missing organization id or name"
    children = (
        ("a contact", _contacts(raw)),
        ("a phone number", [p for c in _contacts(raw) for p in _phones(c)]),
        ("a cost option", _cost_options(raw)),
        ("a service_at_location", [sal for sal, _ in _places(raw)]),
        ("an attribute", [a for a, _ in _attributes(raw)]),
    )
    for what, rows in children:
        if any(not row.get("id") for row in rows):
            return f"{label}: {what} without an id"
    return None


def _other_schools_datasets(session: Session, dataset: str) -> set[str]:
    """The local offers some school's parents are shown, apart from the one being imported."""
    query = select(School.local_offer_dataset).where(
        School.local_offer_dataset.is_not(None), School.local_offer_dataset != dataset
    )
    return set(session.execute(query.distinct()).scalars())


def _chunks(ids: set[str]) -> list[list[str]]:
    ordered = sorted(ids)
    return [ordered[start : start + _CHUNK] for start in range(0, len(ordered), _CHUNK)]


def _owner_queries(protected: set[str]) -> list[tuple[str, Callable[[list[str]], Select]]]:
    """For each kind of id: a query of (id, dataset) rows where a protected dataset uses one of `ids`."""
    theirs = Service.dataset.in_(sorted(protected))
    at = ServiceAtLocation.service_id == Service.id
    return [
        ("service", lambda ids: select(Service.id, Service.dataset).where(Service.id.in_(ids), theirs)),
        (
            "organization",
            lambda ids: select(Organization.id, Organization.dataset).where(
                Organization.id.in_(ids), Organization.dataset.in_(sorted(protected))
            ),
        ),
        # ...and an organisation that another school's services point to, whatever its own dataset.
        (
            "organization",
            lambda ids: select(Service.organization_id, Service.dataset).where(
                Service.organization_id.in_(ids), theirs
            ),
        ),
        (
            "location",
            lambda ids: (
                select(ServiceAtLocation.location_id, Service.dataset)
                .join(Service, at)
                .where(ServiceAtLocation.location_id.in_(ids), theirs)
            ),
        ),
        (
            "contact",
            lambda ids: (
                select(Contact.id, Service.dataset)
                .join(Service, Contact.service_id == Service.id)
                .where(Contact.id.in_(ids), theirs)
            ),
        ),
        (
            "phone",
            lambda ids: (
                select(Phone.id, Service.dataset)
                .join(Contact, Phone.contact_id == Contact.id)
                .join(Service, Contact.service_id == Service.id)
                .where(Phone.id.in_(ids), theirs)
            ),
        ),
        (
            "cost_option",
            lambda ids: (
                select(CostOption.id, Service.dataset)
                .join(Service, CostOption.service_id == Service.id)
                .where(CostOption.id.in_(ids), theirs)
            ),
        ),
        (
            "service_at_location",
            lambda ids: (
                select(ServiceAtLocation.id, Service.dataset)
                .join(Service, at)
                .where(ServiceAtLocation.id.in_(ids), theirs)
            ),
        ),
        (
            "attribute",
            lambda ids: (
                select(Attribute.id, Service.dataset)
                .join(Service, Attribute.link_id == Service.id)
                .where(Attribute.id.in_(ids), Attribute.link_entity == "service", theirs)
            ),
        ),
        # An address is another school's when its location is used by one of that school's services.
        (
            "address",
            lambda ids: (
                select(Address.id, Service.dataset)
                .join(ServiceAtLocation, ServiceAtLocation.location_id == Address.location_id)
                .join(Service, at)
                .where(Address.id.in_(ids), theirs)
            ),
        ),
    ]


def _protected_owners(
    session: Session, incoming: list[_Incoming], protected: set[str]
) -> dict[str, dict[str, str]]:
    """kind -> {incoming id: the protected dataset already using it}: one query per kind (per 500 ids)."""
    owners: dict[str, dict[str, str]] = defaultdict(dict)
    if not protected or not incoming:
        return owners
    for kind, query in _owner_queries(protected):
        wanted = {id_ for one in incoming for id_ in one.ids[kind]}
        for chunk in _chunks(wanted):
            for id_, other in session.execute(query(chunk)):
                owners[kind][id_] = min(other, owners[kind].get(id_, other))  # the same name every run
    return owners


def _clash(incoming: _Incoming, owners: dict[str, dict[str, str]]) -> str | None:
    """Why this service would take something from another school's local offer, if it would."""
    for kind, name in _ID_NAMES.items():
        for id_ in incoming.ids[kind]:
            other = owners.get(kind, {}).get(id_)
            if other is not None:
                return (
                    f"{incoming.label}: its {name} '{id_}' is already used by the local offer '{other}' "
                    "of another school; skipped. Each local authority's services need their own ids."
                )
    return None


def _repeated(
    incoming: _Incoming, claimed: dict[str, set[str]], address_places: dict[str, str]
) -> str | None:
    """Why this service cannot be stored next to the file's earlier services (or by itself), if so.

    Services may share an organisation or a location, but a contact, phone, cost option,
    service_at_location or attribute belongs to one service, and an address to one location.
    """
    for kind in _ONE_SERVICE_EACH:
        ids = incoming.ids[kind]
        for position, id_ in enumerate(ids):
            if id_ in claimed[kind] or id_ in ids[:position]:
                whose = "by another service in this file" if kind == "service" else "twice in this file"
                return (
                    f"{incoming.label}: its {_ID_NAMES[kind]} '{id_}' is used {whose}; skipped. "
                    "Each service needs its own ids."
                )
    for address, location in incoming.address_places.items():
        if address_places.get(address, location) != location:
            return (
                f"{incoming.label}: its address id '{address}' is also given for another location in "
                "this file; skipped. Each address needs its own id."
            )
    return None


def _make_room(session: Session, dataset: str, accepted: list[_Incoming]) -> None:
    """Remove the dataset's old services and free every id the accepted services will write.

    Only rows of this dataset or of datasets no school uses are left holding those ids
    (`_clash` refused the rest): they are taken over, as a renamed file's services should be.
    """
    wanted = {kind: {id_ for one in accepted for id_ in one.ids[kind]} for kind in _ID_NAMES}
    old_ids = set(session.execute(select(Service.id).where(Service.dataset == dataset)).scalars())
    for chunk in _chunks(wanted["service"]):
        old_ids.update(session.execute(select(Service.id).where(Service.id.in_(chunk))).scalars())
    for chunk in _chunks(old_ids):
        session.execute(
            delete(Attribute)
            .where(Attribute.link_id.in_(chunk), Attribute.link_entity == "service")
            .execution_options(synchronize_session="fetch")
        )
    for chunk in _chunks(old_ids):
        for service in session.execute(select(Service).where(Service.id.in_(chunk))).scalars():
            session.delete(service)
    session.flush()

    # Child rows still holding a wanted id belong to another service of an unused dataset.
    places = {address: location for one in accepted for address, location in one.address_places.items()}
    moved_addresses = {
        address
        for chunk in _chunks(set(places))
        for address, location in session.execute(
            select(Address.id, Address.location_id).where(Address.id.in_(chunk))
        )
        if location != places[address]
    }
    freed = (
        (Phone, Phone.contact_id, wanted["contact"]),
        (Phone, Phone.id, wanted["phone"]),
        (Contact, Contact.id, wanted["contact"]),
        (CostOption, CostOption.id, wanted["cost_option"]),
        (ServiceAtLocation, ServiceAtLocation.id, wanted["service_at_location"]),
        (Attribute, Attribute.id, wanted["attribute"]),
        (Address, Address.id, moved_addresses),
    )
    for table, column, ids in freed:
        for chunk in _chunks(ids):
            session.execute(
                delete(table).where(column.in_(chunk)).execution_options(synchronize_session="fetch")
            )
    in_use = select(Service.organization_id)
    session.execute(
        delete(Organization)
        .where(Organization.dataset == dataset, Organization.id.not_in(in_use))
        .execution_options(synchronize_session="fetch")
    )
    session.flush()


def _service_from(session: Session, raw: dict, dataset: str) -> Service:
    org_raw = raw["organization"]
    org_id = str(org_raw["id"])
    organization = session.get(Organization, org_id) or Organization(id=org_id)
    organization.name = org_raw["name"]
    organization.description = org_raw.get("description") or ""
    organization.email = org_raw.get("email")
    organization.website = org_raw.get("website")
    organization.dataset = dataset
    session.add(organization)

    service = Service(
        id=str(raw["id"]),
        organization=organization,
        name=str(raw["name"]).strip(),
        description=str(raw.get("description") or "").strip(),
        url=raw.get("url"),
        email=raw.get("email"),
        status=str(raw.get("status") or ACTIVE).strip().lower(),
        minimum_age=_int(raw.get("minimum_age")),
        maximum_age=_int(raw.get("maximum_age")),
        assured_date=_date(raw.get("assured_date")),
        last_modified=_datetime(raw.get("last_modified")),
        dataset=dataset,
    )
    for contact_raw in _contacts(raw):
        contact = Contact(
            id=str(contact_raw["id"]),
            name=contact_raw.get("name"),
            title=contact_raw.get("title"),
            email=contact_raw.get("email"),
        )
        contact.phones = [
            Phone(id=str(p["id"]), number=str(p["number"]), description=p.get("description"))
            for p in _phones(contact_raw)
        ]
        service.contacts.append(contact)
    for cost_raw in _cost_options(raw):
        amount = cost_raw.get("amount")
        service.cost_options.append(
            CostOption(
                id=str(cost_raw["id"]),
                option=cost_raw.get("option"),
                amount=float(amount) if amount is not None else None,
                amount_description=cost_raw.get("amount_description"),
                currency=cost_raw.get("currency"),
            )
        )
    for sal_raw, location_raw in _places(raw):
        location = _location_from(session, location_raw)
        service.service_at_locations.append(ServiceAtLocation(id=str(sal_raw["id"]), location=location))
    for attr_raw, term_raw in _attributes(raw):
        term = session.get(TaxonomyTerm, str(term_raw["id"])) or TaxonomyTerm(id=str(term_raw["id"]))
        term.name = term_raw.get("name") or term.name or ""
        term.description = term_raw.get("description") or ""
        term.code = term_raw.get("code")
        term.taxonomy = term_raw.get("taxonomy")
        term.term_uri = term_raw.get("term_uri")
        term.parent_id = term_raw.get("parent_id")
        session.add(term)
        service.attributes.append(
            Attribute(
                id=str(attr_raw["id"]),
                link_id=service.id,
                link_entity="service",
                link_type=attr_raw.get("link_type"),
                taxonomy_term=term,
                value=attr_raw.get("value"),
            )
        )
    return service


def _location_from(session: Session, raw: dict) -> Location:
    location = session.get(Location, str(raw["id"]))
    if location is None:
        location = Location(id=str(raw["id"]))
        session.add(location)
    location.location_type = raw.get("location_type") or "physical"
    location.name = raw.get("name")
    location.description = raw.get("description")
    location.latitude = raw.get("latitude")
    location.longitude = raw.get("longitude")
    location.addresses = [
        Address(
            id=str(a["id"]),
            address_1=a.get("address_1") or "",
            city=a.get("city") or "",
            state_province=a.get("state_province") or "",
            postal_code=a.get("postal_code") or "",
            country=a.get("country") or "GB",
            address_type=a.get("address_type") or "physical",
        )
        for a in _addresses(raw)
    ]
    session.flush()
    return location


def import_oruk_file(session: Session, path: Path, dataset: str | None = None) -> ImportReport:
    document = json.loads(path.read_text(encoding="utf-8"))
    return import_oruk(session, document, dataset or path.stem)
