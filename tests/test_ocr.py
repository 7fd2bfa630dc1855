"""Scanned pages: recognised with Tesseract, marked as OCR, and never stored empty in silence."""

import json
import os
import sys

from conftest import run_cli
from pdfs import character_error_rate, image_only

from ingest import ingest_paths
from ingest.extract import extract_pdf
from kb.hashing import file_sha256
from ingest.layout import page_blocks
from kb.pdf.ocr import ocr_available


def text_of(path):
    return " ".join(b.text for b in page_blocks(extract_pdf(path, file_sha256(path)).pages))


def test_tesseract_is_installed_for_the_suite():
    assert ocr_available(), "scripts/system-deps.sh installs tesseract-ocr and tesseract-ocr-eng"


def test_image_only_pages_are_ocrd_with_low_character_error(tmp_path, child_s_pdf):
    scan = image_only(child_s_pdf, tmp_path / "scan.pdf")
    reference, recognised = text_of(child_s_pdf), text_of(scan)
    cer = character_error_rate(reference, recognised)
    assert cer < 0.03, f"character error rate {cer:.3%}"
    assert "3.1 The GP saw the mother five times and never linked the visits." in recognised


def test_ocr_passages_are_marked_and_keep_their_pages(make_kb, tmp_path, child_s_pdf):
    kb = make_kb()
    scan = image_only(child_s_pdf, tmp_path / "scan.pdf")
    report = ingest_paths(kb, [scan])
    assert report.ingested == 1 and not report.failed
    passages = kb.passages(kb.documents()[0].doc_id)
    assert passages and all(p.ocr for p in passages)
    finding = next(p for p in passages if "not seen alone" in p.text)
    assert finding.page_start == 2
    assert kb.search("mother's partner never assessed", k=1).hits[0].page == 2


def test_without_tesseract_scanned_pages_are_reported_not_stored_empty(tmp_path, child_s_pdf):
    scan = image_only(child_s_pdf, tmp_path / "scan.pdf")
    mixed = image_only(child_s_pdf, tmp_path / "mixed.pdf", pages={2})
    env = {"PATH": os.path.dirname(sys.executable)}  # the virtualenv's scrkb, and no tesseract
    result = run_cli("ingest", str(scan), str(mixed), "--json", home=tmp_path / "kb", check=False, env=env)
    assert result.returncode == 3, result.stderr
    data = json.loads(result.stdout)
    [failure] = data["failed"]
    assert failure["path"].endswith("scan.pdf") and failure["reason"] == "needs OCR"
    assert "Tesseract is not installed" in failure["error"]
    assert data["ingested"] == 1
    assert data["needs_ocr"] == [{"path": str(mixed.resolve()), "pages": [2]}]
