"""Backups of a store: one tar archive of the catalogue (and the accounts, when asked), with a manifest.

The catalogue is copied with SQLite's online backup API in one read transaction:
a snapshot of one moment, taken while the web app reads and an ingest writes
(each document is one transaction, so the snapshot holds whole documents only).
The vector index and every other derived index are left out and rebuilt on
restore from the embeddings the catalogue keeps: an embedded Chroma folder is
written by its process at moments of Chroma's choosing, so a copy of its files
while an ingest runs need not be consistent, and a Chroma server's collection
can only be read out through its API; the rebuilt index is exact, as the
catalogue stores every vector at full precision.

The manifest (the first member) records the scrkb version, the schema version,
the counts, and the SHA-256 and size of every other member; restore verifies each
one before anything reaches the store.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import tarfile
import tempfile
import zlib
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from kb.hashing import file_sha256
from kb.store.errors import StoreError, StoreUnavailable, os_cause, unavailable
from kb.store.schema import SCHEMA_VERSION
from kb.store.sqlite_file import SQLiteFile
from kb.store.write_lock import LOCK_NAME

MANIFEST = "manifest.json"
FORMAT = 1
CATALOGUE, ACCOUNTS = "catalogue.sqlite3", "accounts.sqlite3"
# Folders of a store home rebuilt from the catalogue (or from the PDFs): never archived, and
# replaced by restore --force. A new derived index adds its folder here and its rebuild to
# KnowledgeBase.rebuild_derived.
DERIVED = ("chroma", "keywords", "cache")
CHUNK = 1 << 20


class BackupError(StoreError):
    """An archive that cannot be written or restored; the message says which and why."""


def write_backup(home: Path, archive: Path, with_accounts: bool, scrkb_version: str) -> dict:
    """Write the store at `home` to `archive` (.tar, or .tar.gz / .tgz compressed); return the manifest."""
    home, archive = Path(home), Path(archive)
    if not (home / CATALOGUE).is_file():
        raise BackupError(f"There is no catalogue at {home / CATALOGUE} to back up.")
    if with_accounts and not (home / ACCOUNTS).is_file():
        raise BackupError(f"There are no accounts at {home / ACCOUNTS} to back up (leave out --with-accounts).")
    names = [CATALOGUE] + ([ACCOUNTS] if with_accounts else [])
    staging = _staging_dir(archive.parent, ".scrkb-backup-")
    partial = archive.with_name(f".{archive.name}.partial")
    try:
        for name in names:
            SQLiteFile(home / name).copy_to(staging / name)
        manifest = {
            "format": FORMAT, "scrkb_version": scrkb_version, "created": _now(),
            **_contents(staging / CATALOGUE), "with_accounts": with_accounts,
            "left_out": {name: "derived: rebuilt by `scrkb restore`" for name in DERIVED},
            "members": {name: {"sha256": file_sha256(staging / name), "bytes": (staging / name).stat().st_size}
                        for name in names},
        }
        mode = "w:gz" if archive.name.endswith((".gz", ".tgz")) else "w"
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # report text, perhaps password hashes
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode=mode) as tar:
            data = json.dumps(manifest, indent=1).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mode, info.mtime = len(data), 0o600, int(datetime.now().timestamp())
            tar.addfile(info, io.BytesIO(data))
            for name in names:
                tar.add(staging / name, arcname=name, recursive=False)
        os.replace(partial, archive)
        return manifest
    except OSError as exc:
        raise (unavailable(archive, exc) or exc) from None
    finally:
        partial.unlink(missing_ok=True)
        shutil.rmtree(staging, ignore_errors=True)


@dataclass
class Staged:
    """A verified backup, unpacked beside the store and waiting to be installed."""

    manifest: dict
    folder: Path

    def install(self, home: Path) -> None:
        """Put the catalogue (and the accounts, if the backup holds them) in `home`; the caller holds the write
        lock, and rebuilds the derived indexes afterwards. Other files of `home` (the secret key) stay."""
        home = Path(home)
        replaced = [name for name in (CATALOGUE, ACCOUNTS) if name in self.manifest["members"]]
        try:
            home.mkdir(parents=True, exist_ok=True)
            for name in replaced:
                for suffix in ("", "-wal", "-shm"):  # an old WAL beside a new database would corrupt it
                    (home / f"{name}{suffix}").unlink(missing_ok=True)
            for name in DERIVED:
                shutil.rmtree(home / name, ignore_errors=True)
            for name in replaced:
                os.replace(self.folder / name, home / name)
            if (home / ACCOUNTS).exists():
                (home / ACCOUNTS).chmod(0o600)
        except OSError as exc:
            raise (unavailable(home, exc) or exc) from None

    def discard(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def stage_restore(archive: Path, home: Path, force: bool) -> Staged:
    """Check that `archive` may be restored into `home` and unpack it, verified, beside `home`.

    Refuses a `home` that holds anything unless `force`. Every member is checked
    against the manifest in a staging folder, so a damaged archive leaves `home`
    untouched (and the staging folder is removed).
    """
    archive, home = Path(archive), Path(home)
    if not archive.is_file():
        raise BackupError(f"There is no backup at {archive}.")
    if not force and _holds_anything(home):
        raise BackupError(f"{home} is not empty: restore into a new folder, or add --force to replace its "
                          "catalogue and indexes.")
    folder = _staging_dir(_nearest_existing(home.parent), ".scrkb-restore-")
    try:
        return Staged(_verified_members(archive, folder), folder)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def _verified_members(archive: Path, staging: Path) -> dict:
    """Extract every member into `staging`, checking each against the manifest."""
    try:
        with tarfile.open(archive, "r:*") as tar:
            first = tar.next()
            if first is None or first.name != MANIFEST or not first.isfile():
                raise BackupError(f"{archive} is not an scrkb backup: it does not start with {MANIFEST}.")
            manifest = _checked_manifest(archive, json.loads(tar.extractfile(first).read().decode("utf-8")))
            seen = set()
            while (member := tar.next()) is not None:
                expected = manifest["members"].get(member.name)
                if expected is None or not member.isfile() or member.name in seen:
                    raise BackupError(f"{archive} holds {member.name!r}, which its manifest does not list.")
                if _extract(tar, member, staging / member.name) != expected["sha256"]:
                    raise BackupError(f"{archive} is damaged: {member.name} does not match its SHA-256 in the manifest.")
                seen.add(member.name)
    except (tarfile.TarError, EOFError, zlib.error, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise BackupError(f"{archive} is damaged or not an scrkb backup ({type(exc).__name__}: {exc}).") from None
    missing = sorted(set(manifest["members"]) - seen)
    if missing:
        raise BackupError(f"{archive} is incomplete: {', '.join(missing)} listed in its manifest is missing.")
    return manifest


def _checked_manifest(archive: Path, manifest: dict) -> dict:
    if manifest.get("format") != FORMAT or CATALOGUE not in manifest.get("members", {}):
        raise BackupError(f"{archive} has a manifest this scrkb does not read (format {manifest.get('format')!r}).")
    if not set(manifest["members"]) <= {CATALOGUE, ACCOUNTS}:
        raise BackupError(f"{archive} lists members this scrkb does not restore: {sorted(manifest['members'])}.")
    version = int(manifest["schema_version"])
    if version > SCHEMA_VERSION:
        raise BackupError(f"{archive} holds a catalogue of schema {version}, newer than schema {SCHEMA_VERSION} of "
                          "this scrkb: restore it with the scrkb that made it, or a newer one.")
    return manifest


def _extract(tar: tarfile.TarFile, member: tarfile.TarInfo, target: Path) -> str:
    digest = hashlib.sha256()
    with tar.extractfile(member) as source, open(target, "wb") as out:
        for chunk in iter(lambda: source.read(CHUNK), b""):
            digest.update(chunk)
            out.write(chunk)
    return digest.hexdigest()


def _contents(catalogue: Path) -> dict:
    """The schema version and counts of a catalogue copy, read from the copy itself."""
    db = sqlite3.connect(catalogue)
    try:
        problems = [r[0] for r in db.execute("PRAGMA quick_check")]
        if problems != ["ok"]:
            raise BackupError(f"The catalogue is damaged, so it was not backed up: {'; '.join(problems[:3])}.")
        one = lambda sql: db.execute(sql).fetchone()[0]  # noqa: E731
        return {"schema_version": int(one("SELECT value FROM meta WHERE key = 'schema_version'")),
                "documents": one("SELECT COUNT(*) FROM documents"), "passages": one("SELECT COUNT(*) FROM passages")}
    finally:
        db.close()


def _holds_anything(home: Path) -> bool:
    return home.is_dir() and any(entry.name != LOCK_NAME for entry in home.iterdir())


def _nearest_existing(path: Path) -> Path:
    path = path.resolve()
    while not path.exists():
        path = path.parent
    return path


def _staging_dir(near: Path, prefix: str) -> Path:
    """A private folder on the same file system as `near`, so the files can be renamed into place."""
    try:
        return Path(tempfile.mkdtemp(prefix=prefix, dir=near))
    except OSError as exc:
        cause = os_cause(exc)
        if cause is None:
            raise
        raise StoreUnavailable(near, cause) from None




def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
