"""Cleaning every inbound message before Rasa sees it, on every channel.

Over-long text is cut to `MAX_MESSAGE_CHARS` (and the person is told); markup is
reduced to its words; and a message with no words left (empty, emoji only, markup
only) or clearly in another language is turned into the `bad_input` intent, so the
dialogue gives a clear, friendly reply instead of a guess.
"""

from __future__ import annotations

import html
import json
import re
import unicodedata
from dataclasses import dataclass

# Button payloads ("/ask_appeal", '/bad_input{"input_issue":"empty"}') pass untouched.
_PAYLOAD = re.compile(r"^/[a-z_]{2,64}(\{.{0,200}\})?$")
_SCRIPT_OR_STYLE = re.compile(r"<\s*(script|style)\b[^>]*>.*?(<\s*/\s*\1\s*>|$)", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<\s*/?\s*[a-zA-Z!?][^<>]*>")
_CONTROL = re.compile(r"[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\ufeff]")
_LETTER_OR_DIGIT = re.compile(r"[^\W_]", re.UNICODE)

ENGLISH_HINTS = frozenset(
    """the a an and is are was my our your i you we he she it to of for in on with how what
    when where who why can could do does did have has not no yes please help school child
    son daughter ehcp sen send senco plan council support need needs about this that there
    if be get hi hello thanks thank year old""".split()
)
# Polish, Romanian, Portuguese, Spanish, French, Italian, German, Lithuanian, Somali
FOREIGN_HINTS = (
    frozenset(
        """jest nie tak czy jak moje mój moja dziecko syn córka szkoła dzień dobry dziękuję proszę
    este nu da copilul meu mea fiul fiica şcoala școala bună mulțumesc vă rog não sim meu
    minha filho filha escola obrigado obrigada olá você como está el la los las es no sí mi
    hijo hija escuela gracias hola cómo qué por favor necesito ayuda le les est pas oui mon
    ma fils fille école merci bonjour comment aide besoin avec pour il lo gli sono mio
    figlio figlia scuola grazie ciao aiuto der die das ist nicht ja mein meine sohn tochter
    schule danke hallo hilfe brauche yra ne taip mano vaikas sūnus dukra mokykla ačiū labas
    waa iyo ma wiilkayga gabadhayda dugsiga mahadsanid fadlan""".split()
    )
    - ENGLISH_HINTS
)


@dataclass(frozen=True)
class CleanInput:
    """The text Rasa gets, and what the guard did to it."""

    text: str
    issue: str | None = None  # empty | no_words | markup_only | other_language
    truncated: bool = False
    original_length: int = 0

    def metadata(self) -> dict:
        return {
            "issue": self.issue,
            "truncated": self.truncated,
            "original_length": self.original_length,
        }


def _strip_markup(text: str) -> tuple[str, bool]:
    without = _SCRIPT_OR_STYLE.sub(" ", text)
    without = _TAG.sub(" ", without)
    return without, without != text


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit]
    space = cut.rfind(" ")
    return cut[:space] if space > limit * 0.8 else cut


def _non_latin_share(text: str) -> float:
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return 0.0
    other = sum(1 for c in letters if "LATIN" not in unicodedata.name(c, ""))
    return other / len(letters)


def looks_like_other_language(text: str) -> bool:
    """True for text that is clearly not English; mixed or unsure text counts as English."""
    if _non_latin_share(text) > 0.5:
        return True
    words = re.findall(r"[^\W\d_]+", text.lower())
    if not words:
        return False
    english = sum(1 for w in words if w in ENGLISH_HINTS)
    # A known foreign word, or a word with accented letters (rare in English), is evidence.
    foreign = sum(1 for w in words if w in FOREIGN_HINTS or not w.isascii())
    if len(words) <= 2:
        return foreign >= 1 and english == 0
    return foreign >= 2 and foreign > 2 * english


def bad_input_payload(issue: str) -> str:
    return "/bad_input" + json.dumps({"input_issue": issue}, separators=(",", ":"))


def clean(raw: object, max_chars: int) -> CleanInput:
    """What Rasa should see for the raw text a person sent."""
    text = raw if isinstance(raw, str) else ""
    original_length = len(text)
    text = unicodedata.normalize("NFC", text)
    text = _CONTROL.sub(" ", text).replace("\r", "")
    stripped = text.strip()
    if _PAYLOAD.match(stripped):
        return CleanInput(stripped, original_length=original_length)
    text, had_markup = _strip_markup(html.unescape(stripped) if "&" in stripped else stripped)
    text = " ".join(text.split())
    truncated = len(text) > max_chars
    text = _cut(text, max_chars)
    issue = None
    if not text:
        issue = "markup_only" if had_markup else "empty"
    elif not _LETTER_OR_DIGIT.search(text):
        issue = "markup_only" if had_markup and not re.search(r"[^\w\s]", text) else "no_words"
    elif looks_like_other_language(text):
        issue = "other_language"
    if issue:
        return CleanInput(bad_input_payload(issue), issue, truncated, original_length)
    return CleanInput(text, None, truncated, original_length)


def truncation_notice(max_chars: int) -> str:
    return (
        f"Your message was long, so I read only the first {max_chars:,} characters. "
        "If I missed your question, please send it again in a shorter message."
    )
