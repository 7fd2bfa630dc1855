"""Schema migrations: bring a catalogue made by an older scrkb up to this one's layout.

The catalogue records its layout's version in `meta.schema_version`. Opening a
catalogue of an older version runs the steps from it to SCHEMA_VERSION in one
transaction, after taking a copy of it (SQLite's online backup API) next to it;
a catalogue of a newer version, or of one no chain of steps starts from, is
refused with a sentence naming both versions. `scrkb migrate [--dry-run]` does
the same explicitly.

To change the schema (docs/deploy.md, "Backup, restore and upgrades"):
1. change SCHEMA in kb/store/schema.py, which new stores are made from;
2. append one Migration to MIGRATIONS below, from the current version to the
   next, whose step makes an existing store match (see add_column and run_sql);
3. set SCHEMA_VERSION in kb/store/schema.py to its to_version;
4. commit the fixture of the version before: run tests/data/make_store_fixture.py
   with the code as it was before the change (tests/test_migrations.py opens
   every fixture with the new code and compares its layout with a new store's).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from kb.store.errors import SchemaError, StoreUnavailable, unavailable
from kb.store.schema import REVIEWS_SCHEMA, SCHEMA, SCHEMA_VERSION

Step = Callable[[sqlite3.Connection], None]


@dataclass(frozen=True)
class Migration:
    from_version: int
    to_version: int
    summary: str  # what it changes, for the message and `scrkb migrate --dry-run`
    apply: Step  # runs inside the migration's transaction; must not commit


def add_column(table: str, column: str, declaration: str) -> Step:
    """A step adding a column, unless the table has it already (some stores gained columns before migrations)."""

    def step(db: sqlite3.Connection) -> None:
        if column not in {r[1] for r in db.execute(f"PRAGMA table_info({table})")}:
            db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")

    return step


def run_sql(script: str) -> Step:
    """A step running each statement of `script` (tables, indexes, triggers, updates) in the transaction."""

    def step(db: sqlite3.Connection) -> None:
        for statement in _statements(script):
            db.execute(statement)

    return step


def _steps(*steps: Step) -> Step:
    """Several steps run in turn as one."""

    def step(db: sqlite3.Connection) -> None:
        for each in steps:
            each(db)

    return step


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, 2, "documents gain redacted_pages, the pages with text under dark boxes (stores made before "
                    "the failed-redaction check lack it)",
              add_column("documents", "redacted_pages", "TEXT NOT NULL DEFAULT '[]'")),
    Migration(2, 3, "documents gain provenance (where `scrkb fetch` got the file), and reviewers' verdicts on "
                    "theme tags get their table",
              _steps(add_column("documents", "provenance", "TEXT"), run_sql(REVIEWS_SCHEMA))),
    Migration(3, 4, "theme tags record the trained model that made them (tags made before are marked as by an "
                    "unknown model until `scrkb retag`)",
              add_column("passage_themes", "tag_model", "TEXT NOT NULL DEFAULT ''")),
)


@dataclass(frozen=True)
class Plan:
    """What opening the catalogue at `path` will do: nothing, create it, or run `steps`."""

    path: Path
    found: int | None  # None: there is no catalogue yet
    steps: tuple[Migration, ...]

    def describe(self) -> str:
        if self.found is None:
            return f"There is no catalogue at {self.path} yet; the first command that opens it makes one at schema {SCHEMA_VERSION}."
        if not self.steps:
            return f"The catalogue at {self.path} is at schema {self.found}, the one this scrkb uses; nothing to do."
        lines = [f"The catalogue at {self.path} is at schema {self.found}; this scrkb uses schema {SCHEMA_VERSION}.",
                 f"Migrating copies it first to {copy_path(self.path, self.found).parent}/"
                 f"{self.path.stem}.schema-{self.found}.<time>{self.path.suffix}, then, in one transaction:"]
        lines += [f"  {m.from_version} -> {m.to_version}: {m.summary}" for m in self.steps]
        return "\n".join(lines)


@dataclass(frozen=True)
class Migrated:
    """A migration that ran: from which version to which, and where the copy taken before it is."""

    path: Path
    from_version: int
    to_version: int
    copy: Path

    def message(self) -> str:
        return (f"Migrated the catalogue at {self.path} from schema {self.from_version} to {self.to_version}; "
                f"the catalogue as it was before is at {self.copy}.")


def plan(path: Path, found: int | None) -> Plan:
    """The steps from `found` to SCHEMA_VERSION; SchemaError when the catalogue is newer or no chain leads on."""
    if found is None:
        return Plan(path, None, ())
    if found > SCHEMA_VERSION:
        raise SchemaError(f"The catalogue at {path} has schema {found}, newer than schema {SCHEMA_VERSION} of this "
                          f"scrkb: upgrade scrkb, or restore a backup made by this version.")
    steps, version = [], found
    while version < SCHEMA_VERSION:
        step = next((m for m in MIGRATIONS if m.from_version == version), None)
        if step is None:
            raise SchemaError(f"The catalogue at {path} has schema {found}, which this scrkb cannot migrate to schema "
                              f"{SCHEMA_VERSION}: re-ingest the reports into a new store.")
        steps.append(step)
        version = step.to_version
    return Plan(path, found, tuple(steps))


def plan_file(path: Path) -> Plan:
    """What opening the catalogue at `path` would do, read without changing anything (for --dry-run)."""
    path = Path(path)
    if not path.exists():
        return Plan(path, None, ())
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            return plan(path, stored_version(db))
        finally:
            db.close()
    except sqlite3.Error as exc:
        raise (unavailable(path, exc) or exc) from None


def stored_version(db: sqlite3.Connection) -> int | None:
    """The catalogue's schema version; None when it has no tables yet."""
    if not db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").fetchone():
        return None
    row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    if row is None:
        return None
    try:
        return int(row[0])
    except ValueError:
        return 0  # nothing migrates from 0, so plan() refuses it with both versions named


def open_schema(catalogue) -> Migrated | None:
    """Make a new catalogue, migrate an older one (returning what was done), or refuse it.

    `catalogue` is an open SQLiteFile. SCHEMA runs on every open after any migration:
    its statements are idempotent and add what a new version declares with IF NOT EXISTS.
    """
    db = catalogue.db
    found = stored_version(db)
    migrated = None
    if found is not None and plan(catalogue.path, found).steps:
        migrated = _migrate(catalogue)
    db.executescript(SCHEMA)  # commits on its own
    db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
    return migrated


def _migrate(catalogue) -> Migrated | None:
    path = catalogue.path
    with catalogue.transaction() as db:
        found = stored_version(db)  # again, under the write lock: another process may have migrated it
        steps = plan(path, found).steps
        if not steps:
            return None
        copy = copy_path(path, found)
        catalogue.copy_to(copy)
        for step in steps:
            try:
                step.apply(db)
            except (sqlite3.Error, StoreUnavailable) as exc:
                raise SchemaError(
                    f"Migrating the catalogue at {path} from schema {step.from_version} to {step.to_version} failed "
                    f"({exc}); it is unchanged, and its copy is at {copy}."
                ) from exc
        db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(steps[-1].to_version),))
    return Migrated(path, found, steps[-1].to_version, copy)


def copy_path(path: Path, version: int) -> Path:
    """Where the copy taken before migrating goes: beside the catalogue, named by its version and the time."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return path.with_name(f"{path.stem}.schema-{version}.{stamp}{path.suffix}")


def _statements(script: str) -> Iterator[str]:
    """Split a script into statements (a trigger's body holds semicolons of its own)."""
    pending = ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \t\n;"):
                yield pending.strip()
            pending = ""
