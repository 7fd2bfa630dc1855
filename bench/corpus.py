"""Report-like PDFs for the ingest benchmarks, built from the sample digests and cached under /tmp.

Each generated report joins the sections of several digests (realistic prose,
numbered paragraphs, chronology tables, running headers and page footers) under
a title of its own, so every file has its own content hash. Building is
deterministic, so a cached file is the file that would be built again.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(CHECKOUT / "corpora"))

from build import SRC_DIR, Digest, parse_source, render_pdf, sources  # noqa: E402

CACHE = Path("/tmp/scrkb-bench-corpus")


def sample_digests() -> list[Digest]:
    # The image-only digest would measure Tesseract, which the floor does not include.
    return [d for d in map(parse_source, sources(SRC_DIR)) if d.meta.layout != "image-only"]


def _report(digests: list[Digest], name: str, blocks: list, layout: str) -> bytes:
    first = digests[0]
    meta = dataclasses.replace(first.meta, id=name, title=f"Serious Case Review: {name}", header=f"{name} — review",
                               layout=layout, subtitle="")
    return render_pdf(Digest(first.path, meta, blocks))


def long_reports(count: int, per_report: int = 3) -> list[Path]:
    """`count` reports of about 18 pages each, each joining `per_report` digests."""
    folder = CACHE / f"long-{per_report}"
    digests = sample_digests()
    paths = []
    for n in range(count):
        path = folder / f"report-{n:03d}.pdf"
        if not path.exists():
            chosen = [digests[(n + k) % len(digests)] for k in range(per_report)]
            layout = "two-column" if n % 5 == 4 else "single"
            _write(path, _report(chosen, f"Child L{n}", [b for d in chosen for b in d.blocks], layout))
        paths.append(path)
    return paths


def short_reports(first: int, count: int) -> list[Path]:
    """Reports numbered first..first+count-1 of two pages: a title page and a heading with one paragraph."""
    folder = CACHE / "short"
    digests = sample_digests()
    sections = [(d, s) for d in digests for s in _sections(d.blocks)]
    paths = []
    for n in range(first, first + count):
        path = folder / f"brief-{n:04d}.pdf"
        if not path.exists():
            digest, blocks = sections[n % len(sections)]
            _write(path, _report([digest], f"Child S{n}", blocks[:2], "single"))
        paths.append(path)
    return paths


def _sections(blocks: list) -> list[list]:
    """Split a digest's blocks at its top-level headings."""
    found: list[list] = []
    for block in blocks:
        if block.kind == "heading2" or not found:
            found.append([])
        found[-1].append(block)
    return found


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
