"""The one module that imports chromadb: the vector index over passages.

Chroma holds only vectors and the metadata used to filter them, keyed by
passage id; the text lives in the catalogue. It is an index, rebuilt from the
catalogue by `scrkb reindex` whenever the two disagree.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

COLLECTION = "passages"
WRITE_BATCH = 1000


class VectorIndex:
    def __init__(self, path: Path):
        self.path = Path(path)
        self._collection = None

    @property
    def collection(self):
        if self._collection is None:
            import chromadb
            from chromadb.config import Settings as ChromaSettings

            self.path.mkdir(parents=True, exist_ok=True)
            client = chromadb.PersistentClient(
                path=str(self.path), settings=ChromaSettings(anonymized_telemetry=False)
            )
            # No embedding function: scrkb always supplies vectors, and Chroma's
            # default one would try to download a model.
            self._collection = client.get_or_create_collection(
                COLLECTION, configuration={"hnsw": {"space": "cosine"}}, embedding_function=None
            )
        return self._collection

    def upsert(self, ids: list[str], vectors: np.ndarray, metadatas: list[dict]) -> None:
        for i in range(0, len(ids), WRITE_BATCH):
            self.collection.upsert(
                ids=ids[i : i + WRITE_BATCH],
                embeddings=np.asarray(vectors[i : i + WRITE_BATCH], dtype=np.float32),
                metadatas=metadatas[i : i + WRITE_BATCH],
            )

    def set_themes(self, themes: dict[str, list[str]]) -> None:
        """Update the theme metadata of existing vectors (a passage without themes loses the key)."""
        ids = list(themes)
        for i in range(0, len(ids), WRITE_BATCH):
            chunk = ids[i : i + WRITE_BATCH]
            current = self.collection.get(ids=chunk, include=["metadatas"])
            metadatas = []
            for pid, meta in zip(current["ids"], current["metadatas"]):
                meta = {k: v for k, v in (meta or {}).items() if k != "themes"}
                if themes[pid]:
                    meta["themes"] = themes[pid]
                metadatas.append(meta)
            if current["ids"]:
                self.collection.update(ids=current["ids"], metadatas=metadatas)

    def delete(self, ids: list[str]) -> None:
        for i in range(0, len(ids), WRITE_BATCH):
            self.collection.delete(ids=ids[i : i + WRITE_BATCH])

    def count(self) -> int:
        return self.collection.count()

    def ids(self) -> set[str]:
        found: set[str] = set()
        offset = 0
        while True:
            batch = self.collection.get(include=[], limit=5000, offset=offset)["ids"]
            found.update(batch)
            if len(batch) < 5000:
                return found
            offset += len(batch)

    def query(self, vector: np.ndarray, k: int, where: dict | None = None) -> list[tuple[str, float]]:
        """Nearest passages as (passage_id, cosine similarity), the most similar first."""
        total = self.count()
        if total == 0:
            return []
        result = self.collection.query(
            query_embeddings=[np.asarray(vector, dtype=np.float32)],
            n_results=min(k, total),
            where=where,
            include=["distances"],
        )
        return [(pid, 1.0 - dist) for pid, dist in zip(result["ids"][0], result["distances"][0])]
