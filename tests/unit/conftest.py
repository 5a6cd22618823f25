"""Fixtures for the unit tests that run custom actions in-process."""

from __future__ import annotations

import pytest

from actions import actions


@pytest.fixture
def on(settings, monkeypatch):
    """The custom actions read this test's settings (its own database)."""
    monkeypatch.setattr(actions, "get_settings", lambda: settings)
    return settings
