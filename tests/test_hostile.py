"""Hostile and broken files: each fails with its reason, or ingests, and never takes the batch down."""

import json
import os
import shutil
import signal
import threading

import pytest
from conftest import run_cli
from pdfs import (
    cut_tail_with_junk_head,
    broken_xref,
    compression_bomb,
    deep_page_tree,
    deeply_nested,
    distinct_reports,
    encrypted_pdf,
    many_pages,
    padded_report,
    png_named_pdf,
    slow_page,
    truncated_pdf,
    zero_page_pdf,
)

from ingest import ingest_paths
from ingest.isolation import Limits, ParseWorker
from kb import KnowledgeBase, Settings
from kb.hashing import file_sha256
from kb.models import FailureReason
from kb.pdf import PdfError

# What each bad file must fail with; the files not listed here must ingest.
EXPECTED = {
    "empty.pdf": "not a PDF",  # zero bytes
    "image.pdf": "not a PDF",  # a PNG named .pdf
    "cut.pdf": "malformed",  # the second half is missing
    "locked.pdf": "encrypted",  # needs a user password
    "zero.pdf": "no pages",
    "deep-tree.pdf": "malformed",  # 100,000 nested /Kids: pdfium refuses the page
    "bomb.pdf": "out of memory",  # a stream that inflates to 4 GB
    "slow.pdf": "timeout",  # one page of 40,000 text runs
    "many.pdf": "too many pages",
    "big.pdf": "too large",
}
LIMITS = {"SCRKB_PARSE_TIMEOUT": "5", "SCRKB_PARSE_MEMORY_MB": "768", "SCRKB_MAX_PAGES": "20", "SCRKB_MAX_FILE_MB": "12"}


@pytest.fixture(scope="module")
def hostile_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    good = distinct_reports(folder, 2)
    (folder / "empty.pdf").write_bytes(b"")
    png_named_pdf(folder / "image.pdf")
    truncated_pdf(good[0], folder / "cut.pdf")
    # pdfium rebuilds a cross-reference table whose offsets are wrong by scanning
    # the file for objects, so this one ingests, text and all (pdfminer cannot
    # read it, so its table is kept as lines, not rows).
    broken_xref(good[1], folder / "xref.pdf")
    encrypted_pdf(folder / "locked.pdf")
    encrypted_pdf(folder / "open.pdf", user_password="")
    zero_page_pdf(folder / "zero.pdf")
    # pdfium stops parsing an array past its nesting limit and reads the page's text.
    deeply_nested(folder / "deep-array.pdf")
    deep_page_tree(folder / "deep-tree.pdf")
    compression_bomb(folder / "bomb.pdf")
    slow_page(folder / "slow.pdf")
    many_pages(folder / "many.pdf", 25)
    padded_report(folder / "big.pdf", 13)
    return folder


def test_every_bad_file_fails_with_its_reason_and_the_rest_ingest(hostile_folder, tmp_path):
    home = tmp_path / "kb"
    result = run_cli("ingest", str(hostile_folder), "--json", home=home, check=False, env=LIMITS)
    assert result.returncode == 3, result.stderr
    data = json.loads(result.stdout)
    reasons = {f["path"].rsplit("/", 1)[1]: f["reason"] for f in data["failed"]}
    assert reasons == EXPECTED
    ingested = {"review-0.pdf", "review-1.pdf", "xref.pdf", "open.pdf", "deep-array.pdf"}
    assert data["ingested"] == len(ingested) and data["documents"] == len(ingested)
    assert "SCRKB_PARSE_TIMEOUT" in _error(data, "slow.pdf") and "page 1 of 1" in _error(data, "slow.pdf")
    assert "SCRKB_PARSE_MEMORY_MB" in _error(data, "bomb.pdf")

    failures = json.loads(run_cli("failures", "--json", home=home).stdout)
    assert {f["path"].rsplit("/", 1)[1]: f["reason"] for f in failures} == EXPECTED
    assert all(f["detail"] for f in failures)
    assert json.loads(run_cli("check", "--json", home=home).stdout)["consistent"]
    kb = KnowledgeBase(Settings(home=home))
    for name in ("review-0.pdf", "review-1.pdf", "xref.pdf"):
        doc_id, _ = kb.catalogue.doc_for_path(str(hostile_folder.resolve() / name))
        assert any("history of the family was not considered" in p.text for p in kb.passages(doc_id)), name


