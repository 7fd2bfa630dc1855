"""The catalogue of real, published reports (corpora/catalogue.csv) and matching files to its rows."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field, fields
from pathlib import Path

from kb.models import Provenance

COLUMNS = [
    "id", "case", "aliases", "title", "review_type", "nation", "area", "publisher",
    "author", "year_published", "year_of_incident", "url", "landing_url", "source", "licence", "sample_file",
]
# `url` is a direct link to the PDF; `landing_url` the page that presents the report (a GOV.UK
# publication, a partnership's page); `source` the address where the row's facts were checked.
# Files written before landing_url and source existed are read with those cells empty.
# `scrkb fetch` writes this next to the files it downloads, naming each file's row and origin.
MANIFEST_NAME = "manifest.json"


class CatalogueError(ValueError):
    """A catalogue file that cannot be read as one; str() names the file, the line and what is wrong."""


@dataclass(frozen=True)
class CatalogueEntry:
    id: str
    case: str
    title: str
    aliases: tuple[str, ...] = ()
    review_type: str | None = None
    nation: str | None = None
    area: str | None = None
    publisher: str | None = None
    author: str | None = None
    year_published: int | None = None
    year_of_incident: int | None = None
    url: str | None = None
    landing_url: str | None = None
    source: str | None = None
    licence: str | None = None
    sample_file: str | None = None


@dataclass
class ReportCatalogue:
    entries: dict[str, CatalogueEntry] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path | None) -> "ReportCatalogue":
        if path is None or not Path(path).exists():
            return cls()
        entries: dict[str, CatalogueEntry] = {}
        try:
            with open(path, newline="", encoding="utf-8") as fh:
                reader = csv.DictReader(fh)
                if "id" not in (reader.fieldnames or []):
                    raise CatalogueError(f"{path}: the first line must name the columns, with an 'id' column")
                for row in reader:
                    where = f"{path}, line {reader.line_num}"
                    if None in row:  # more cells than columns: every cell after the extra one would shift
                        raise CatalogueError(f"{where}: {len(reader.fieldnames) + len(row[None])} cells where "
                                             f"the header names {len(reader.fieldnames)} (a comma in an "
                                             "unquoted cell? put the cell in double quotes)")
                    entry = _entry(row, where)
                    if entry.id in entries:
                        raise CatalogueError(f"{where}: the id {entry.id!r} is already used by an earlier row")
                    entries[entry.id] = entry
        except UnicodeDecodeError as exc:
            raise CatalogueError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        except csv.Error as exc:
            raise CatalogueError(f"{path}: not a readable CSV file ({exc})") from None
        return cls(entries)

    def get(self, entry_id: str | None) -> CatalogueEntry | None:
        return self.entries.get(entry_id) if entry_id else None

    def match(self, path: Path) -> CatalogueEntry | None:
        """Find the row a file came from: the fetch manifest, else its name."""
        path = Path(path)
        listed = _manifest(path.parent).get(path.name)
        if listed and listed in self.entries:
            return self.entries[listed]
        if path.stem in self.entries:
            return self.entries[path.stem]
        for entry in self.entries.values():
            if entry.sample_file and Path(entry.sample_file).name == path.name:
                return entry
        return None

    def provenance(self, path: Path, sha256: str) -> Provenance | None:
        """Where `scrkb fetch` got this file, if its manifest lists these very bytes."""
        path = Path(path)
        listed = _manifest_files(path.parent).get(path.name)
        if not listed or listed.get("sha256") != sha256:
            return None  # not fetched, or changed since: the record would describe other bytes
        return provenance_from(listed)

    def aliases(self) -> dict[str, str]:
        """Every name a case is known by, lower-cased, mapped to its canonical case name."""
        names = {}
        for entry in self.entries.values():
            for name in (entry.case, *entry.aliases):
                if name:
                    names[name.lower()] = entry.case
        return names


def _manifest_files(folder: Path) -> dict[str, dict]:
    manifest = folder / MANIFEST_NAME
    if not manifest.exists():
        return {}
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    files = data.get("files", {}) if isinstance(data, dict) else {}
    return {name: item for name, item in files.items() if isinstance(item, dict)} if isinstance(files, dict) else {}


def _manifest(folder: Path) -> dict[str, str]:
    return {name: item.get("id") for name, item in _manifest_files(folder).items()}


PROVENANCE_FIELDS = {f.name for f in fields(Provenance)}


def provenance_from(record: dict) -> Provenance | None:
    """A manifest record (or a stored one) as a Provenance; a record from before routes is a direct download."""
    if not isinstance(record, dict):
        return None
    if "route" not in record and isinstance(record.get("url"), str):
        record = {**record, "route": "direct", "asked_url": record["url"], "fetched_url": record["url"]}
    if not all(isinstance(record.get(k), str) for k in ("route", "asked_url", "fetched_url")):
        return None
    return Provenance(**{k: v for k, v in record.items() if k in PROVENANCE_FIELDS})


def _entry(row: dict[str, str | None], where: str) -> CatalogueEntry:
    def text(key):
        value = (row.get(key) or "").strip()
        return value or None

    def year(key):
        value = text(key)
        if value is not None and not (value.isdigit() and len(value) == 4):
            raise CatalogueError(f"{where}: {key} is {value!r}, not a year such as 2009")
        return int(value) if value else None

    if not text("id"):
        raise CatalogueError(f"{where}: the row has no id")
    return CatalogueEntry(
        id=text("id"),
        case=text("case") or "",
        title=text("title") or "",
        aliases=tuple(a.strip() for a in (row.get("aliases") or "").split("|") if a.strip()),
        review_type=text("review_type"),
        nation=text("nation"),
        area=text("area"),
        publisher=text("publisher"),
        author=text("author"),
        year_published=year("year_published"),
        year_of_incident=year("year_of_incident"),
        url=text("url"),
        landing_url=text("landing_url"),
        source=text("source"),
        licence=text("licence"),
        sample_file=text("sample_file"),
    )
