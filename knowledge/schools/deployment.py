"""Which schools one deployment serves, and the files each of them owns.

A single school needs no extra file: its profile, roster, calendar, articles and local
offer come from the usual settings (SCHOOL_PROFILE and friends). A trust with many
schools lists them in one YAML file named by SCHOOLS_FILE (see
`school_data/example_trust.yml`); paths in it are relative to that file. Each school
keeps its own local authority's local offer, its own calendar and its own staff, and its
`ref` is how parents reach it: the web page at `/s/<ref>` and the Telegram link
`?start=<ref>`. Slack workspaces or channels can be mapped to a school too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from knowledge.shared.settings import Settings
from knowledge.shared.yaml_files import read_yaml

REF_FORMAT = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")


class DeploymentError(ValueError):
    """The schools file cannot be used; the message names the entry to fix."""


@dataclass(frozen=True)
class SchoolSource:
    """The files one school owns, and the Slack places that belong to it."""

    profile: Path
    staff: Path | None
    calendar: Path | None
    articles: Path | None
    local_offer: Path | None
    slack_teams: tuple[str, ...] = ()
    slack_channels: tuple[str, ...] = ()

    @property
    def local_offer_dataset(self) -> str | None:
        """The local offer's dataset name: its file name, shared by schools of one local authority."""
        return self.local_offer.stem if self.local_offer else None


@dataclass(frozen=True)
class Deployment:
    schools: tuple[SchoolSource, ...]
    several: bool  # a trust: each school's local offer is kept apart

    @property
    def local_offers(self) -> tuple[Path, ...]:
        """Each local offer file once, however many schools share it."""
        seen: dict[str, Path] = {}
        for school in self.schools:
            if school.local_offer is not None:
                seen.setdefault(str(school.local_offer.resolve()), school.local_offer)
        return tuple(seen.values())

    @property
    def local_offer_datasets(self) -> set[str]:
        """The datasets those files load into (each file's name, as `import_oruk_file` names it)."""
        return {school.local_offer_dataset for school in self.schools if school.local_offer_dataset}


def load_deployment(settings: Settings) -> Deployment:
    if settings.schools_file is None:
        return Deployment(schools=(_single_school(settings),), several=False)
    return Deployment(schools=_schools_from_file(settings.schools_file), several=True)


def _single_school(settings: Settings) -> SchoolSource:
    return SchoolSource(
        profile=settings.school_profile,
        staff=settings.staff_roster,
        calendar=settings.school_calendar,
        articles=settings.school_articles_dir,
        local_offer=settings.local_offer_file,
    )


def _schools_from_file(path: Path) -> tuple[SchoolSource, ...]:
    try:
        raw = read_yaml(path) or {}
    except FileNotFoundError:
        raise DeploymentError(f"The schools file {path} was not found.") from None
    except yaml.YAMLError as error:
        raise DeploymentError(f"{path.name} is not valid YAML: {error}") from None
    entries = raw.get("schools") if isinstance(raw, dict) else None
    if not isinstance(entries, list) or not entries:
        raise DeploymentError(f"{path.name}: list the schools under `schools:`.")
    schools = tuple(
        _school(entry, path.parent, f"{path.name}, school {i}") for i, entry in enumerate(entries, 1)
    )
    _no_place_twice(schools, path.name)
    return schools


def _school(entry: object, base: Path, where: str) -> SchoolSource:
    if not isinstance(entry, dict) or not entry.get("profile"):
        raise DeploymentError(f"{where}: each school needs at least `profile:` (its profile file).")

    def file(key: str) -> Path | None:
        value = entry.get(key)
        return (base / str(value)) if value else None

    profile = file("profile")
    assert profile is not None
    if not profile.exists():
        raise DeploymentError(f"{where}: the profile file {profile} was not found.")
    return SchoolSource(
        profile=profile,
        staff=file("staff"),
        calendar=file("calendar"),
        articles=file("articles"),
        local_offer=file("local_offer"),
        slack_teams=_ids(entry, "slack_teams", where),
        slack_channels=_ids(entry, "slack_channels", where),
    )


def _ids(entry: dict, key: str, where: str) -> tuple[str, ...]:
    value = entry.get(key) or []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise DeploymentError(f"{where}: `{key}` should be a list of Slack ids.")
    return tuple(v.strip() for v in value)


def _no_place_twice(schools: tuple[SchoolSource, ...], name: str) -> None:
    """A Slack workspace or channel that belonged to two schools would leak between them."""
    owners: dict[str, Path] = {}
    for school in schools:
        for place in (*school.slack_teams, *school.slack_channels):
            if place in owners and owners[place] != school.profile:
                raise DeploymentError(f"{name}: Slack id {place} is listed for two schools.")
            owners[place] = school.profile


def check_ref(ref: str, where: str) -> None:
    """A school's ref is part of its parents' links, so it must be short and URL-safe."""
    if not REF_FORMAT.match(ref):
        raise DeploymentError(
            f"{where}: the school ref {ref!r} must be 2-63 lower-case letters, digits and hyphens."
        )
