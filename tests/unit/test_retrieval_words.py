"""The answer search reads the everyday names people use for the same person (issue #15)."""

from __future__ import annotations

import pytest

from knowledge.parents.retrieval import words


@pytest.mark.parametrize("name", ["granddad", "grandad", "grandpa", "grandma", "nanna", "grandmother"])
def test_every_name_for_a_grandparent_is_read_as_a_grandparent(name):
    assert words(f"can my {name} ask") == words("can my grandparent ask")
