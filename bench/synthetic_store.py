"""Build a large synthetic knowledge base for benchmarks: real review prose, real embeddings.

The sentences are those of the sample digests that ship in corpora/sample/src,
embedded once with the real model; each passage joins a few of them and its
vector is the normalised mean of theirs with a little noise. Words are then as
common across the store as they are in real review text (which decides what
keyword search costs), and the vectors have realistic neighbourhoods at any size.
"""

from __future__ import annotations

import hashlib
import random
import re
import shutil
from pathlib import Path

import numpy as np

from kb import KnowledgeBase, Settings
from kb.models import Document, DocumentMeta, Evidence, Passage, Sentence, ThemeMatch
from kb.nlp.text import read_jsonl, sentence_spans

CHECKOUT = Path(__file__).resolve().parent.parent
DIGESTS = CHECKOUT / "corpora" / "sample" / "src"
DEV_QUERIES = CHECKOUT / "tests" / "data" / "search_dev.jsonl"
SIZES = (10_000, 100_000, 300_000, 540_000)
CASES = [f"Child {chr(65 + i)}{j}" for i in range(26) for j in range(1, 5)]
TYPES = ["serious case review", "child safeguarding practice review", "inquiry", "national review"]
# Bump when the generator changes, so a cached store of the old kind is not reused.
VERSION = 3
# Documents written between two writes of the derived indexes: one Chroma upsert and one
# keyword-index commit per batch, as `scrkb reindex` does, instead of one per document.
INDEX_BATCH = 100


def digest_sentences() -> list[str]:
    """Every prose sentence of the sample digests (headings, tables and lists left out)."""
    sentences = []
    for path in sorted(DIGESTS.glob("*.md")):
        parts = path.read_text(encoding="utf-8").split("---", 2)
        if len(parts) < 3:
            continue
        for paragraph in re.split(r"\n\s*\n", parts[2]):
            text = " ".join(paragraph.split())
            if not text or text[0] in "#|-*>":
                continue
            sentences += [text[a:b] for a, b in sentence_spans(text) if len(text[a:b].split()) >= 5]
    return sorted(set(sentences))


def store_dir(passages: int) -> Path:
    return Path(f"/tmp/scrkb-bench-store-v{VERSION}-{passages}")


def pool_embeddings(kb: KnowledgeBase, pool: list[str]) -> np.ndarray:
    """The pool's vectors, computed once and shared by stores of every size."""
    key = hashlib.sha256("\n".join(pool).encode()).hexdigest()[:16]
    cached = Path(f"/tmp/scrkb-bench-pool-{key}.npy")
    if cached.exists():
        return np.load(cached)
    vectors = kb.embedder.encode(pool)
    np.save(cached, vectors)
    return vectors


def build(home: Path, passages: int, per_document: int = 100, seed: int = 7) -> KnowledgeBase:
    """Create (once) a store of `passages` passages under `home`; reuse it if it is complete.

    A smaller complete store of the same version is copied and extended rather than built
    again, so the 540,000-passage store costs the passages it adds to the 300,000 one.
    """
    if not (home / "catalogue.sqlite3").exists():
        smaller = [p for p in SIZES if p < passages and _complete(store_dir(p), p)]
        if smaller:
            shutil.copytree(store_dir(max(smaller)), home)
    kb = KnowledgeBase(Settings(home=home, catalogue=home / "none.csv"))
    # The catalogue's own record of what is indexed: `check` would list every vector id (minutes at 300k).
    if _complete(home, passages):
        kb.catalogue.refresh_statistics()  # cheap, and a store from an older version of this script lacks them
        return kb
    if kb.catalogue.documents_missing_vectors():
        kb.reindex()
    rng = random.Random(seed + kb.stats()["documents"])
    np_rng = np.random.default_rng(seed)
    pool = digest_sentences()
    pool_vectors = pool_embeddings(kb, pool)
    theme_ids = kb.tagger.taxonomy.ids
    batch: list[str] = []
    for d in range(kb.stats()["documents"], passages // per_document):
        doc_id = f"{d:016x}"
        records, vectors, sentence_vectors = [], [], []
        for i in range(per_document):
            picks = rng.sample(range(len(pool)), rng.randint(3, 6))
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
        batch.append(doc_id)
        if len(batch) == INDEX_BATCH:
            kb.index_documents(batch)
            batch = []
    if batch:
        kb.index_documents(batch)
    kb.catalogue.refresh_statistics()
    return kb


def _complete(home: Path, passages: int) -> bool:
    """Whether a cached store holds its passages, all indexed (without opening Chroma)."""
    if not (home / "catalogue.sqlite3").exists():
        return False
    from kb.store.catalogue import Catalogue

    catalogue = Catalogue(home / "catalogue.sqlite3")
    return catalogue.stats()["passages"] >= passages and not catalogue.documents_missing_vectors()


def queries(count: int) -> list[str]:
    """The development queries (written as reviewers, trainers and researchers ask), repeated to `count`."""
    texts = read_jsonl(DEV_QUERIES, lambda row: row["query"])
    return [texts[i % len(texts)] for i in range(count)]
