"""Chunking: passages fit the embedding window, follow paragraphs and know where they came from."""

from pdfs import build_report, long_paragraph_review

from ingest.chunk import MAX_TOKENS, chunk_blocks
from ingest.extract import extract_pdf
from kb.hashing import file_sha256
from ingest.layout import page_blocks
from kb.models import Block
from kb.nlp.embedding import Embedder


def chunk_pdf(path):
    sha = file_sha256(path)
    blocks = page_blocks(extract_pdf(path, sha).pages)
    return chunk_blocks(blocks, sha[:16], sha, Embedder().count_tokens)


def test_every_passage_fits_the_model_window(tmp_path):
    path = build_report(tmp_path / "long.pdf", long_paragraph_review())
    passages = chunk_pdf(path)
    counter = Embedder().count_tokens
    assert len(passages) >= 3
    assert all(counter(p.text) <= MAX_TOKENS for p in passages)
    # nothing was lost in the split
    words = " ".join(p.text for p in passages).split()
    assert words.count("kitchen") == 30
    # the paragraph runs onto page 2, and the passages say so
    assert passages[0].page_start == 1 and passages[-1].page_end == 2


def test_passages_carry_pages_sections_and_stable_ids(child_s_pdf):
    first = chunk_pdf(child_s_pdf)
    again = chunk_pdf(child_s_pdf)
    assert [p.passage_id for p in first] == [p.passage_id for p in again]
    assert len({p.passage_id for p in first}) == len(first)
    finding = next(p for p in first if "not seen alone" in p.text)
    assert finding.page_start == 2 and finding.section == "4. Findings"
    assert finding.section_kind == "findings"
    chronology = next(p for p in first if "Domestic incident" in p.text)
    assert chronology.text.startswith("Date | Agency | Event")
    assert chronology.section_kind == "chronology"
    assert all(p.passage_id.startswith(file_sha256(child_s_pdf)[:16]) for p in first)


def test_headings_are_never_merged_across_sections():
    blocks = [
        Block("heading", "3. Analysis", 1, 1, 1),
        Block("paragraph", "3.1 Short paragraph.", 1, 1),
        Block("heading", "4. Findings", 2, 2, 1),
        Block("paragraph", "4.1 Another short one.", 2, 2),
    ]
    passages = chunk_blocks(blocks, "d", "0" * 64, lambda t: len(t.split()))
    assert [p.section for p in passages] == ["3. Analysis", "4. Findings"]
    assert [(p.page_start, p.page_end) for p in passages] == [(1, 1), (2, 2)]


def test_a_paragraph_running_over_a_page_break_keeps_both_pages():
    blocks = [Block("paragraph", "2.1 The review found that the referral", 3, 4)]
    [passage] = chunk_blocks(blocks, "d", "0" * 64, lambda t: len(t.split()))
    assert (passage.page_start, passage.page_end) == (3, 4)


def test_a_list_of_web_addresses_is_not_a_passage():
    blocks = [
        Block("heading", "6. Recommendations", 5, 5, 1),
        Block("paragraph", "6.1 See the report at https://example.org/report for the full text.", 5, 5),
        Block("heading", "Sources", 5, 5, 1),
        Block("paragraph", "\u2022 https://www.example.org/news/\ncase-review-published\n\u2022 https://example.org/a\n-b_c?d=1", 5, 5),
        Block("paragraph", "https://example.org/x/97 8 1847 1% 23PRF/type/BOOK \u00a2 \u2014 http://example.net/", 6, 6),
    ]
    passages = chunk_blocks(blocks, "d", "0" * 64, lambda t: len(t.split()))
    assert [p.text for p in passages] == ["6.1 See the report at https://example.org/report for the full text."]
