"""The local authority's local offer in Open Referral UK 3.0 shape: export and search.

`export_oruk` writes the ORUK tables back as the body of a `GET /services` page;
`search_services` answers "is there X for my N-year-old", within one local authority's
dataset in a trust. Feeds come in through `knowledge.parents.local_offer_import`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from knowledge.parents.search import terms
from knowledge.shared.models import (
    Attribute,
    Contact,
    CostOption,
    Location,
    Service,
    ServiceAtLocation,
    TaxonomyTerm,
)

ACTIVE = "active"
SERVICE_TYPE_LINK = "service_type"


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
