"""Describing documents: catalogue facts first, then what the text states, never a guess."""

import csv
import shutil

from ingest import ingest_paths
from kb.sources.report_catalogue import COLUMNS


def write_catalogue(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({c: row.get(c, "") for c in COLUMNS})
    return path


def test_metadata_comes_from_the_catalogue_row_named_like_the_file(make_kb, tmp_path, child_s_pdf):
    catalogue = write_catalogue(tmp_path / "catalogue.csv", [{
        "id": "child-s-riverton", "case": "Child S", "aliases": "Baby S", "title": "Child S: a serious case review",
        "review_type": "serious case review", "nation": "England", "area": "Riverton",
        "year_published": "2021", "year_of_incident": "2019", "url": "https://example.org/child-s.pdf",
    }])
    path = tmp_path / "child-s-riverton.pdf"
    shutil.copy(child_s_pdf, path)
    kb = make_kb(catalogue=catalogue)
    ingest_paths(kb, [path])
    meta = kb.documents()[0].meta
    assert (meta.title, meta.case, meta.area, meta.nation) == ("Child S: a serious case review", "Child S", "Riverton", "England")
    assert (meta.year_published, meta.year_of_incident, meta.source) == (2021, 2019, "catalogue")
    assert meta.catalogue_id == "child-s-riverton" and meta.url == "https://example.org/child-s.pdf"


def test_metadata_from_the_first_pages_when_the_file_is_not_catalogued(ingested):
    meta = ingested.documents()[0].meta
    assert meta.title == "Serious Case Review: Child S"
    assert meta.review_type == "serious case review"
    assert meta.case == "Child S"
    assert meta.area == "Riverton"
    assert meta.year_published == 2021
    # nothing states these, so they stay empty
    assert meta.year_of_incident is None and meta.nation is None and meta.source == "text"
