"""Check the corpus catalogue, the digest sources and the sample PDFs built from them."""
from __future__ import annotations

import csv
import functools
import importlib.util
import re
import subprocess
import sys
import unicodedata
from importlib.metadata import version
from pathlib import Path

import pypdfium2 as pdfium
import pytest

ROOT = Path(__file__).resolve().parents[1]
CATALOGUE = ROOT / "corpora" / "catalogue.csv"
SAMPLE_DIR = ROOT / "corpora" / "sample"
SRC_DIR = SAMPLE_DIR / "src"
COLUMNS = ["id", "case", "aliases", "title", "review_type", "nation", "area", "publisher", "author",
           "year_published", "year_of_incident", "url", "landing_url", "source", "licence", "sample_file"]
REVIEW_TYPES = {"serious case review", "child safeguarding practice review", "child practice review", "inquiry",
                "national review", "thematic review", "independent review", "triennial analysis", "other"}
NATIONS = {"England", "Wales", "Scotland", "Northern Ireland", "UK"}
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def _load_build():
    # corpora/ is a folder of data and one script, not a package.
    spec = importlib.util.spec_from_file_location("corpora_build", ROOT / "corpora" / "build.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


build = _load_build()
SOURCES = build.sources(SRC_DIR)


@functools.cache
def digest(path: Path):
    return build.parse_source(path)


def by_layout(*layouts: str) -> list[Path]:
    def layout(path: Path) -> str | None:
        try:
            return digest(path).meta.layout
        except build.SourceError:  # reported by test_every_source_follows_the_format
            return None
    return [p for p in SOURCES if layout(p) in layouts]


def pdf_for(path: Path) -> Path:
    return SAMPLE_DIR / f"{path.stem}.pdf"


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    with CATALOGUE.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def normalise(text: str) -> str:
    """Fold whitespace, line-end hyphenation and soft hyphens so extracted text compares with the source."""
    text = text.replace("\u00ad", "").replace("\x02", "").replace("\ufffe", "")
    text = re.sub(r"-\s+", "-", text)
    return re.sub(r"\s+", " ", text).strip()


def fold_title(text: str) -> str:
    words = re.sub(r"[\W_]+", " ", text.lower())  # before folding, so "1997–2013" stays two words
    return unicodedata.normalize("NFKD", words).encode("ascii", "ignore").decode().strip()


def page_lines(pdf: Path) -> list[list[str]]:
    doc = pdfium.PdfDocument(pdf)
    try:
        return [[l.strip() for l in page.get_textpage().get_text_range().splitlines() if l.strip()] for page in doc]
    finally:
        doc.close()


def body_text(pdf: Path, header: str) -> str:
    """The text of the pages after the title page, without running header and footer lines."""
    keep = [l for page in page_lines(pdf)[1:] for l in page if l != header and not re.fullmatch(r"Page \d+", l)]
    return normalise(" ".join(keep))


# ---------------------------------------------------------------- catalogue

def test_catalogue_has_exactly_the_agreed_columns():
    with CATALOGUE.open(newline="", encoding="utf-8") as fh:
        assert next(csv.reader(fh)) == COLUMNS


def test_catalogue_has_at_least_40_rows(rows):
    assert len(rows) >= 40


def test_catalogue_ids_are_unique_slugs(rows):
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})
    assert [i for i in ids if not SLUG.match(i)] == []


def test_catalogue_rows_name_a_case_and_a_title(rows):
    assert [r["id"] for r in rows if not (r["case"].strip() and r["title"].strip())] == []


def test_review_types_and_nations_come_from_the_allowed_lists(rows):
    assert [(r["id"], r["review_type"]) for r in rows if r["review_type"] not in REVIEW_TYPES] == []
    assert [(r["id"], r["nation"]) for r in rows if r["nation"] not in NATIONS] == []


def test_years_are_plausible(rows):
    for row in rows:
        assert re.fullmatch(r"\d{4}", row["year_published"]), row["id"]
        published = int(row["year_published"])
        assert 1945 <= published <= 2026, row["id"]
        if row["year_of_incident"]:
            assert re.fullmatch(r"\d{4}", row["year_of_incident"]), row["id"]
            assert 1945 <= int(row["year_of_incident"]) <= published, row["id"]


