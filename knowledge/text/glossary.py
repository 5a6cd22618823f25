"""The SEND vocabulary: service types and areas of need, with the words parents use.

One YAML file (`knowledge/content/glossary.yml`) feeds both the spaCy EntityRuler
(entities reach Rasa) and the search code here (so a service type is found even
when the NLU model missed the entity).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable

from knowledge.shared.yaml_files import read_yaml

ENTITY_SERVICE_TYPE = "service_type"
ENTITY_AREA_OF_NEED = "area_of_need"


@dataclass(frozen=True)
class Term:
    key: str
    label: str
    synonyms: tuple[str, ...]
    entity: str


@dataclass(frozen=True)
class Glossary:
    service_types: tuple[Term, ...]
    areas_of_need: tuple[Term, ...]

    def terms(self) -> tuple[Term, ...]:
        return self.service_types + self.areas_of_need

    def canonical(self, entity: str, text: str) -> Term | None:
        """The term an entity value means ('salt' -> speech_and_language_therapy)."""
        wanted = _norm(text)
        for term in self.terms():
            if term.entity != entity:
                continue
            if wanted in (_norm(term.key), _norm(term.label)) or wanted in map(_norm, term.synonyms):
                return term
        return None

    def find_in_text(self, text: str, entity: str) -> list[Term]:
        """Terms of one entity type whose label or synonym occurs in `text` as whole words."""
        haystack = f" {_norm(text)} "
        found: list[tuple[int, Term]] = []
        for term in self.terms():
            if term.entity != entity:
                continue
            phrases = (term.label, *term.synonyms)
            positions = [haystack.find(f" {_norm(p)} ") for p in phrases]
            hits = [p for p in positions if p >= 0]
            if hits:
                found.append((min(hits), term))
        return [term for _, term in sorted(found, key=lambda pair: pair[0])]

    def label(self, key: str) -> str:
        for term in self.terms():
            if term.key == key:
                return term.label
        return key.replace("_", " ")


def _norm(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def _terms(raw: Iterable[dict], entity: str) -> tuple[Term, ...]:
    return tuple(
        Term(
            key=str(item["key"]),
            label=str(item["label"]),
            synonyms=tuple(str(s).lower().strip() for s in item.get("synonyms") or ()),
            entity=entity,
        )
        for item in raw
    )


@lru_cache(maxsize=4)
def load_glossary(path: Path) -> Glossary:
    raw = read_yaml(path) or {}
    return Glossary(
        service_types=_terms(raw.get("service_types") or (), ENTITY_SERVICE_TYPE),
        areas_of_need=_terms(raw.get("areas_of_need") or (), ENTITY_AREA_OF_NEED),
    )
