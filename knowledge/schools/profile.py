"""The school profile: who the SENCo and safeguarding leads are, links, local authority.

A school edits one YAML file (`SCHOOL_PROFILE`, default the example school); it is
loaded into the `schools` table so that every record can point at its school.

Its optional `reminders` section lists what a parent may choose when they opt in to the
SENCo's reminders (`year_groups`, `interests`), in the words the SENCo uses for an audience
("Year 3", "coffee mornings"). A list the school leaves out is not asked about.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge.shared.models import School
from knowledge.shared.yaml_files import read_yaml

# The year groups or interests a parent may choose for the SENCo's reminders
MAX_CHOICES = 20  # year groups, or interests, one person may choose (Nursery to Year 13 fit)
CHOICE_CHARS = 40  # the longest name of one year group or interest


class ProfileError(ValueError):
    """A school profile file that is missing something the bot needs."""


@dataclass(frozen=True)
class Person:
    name: str = ""
    title: str = ""
    email: str = ""
    phone: str = ""
    hours: str = ""
    how_to_book: str = ""

    def contact_line(self) -> str:
        """'email or phone', whichever the school gave."""
        parts = [p for p in (self.email, self.phone) if p]
        return " or ".join(parts)


@dataclass(frozen=True)
class Service:
    name: str = ""
    phone: str = ""
    email: str = ""
    url: str = ""
    out_of_hours_phone: str = ""


@dataclass(frozen=True)
class SchoolProfile:
    ref: str
    name: str
    local_authority: str
    is_example: bool
    senco: Person
    dsl: Person
    deputy_dsl: Person
    children_services: Service
    sendiass: Service
    website: str = ""
    phone: str = ""  # the school office: what a parent calls after 999 when a child is missing
    sen_information_report_url: str = ""
    privacy_notice_url: str = ""
    local_offer_url: str = ""
    child_protection_policy_url: str = ""
    reminder_year_groups: tuple[str, ...] = ()  # what parents may choose, in the school's order
    reminder_interests: tuple[str, ...] = ()
    raw: dict = field(default_factory=dict, compare=False, repr=False)


def _person(raw: dict | None) -> Person:
    raw = raw or {}
    return Person(**{k: str(raw.get(k) or "").strip() for k in Person.__dataclass_fields__})


def _service(raw: dict | None) -> Service:
    raw = raw or {}
    return Service(**{k: str(raw.get(k) or "").strip() for k in Service.__dataclass_fields__})


def _choices(raw: dict, key: str, where: str) -> tuple[str, ...]:
    """One list of the `reminders` section: names, each once, short enough to store and show."""
    section = raw.get("reminders") or {}
    if not isinstance(section, dict):
        raise ProfileError(f"{where}: 'reminders' must be a mapping with 'year_groups' and 'interests'")
    items = section.get(key) or []
    if not isinstance(items, list):
        raise ProfileError(f"{where}: 'reminders.{key}' must be a list")
    names = list(dict.fromkeys(" ".join(str(item).split()) for item in items if str(item).strip()))
    too_long = [name for name in names if len(name) > CHOICE_CHARS]
    if too_long:
        raise ProfileError(f"{where}: 'reminders.{key}' names must be {CHOICE_CHARS} characters or fewer")
    if len(names) > MAX_CHOICES:
        raise ProfileError(f"{where}: 'reminders.{key}' may list at most {MAX_CHOICES}")
    return tuple(names)


def profile_from_dict(raw: dict, where: str = "school profile") -> SchoolProfile:
    """Validate a profile mapping; the SENCo's name and one contact route are required."""
    if not isinstance(raw, dict):
        raise ProfileError(f"{where}: expected a mapping")
    name = str(raw.get("name") or "").strip()
    if not name:
        raise ProfileError(f"{where}: 'name' is required")
    senco = _person(raw.get("senco"))
    if not senco.name or not senco.contact_line():
        raise ProfileError(f"{where}: 'senco' needs a name and an email or phone")
    ref = str(raw.get("ref") or "school").strip()
    return SchoolProfile(
        ref=ref,
        name=name,
        local_authority=str(raw.get("local_authority") or "").strip(),
        is_example=bool(raw.get("example", False)),
        senco=senco,
        dsl=_person(raw.get("dsl")),
        deputy_dsl=_person(raw.get("deputy_dsl")),
        children_services=_service(raw.get("children_services")),
        sendiass=_service(raw.get("sendiass")),
        website=str(raw.get("website") or ""),
        phone=str(raw.get("phone") or "").strip(),
        sen_information_report_url=str(raw.get("sen_information_report_url") or ""),
        privacy_notice_url=str(raw.get("privacy_notice_url") or ""),
        local_offer_url=str(raw.get("local_offer_url") or ""),
        child_protection_policy_url=str(raw.get("child_protection_policy_url") or ""),
        reminder_year_groups=_choices(raw, "year_groups", where),
        reminder_interests=_choices(raw, "interests", where),
        raw=raw,
    )


def load_profile_file(path: Path) -> SchoolProfile:
    try:
        raw = read_yaml(path)
    except FileNotFoundError as exc:
        raise ProfileError(f"school profile file not found: {path}") from exc
    return profile_from_dict(raw, path.name)


def store_profile(session: Session, profile: SchoolProfile) -> School:
    """Insert or update the school row for this profile."""
    school = session.execute(select(School).where(School.ref == profile.ref)).scalar_one_or_none()
    if school is None:
        school = School(ref=profile.ref)
        session.add(school)
    school.name = profile.name
    school.local_authority = profile.local_authority
    school.is_example = profile.is_example
    school.profile = profile.raw
    session.flush()
    return school


def read_profile(session: Session, ref: str | None = None) -> SchoolProfile:
    """The stored profile of school `ref`, or of the only school when `ref` is None."""
    query = select(School).order_by(School.id)
    if ref:
        query = query.where(School.ref == ref)
    school = session.execute(query).scalars().first()
    if school is None:
        raise ProfileError("no school profile is loaded: run `make run` or `python -m bot.cli reload`")
    return profile_from_dict(school.profile, f"school {school.ref}")


def short_school_name(name: str) -> str:
    """'Example Academy (example data)' -> 'Example Academy'."""
    return re.sub(r"\s*\(.*?\)", "", name).strip()