def test_urls_are_web_addresses(rows):
    # A direct download is asked for over TLS; landing pages and sources are kept as they were seen,
    # and some older public pages were only ever served over http.
    assert [r["id"] for r in rows if r["url"] and not r["url"].startswith("https://")] == []
    for column in ("landing_url", "source"):
        assert [r["id"] for r in rows if r[column] and not r[column].startswith(("https://", "http://"))] == [], column


def test_every_sample_file_exists_and_is_named_after_its_row(rows):
    for row in (r for r in rows if r["sample_file"]):
        assert row["sample_file"] == f"corpora/sample/{row['id']}.pdf"
        assert (ROOT / row["sample_file"]).is_file(), row["sample_file"]
        assert (SRC_DIR / f"{row['id']}.md").is_file(), f"{row['id']} has a sample PDF but no source"


@pytest.mark.parametrize("src", SOURCES, ids=lambda p: p.stem)
def test_every_source_follows_the_format(src):
    build.parse_source(src)  # a SourceError names the file and line


@pytest.mark.parametrize("src", SOURCES, ids=lambda p: p.stem)
def test_every_source_has_a_matching_catalogue_row(src, rows):
    meta = digest(src).meta
    row = next((r for r in rows if r["id"] == src.stem), None)
    assert row is not None, f"no catalogue row for {src.name}"
    assert row["sample_file"] == f"corpora/sample/{src.stem}.pdf"
    assert row["year_published"] == str(meta.year)
    # A digest may carry the report's short title ("The Victoria Climbié Inquiry") where
    # the catalogue has the full one, so one must be a whole-word prefix of the other.
    short, full = sorted([fold_title(row["title"]), fold_title(meta.title)], key=len)
    assert f"{full} ".startswith(f"{short} "), f"catalogue {row['title']!r} vs source {meta.title!r}"


# ---------------------------------------------------------------- sample PDFs

def test_sample_corpus_is_big_enough():
    pdfs = sorted(SAMPLE_DIR.glob("*.pdf"))
    assert len(pdfs) >= 20
    pages = 0
    for pdf in pdfs:
        doc = pdfium.PdfDocument(pdf)
        pages += len(doc)
        doc.close()
    assert pages >= 120


def test_every_sample_pdf_has_a_source():
    assert [p.name for p in SAMPLE_DIR.glob("*.pdf") if not (SRC_DIR / f"{p.stem}.md").is_file()] == []


@pytest.mark.parametrize("src", SOURCES, ids=lambda p: p.stem)
def test_pdf_metadata_comes_from_the_front_matter(src):
    doc = pdfium.PdfDocument(pdf_for(src))
    info = doc.get_metadata_dict()
    doc.close()
    assert info["Title"] == digest(src).meta.title
    assert info["Author"] == build.PDF_AUTHOR
    assert f"reportlab {build.BUILT_WITH['reportlab']}" in info["Creator"]


@pytest.mark.parametrize("src", by_layout("single", "two-column"), ids=lambda p: p.stem)
def test_text_pdf_has_title_page_header_and_page_numbers(src):
    meta, pages = digest(src).meta, page_lines(pdf_for(src))
    first = normalise(" ".join(pages[0]))
    assert build.DISCLAIMER in first and normalise(meta.title) in first
    for number, lines in enumerate(pages[1:], start=2):
        assert lines[0] == meta.header, f"page {number}"
        assert lines[-1] == f"Page {number}"


@pytest.mark.parametrize("src", by_layout("single", "two-column"), ids=lambda p: p.stem)
def test_text_pdf_carries_every_numbered_paragraph(src):
    d = digest(src)
    text = body_text(pdf_for(src), d.meta.header)
    paragraphs = [b for b in d.blocks if b.kind == "para" and b.number]
    assert paragraphs, f"{src.name} has no numbered paragraphs"
    missing = [b.number for b in paragraphs
               if normalise(" ".join(build.plain_text(b.text).split()[:8])) not in text]
    assert missing == [], f"paragraphs not found in {pdf_for(src).name}"
    headings = [normalise(build.plain_text(b.text)) for b in d.blocks if b.kind.startswith("heading")]
    assert [h for h in headings if h not in text] == []


def test_there_is_an_image_only_and_a_two_column_digest():
    assert by_layout("image-only") and by_layout("two-column")


