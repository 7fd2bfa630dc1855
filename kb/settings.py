"""Every setting scrkb reads, declared once with its default and help text.

A setting comes from, in order: an explicit override (a CLI option such as
``--kb``), the environment variable named here, the default. The README lists
every setting; a test keeps the two in step.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, fields
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent
# Shipped domain knowledge: the taxonomy, gazetteer, section headings, vocabulary, calibration.
DATA_DIR = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True)
class Settings:
    home: Path = CHECKOUT / "var" / "kb"
    catalogue: Path = CHECKOUT / "corpora" / "catalogue.csv"
    sample_corpus: Path = CHECKOUT / "corpora" / "sample"
    user_themes: Path | None = None
    theme_quality: Path | None = None
    embed_batch_size: int = 32
    embedding_backend: str = "onnx-int8"
    model_cache: Path = CHECKOUT / "var" / "models"
    host: str = "127.0.0.1"
    port: int = 5000
    parse_timeout: float = 120.0
    parse_memory_mb: int = 1536
    max_file_mb: int = 512
    max_pages: int = 2000
    login: str = "auto"
    secret_key_file: Path | None = None
    secure_cookies: str = "auto"
    proxy_hops: int = 0
    chroma_url: str | None = None
    workers: int = 1
    govuk_api: str = "https://www.gov.uk/api/content"
    wayback_url: str = "https://web.archive.org"
    chroma_timeout: float = 30.0
    audit_days: int | None = None
    page_cache_mb: int = 256

    @property
    def catalogue_db(self) -> Path:
        return self.home / "catalogue.sqlite3"

    @property
    def accounts_db(self) -> Path:
        return self.home / "accounts.sqlite3"

    @property
    def secret_key_path(self) -> Path:
        return self.secret_key_file or self.home / "secret_key"

    @property
    def loopback(self) -> bool:
        """Whether `host` is reachable only from this machine."""
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:  # a host name other than localhost may resolve to anything
            return False

    def login_required(self) -> bool:
        """Whether the web app asks for an account; open access is refused beyond this machine."""
        if self.login not in ("auto", "required", "off"):
            raise ValueError(f"SCRKB_LOGIN={self.login!r} must be auto, required or off")
        if self.login == "off" and not self.loopback:
            raise ValueError(f"SCRKB_LOGIN=off is only allowed on a loopback address, not {self.host!r}: "
                             "anyone who can reach the server would read every report")
        return self.login == "required" or (self.login == "auto" and not self.loopback)

    def cookies_secure(self) -> bool:
        """Whether session cookies carry Secure; `auto` leaves it off only for plain http on loopback."""
        if self.secure_cookies not in ("auto", "on", "off"):
            raise ValueError(f"SCRKB_SECURE_COOKIES={self.secure_cookies!r} must be auto, on or off")
        return self.secure_cookies == "on" or (self.secure_cookies == "auto" and not self.loopback)

    @property
    def vector_dir(self) -> Path:
        return self.home / "chroma"

    @property
    def page_cache_dir(self) -> Path:
        return self.home / "cache" / "pages"

    @property
    def keyword_dir(self) -> Path:
        """The keyword index (tantivy), derived from the catalogue like the vectors."""
        return self.home / "keywords"

    @classmethod
    def load(cls, **overrides) -> "Settings":
        """Build settings from the environment, then explicit non-None overrides."""
        values = {}
        for f in fields(cls):
            env = ENV_NAMES[f.name]
            if overrides.get(f.name) is not None:
                raw = overrides[f.name]
            elif env in os.environ and os.environ[env] != "":
                raw = os.environ[env]
            else:
                continue
            values[f.name] = _coerce(f.type, raw, env)
        return cls(**values)


HELP = {
    "home": "Directory of the knowledge base (SQLite catalogue and Chroma index). "
    "Default: var/kb inside the checkout, ignored by git.",
    "catalogue": "CSV catalogue of real reports used to describe ingested files.",
    "sample_corpus": "Folder of sample PDFs that `make run` ingests into an empty store.",
    "user_themes": "YAML file of the user's own themes, added to the built-in taxonomy "
    "(same schema as kb/data/themes.yaml); run `scrkb retag` after changing it.",
    "theme_quality": "YAML file of the tagger's measured precision, recall and true-count factors per theme, "
    "shown beside every count (written by `scrkb eval themes FILE --quality`). Default: "
    "kb/data/theme_quality.yaml, measured for the built-in taxonomy.",
    "embed_batch_size": "Passages per batch when embedding at full precision (int8 reads one at a time).",
    "embedding_backend": "How the embedding model runs in new stores: `onnx-int8` (ONNX Runtime, int8 weights), "
    "`onnx` (ONNX Runtime, full precision) or `torch`. The ONNX models are exported offline from the packaged "
    "weights on first use. int8 and full-precision vectors differ slightly (cosine about 0.995), so a store "
    "keeps the precision that built it; `scrkb check` names the backend in use.",
    "model_cache": "Folder for the ONNX models exported from the packaged weights, one subfolder per "
    "fingerprint of those weights. Default: var/models inside the checkout, ignored by git.",
    "host": "Address `scrkb serve` binds to.",
    "port": "Port `scrkb serve` listens on.",
    "parse_timeout": "Seconds that opening a PDF, or reading any one of its pages (OCR included), may take "
    "before the file fails with `timeout`. Per page, so a long report is not cut short.",
    "parse_memory_mb": "Address space, in MB, of the child process that parses PDFs; a file that needs "
    "more (a compression bomb) fails with `out of memory`.",
    "max_file_mb": "Files larger than this many MB fail with `too large` without being read, "
    "and `scrkb fetch` stops downloading one at this size.",
    "max_pages": "PDFs with more pages than this fail with `too many pages`.",
    "login": "Whether the web app asks for an account: `auto` (only when `host` is not a loopback address), "
    "`required`, or `off` (refused unless `host` is loopback).",
    "secret_key_file": "File holding the key that signs session cookies and CSRF tokens, created (mode 0600) "
    "on first use. Default: `secret_key` in the store home.",
    "secure_cookies": "Whether cookies are marked Secure (sent over HTTPS only): `auto` (on unless `host` "
    "is loopback), `on`, or `off` (plain http on a trusted network; passwords then cross it in clear).",
    "proxy_hops": "Reverse proxies in front of `scrkb serve` (0 for none) whose X-Forwarded-For and "
    "X-Forwarded-Proto headers are trusted for the client's address (audit log, login limits) and for HTTPS.",
    "chroma_url": "A Chroma server (`chroma run`) to hold the vector index instead of the store's own folder, "
    "as http[s]://host:port, optionally with ?collection=NAME (default passages), &database=, &tenant=. "
    "Every machine that ingests or serves the store must use the same URL.",
    "workers": "Worker processes `scrkb serve` runs (`--workers`); above 1 it serves with gunicorn, "
    "each worker loading the models once.",
    "govuk_api": "Base of the GOV.UK Content API, which `scrkb fetch` asks for a GOV.UK publication's attachments "
    "(`<base>/<path of the page>`).",
    "wayback_url": "Base of the Internet Archive's Wayback Machine, whose CDX API and copies `scrkb fetch` uses "
    "for addresses that are dead.",
    "chroma_timeout": "Seconds each call to the Chroma server may take before the command stops with a sentence "
    "(exit status 1) or the web app answers 503: a server that accepts connections and never answers holds "
    "nothing for longer.",
    "audit_days": "Days of audit events to keep: older ones are deleted by `scrkb audit --prune` and when "
    "`scrkb serve` starts, and the pruning is itself audited. Default: keep everything.",
    "page_cache_mb": "Size limit, in MB, of the rendered page images kept in `cache/pages` in the store home "
    "(the least recently used go first); 0 renders every image afresh.",
}
ENV_NAMES = {name: "SCRKB_" + name.upper() for name in HELP}


def _coerce(kind, raw, env: str):
    kind = kind if isinstance(kind, str) else kind.__name__
    try:
        if "Path" in kind:
            return Path(raw).expanduser()
        if kind.startswith("int"):
            return int(raw)
        if kind.startswith("float"):
            return float(raw)
        return str(raw)
    except ValueError as exc:
        raise ValueError(f"{env}={raw!r} is not a valid {kind}") from exc
