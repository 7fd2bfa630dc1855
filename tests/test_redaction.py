"""Failed redactions: text left in the text layer under a black box is never stored, and the file is flagged."""

import json

import pytest
from click.testing import CliRunner
from pdfs import SECRET_NAME, redaction_on_turned_page, redaction_pdf

from ingest.extract import extract_pdf
from kb.hashing import file_sha256
from ingest.layout import page_blocks
from kb import KnowledgeBase, Settings
from kb.store.catalogue import Catalogue


def cli(*args: str) -> str:
    """Run `scrkb` in this process (the models stay loaded between tests)."""
    from kb.cli import main

    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def extracted(path):
    return extract_pdf(path, file_sha256(path))


def text_of(document):
    return " ".join(b.text for b in page_blocks(document.pages))


def test_a_name_under_a_black_box_is_stored_nowhere_and_the_file_is_flagged(tmp_path):
    path = redaction_pdf(tmp_path / "review.pdf", "over name")
    home = tmp_path / "kb"
    summary = json.loads(cli("ingest", str(path), "--json", "--kb", str(home)))
    assert summary["ingested"] == 1
    assert summary["possible_failed_redaction"] == [{"path": str(path.resolve()), "pages": [2]}]

    kb = KnowledgeBase(Settings(home=home))
    [document] = kb.documents()
    assert document.redacted_pages == [2]
    passages = kb.passages(document.doc_id)
    assert any("a family friend, in a rented flat" in p.text for p in passages)  # the rest of the line stays
    for word in SECRET_NAME.split():
        assert not any(word in p.text for p in passages)
        assert kb.searcher.statistics.passages_with([word]) == [0]  # the keyword index
        assert kb.search(word, mode="keyword").hits == []
    pages = [row[0] for row in kb.catalogue.db.execute("SELECT text FROM pages")]
    assert len(pages) == 2 and not any("Smithson" in text for text in pages)
    shown = json.loads(cli("show", document.doc_id, "--json", "--kb", str(home)))
    assert shown["redacted_pages"] == [2]


def test_black_text_on_a_black_highlight_is_hidden_too_and_the_summary_says_so(tmp_path):
    path = redaction_pdf(tmp_path / "highlighted.pdf", "black highlight")
    output = cli("ingest", str(path), "--kb", str(tmp_path / "kb"))
    assert f"possible failed redaction (text under black boxes was left out): {path.resolve()}: pages [2]" in output
    kb = KnowledgeBase(Settings(home=tmp_path / "kb"))
    assert "Smithson" not in " ".join(p.text for p in kb.passages(kb.documents()[0].doc_id))


def test_a_blacked_out_table_cell_does_not_come_back_through_the_table(tmp_path):
    document = extracted(redaction_pdf(tmp_path / "table.pdf", "table cell"))
    assert document.redacted_pages == [2]
    [table] = document.pages[1].tables
    assert table.rows[1] == ["May 2020", "", "Moved into the flat"]
    assert "Health visitor" in table.rows[2]


@pytest.mark.parametrize("rotate", [0, 90, 180, 270])
@pytest.mark.parametrize("boxes", [b"/MediaBox [100 100 695 942]", b"/MediaBox [0 0 800 1000] /CropBox [100 100 695 942]"])
def test_the_hidden_name_is_found_on_turned_and_offset_pages(tmp_path, rotate, boxes):
    # pdfplumber and pdfium measure such pages from different corners.
    document = extracted(redaction_on_turned_page(tmp_path / "turned.pdf", rotate, boxes))
    assert document.redacted_pages == [1]
    text = text_of(document)
    assert "her mother and , a family friend" in text and "Smithson" not in text


@pytest.mark.parametrize("box", ["decorative bar", "grey highlight", "banner"])
def test_boxes_that_hide_nothing_are_not_flagged(tmp_path, box):
    document = extracted(redaction_pdf(tmp_path / "review.pdf", box))
    assert document.redacted_pages == []
    assert all(page.hidden_chars == 0 for page in document.pages)
    text = text_of(document)
    assert f"her mother and {SECRET_NAME}, a family friend" in text
    if box == "banner":  # white text painted on its dark banner is what the reader sees
        assert "The household and who lived there" in text


def test_a_store_made_before_the_check_gains_the_column(tmp_path):
    catalogue = Catalogue(tmp_path / "old.sqlite3")
    catalogue.db.execute("ALTER TABLE documents DROP COLUMN redacted_pages")
    catalogue.db.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")  # such stores were schema 1
    catalogue.close()
    reopened = Catalogue(tmp_path / "old.sqlite3")  # migrated: kb/store/migrations.py
    columns = {row["name"] for row in reopened.db.execute("PRAGMA table_info(documents)")}
    assert "redacted_pages" in columns and reopened.migrated.from_version == 1
