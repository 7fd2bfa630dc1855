"""Find recurring topics the taxonomy does not cover: clusters of passage embeddings,
described by their distinctive terms (class-based TF-IDF) and their most typical passages."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from kb.store.catalogue import Catalogue

# HDBSCAN's cost grows faster than linearly; a large store is clustered on a sample.
MAX_PASSAGES = 20_000
TOP_TERMS = 10
TYPICAL_PASSAGES = 3
# A cluster mostly tagged with one theme is that theme again, not a new topic.
COVERED_SHARE = 0.5


@dataclass
class Cluster:
    id: int
    size: int
    terms: list[str]
    passages: list[dict]  # the most typical passages, with their citations
    themes: dict[str, float] = field(default_factory=dict)  # share of passages showing each theme
    covered_by: str | None = None


def discover(catalogue: Catalogue, min_size: int = 5, seed: int = 0) -> list[Cluster]:
    """Cluster the store's passages; the clusters least explained by existing themes come first."""
    from sklearn.cluster import HDBSCAN

    ids, vectors, *_ = catalogue.embedding_matrix()
    if len(ids) < 2 * min_size:
        return []
    rng = np.random.default_rng(seed)
    if len(ids) > MAX_PASSAGES:
        keep = np.sort(rng.choice(len(ids), MAX_PASSAGES, replace=False))
        ids, vectors = [ids[i] for i in keep], vectors[keep]
    labels = HDBSCAN(min_cluster_size=min_size, metric="euclidean", copy=True).fit_predict(vectors)
    passages = catalogue.passages_by_id(ids)
    documents = {d.doc_id: d for d in catalogue.documents()}
    members = {label: [i for i, lab in enumerate(labels) if lab == label] for label in set(labels) if label >= 0}
    texts = {label: " ".join(passages[ids[i]].text for i in rows) for label, rows in members.items()}
    terms = _distinctive_terms(texts)
    clusters = []
    for label, rows in sorted(members.items()):
        centre = vectors[rows].mean(axis=0)
        typical = sorted(rows, key=lambda i: -float(vectors[i] @ centre))[:TYPICAL_PASSAGES]
        shares = _theme_shares([passages[ids[i]] for i in rows])
        top = max(shares.items(), key=lambda kv: kv[1], default=(None, 0.0))
        clusters.append(Cluster(
            id=int(label), size=len(rows), terms=terms[label],
            passages=[_cited(passages[ids[i]], documents) for i in typical],
            themes=dict(sorted(shares.items(), key=lambda kv: -kv[1])[:5]),
            covered_by=top[0] if top[1] >= COVERED_SHARE else None,
        ))
    return sorted(clusters, key=lambda c: (c.covered_by is not None, max(c.themes.values(), default=0.0), -c.size))


def _distinctive_terms(texts: dict[int, str]) -> dict[int, list[str]]:
    """Class-based TF-IDF: words frequent in one cluster and rare across the others."""
    from sklearn.feature_extraction.text import CountVectorizer

    labels = list(texts)
    vectorizer = CountVectorizer(stop_words="english", ngram_range=(1, 2), min_df=1, token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z-]{2,}\b")
    counts = vectorizer.fit_transform([texts[label] for label in labels]).toarray().astype(float)
    tf = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1.0)
    average_words = counts.sum() / len(labels)
    idf = np.log(1.0 + average_words / np.maximum(counts.sum(axis=0), 1.0))
    weights = tf * idf
    vocabulary = vectorizer.get_feature_names_out()
    return {label: [vocabulary[j] for j in np.argsort(-weights[i])[:TOP_TERMS]] for i, label in enumerate(labels)}


def _theme_shares(passages) -> dict[str, float]:
    counts: dict[str, int] = {}
    for passage in passages:
        for theme in {m.theme_id for m in passage.themes if m.kind == "shows"}:
            counts[theme] = counts.get(theme, 0) + 1
    return {theme: round(n / len(passages), 3) for theme, n in counts.items()}


def _cited(passage, documents) -> dict:
    doc = documents.get(passage.doc_id)
    return {
        "passage_id": passage.passage_id, "doc_id": passage.doc_id,
        "title": doc.meta.title if doc else None, "year": doc.meta.year_published if doc else None,
        "page": passage.page_start, "text": passage.text,
    }
