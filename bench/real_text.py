"""Turn real text (never committed) into ingest input: one PDF per report, a catalogue, graded queries.

Two sets, each kept under var/realeval/ (git-ignored):

- review: the rebuilt real review passages (var/realtext/scr_passages.jsonl and, when
  present, harvest_passages.jsonl), one PDF per report with its passages as
  paragraphs, ingested among the sample corpus so the digests are distractors. A
  passage's `query` was written for it; the passage is the answer (anchored by its
  first and last words, so a passage the chunker splits counts in both halves).
- pfd: the coroners' Prevention of Future Deaths reports (shared/data/pfd_reports.csv),
  one PDF each, with queries written for some of them in var/realtext/pfd_queries.jsonl
  (`{"report": id, "query": ..., "quotes": [...]}`), each quote a phrase of the answer.

Queries are written in the format of tests/data/search_dev.jsonl, so `scrkb eval search`
reads them.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

CHECKOUT = Path(__file__).resolve().parent.parent
REALTEXT = CHECKOUT / "var" / "realtext"
PFD_CSV = CHECKOUT.parent / "shared" / "data" / "pfd_reports.csv"  # ../shared beside the checkout
PFD_QUERIES = REALTEXT / "pfd_queries.jsonl"
SAMPLE_CATALOGUE = CHECKOUT / "corpora" / "catalogue.csv"
QUOTE_WORDS = 8
PFD_SECTIONS = (
    ("investigation", "Investigation and inquest"),
    ("circumstances", "Circumstances of the death"),
    ("concerns", "Coroner's concerns"),
)


def plain(text: str) -> str:
    """Text as the standard PDF fonts print it (cp1252), with whitespace collapsed."""
    text = text.replace("\u2013", "-").replace("\u2014", "-").replace("\u2022", "\u2022")
    text = "".join(ch if ch.encode("cp1252", "ignore") else " " for ch in text)
    return " ".join(text.split())


def render(path: Path, title: str, sections: list[tuple[str | None, list[str]]]) -> None:
    styles = getSampleStyleSheet()
    story = [Paragraph(escape(title), styles["Title"]), Spacer(1, 12)]
    for heading, paragraphs in sections:
        if heading:
            story.append(Paragraph(escape(heading), styles["Heading2"]))
        for paragraph in paragraphs:
            story += [Paragraph(escape(paragraph), styles["BodyText"]), Spacer(1, 6)]
    path.parent.mkdir(parents=True, exist_ok=True)
    SimpleDocTemplate(str(path), pagesize=A4, title=title, invariant=1).build(story)


def _catalogue(path: Path, rows: list[dict], with_sample: bool) -> None:
    with SAMPLE_CATALOGUE.open(encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        fields = reader.fieldnames
        sample = [{**r, "sample_file": str(CHECKOUT / r["sample_file"]) if r["sample_file"] else ""} for r in reader]
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fields)
        writer.writeheader()
        for row in (sample if with_sample else []) + rows:
            writer.writerow({f: row.get(f, "") for f in fields})


def _quotes(text: str) -> list[str]:
    words = text.split()
    if len(words) <= 2 * QUOTE_WORDS:
        return [" ".join(words[:QUOTE_WORDS])]
    return [" ".join(words[:QUOTE_WORDS]), " ".join(words[-QUOTE_WORDS:])]


def review_passages() -> list[dict]:
    rows = []
    for name in ("scr_passages.jsonl", "harvest_passages.jsonl"):
        path = REALTEXT / name
        if path.exists():
            rows += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return rows


def prepare_review(out: Path) -> dict:
    """PDFs of the real review passages, a catalogue naming them, and their queries."""
    rows = review_passages()
    by_report: dict[str, list[dict]] = {}
    for row in rows:
        by_report.setdefault(row["report"], []).append(row)
    catalogue, queries = [], []
    for report, passages in by_report.items():
        rid = "real-" + hashlib.sha256(report.encode()).hexdigest()[:10]
        pdf = out / "pdfs" / f"{rid}.pdf"
        render(pdf, plain(report), [(None, [plain(p["text"]) for p in passages])])  # deterministic: invariant=1
        year = next((p["year"] for p in passages if p.get("year")), "")
        catalogue.append({"id": rid, "title": plain(report), "review_type": "serious case review", "year_published": year,
                          "nation": passages[0].get("nation") or ""})
        for p in passages:
            if p.get("query"):
                queries.append({"id": p["id"], "query": p["query"], "style": "real",
                                "relevant": [{"doc": rid, "quote": q, "grade": 2} for q in _quotes(plain(p["text"]))]})
    _catalogue(out / "catalogue.csv", catalogue, with_sample=True)
    _write_jsonl(out / "queries.jsonl", queries)
    return {"reports": len(by_report), "passages": len(rows), "queries": len(queries)}


def pfd_reports() -> list[dict]:
    csv.field_size_limit(10**8)
    with PFD_CSV.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def prepare_pfd(out: Path) -> dict:
    reports = pfd_reports()
    catalogue = []
    for report in reports:
        rid = f"pfd-{report['id']}"
        pdf = out / "pdfs" / f"{rid}.pdf"
        title = f"Regulation 28: Report to Prevent Future Deaths {report['id']}"
        if not pdf.exists():  # the CSV does not change
            sections = [("Report to", [plain(report["receiver"])])]
            for field, heading in PFD_SECTIONS:
                paragraphs = [plain(p) for p in re.split(r"\n\s*\n|\n", report[field]) if p.strip()]
                sections.append((heading, paragraphs))
            render(pdf, title, sections)
        catalogue.append({"id": rid, "title": title, "review_type": "other", "year_published": report["date"][:4],
                          "area": report["area"]})
    _catalogue(out / "catalogue.csv", catalogue, with_sample=False)
    written = [json.loads(line) for line in PFD_QUERIES.read_text(encoding="utf-8").splitlines() if line.strip()] \
        if PFD_QUERIES.exists() else []
    queries = [{"id": f"pfd{i:03d}", "query": q["query"], "style": "pfd",
                "relevant": [{"doc": f"pfd-{q['report']}", "quote": plain(quote), "grade": 2} for quote in q["quotes"]]}
               for i, q in enumerate(written, 1)]
    _write_jsonl(out / "queries.jsonl", queries)
    return {"reports": len(reports), "queries": len(queries)}


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
