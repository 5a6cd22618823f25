"""Shared fixtures: a real SQLite database per test, loaded from the project's files."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from bot.seed import load_everything
from knowledge.shared.settings import PROJECT_ROOT, Settings


def make_settings(tmp_path: Path, **overrides) -> Settings:
    base = Settings.from_env()
    return dataclasses.replace(
        base,
        database_url=f"sqlite:///{tmp_path / 'knowledge.shared.db'}",
        school_profile=PROJECT_ROOT / "school_data/example_school.yml",
        local_offer_file=PROJECT_ROOT / "school_data/example_local_offer.json",
        school_articles_dir=tmp_path / "school_articles",
        staff_roster=PROJECT_ROOT / "school_data/example_staff.yml",
        content_dir=PROJECT_ROOT / "knowledge/content",
        **overrides,
    )


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings pointing at a fresh database that holds all the shipped content."""
    settings = make_settings(tmp_path)
    load_everything(settings)
    return settings
