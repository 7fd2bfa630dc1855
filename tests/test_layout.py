"""Extraction and layout: what a reader of the PDF sees, in reading order, without page furniture."""

from ingest.extract import extract_pdf
from kb.hashing import file_sha256
from ingest.layout import join_lines, page_blocks


def blocks_of(path):
    return page_blocks(extract_pdf(path, file_sha256(path)).pages)


def test_running_headers_footers_and_page_numbers_are_removed(child_s_pdf):
    text = "\n".join(b.text for b in blocks_of(child_s_pdf))
    assert "Page 1" not in text and "Page 2" not in text
    assert text.count("Riverton Safeguarding Children Partnership") == 1  # the title page's own line stays
    assert "Published March 2021" in text


def test_words_hyphenated_across_lines_are_joined(child_s_pdf):
    text = " ".join(b.text for b in blocks_of(child_s_pdf))
    assert "practitioners involved" in text
    assert "the history was not considered" in text
    assert "the significance of the injury" in text
    # a compound's own hyphen survives the line break
    assert "multi-agency safeguarding hub" in text
    assert "practi-" not in text and "consid-" not in text


def test_numbered_paragraphs_start_new_paragraphs(child_s_pdf):
    paragraphs = [b.text for b in blocks_of(child_s_pdf) if b.kind == "paragraph"]
    starts = [p.split()[0] for p in paragraphs]
    for number in ("1.1", "1.2", "3.1", "3.2", "4.1", "4.2", "5.1"):
        assert number in starts
    para_31 = next(p for p in paragraphs if p.startswith("3.1"))
    assert para_31.endswith("with the GP practice or with children's social care.")


def test_headings_and_table_rows_keep_their_pages(child_s_pdf):
    blocks = blocks_of(child_s_pdf)
    headings = {b.text: b.page_start for b in blocks if b.kind == "heading"}
    assert headings["3. Analysis of practice"] == 1
    assert headings["4. Findings"] == 2
    rows = [b.text for b in blocks if b.kind.startswith("table")]
    assert rows[0] == "Date | Agency | Event"
    assert "June 2018 | Police | Domestic incident reported at the family home" in rows


def test_pdf_metadata_and_page_count_are_recorded(child_s_pdf):
    extracted = extract_pdf(child_s_pdf, file_sha256(child_s_pdf))
    assert extracted.page_count == 2
    assert extracted.pdf_metadata["Title"] == "Serious Case Review: Child S"


def test_join_lines_rules():
    assert join_lines("an investi-", "gation followed") == "an investigation followed"
    assert join_lines("a multi-", "agency meeting") == "a multi-agency meeting"
    assert join_lines("an investi\x02", "gation") == "an investigation"
    assert join_lines("the GP-", "Practice") == "the GP- Practice"
    assert join_lines("end of line", "next line") == "end of line next line"


def test_a_heading_wrapped_onto_two_lines_is_one_heading(tmp_path):
    from pdfs import Heading, Para, ReportSpec, build_report

    from ingest.chunk import chunk_blocks

    spec = ReportSpec(title="Serious Case Review: Child W", body=[
        Heading("Serious Case Review: Child W", 18),
        Para(["Westmere Safeguarding Children Partnership. Published May 2019."]),
        Heading("2. Terms of reference, as laid before Parliament (Cm\n412)"),
        Para(["2.1 The review was asked what each agency knew of Child W."]),
        Heading("3. Chronology of agency\ninvolvement"),
        Para(["3.1 The health visitor saw Child W twice in the spring and recorded no concern."]),
        Heading("Contact with the school", 12),
        Para(["3.2 The school noticed that Child W was often hungry and told nobody."]),
        Heading("4. Analysis"),
        Para(["4.1 Nobody put the two pictures together."]),
    ])
    path = build_report(tmp_path / "child-w.pdf", spec)
    headings = [(b.level, b.text) for b in blocks_of(path) if b.kind == "heading"]
    assert (1, "3. Chronology of agency involvement") in headings
    assert not any(text == "involvement" for _, text in headings)
    # a second line that would pass for a page number alone ("412)") still carries the heading on
    assert (1, "2. Terms of reference, as laid before Parliament (Cm 412)") in headings
    # the next heading, set smaller beneath it, is still a level below
    assert (2, "Contact with the school") in headings and (1, "4. Analysis") in headings
    passages = chunk_blocks(blocks_of(path), "w", "0" * 64, lambda text: len(text.split()))
    sections = {p.text[:3]: p.section for p in passages}
    assert sections["3.1"] == "3. Chronology of agency involvement"
    assert sections["3.2"] == "3. Chronology of agency involvement › Contact with the school"
