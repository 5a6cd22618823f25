"""Every inbound message is cleaned before Rasa sees it."""

from __future__ import annotations

import pytest

from connectors.rasa.input_guard import clean, looks_like_other_language

LIMIT = 1000


@pytest.mark.parametrize("raw", ["", "   ", "\n\t ", None, 42])
def test_nothing_to_read_becomes_the_empty_bad_input(raw):
    cleaned = clean(raw, LIMIT)
    assert cleaned.issue == "empty"
    assert cleaned.text == '/bad_input{"input_issue":"empty"}'


@pytest.mark.parametrize("raw", ["😀😀😀", "👍", "?!?!", "🙏🏽 ❤️"])
def test_emoji_or_symbols_only(raw):
    assert clean(raw, LIMIT).issue == "no_words"


@pytest.mark.parametrize(
    "raw", ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "&lt;b&gt;&lt;/b&gt;"]
)
def test_markup_only(raw):
    assert clean(raw, LIMIT).issue == "markup_only"


def test_markup_around_a_question_is_reduced_to_its_words():
    cleaned = clean("<b>what is an <i>EHCP</i></b><script>steal()</script>", LIMIT)
    assert cleaned.issue is None
    assert cleaned.text == "what is an EHCP"


def test_a_huge_message_is_cut_to_the_limit_and_flagged():
    cleaned = clean("how long does an ehcp take " * 800, LIMIT)
    assert cleaned.truncated
    assert cleaned.original_length > 20_000
    assert len(cleaned.text) <= LIMIT
    assert cleaned.text.startswith("how long does an ehcp take")


@pytest.mark.parametrize(
    "raw",
    [
        "Jak mogę uzyskać EHCP dla mojego syna?",
        "Mon fils a besoin d'aide à l'école, que faire ?",
        "Cum pot obține un EHCP pentru fiul meu?",
        "¿Cómo puedo conseguir ayuda para mi hijo en la escuela?",
        "كيف أحصل على خطة تعليمية لابني",
        "میرے بیٹے کو اسکول میں مدد کیسے ملے گی",
        "我的孩子需要帮助",
    ],
)
def test_another_language_is_recognised(raw):
    assert clean(raw, LIMIT).issue == "other_language"


@pytest.mark.parametrize(
    "raw",
    [
        "what is an ehcp",
        "hola, what is an EHCP?",
        "my son's naïve about it, is there a café for parents",
        "wat is sen suport",
        "ehcp",
        "SALT for my 5yo?",
    ],
)
def test_english_with_a_foreign_word_or_typos_is_still_english(raw):
    assert not looks_like_other_language(raw)
    assert clean(raw, LIMIT).issue is None


def test_button_payloads_pass_untouched():
    assert clean("/ask_appeal", LIMIT).text == "/ask_appeal"


def test_control_characters_and_extra_spaces_are_removed():
    assert clean("what\x00 is\u200b   an\r\n ehcp", LIMIT).text == "what is an ehcp"
