"""The local authority's local offer in Open Referral UK 3.0 shape.

`import_oruk` reads the body of an ORUK `GET /services` response (or a plain list of
fully nested services) into the ORUK tables; `export_oruk` writes the same shape
back. `search_services` answers "is there X for my N-year-old".

Import is forgiving where the standard is loose: a service without an id, a name or
an organisation is skipped and reported rather than failing the whole feed.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session, selectinload

from knowledge.models import (
    Address,
    Attribute,
    Contact,
    CostOption,
    Location,
    Organization,
    Phone,
    Service,
    ServiceAtLocation,
    TaxonomyTerm,
)
from knowledge.search import terms

ACTIVE = "active"
SERVICE_TYPE_LINK = "service_type"


@dataclass
class ImportReport:
    dataset: str
    imported: int = 0
    skipped: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ServiceSummary:
    """What a parent needs to know about one service, ready to render."""

    id: str
    name: str
    description: str
    organization: str
    minimum_age: int | None
    maximum_age: int | None
    phones: tuple[str, ...]
    email: str
    url: str
    cost: str
    town: str
    service_types: tuple[str, ...]
    checked_on: dt.date | None


@dataclass(frozen=True)
class SearchOutcome:
    results: tuple[ServiceSummary, ...]
    wrong_age: tuple[ServiceSummary, ...] = ()


# --- import ----------------------------------------------------------------------------


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


def import_oruk(session: Session, document: Any, dataset: str) -> ImportReport:
    """Replace the services of `dataset` with those in `document`."""
    report = ImportReport(dataset=dataset)
    services = _services_of(document)
    incoming = [str(raw["id"]) for raw in services if isinstance(raw, dict) and raw.get("id")]
    replaced = select(Service.id).where(or_(Service.dataset == dataset, Service.id.in_(incoming)))
    old_ids = list(session.execute(replaced).scalars())
    if old_ids:
        session.execute(
            delete(Attribute)
            .where(Attribute.link_id.in_(old_ids))
            .execution_options(synchronize_session="fetch")
        )
        for service in session.execute(select(Service).where(Service.id.in_(old_ids))).scalars():
            session.delete(service)
        session.flush()
    in_use = select(Service.organization_id)
    session.execute(
        delete(Organization)
        .where(Organization.dataset == dataset, Organization.id.not_in(in_use))
        .execution_options(synchronize_session="fetch")
    )
    session.flush()

    for raw in services:
        problem = _problem(raw)
        if problem:
            report.skipped.append(problem)
            continue
        session.add(_service_from(session, raw, dataset))
        session.flush()
        report.imported += 1
    return report


def _problem(raw: Any) -> str | None:
    if not isinstance(raw, dict):
        return "an entry that is not an object"
    label = raw.get("name") or raw.get("id") or "a service"
    for key in ("id", "name"):
        if not str(raw.get(key) or "").strip():
            return f"{label}: missing {key}"
    organization = raw.get("organization") or {}
    if not organization.get("id") or not organization.get("name"):
        return f"{label}: missing organization id or name"
    return None


def _service_from(session: Session, raw: dict, dataset: str) -> Service:
    org_raw = raw["organization"]
    organization = session.get(Organization, org_raw["id"]) or Organization(id=org_raw["id"])
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
    for contact_raw in raw.get("contacts") or ():
        contact = Contact(
            id=str(contact_raw["id"]),
            name=contact_raw.get("name"),
            title=contact_raw.get("title"),
            email=contact_raw.get("email"),
        )
        contact.phones = [
            Phone(id=str(p["id"]), number=str(p["number"]), description=p.get("description"))
            for p in contact_raw.get("phones") or ()
            if p.get("number")
        ]
        service.contacts.append(contact)
    for cost_raw in raw.get("cost_options") or ():
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
    for sal_raw in raw.get("service_at_locations") or ():
        location = _location_from(session, sal_raw.get("location") or {})
        if location is not None:
            service.service_at_locations.append(ServiceAtLocation(id=str(sal_raw["id"]), location=location))
    for attr_raw in raw.get("attributes") or ():
        term_raw = attr_raw.get("taxonomy_term") or {}
        if not term_raw.get("id"):
            continue
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


def _location_from(session: Session, raw: dict) -> Location | None:
    if not raw.get("id"):
        return None
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
        for a in raw.get("addresses") or ()
        if a.get("id")
    ]
    session.flush()
    return location


def import_oruk_file(session: Session, path: Path, dataset: str | None = None) -> ImportReport:
    document = json.loads(path.read_text(encoding="utf-8"))
    return import_oruk(session, document, dataset or path.stem)


# --- export ----------------------------------------------------------------------------


def _number(value: float | None) -> Any:
    """Whole numbers as ints (15, not 15.0), as a feed would write them."""
    if value is None:
        return None
    return int(value) if float(value).is_integer() else float(value)


def service_to_oruk(service: Service) -> dict:
    """One service, fully nested, in ORUK 3.0 shape."""
    org = service.organization
    return {
        "id": service.id,
        "name": service.name,
        "description": service.description,
        "url": service.url,
        "email": service.email,
        "status": service.status,
        "minimum_age": service.minimum_age,
        "maximum_age": service.maximum_age,
        "assured_date": service.assured_date.isoformat() if service.assured_date else None,
        "last_modified": (
            service.last_modified.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            if service.last_modified
            else None
        ),
        "organization": {
            "id": org.id,
            "name": org.name,
            "description": org.description,
            "email": org.email,
            "website": org.website,
        },
        "contacts": [
            {
                "id": c.id,
                "name": c.name,
                "title": c.title,
                "email": c.email,
                "phones": [{"id": p.id, "number": p.number, "description": p.description} for p in c.phones],
            }
            for c in service.contacts
        ],
        "cost_options": [
            {
                "id": c.id,
                "option": c.option,
                "amount": _number(c.amount),
                "amount_description": c.amount_description,
                "currency": c.currency,
            }
            for c in service.cost_options
        ],
        "service_at_locations": [
            {
                "id": sal.id,
                "location": {
                    "id": sal.location.id,
                    "location_type": sal.location.location_type,
                    "name": sal.location.name,
                    "description": sal.location.description,
                    "latitude": _number(sal.location.latitude),
                    "longitude": _number(sal.location.longitude),
                    "addresses": [
                        {
                            "id": a.id,
                            "address_1": a.address_1,
                            "city": a.city,
                            "state_province": a.state_province,
                            "postal_code": a.postal_code,
                            "country": a.country,
                            "address_type": a.address_type,
                        }
                        for a in sal.location.addresses
                    ],
                },
            }
            for sal in service.service_at_locations
        ],
        "attributes": [
            {
                "id": a.id,
                "link_type": a.link_type,
                "link_entity": a.link_entity,
                "value": a.value,
                "taxonomy_term": {
                    "id": a.taxonomy_term.id,
                    "name": a.taxonomy_term.name,
                    "description": a.taxonomy_term.description,
                    "code": a.taxonomy_term.code,
                    "taxonomy": a.taxonomy_term.taxonomy,
                    "term_uri": a.taxonomy_term.term_uri,
                    "parent_id": a.taxonomy_term.parent_id,
                },
            }
            for a in service.attributes
        ],
    }


def _loaded_services(
    session: Session, dataset: str | None = None, active_only: bool = False, ids: Sequence[str] | None = None
):
    query = (
        select(Service)
        .options(
            selectinload(Service.organization),
            selectinload(Service.contacts).selectinload(Contact.phones),
            selectinload(Service.cost_options),
            selectinload(Service.service_at_locations)
            .selectinload(ServiceAtLocation.location)
            .selectinload(Location.addresses),
            selectinload(Service.attributes).selectinload(Attribute.taxonomy_term),
        )
        .order_by(Service.name, Service.id)
    )
    if dataset:
        query = query.where(Service.dataset == dataset)
    if active_only:
        query = query.where(Service.status == ACTIVE)
    if ids is not None:
        query = query.where(Service.id.in_(ids))
    return list(session.execute(query).scalars())


def export_oruk(session: Session, dataset: str | None = None) -> dict:
    """All services (of one dataset) as the body of an ORUK `GET /services` page."""
    contents = [service_to_oruk(s) for s in _loaded_services(session, dataset)]
    return {
        "total_items": len(contents),
        "total_pages": 1,
        "page_number": 1,
        "size": len(contents),
        "first_page": True,
        "last_page": True,
        "empty": not contents,
        "contents": contents,
    }


# --- search ----------------------------------------------------------------------------

# Words that say nothing about which service is wanted, on top of the general stop words.
_NOT_A_SERVICE = frozenset(terms("service services support near nearby local area round here old aged age"))


def _words(text: str) -> set[str]:
    return set(terms(text)) - _NOT_A_SERVICE


def _cost_text(option: CostOption) -> str:
    """'£15 per day', or 'Free (for children on free school meals)' when the condition is short."""
    text = option.amount_description or (f"£{_number(option.amount)}" if option.amount is not None else "")
    condition = (option.option or "").strip().rstrip(".")
    if text and condition and len(condition) <= 90 and condition.lower() != text.lower():
        text += f" ({condition[0].lower()}{condition[1:]})"
    return text


def _summary(service: Service) -> ServiceSummary:
    phones = tuple(p.number for c in service.contacts for p in c.phones)
    cost = "; ".join(filter(None, (_cost_text(c) for c in service.cost_options)))
    towns = [a.city for sal in service.service_at_locations for a in sal.location.addresses if a.city]
    checked = service.assured_date or (service.last_modified.date() if service.last_modified else None)
    return ServiceSummary(
        id=service.id,
        name=service.name,
        description=service.description,
        organization=service.organization.name,
        minimum_age=service.minimum_age,
        maximum_age=service.maximum_age,
        phones=phones,
        email=service.email or next((c.email for c in service.contacts if c.email), "") or "",
        url=service.url or "",
        cost=cost,
        town=towns[0] if towns else "",
        service_types=tuple(
            a.taxonomy_term.code or a.taxonomy_term.name
            for a in service.attributes
            if a.link_type == SERVICE_TYPE_LINK
        ),
        checked_on=checked,
    )


@dataclass(frozen=True)
class _Candidate:
    """Just what ranking needs: a few columns and the taxonomy codes, without the ORM graph."""

    id: str
    name: str
    description: str
    minimum_age: int | None
    maximum_age: int | None
    codes: frozenset


def _candidates(session: Session, dataset: str | None = None) -> list[_Candidate]:
    """Active services for ranking, in two light queries (full details load only for the winners).

    `dataset` keeps a school to its own local authority's offer in a trust deployment.
    """
    codes: dict[str, set[str]] = defaultdict(set)
    terms_of_services = (
        select(Attribute.link_id, TaxonomyTerm.code, TaxonomyTerm.name, TaxonomyTerm.id)
        .join(TaxonomyTerm, Attribute.taxonomy_term_id == TaxonomyTerm.id)
        .where(Attribute.link_entity == "service")
    )
    for link_id, code, name, term_id in session.execute(terms_of_services):
        codes[link_id].update(filter(None, (code, (name or "").lower(), term_id)))
    columns = select(Service.id, Service.name, Service.description, Service.minimum_age, Service.maximum_age)
    columns = columns.where(Service.status == ACTIVE)
    if dataset is not None:
        columns = columns.where(Service.dataset == dataset)
    return [
        _Candidate(
            row.id, row.name, row.description, row.minimum_age, row.maximum_age, frozenset(codes[row.id])
        )
        for row in session.execute(columns)
    ]


def _fits_age(service: _Candidate, age: int | None) -> bool:
    if age is None:
        return True
    low = service.minimum_age if service.minimum_age is not None else 0
    high = service.maximum_age if service.maximum_age is not None else 200
    return low <= age <= high


def search_services(
    session: Session,
    *,
    service_types: Sequence[str] = (),
    areas_of_need: Sequence[str] = (),
    age: int | None = None,
    text: str = "",
    limit: int = 3,
    dataset: str | None = None,
) -> SearchOutcome:
    """Active services ranked by service type, area of need and words; filtered by age.

    With a service type, only services of that type are returned (a parent asking
    for speech therapy does not want a holiday club). Without one, the words of the
    question must match a service's name or description.
    """
    wanted_types = set(service_types)
    wanted_areas = set(areas_of_need)
    words = _words(text)
    scored: list[tuple[float, _Candidate]] = []
    for service in _candidates(session, dataset):
        codes = service.codes
        if wanted_types and not wanted_types & codes:
            continue
        score = 10.0 * len(wanted_types & codes) + 4.0 * len(wanted_areas & codes)
        overlap = len(words & _words(f"{service.name} {service.description}"))
        score += overlap
        if not wanted_types and not (wanted_areas & codes) and overlap < 2:
            continue
        scored.append((score, service))
    scored.sort(key=lambda pair: (-pair[0], pair[1].name))
    fitting = [s for _, s in scored if _fits_age(s, age)][:limit]
    wrong_age = [s for _, s in scored if not _fits_age(s, age)][:limit] if not fitting else []
    full = {s.id: s for s in _loaded_services(session, ids=[c.id for c in fitting + wrong_age])}
    return SearchOutcome(
        results=tuple(_summary(full[c.id]) for c in fitting),
        wrong_age=tuple(_summary(full[c.id]) for c in wrong_age),
    )
