"""A parent's chat with the bot (Telegram today): its school, first contact and reminder choices.

The connector asks; this module answers, each question one short unit of work, so no
session is ever shared or held across a network call. Blocking: call it through a thread.

A chat belongs to the school of the latest link the parent used (`t.me/<bot>?start=<school
ref>`); in a one-school deployment, to that school; in a trust, to none until a link is used.
What is stored lives in `knowledge.broadcasts.subscribers`; this module puts the school and
the parent's choices together, with what the school offers to choose from.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from knowledge.broadcasts import subscribers
from knowledge.schools.profile import SchoolProfile, read_profile
from knowledge.schools.tenancy import parent_school, school_exists
from knowledge.shared.db import unit_of_work

# The lists a parent may narrow their reminders by, in the order they are offered.
YEAR_GROUPS, INTERESTS = "year_groups", "interests"
STEPS = (YEAR_GROUPS, INTERESTS)


@dataclass(frozen=True)
class ReminderSettings:
    """A parent's reminder choices, with what the school lets them choose from."""

    opted_in: bool
    year_groups: tuple[str, ...] = ()  # () = all year groups
    interests: tuple[str, ...] = ()  # () = every kind
    year_group_options: tuple[str, ...] = ()
    interest_options: tuple[str, ...] = ()

    def options(self, step: str) -> tuple[str, ...]:
        return self.year_group_options if step == YEAR_GROUPS else self.interest_options

    def chosen(self, step: str) -> tuple[str, ...]:
        """What is stored for `step`, as far as the school still offers it, in the school's order."""
        stored = set(self.year_groups if step == YEAR_GROUPS else self.interests)
        return tuple(name for name in self.options(step) if name in stored)

    def first_step(self) -> str | None:
        return next((step for step in STEPS if self.options(step)), None)

    def step_after(self, step: str) -> str | None:
        return INTERESTS if step == YEAR_GROUPS and self.interest_options else None


NO_SCHOOL = ReminderSettings(False)


@dataclass(frozen=True)
class Welcome:
    """What a chat's contact found: its school, whether this was the first contact (so the
    privacy notice is due), and whether the parent gets reminders."""

    profile: SchoolProfile | None  # None: a trust's bot, and no school's link used yet
    first_contact: bool = False
    opted_in: bool = False


class ParentChats:
    """The parents' chats on one channel, in the database at `database_url`."""

    def __init__(self, database_url: str, channel: str) -> None:
        self.database_url = database_url
        self.channel = channel

    def _profile(self, session: Session, address: str) -> SchoolProfile | None:
        ref = subscribers.linked_school(session, self.channel, address)
        if ref is None or not school_exists(session, ref):
            ref = parent_school(session, {}).ref
        return read_profile(session, ref) if ref else None

    def _settings(self, session: Session, profile: SchoolProfile, address: str) -> ReminderSettings:
        choices = subscribers.choices(session, profile.ref, self.channel, address)
        return ReminderSettings(
            opted_in=choices.opted_in,
            year_groups=choices.year_groups,
            interests=choices.interests,
            year_group_options=profile.reminder_year_groups,
            interest_options=profile.reminder_interests,
        )

    def school(self, address: str) -> str | None:
        """The ref of the chat's school; None when it has none yet."""
        with unit_of_work(self.database_url) as session:
            profile = self._profile(session, address)
            return profile.ref if profile else None

    def welcome(self, address: str, link: str | None = None) -> Welcome:
        """Record the contact (and the school's link, if one was used and exists)."""
        with unit_of_work(self.database_url) as session:
            ref = (link or "").strip().lower()
            if ref and school_exists(session, ref):
                subscribers.link(session, ref, self.channel, address)
            profile = self._profile(session, address)
            if profile is None:
                return Welcome(None)
            first = subscribers.first_contact(session, profile.ref, self.channel, address)
            opted_in = subscribers.is_opted_in(session, profile.ref, self.channel, address)
            return Welcome(profile, first, opted_in)

    def opt_in(self, address: str) -> ReminderSettings:
        with unit_of_work(self.database_url) as session:
            profile = self._profile(session, address)
            if profile is None:
                return NO_SCHOOL
            subscribers.opt_in(session, profile.ref, self.channel, address)
            return self._settings(session, profile, address)

    def opt_out(self, address: str) -> bool:
        """Stop reminders from every school this chat has a row with; True if any were on."""
        with unit_of_work(self.database_url) as session:
            stopped = False
            for ref in subscribers.schools_of(session, self.channel, address):
                stopped = subscribers.opt_out(session, ref, self.channel, address) or stopped
            return stopped

    def reminders(self, address: str) -> ReminderSettings:
        """What this chat gets, and what the school offers to choose from (read fresh each time)."""
        with unit_of_work(self.database_url) as session:
            profile = self._profile(session, address)
            return NO_SCHOOL if profile is None else self._settings(session, profile, address)

    def choose(self, address: str, step: str, names: list[str]) -> ReminderSettings | None:
        """Store one list (year groups or kinds of reminder); None when no longer opted in."""
        field = "year_groups" if step == YEAR_GROUPS else "interests"
        with unit_of_work(self.database_url) as session:
            profile = self._profile(session, address)
            if profile is None:
                return None
            stored = subscribers.choose(session, profile.ref, self.channel, address, **{field: names})
            return None if stored is None else self._settings(session, profile, address)
