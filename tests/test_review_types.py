"""Which kinds of report are about a case (kb/data/review_types.yaml), and the case count that rests on it."""

import csv
from pathlib import Path

from ingest.describe import REVIEW_TYPES
from kb.sources.review_types import about_a_case, not_about_a_case

CATALOGUE = Path(__file__).resolve().parents[1] / "corpora" / "catalogue.csv"


def test_every_kind_of_report_named_anywhere_is_listed():
    with CATALOGUE.open(encoding="utf-8") as fh:
        in_catalogue = {row["review_type"] for row in csv.DictReader(fh) if row["review_type"]}
    described = {name for name, _ in REVIEW_TYPES}
    assert in_catalogue | described <= set(about_a_case())
    assert set(not_about_a_case()) == {"independent review", "thematic review", "triennial analysis"}


def test_cases_count_leaves_out_overviews_of_many_reviews(sample_kb):
    documents = sample_kb.documents()
    overviews = {d.meta.case for d in documents if d.meta.review_type in not_about_a_case()}
    assert overviews == {"Munro review", "Triennial analysis of SCRs 2011-2014"}
    cases = {d.meta.case for d in documents if d.meta.case} - overviews
    assert sample_kb.stats()["cases"] == len(cases) == 18
