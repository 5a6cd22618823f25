"""Who a broadcast goes to: an audience is data, resolved to people from the database.

Why data and not free text
--------------------------
The SENCo's words ("Year 3 parents", "teachers and TAs") are read once, by `parse_audience`,
into a small dict that is stored with the broadcast and shown back in words (`describe`)
before anything is sent:

    {"staff": "all" | ["teacher", "teaching_assistant", ...] | None,
     "parents": "all" | {"year_groups": [...], "interests": [...]} | None}

`resolve` turns it into recipients at the moment of sending, not when the broadcast was
written, so a parent who opted out (or a teacher who left) in the meantime is not sent to.

- Staff come from the active roster (`staff`), on Slack, addressed by Slack user id. Staff
  get school messages unless they have explicitly opted out on Slack (a `Subscriber` row for
  that channel with `opted_out_at` set) or Slack said they can't be reached.
- Parents are `Subscriber` rows of kind "parent" that are opted in and reachable, on the
  channel they opted in on. With a year-group or interest filter, a parent is included
  when they chose at least one of the named year groups (and at least one of the named
  interests, when both are given). Choosing is optional (the Telegram connector offers it
  after opting in, and "All year groups" / "Skip"), so a parent who chose no year groups
  counts as wanting all year groups, and one who chose no interests as wanting every kind
  of reminder: opting in to the SENCo's reminders and not narrowing them down must never
  mean missing the ones about their own child's class.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge.schools.staff import ROLES
from knowledge.shared.models import StaffMember, Subscriber

Audience = dict[str, Any]

STAFF_CHANNEL = "slack"
ROLE_WORDS = {
    "teacher": "teachers",
    "teaching_assistant": "teaching assistants",
    "senco": "the SENCo",
    "dsl": "the DSL",
    "deputy_dsl": "the deputy DSL",
    "admin": "office and admin staff",
}
# The SENCo's words for roles and roster groups, longest first so "teaching assistants" beats "teach".
_ROLE_PHRASES: list[tuple[str, tuple[str, ...]]] = [
    (r"safeguarding (?:team|leads?)|dsls", ("dsl", "deputy_dsl")),
    (r"teaching assistants?|tas|learning support assistants?|lsas?|support staff", ("teaching_assistant",)),
    (r"deputy dsls?|deputy designated safeguarding leads?", ("deputy_dsl",)),
    (r"dsl|designated safeguarding leads?", ("dsl",)),
    (r"teachers?|teaching staff|class teachers?", ("teacher",)),
    (r"sencos?|senco team", ("senco",)),
    (r"admins?|office(?: staff)?|admin staff", ("admin",)),
]
_YEAR_GROUP = re.compile(
    r"\b(?:(?:years?|yrs?|y)\s*(?P<n>\d{1,2})(?P<more>(?:\s*(?:,|and|&|/|or)\s*\d{1,2})*)|(?P<named>reception|nursery))\b",
    re.IGNORECASE,
)
_INTERESTS = re.compile(
    r"\binterested in\s+(?P<what>[a-z][a-z ,&'-]*?)(?=\s*(?:$|[.:;]|\band staff\b))", re.I
)


class AudienceError(ValueError):
    """An audience the bot cannot use; the message is safe to show to the SENCo."""


@dataclass(frozen=True, order=True)
class Recipient:
    channel: str
    address: str
    kind: str  # staff | parent


# --- The audience as data --------------------------------------------------------------------


def normalise(audience: Audience | None) -> Audience:
    """A checked copy of `audience` (unknown roles and empty audiences are refused)."""
    audience = dict(audience or {})
    staff, parents = audience.get("staff"), audience.get("parents")
    if staff not in (None, "all"):
        roles = sorted({str(r) for r in staff}, key=lambda r: (ROLES.index(r) if r in ROLES else 99, r))
        unknown = [r for r in roles if r not in ROLES]
        if unknown or not roles:
            raise AudienceError(f"Unknown staff role: {', '.join(unknown) or 'none given'}.")
        staff = "all" if set(roles) == set(ROLES) else roles
    if isinstance(parents, dict):
        year_groups = [year_group_name(str(y)) for y in parents.get("year_groups") or ()]
        interests = [str(i).strip().lower() for i in parents.get("interests") or () if str(i).strip()]
        parents = {
            "year_groups": sorted(set(year_groups), key=_year_order),
            "interests": sorted(set(interests)),
        }
        if not parents["year_groups"] and not parents["interests"]:
            parents = "all"
    elif parents not in (None, "all"):
        raise AudienceError("Parents must be 'all' or a choice of year groups and interests.")
    if staff is None and parents is None:
        raise AudienceError("Nobody is in that audience.")
    return {"staff": staff, "parents": parents}


def year_group_name(text: str) -> str:
    """ "y3", "year 3", "Yr3" -> "Year 3"; "reception" -> "Reception"."""
    cleaned = text.strip().lower()
    if cleaned in ("reception", "nursery"):
        return cleaned.title()
    match = re.fullmatch(r"(?:years?|yrs?|y)\s*(\d{1,2})", cleaned)
    return f"Year {int(match.group(1))}" if match else text.strip()


def _year_order(name: str) -> tuple[int, str]:
    match = re.fullmatch(r"Year (\d+)", name)
    return (int(match.group(1)) + 1, name) if match else ({"Nursery": -1, "Reception": 0}.get(name, 99), name)


def describe(audience: Audience | None) -> str:
    """The audience in words, as the SENCo sees it in the preview: "all staff and Year 3 parents"."""
    if not audience:
        return "nobody"
    parts = []
    staff, parents = audience.get("staff"), audience.get("parents")
    if staff == "all":
        parts.append("all staff")
    elif staff:
        parts.append(_and_list([ROLE_WORDS.get(r, r) for r in sorted(staff, key=ROLES.index)]))
    if parents == "all":
        parts.append("parents who opted in")
    elif isinstance(parents, dict):
        years = parents.get("year_groups") or []
        interests = parents.get("interests") or []
        words = f"{_and_list(years, 'or')} parents" if years else "parents"
        if interests:
            words += f" interested in {_and_list(interests, 'or')}"
        parts.append(words + " who opted in")
    return _and_list(parts) if parts else "nobody"


def _and_list(items: list[str], last: str = "and") -> str:
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {last} " + items[-1]


# --- Reading the SENCo's words --------------------------------------------------------------


def parse_audience(text: str) -> Audience | None:
    """The audience named in `text` ("all staff", "TAs", "Year 3 parents", "everyone"), or None."""
    lowered = " " + re.sub(r"\s+", " ", text.lower().replace("\u2019", "'")) + " "
    if re.search(r"\b(?:everyone|everybody|the whole school(?: community)?)\b", lowered):
        return {"staff": "all", "parents": "all"}
    staff: str | list[str] | None = None
    if re.search(r"\b(?:all|whole|every)\s+(?:the\s+)?staff\b|\ball staff\b|\bstaff\b(?!\s+room)", lowered):
        staff = "all"
    roles: set[str] = set()
    scrubbed = lowered
    for pattern, names in _ROLE_PHRASES:
        if re.search(rf"\b(?:{pattern})\b", scrubbed):
            roles.update(names)
            scrubbed = re.sub(rf"\b(?:{pattern})\b", " ", scrubbed)
    if staff is None and roles:
        staff = sorted(roles, key=ROLES.index)
    if staff == "all" and roles and re.search(r"\bstaff\b", scrubbed) is None:
        staff = sorted(roles, key=ROLES.index)  # "support staff" alone is a role, not everyone
    parents: str | dict | None = None
    if re.search(r"\b(?:parents?|carers?|families|famil(?:y|ies))\b", lowered):
        year_groups = _year_groups(lowered)
        interests = _interests(lowered)
        parents = {"year_groups": year_groups, "interests": interests} if year_groups or interests else "all"
    if staff is None and parents is None:
        return None
    return normalise({"staff": staff, "parents": parents})


def _year_groups(text: str) -> list[str]:
    found: list[str] = []
    for match in _YEAR_GROUP.finditer(text):
        if match["named"]:
            found.append(match["named"].title())
            continue
        numbers = [match["n"], *re.findall(r"\d{1,2}", match["more"] or "")]
        found += [f"Year {int(n)}" for n in numbers if 1 <= int(n) <= 13]
    return list(dict.fromkeys(found))


def _interests(text: str) -> list[str]:
    match = _INTERESTS.search(text)
    if not match:
        return []
    return [i.strip() for i in re.split(r",|\band\b|\bor\b|&", match["what"]) if i.strip()]


# --- Resolving to people ---------------------------------------------------------------------


def resolve(session: Session, school_ref: str, audience: Audience) -> list[Recipient]:
    """Everyone in `audience` who may be sent to right now, each (channel, address) once, sorted."""
    audience = normalise(audience)
    recipients: set[Recipient] = set()
    if audience["staff"] is not None:
        recipients.update(_staff(session, school_ref, audience["staff"]))
    if audience["parents"] is not None:
        recipients.update(_parents(session, school_ref, audience["parents"]))
    return sorted(recipients)


def _staff(session: Session, school_ref: str, roles: str | list[str]) -> list[Recipient]:
    query = select(StaffMember.slack_user_id).where(
        StaffMember.school_ref == school_ref, StaffMember.active.is_(True)
    )
    if roles != "all":
        query = query.where(StaffMember.role.in_(roles))
    blocked = set(
        session.execute(
            select(Subscriber.address).where(
                Subscriber.school_ref == school_ref,
                Subscriber.channel == STAFF_CHANNEL,
                (Subscriber.unreachable_at.is_not(None))
                | (Subscriber.opted_in.is_(False) & Subscriber.opted_out_at.is_not(None)),
            )
        ).scalars()
    )
    return [
        Recipient(STAFF_CHANNEL, slack_id, "staff")
        for slack_id in session.execute(query).scalars()
        if slack_id not in blocked
    ]


def _parents(session: Session, school_ref: str, parents: str | dict) -> list[Recipient]:
    rows = session.execute(
        select(Subscriber).where(
            Subscriber.school_ref == school_ref,
            Subscriber.kind == "parent",
            Subscriber.opted_in.is_(True),
            Subscriber.unreachable_at.is_(None),
        )
    ).scalars()
    chosen = []
    for subscriber in rows:
        if parents == "all" or _matches(subscriber, parents):
            chosen.append(Recipient(subscriber.channel, subscriber.address, "parent"))
    return chosen


def _matches(subscriber: Subscriber, wanted: dict) -> bool:
    """True when the parent chose one of the wanted year groups (and one of the wanted interests);
    a parent who chose none of a kind wants all of that kind."""
    if wanted.get("year_groups"):
        theirs = {year_group_name(str(y)) for y in subscriber.year_groups or ()}
        if theirs and not theirs & set(wanted["year_groups"]):
            return False
    if wanted.get("interests"):
        theirs = {str(i).strip().lower() for i in subscriber.interests or ()}
        if theirs and not theirs & set(wanted["interests"]):
            return False
    return True
