"""Build the project's own spaCy pipeline (there is no English spaCy 3.4 model to download).

blank English + a lookup lemmatizer (spacy-lookups-data) + an EntityRuler whose
patterns come from the SEND glossary, so "salt" or "ed psych" reach Rasa as
`service_type` entities and "autistic" as `area_of_need`. Rasa's SpacyNLP loads the
folder this writes (config.yml `model: build/spacy/en_send`).

Run: python -m nlu.spacy_pipeline [output_dir]
"""

from __future__ import annotations

import sys
from pathlib import Path

import spacy

from knowledge.shared.settings import get_settings
from knowledge.text.glossary import Glossary, load_glossary


def ruler_patterns(glossary: Glossary) -> list[dict]:
    """Case-insensitive token patterns for every label and synonym of every term."""
    patterns: list[dict] = []
    seen: set[tuple[str, str]] = set()
    for term in glossary.terms():
        for phrase in (term.label, *term.synonyms):
            words = phrase.lower().split()
            key = (term.entity, " ".join(words))
            if not words or key in seen:
                continue
            seen.add(key)
            patterns.append({"label": term.entity, "pattern": [{"LOWER": w} for w in words], "id": term.key})
    return patterns


def build(output_dir: Path, glossary: Glossary) -> Path:
    nlp = spacy.blank("en")
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    ruler = nlp.add_pipe("entity_ruler", config={"overwrite_ents": True})
    nlp.initialize()  # loads the lookup tables; clears any ruler patterns, so add them after
    ruler.add_patterns(ruler_patterns(glossary))
    nlp.meta["name"] = "en_send"
    nlp.meta["description"] = "Blank English, lookup lemmas, SEND glossary entity ruler"
    output_dir.mkdir(parents=True, exist_ok=True)
    nlp.to_disk(output_dir)
    return output_dir


def main(argv: list[str]) -> int:
    settings = get_settings()
    output = Path(argv[0]) if argv else settings.spacy_model_dir
    glossary = load_glossary(settings.content_dir / "glossary.yml")
    build(output, glossary)
    print(f"spaCy pipeline written to {output} ({len(ruler_patterns(glossary))} glossary patterns)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