def _error(data, name):
    return next(f["error"] for f in data["failed"] if f["path"].endswith("/" + name))


def test_a_crashed_parser_fails_only_its_file_and_is_restarted(hostile_folder, child_s_pdf):
    slow = hostile_folder / "slow.pdf"
    with ParseWorker(Limits(page_timeout=60)) as worker:
        worker.extract(child_s_pdf, file_sha256(child_s_pdf))
        first = worker.pid
        worker.extract(child_s_pdf, file_sha256(child_s_pdf))
        assert worker.pid == first  # one worker for many files
        # A segfault in pdfium looks like this from the parent.
        threading.Timer(1.0, os.kill, (first, signal.SIGSEGV)).start()
        with pytest.raises(PdfError) as failed:
            worker.extract(slow, file_sha256(slow))
        assert failed.value.reason is FailureReason.CRASHED
        assert "SIGSEGV" in failed.value.detail and "page 1 of 1" in failed.value.detail
        assert worker.extract(child_s_pdf, file_sha256(child_s_pdf)).page_count == 2
        assert worker.pid not in (None, first)


def test_a_limit_failure_is_retried_once_the_limit_is_raised(tmp_path):
    path = many_pages(tmp_path / "long.pdf", 6)
    report = ingest_paths(_kb(tmp_path, max_pages=5), [path])
    assert [f.reason.value for f in report.failed] == ["too many pages"]
    assert "over the limit of 5" in report.failed[0].detail
    report = ingest_paths(_kb(tmp_path), [path])  # the same file, unchanged
    assert report.ingested == 1 and not report.failed
    assert _kb(tmp_path).failures() == []


def test_a_changed_file_that_failed_is_retried_through_the_worker(tmp_path, child_s_pdf):
    path = tmp_path / "report.pdf"
    truncated_pdf(child_s_pdf, path)
    kb = _kb(tmp_path)
    assert [f.reason.value for f in ingest_paths(kb, [path]).failed] == ["malformed"]
    assert ingest_paths(kb, [path]).pages_processed == 0  # unchanged: not parsed again
    shutil.copy(child_s_pdf, path)
    assert ingest_paths(kb, [path]).ingested == 1
    assert kb.failures() == []


def test_only_what_the_parser_cannot_open_is_refused(tmp_path, child_s_pdf):
    # Junk before the header and no startxref or %%EOF at the end, as in pdf.js's issue6069.pdf:
    # pdfium finds the objects by scanning, so the file is read, not refused as truncated.
    mailed = cut_tail_with_junk_head(child_s_pdf, tmp_path / "mailed.pdf")
    data = mailed.read_bytes()
    assert not data.startswith(b"%PDF-") and b"startxref" not in data and b"%%EOF" not in data
    cut = truncated_pdf(child_s_pdf, tmp_path / "cut.pdf")  # half a file: pdfium cannot open it
    report = ingest_paths(_kb(tmp_path), [mailed, cut])
    assert report.ingested == 1
    [failure] = report.failed
    assert failure.reason is FailureReason.MALFORMED and failure.path == str(cut.resolve())
    assert failure.detail.startswith("pdfium could not load the document: ") and "PDFium" in failure.detail
    [document] = _kb(tmp_path).documents()
    assert document.page_count == 2 and document.source_path == str(mailed.resolve())
    assert any("never linked the visits" in p.text for p in _kb(tmp_path).passages(document.doc_id))


def test_a_big_file_is_refused_before_it_is_read(tmp_path):
    path = padded_report(tmp_path / "photos.pdf", 1.5)
    report = ingest_paths(_kb(tmp_path, max_file_mb=1), [path])
    [failure] = report.failed
    assert failure.reason is FailureReason.TOO_LARGE and "SCRKB_MAX_FILE_MB" in failure.detail
    assert _kb(tmp_path).failures()[0]["sha256"] is None  # not even hashed


def _kb(tmp_path, **settings):
    return KnowledgeBase(Settings(home=tmp_path / "kb", catalogue=tmp_path / "none.csv", **settings))
