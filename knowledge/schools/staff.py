"""The staff directory: Slack user id -> staff member and role, from the school's roster file.

Roles decide what someone may do, and the check lives here in the domain layer, not
only in the dialogue: only staff book; only the SENCo or an admin manages slots and
sees other people's bookings.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge.shared.models import StaffMember
from knowledge.shared.yaml_files import read_yaml

ROLES = ("teacher", "teaching_assistant", "senco", "dsl", "deputy_dsl", "admin")
SLOT_MANAGERS = ("senco", "admin")


class RosterError(ValueError):
    """A roster file entry the bot cannot use."""


class NotAllowed(PermissionError):
    """A known member of staff asked for something their role does not allow."""


class UnknownStaff(PermissionError):
    """A Slack user who is not on the roster."""

    def __init__(self) -> None:
        super().__init__("You're not on the staff list yet. Please ask the SENCo to add you.")


@dataclass(frozen=True)
class StaffEntry:
    slack_user_id: str
    name: str
    role: str
    email: str = ""


def load_roster(path: Path) -> list[StaffEntry]:
    raw = read_yaml(path) or {}
    entries = []
    for i, item in enumerate(raw.get("staff") or ()):
        role = str(item.get("role", "")).strip()
        if role not in ROLES:
            raise RosterError(f"{path.name} entry {i + 1}: role must be one of {', '.join(ROLES)}")
        if not str(item.get("slack_user_id") or "").strip() or not str(item.get("name") or "").strip():
            raise RosterError(f"{path.name} entry {i + 1}: slack_user_id and name are required")
        entries.append(
            StaffEntry(
                str(item["slack_user_id"]).strip(), str(item["name"]).strip(), role, item.get("email") or ""
            )
        )
    return entries


def sync_roster(session: Session, school_ref: str, entries: list[StaffEntry]) -> int:
    """Make the stored staff of this school match the roster; people who left are deactivated."""
    existing = {
        s.slack_user_id: s
        for s in session.execute(select(StaffMember).where(StaffMember.school_ref == school_ref)).scalars()
    }
    for entry in entries:
        member = existing.pop(entry.slack_user_id, None) or StaffMember(
            school_ref=school_ref, slack_user_id=entry.slack_user_id
        )
        member.name, member.role, member.email, member.active = entry.name, entry.role, entry.email, True
        session.add(member)
    for departed in existing.values():
        departed.active = False  # kept, so their past bookings still make sense
    session.flush()
    return len(entries)


def find_staff(session: Session, school_ref: str, slack_user_id: str) -> StaffMember:
    member = session.execute(
        select(StaffMember).where(
            StaffMember.school_ref == school_ref,
            StaffMember.slack_user_id == slack_user_id,
            StaffMember.active.is_(True),
        )
    ).scalar_one_or_none()
    if member is None:
        raise UnknownStaff()
    return member


def require_slot_manager(member: StaffMember) -> None:
    if member.role not in SLOT_MANAGERS:
        raise NotAllowed("Only the SENCo or an admin can do that.")