@pytest.mark.parametrize("src", by_layout("image-only"), ids=lambda p: p.stem)
def test_image_only_pdf_has_no_text_layer(src):
    doc = pdfium.PdfDocument(pdf_for(src))
    try:
        for page in doc:
            assert page.get_textpage().count_chars() == 0
            assert [o.type for o in page.get_objects()] == [pdfium.raw.FPDF_PAGEOBJ_IMAGE]
    finally:
        doc.close()


@pytest.mark.parametrize("src", by_layout("two-column"), ids=lambda p: p.stem)
def test_two_column_pdf_sets_text_in_two_columns(src):
    doc = pdfium.PdfDocument(pdf_for(src))
    try:
        width, height = doc[0].get_size()
        middle, lefts = width / 2, []
        for page in list(doc)[1:]:
            textpage = page.get_textpage()
            for i in range(textpage.count_rects()):
                left, bottom, right, top = textpage.get_rect(i)
                if 30 * build.MM < bottom and top < height - 22 * build.MM:  # between footer and header
                    assert not (left < middle < right), f"text crosses the gutter at x={left:.0f}..{right:.0f}"
                    lefts.append(left)
    finally:
        doc.close()
    left_column = [x for x in lefts if x < middle]
    right_column = [x for x in lefts if x >= middle]
    assert left_column and right_column
    assert min(right_column) - max(left_column) > 0


# ---------------------------------------------------------------- the build itself

GOOD = """---
id: {id}
title: "A test review"
review_type: serious case review
publisher: "Testshire Safeguarding Children Board"
year: 2014
url: ""
header: "Test review \u2014 sample digest"
layout: {layout}
---

## 1. Introduction

1.1 The *health visitor* saw **the baby** & noted that 2 < 3.

| Date | Agency | Event |
|---|---|---|
| May 2013 | Health | Home visit |

1. First recommendation.
2. Second recommendation.

- A bullet.
"""


def write(tmp_path: Path, text: str, name: str = "t") -> Path:
    path = tmp_path / f"{name}.md"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("layout", ["single", "two-column", "image-only"])
def test_build_is_deterministic(tmp_path, layout):
    src = write(tmp_path, GOOD.format(id="t", layout=layout))
    first = build.build_one(src, tmp_path).read_bytes()
    assert build.build_one(src, tmp_path).read_bytes() == first


def test_parser_reads_every_block_kind(tmp_path):
    d = build.parse_source(write(tmp_path, GOOD.format(id="t", layout="single")))
    assert [b.kind for b in d.blocks] == ["heading2", "para", "table", "numbered", "bullets"]
    assert d.blocks[1].number == "1.1" and d.blocks[2].rows[1] == ("May 2013", "Health", "Home visit")


@pytest.mark.parametrize("change, line, words", [
    (("layout: single", "layout: three-column"), 9, "layout"),
    (('publisher: "Testshire Safeguarding Children Board"\n', ""), 1, "publisher"),
    (("| May 2013 | Health | Home visit |", "| May 2013 | Health |"), 18, "cells"),
    (("|---|---|---|", "| x | y | z |"), 17, "separator"),
    (("1.1 The", "1.1 The\nwrapped"), 15, "one line"),
    (("1.1 The", "1.1 [a link](https://example.org) The"), 14, "links"),
    (("**the baby**", "**the baby*"), 14, "unbalanced"),
    (("- A bullet.", "- A bullet.\n- <b>HTML</b>"), 24, "HTML"),
    (("saw", "saw \u2192"), 14, "glyph"),
    (("id: t", "id: other"), 2, "file name"),
])
def test_parser_names_file_and_line_of_a_mistake(tmp_path, change, line, words):
    src = write(tmp_path, GOOD.format(id="t", layout="single").replace(*change, 1))
    with pytest.raises(build.SourceError) as caught:
        build.parse_source(src)
    assert f"{src}:{line}:" in str(caught.value) and words in str(caught.value)


@pytest.mark.skipif({n: version(n) for n in build.BUILT_WITH} != build.BUILT_WITH,
                    reason=f"the committed PDFs were built with {build.BUILT_WITH}")
def test_committed_pdfs_match_a_fresh_build():
    result = subprocess.run([sys.executable, str(ROOT / "corpora" / "build.py"), "--check"],
                            capture_output=True, text=True, cwd=ROOT, check=False)
    assert result.returncode == 0, result.stderr
