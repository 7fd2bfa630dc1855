"""Build a large synthetic knowledge base for benchmarks: varied review-like text and real embeddings.

A pool of sentences written from templates is embedded once with the real model;
each passage joins a few of them, and its vector is the normalised mean of
theirs with a little noise, so the store has realistic neighbourhoods at any size.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np

from kb import KnowledgeBase, Settings
from kb.models import Document, DocumentMeta, Evidence, Passage, Sentence, ThemeMatch

AGENCIES = ["the health visitor", "the GP", "children's social care", "the police", "the school", "the midwife",
            "CAMHS", "the housing officer", "the paediatrician", "the MASH", "the probation officer", "the nursery"]
ACTIONS = ["did not share", "recorded but did not act on", "was not told about", "escalated", "closed the case after",
           "assessed", "visited the family about", "referred", "did not see the child during", "accepted the explanation for"]
OBJECTS = ["a bruise on the baby's cheek", "repeated missed appointments", "domestic abuse incidents", "the mother's low mood",
           "concerns about neglect", "an unexplained injury", "the stepfather's history", "the child's weight loss",
           "reports of sexual exploitation", "the family's move to a new area", "school absences", "alcohol misuse"]
TAILS = ["and nobody joined the dots.", "so the referral did not meet the threshold.", "which was treated as a new incident.",
         "without seeing the child alone.", "and the case was closed with no further action.", "as managers were overstretched.",
         "although the information was already held by another agency.", "and no strategy discussion took place."]
CASES = [f"Child {chr(65 + i)}{j}" for i in range(26) for j in range(1, 5)]
TYPES = ["serious case review", "child safeguarding practice review", "inquiry", "national review"]


def sentence_pool(rng: random.Random, size: int) -> list[str]:
    pool = set()
    while len(pool) < size:
        pool.add(f"{rng.choice(AGENCIES).capitalize()} {rng.choice(ACTIONS)} {rng.choice(OBJECTS)} {rng.choice(TAILS)}")
    return sorted(pool)


def build(home: Path, passages: int, per_document: int = 100, seed: int = 7) -> KnowledgeBase:
    """Create (once) a store of `passages` passages under `home`; reuse it if it is complete."""
    kb = KnowledgeBase(Settings(home=home, catalogue=home / "none.csv"))
    if kb.stats()["passages"] >= passages and kb.check()["consistent"]:
        return kb
    rng = random.Random(seed)
    np_rng = np.random.default_rng(seed)
    pool = sentence_pool(rng, 3000)
    pool_vectors = kb.embedder.encode(pool)
    theme_ids = kb.tagger.taxonomy.ids
    for d in range(passages // per_document):
        doc_id = f"{d:016x}"
        records, vectors, sentence_vectors = [], [], []
        for i in range(per_document):
            picks = rng.sample(range(len(pool)), 3)
            text = " ".join(pool[j] for j in picks)
            vector = pool_vectors[picks].mean(axis=0) + np_rng.normal(0, 0.01, pool_vectors.shape[1])
            vector = (vector / np.linalg.norm(vector)).astype(np.float32)
            themes = [ThemeMatch(t, 0.8, "shows", [Evidence(text[:40], 0, 40)]) for t in rng.sample(theme_ids, 2)]
            records.append(Passage(f"{doc_id}-p{i // 4 + 1:04d}-{i % 4:02d}", doc_id, i, text, i // 4 + 1, i // 4 + 1,
                                   "Analysis", "analysis", themes=themes, sentences=[Sentence(0, len(text), ())]))
            vectors.append(vector)
            sentence_vectors.append(vector[None, :])
        meta = DocumentMeta(title=f"Review {d}", case=rng.choice(CASES), review_type=rng.choice(TYPES),
                            year_published=rng.randint(1990, 2024), nation="England")
        document = Document(doc_id, doc_id * 4, f"/synthetic/{doc_id}.pdf", 1, per_document // 4, meta)
        kb.catalogue.write_document(document, [], [], records, np.stack(vectors), sentence_vectors, kb.tagger.version)
        kb.index_document(doc_id)
    return kb


def queries(count: int, seed: int = 11) -> list[str]:
    rng = random.Random(seed)
    made = []
    for i in range(count):
        if i % 3 == 0:
            made.append(f"{rng.choice(AGENCIES)} {rng.choice(OBJECTS)}")
        elif i % 3 == 1:
            made.append(f"{rng.choice(AGENCIES)} {rng.choice(ACTIONS)} {rng.choice(OBJECTS)} {rng.choice(TAILS)}")
        else:
            made.append(rng.choice(["HV no access", "threshold not met", "case closed NFA", "child not seen alone",
                                    "Baby P", "nobody joined the dots", "disguised compliance", "CSE lifestyle choice"]))
    return made
