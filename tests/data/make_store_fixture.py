"""Make the small store that every later schema must still open: tests/data/stores/schema-N/.

Run it with the code of the schema it captures (N is that code's SCHEMA_VERSION):

    PYTHONPATH=$PWD SCRKB_MODEL_CACHE=$PWD/var/models .venv/bin/python tests/data/make_store_fixture.py

It ingests a generated two-page report, adds a user and a learning pack, and
writes, into tests/data/stores/schema-N/:

- catalogue.sqlite3 and accounts.sqlite3, compacted copies (VACUUM INTO) of the store;
- report.pdf, the report it was made from;
- expected.json: what this code answered: the store's counts, the pack, and the
  ranked passage ids of a few searches in each mode, which tests/test_migrations.py
  asks again of the migrated copy.

The Chroma folder is left out: the catalogue keeps every passage's embedding, so
a test rebuilds the vector index from it (`scrkb reindex`), as `scrkb restore` does.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from pdfs import Heading, PageBreak, Para, ReportSpec, build_report  # noqa: E402

USERNAME, PASSWORD, ROLE = "fixture-admin", "fixture password 1", "admin"
QUERIES = [
    "the GP never linked the visits",
    "information about domestic abuse was not shared",
    "child not seen alone",
    "recommendations for the partnership",
]
MODES = ("hybrid", "keyword", "semantic")
K = 5


def fixture_report() -> ReportSpec:
    """Two pages of invented review text that shows a few failure themes."""
    return ReportSpec(
        title="Serious Case Review: Child F", header="Serious Case Review: Child F",
        footer="Westmere Safeguarding Children Partnership",
        body=[
            Heading("Serious Case Review: Child F", 18),
            Para(["Westmere Safeguarding Children Partnership. Published May 2019."]),
            Heading("1. Analysis of practice"),
            Para(["1.1 The GP saw the mother of Child F four times in one winter and never linked",
                  "the visits; each appointment was treated as a new episode and the family's",
                  "history was not considered."]),
            Para(["1.2 The police held information about domestic abuse in the household that",
                  "was not shared with the school, the health visitor or children's social care."]),
            PageBreak(),
            Heading("2. Findings"),
            Para(["2.1 Child F was not seen alone by any professional, and what the child said at",
                  "school about being hungry was not recorded or passed on."]),
            Heading("3. Recommendations"),
            Para(["3.1 The partnership should make sure that agencies share what they know about",
                  "domestic abuse, and that practitioners speak to the child on their own."]),
        ],
    )


def main() -> None:
    from ingest import ingest_paths
    from kb import KnowledgeBase, Settings
    from kb.store.schema import SCHEMA_VERSION

    out = HERE / "stores" / f"schema-{SCHEMA_VERSION}"
    out.mkdir(parents=True, exist_ok=True)
    pdf = build_report(out / "report.pdf", fixture_report())
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "kb"
        kb = KnowledgeBase(Settings(home=home, catalogue=Path(tmp) / "none.csv"))
        report = ingest_paths(kb, [pdf])
        assert report.ingested == 1 and not report.failed, report.failed
        kb.accounts.add(USERNAME, PASSWORD, ROLE)
        kb.accounts.record(USERNAME, "login", address="127.0.0.1")
        [document] = kb.documents()
        passages = kb.passages(document.doc_id)
        pack = kb.packs.create("Fixture pack", "Passages kept across schema versions.")
        for passage in passages[:2]:
            kb.packs.add(pack.pack_id, passage.passage_id, heading="Kept", note="A trainer's note.")
        expected = {
            "schema_version": SCHEMA_VERSION,
            "made_by_commit": _commit(),
            "stats": kb.stats(),
            "doc_id": document.doc_id,
            "themed": sorted({m.theme_id for p in passages for m in p.themes if m.kind == "shows"}),
            "pack": {"title": pack.title, "passages": [p.passage_id for p in passages[:2]]},
            "user": {"username": USERNAME, "password": PASSWORD, "role": ROLE},
            "searches": {
                mode: {q: [h.passage_id for h in kb.search(q, k=K, mode=mode).hits] for q in QUERIES}
                for mode in MODES
            },
        }
        for name in ("catalogue.sqlite3", "accounts.sqlite3"):
            (out / name).unlink(missing_ok=True)
            with sqlite3.connect(home / name) as db:
                db.execute("VACUUM INTO ?", (str(out / name),))
    (out / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")
    print(f"wrote {out}: " + ", ".join(f"{p.name} {p.stat().st_size // 1024} kB" for p in sorted(out.iterdir())))


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=HERE, capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""


if __name__ == "__main__":
    main()
