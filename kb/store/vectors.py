"""The one module that imports chromadb: the vector index over passages.

Chroma holds only vectors and the metadata used to filter them, keyed by
passage id; the text lives in the catalogue. It is an index, rebuilt from the
catalogue by `scrkb reindex` whenever the two disagree.

The index is either embedded (a folder in the store) or a Chroma server
(`chroma run`) named by SCRKB_CHROMA_URL, which every web worker and every
ingest on any machine then shares. Both behave the same to the rest of kb.
"""

from __future__ import annotations

import functools
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import numpy as np

from kb.store.errors import StoreUnavailable, chroma_cause, disk_problem, unavailable

COLLECTION = "passages"
WRITE_BATCH = 1000
DEFAULT_TENANT = "default_tenant"
DEFAULT_DATABASE = "default_database"
DEFAULT_TIMEOUT = 30.0
# The deadline given to the HTTP client of the next Chroma client made in this context (see _with_deadlines).
_DEADLINE: ContextVar[float] = ContextVar("chroma_deadline", default=DEFAULT_TIMEOUT)


class VectorStoreUnavailable(RuntimeError):
    """The Chroma server cannot be reached, or the URL naming it is wrong; the message says which."""


@dataclass(frozen=True)
class ChromaServer:
    """Where a Chroma server is and which collection on it holds this store's vectors."""

    url: str
    host: str
    port: int
    ssl: bool
    tenant: str = DEFAULT_TENANT
    database: str = DEFAULT_DATABASE
    collection: str = COLLECTION

    @classmethod
    def parse(cls, url: str) -> "ChromaServer":
        """Read http[s]://host[:port][/][?tenant=T&database=D&collection=C]."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise VectorStoreUnavailable(f"SCRKB_CHROMA_URL={url!r} is not an http:// or https:// URL with a host")
        if parts.path not in ("", "/"):
            raise VectorStoreUnavailable(
                f"SCRKB_CHROMA_URL={url!r}: name the collection with ?collection=NAME, not a path"
            )
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        unknown = set(query) - {"tenant", "database", "collection"}
        if unknown:
            raise VectorStoreUnavailable(f"SCRKB_CHROMA_URL={url!r}: unknown parameter(s) {', '.join(sorted(unknown))}")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 8000)
        except ValueError:
            raise VectorStoreUnavailable(f"SCRKB_CHROMA_URL={url!r} has an invalid port") from None
        return cls(
            url=url, host=parts.hostname, port=port, ssl=parts.scheme == "https",
            tenant=query.get("tenant", DEFAULT_TENANT), database=query.get("database", DEFAULT_DATABASE),
            collection=query.get("collection", COLLECTION),
        )


def check_reachable(url: str, timeout: float = 10.0) -> None:
    """Ask a Chroma server's heartbeat over plain HTTP, without a Chroma client.

    For a process about to fork (gunicorn's master): a Chroma client holds
    connections and threads that must not cross a fork.
    """
    import urllib.error
    import urllib.request

    server = ChromaServer.parse(url)
    scheme = "https" if server.ssl else "http"
    try:
        with urllib.request.urlopen(f"{scheme}://{server.host}:{server.port}/api/v2/heartbeat", timeout=timeout):
            pass
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise VectorStoreUnavailable(f"cannot reach the Chroma server at {server.url} ({reason})") from None


def _unreachable_names_the_server(method):
    """Turn a lost or silent server into VectorStoreUnavailable naming the URL, and a full or read-only
    disk under the embedded index into StoreUnavailable naming its folder, instead of a traceback."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        import httpx

        try:
            return method(self, *args, **kwargs)
        except httpx.TimeoutException:
            raise VectorStoreUnavailable(self._silent()) from None
        except httpx.TransportError as exc:
            raise VectorStoreUnavailable(f"the Chroma server at {self.server.url} did not answer: {exc}") from None
        except (VectorStoreUnavailable, StoreUnavailable):
            raise
        except Exception as exc:
            cause = None if self.server else chroma_cause(str(exc)) or disk_problem(self.path)
            if cause is None:
                raise
            raise StoreUnavailable(self.path, cause) from exc

    return wrapper


def _with_deadlines() -> None:
    """Give every HTTP client chromadb makes a timeout: chromadb 1.5 makes its httpx client with none,
    so a server that accepts a connection and never answers would hold the caller for ever."""
    import httpx
    from chromadb.api.fastapi import FastAPI

    if getattr(FastAPI, "_scrkb_deadline", False):
        return
    made = FastAPI.__init__

    def __init__(self, system):
        made(self, system)
        self._session.timeout = httpx.Timeout(_DEADLINE.get())

    FastAPI.__init__ = __init__
    FastAPI._scrkb_deadline = True


class VectorIndex:
    def __init__(self, path: Path, url: str | None = None, timeout: float = DEFAULT_TIMEOUT):
        self.path = Path(path)
        self.server = ChromaServer.parse(url) if url else None
        self.timeout = timeout  # seconds for each call to a Chroma server
        self._collection = None

    @property
    def location(self) -> str:
        return self.server.url if self.server else str(self.path)

    def _silent(self) -> str:
        return f"the Chroma server at {self.server.url} did not answer within {self.timeout:g} s (SCRKB_CHROMA_TIMEOUT)"

    @property
    def embedded(self) -> bool:
        """Whether the index is the store's own folder, which only the process writing it may open."""
        return self.server is None

    @property
    def collection(self):
        if self._collection is None:
            client = self._server_client() if self.server else self._embedded_client()
            # No embedding function: scrkb always supplies vectors, and Chroma's
            # default one would try to download a model.
            self._collection = client.get_or_create_collection(
                self.server.collection if self.server else COLLECTION,
                configuration={"hnsw": {"space": "cosine"}}, embedding_function=None,
            )
        return self._collection

    @_unreachable_names_the_server
    def open(self) -> "VectorIndex":
        """Connect now, so that an unreachable server stops a command before it does any work."""
        _ = self.collection
        return self

    @_unreachable_names_the_server
    def _embedded_client(self):
        import chromadb

        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise (unavailable(self.path, exc) or exc) from None
        return chromadb.PersistentClient(path=str(self.path), settings=_chroma_settings())

    @_unreachable_names_the_server
    def _server_client(self):
        import chromadb

        server = self.server
        _with_deadlines()
        deadline = _DEADLINE.set(self.timeout)
        try:
            if server.database != DEFAULT_DATABASE:
                self._create_database()
            return chromadb.HttpClient(
                host=server.host, port=server.port, ssl=server.ssl, tenant=server.tenant,
                database=server.database, settings=_chroma_settings(),
            )
        except ValueError as exc:  # chromadb's word for "nothing listens there", and for "no answer in time"
            if "timed out" in str(exc).lower():
                raise VectorStoreUnavailable(self._silent()) from None
            raise VectorStoreUnavailable(f"cannot reach the Chroma server at {server.url} ({exc})") from None
        finally:
            _DEADLINE.reset(deadline)

    def _create_database(self) -> None:
        """Make the database the URL names if it is new, so a store's own database needs nothing but the URL."""
        import chromadb
        from chromadb.errors import NotFoundError

        server = self.server
        admin = chromadb.AdminClient(_chroma_settings(
            chroma_api_impl="chromadb.api.fastapi.FastAPI", chroma_server_host=server.host,
            chroma_server_http_port=server.port, chroma_server_ssl_enabled=server.ssl,
        ))
        try:
            admin.get_database(server.database, tenant=server.tenant)
        except NotFoundError:
            try:
                admin.create_database(server.database, tenant=server.tenant)
            except NotFoundError as exc:  # the tenant
                raise VectorStoreUnavailable(f"the Chroma server at {server.url}: {exc}") from None

    @_unreachable_names_the_server
    def upsert(self, ids: list[str], vectors: np.ndarray, metadatas: list[dict]) -> None:
        for i in range(0, len(ids), WRITE_BATCH):
            self.collection.upsert(
                ids=ids[i : i + WRITE_BATCH],
                embeddings=np.asarray(vectors[i : i + WRITE_BATCH], dtype=np.float32),
                metadatas=metadatas[i : i + WRITE_BATCH],
            )

    @_unreachable_names_the_server
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

    @_unreachable_names_the_server
    def delete(self, ids: list[str]) -> None:
        for i in range(0, len(ids), WRITE_BATCH):
            self.collection.delete(ids=ids[i : i + WRITE_BATCH])

    @_unreachable_names_the_server
    def count(self) -> int:
        return self.collection.count()

    @_unreachable_names_the_server
    def ids(self) -> set[str]:
        found: set[str] = set()
        offset = 0
        while True:
            batch = self.collection.get(include=[], limit=5000, offset=offset)["ids"]
            found.update(batch)
            if len(batch) < 5000:
                return found
            offset += len(batch)

    @_unreachable_names_the_server
    def query(self, vector: np.ndarray, k: int, where: dict | None = None) -> list[tuple[str, float]]:
        """Nearest passages as (passage_id, cosine similarity), the most similar first."""
        # No count() first: Chroma returns what it holds when that is fewer than k, and
        # counting costs more than the query itself at 100,000 vectors.
        result = self.collection.query(
            query_embeddings=[np.asarray(vector, dtype=np.float32)],
            n_results=k,
            where=where,
            include=["distances"],
        )
        return [(pid, 1.0 - dist) for pid, dist in zip(result["ids"][0], result["distances"][0])]


def _chroma_settings(**values):
    from chromadb.config import Settings as ChromaSettings

    return ChromaSettings(anonymized_telemetry=False, **values)
