"""A question about one lettered section of an EHC plan ("what goes in section K?") finds that
section's answer: the single letter is a word that matters here, not filler (issue #15)."""

from __future__ import annotations

import pytest

from knowledge.parents.retrieval import words
from tests.unit.test_answer_ranker import _index


def test_a_section_letter_is_read_as_part_of_the_word_section():
    assert "section" not in words("what is in section k") and words("section k") == words("Section K")
    assert words("section k") != words("section j")


@pytest.mark.parametrize(
    ("question", "slug"),
    [
        ("whats in section k of the ehc plan", "ehcp-section-k"),
        ("tell me what section a of the plan is for", "ehcp-section-a"),
        ("what does section b cover", "ehcp-section-b"),
        ("what goes in section g of an ehcp", "ehcp-section-g"),
    ],
)
def test_a_question_about_one_section_finds_that_sections_answer(question, slug):
    ranked = _index(True).rank(question)
    assert ranked and ranked[0].entry.slug == slug, [m.entry.slug for m in ranked[:3]]
