"""The helplines the safeguarding replies give, from `knowledge/content/helplines.yml`.

Numbers live in one content file, each with the page it was checked against and when, so a
changed number is changed once and every reply (parents, pupils, staff; every school) follows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from knowledge.shared.settings import PROJECT_ROOT
from knowledge.shared.yaml_files import read_yaml

HELPLINES_FILE = PROJECT_ROOT / "knowledge/content/helplines.yml"


@dataclass(frozen=True)
class Helpline:
    key: str
    name: str
    number: str
    hours: str  # in plain words: "any time" only where the service is open 24 hours, every day
    note: str
    source: str
    checked_on: dt.date


@lru_cache(maxsize=2)
def load_helplines(path: Path = HELPLINES_FILE) -> dict[str, Helpline]:
    raw = read_yaml(path)["helplines"]
    return {
        key: Helpline(
            key=key,
            name=str(item["name"]),
            number=str(item["number"]),
            hours=str(item["hours"]),
            note=str(item.get("note") or ""),
            source=str(item["source"]),
            checked_on=item["checked_on"],
        )
        for key, item in raw.items()
    }


def helpline(key: str) -> Helpline:
    """One helpline by its key in the content file (KeyError if a reply names one that isn't there)."""
    return load_helplines()[key]
