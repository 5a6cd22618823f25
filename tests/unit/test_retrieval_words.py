"""The answer search reads the everyday names people use for the same person (issue #15)."""

from __future__ import annotations

import pytest

from knowledge.parents.retrieval import words


@pytest.mark.parametrize("name", ["granddad", "grandad", "grandpa", "grandma", "nanna", "grandmother"])
def test_every_name_for_a_grandparent_is_read_as_a_grandparent(name):
    assert words(f"can my {name} ask") == words("can my grandparent ask")


def test_a_slip_listed_on_purpose_beside_its_word_is_still_corrected():
    """An overview may list "apeal" beside "appeal" among its keywords so the article search finds
    it; the answer search still reads a message's "apeal" as "appeal", the word the bank uses."""
    from knowledge.parents.retrieval import AnswerIndex, Entry

    appeals = [
        Entry(
            f"appeal-{n}",
            "appeal",
            f"Appeal question {n}",
            ("Can I appeal the decision?", "how do I appeal to the tribunal", "appeal deadline"),
        )
        for n in range(3)
    ]
    overview = Entry(
        "appeal", "appeal", "Appeals", ("What is an appeal?", "appeals", "tribunal"), ("appeal", "apeal")
    )
    index = AnswerIndex([*appeals, overview], ranker=None)
    assert index.spelt_right("can i apeal that") == "can i appeal that"
