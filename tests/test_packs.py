"""Learning packs in kb: building, reordering and editing a pack, keeping it in the store, and its exports."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timezone
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from conftest import ingested_store, passage_id
from docx import Document as WordDocument
from pdfs import Heading, PageBreak, Para, ReportSpec, build_report

from kb import KnowledgeBase, Settings
from kb.research.pack_export import (
    filename,
    md_escape,
    pdf_text,
    to_docx,
    to_markdown,
    to_pdf,
)
from kb.research.packs import NOTE_MAX, TITLE_MAX, Missing, PackError

CHILD_T_TITLE = "Serious Case Review: Child T – “learning together”"
CHILD_T_URL = "https://example.org/reviews/child_t.pdf"
CHILD_T_31 = (
    "3.1 The school nurse’s concerns were described as “low level” — the café owner said Child T was "
    "‘fine’ … the review found the concerns were never passed to social care."
)
CHILD_T_32 = (
    "3.2 The note read <script>alert(1)</script> & nobody acted on it; agencies did not share what "
    "they knew and each incident was treated as new."
)
CHILD_S_41 = (
    "4.1 Child S was not seen alone by any professional during the period under review, and her voice "
    "is absent from the records of every agency."
)
CHILD_S_42 = (
    "4.2 Mr B, the mother's partner, was never assessed although he was living in the household for "
    "most of the period under review."
)
CATALOGUE_COLUMNS = [
    "id", "case", "aliases", "title", "review_type", "nation", "area", "publisher", "author",
    "year_published", "year_of_incident", "url", "licence", "sample_file",
]


def child_t_review(finding: str = "4.1 Child T was not seen alone by the social worker and her wishes and feelings") -> ReportSpec:
    """A review whose text has typographic quotes, dashes, an accent and a script tag."""
    return ReportSpec(
        title="Serious Case Review: Child T", header="Serious Case Review: Child T",
        footer="Northbridge Safeguarding Children Partnership",
        body=[
            Heading("Serious Case Review: Child T", 18),
            Para(["Northbridge Safeguarding Children Partnership. Published June 2012."]),
            Heading("3. Analysis"),
            Para(["3.1 The school nurse’s concerns were described as “low level” — the café owner said",
                  "Child T was ‘fine’ … the review found the concerns were never passed to social care."]),
            Para(["3.2 The note read <script>alert(1)</script> & nobody acted on it; agencies did",
                  "not share what they knew and each incident was treated as new."]),
            PageBreak(),
            Heading("4. Findings"),
            Para([finding, "were not recorded. Her voice was not heard by any agency."]),
        ],
    )


def write_catalogue(path: Path) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(CATALOGUE_COLUMNS)
        writer.writerow(["child-t", "Child T", "", CHILD_T_TITLE, "serious case review", "England", "Northbridge",
                         "Northbridge Safeguarding Children Partnership", "", "2012", "2010", CHILD_T_URL, "", ""])
    return path


@pytest.fixture(scope="module")
def store(tmp_path_factory, child_s_pdf) -> KnowledgeBase:
    """Child S (described from its text) and Child T (from a catalogue row with a URL)."""
    home = tmp_path_factory.mktemp("packs")
    return ingested_store(home, [child_s_pdf, build_report(home / "child-t.pdf", child_t_review())],
                          catalogue=write_catalogue(home / "catalogue.csv"))


def order(kb: KnowledgeBase, pack_id: int) -> list[str]:
    return [item.passage_id for item in kb.packs.get(pack_id).items]


# --- building a pack -------------------------------------------------------------


def test_create_add_and_read_back_with_citations(store):
    pack = store.packs.create("  Not seen,\n not heard ", "Why we are here.")
    assert pack.title == "Not seen, not heard" and pack.introduction == "Why we are here." and pack.item_count == 0
    s41, t31, s31 = passage_id(store, "4.1 Child S"), passage_id(store, "3.1 The school nurse"), passage_id(store, "3.1 The GP")
    first = store.packs.add(pack.pack_id, s41, heading="The child’s voice", note="Who saw her alone?")
    store.packs.add(pack.pack_id, t31)
    store.packs.add(pack.pack_id, s31)

    loaded = store.packs.get(pack.pack_id)
    assert loaded.item_count == 3
    assert [i.passage_id for i in loaded.items] == [s41, t31, s31]
    assert [i.number for i in loaded.items] == [1, 2, 3]
    item = loaded.items[0]
    assert item.item_id == first and item.heading == "The child’s voice" and item.note == "Who saw her alone?"
    assert item.passage.text.startswith(CHILD_S_41)
    assert item.document.meta.case == "Child S"
    assert item.citation == "Serious Case Review: Child S (2021), p. 2"
    assert loaded.items[1].citation == f"{CHILD_T_TITLE} (2012), p. 1"
    assert loaded.items[1].document.meta.url == CHILD_T_URL
    # each report once, in the order the pack first cites it
    assert [d.meta.case for d in loaded.sources] == ["Child S", "Child T"]


def test_adding_a_passage_twice_keeps_one_item(store):
    pack = store.packs.create("Twice")
    pid = passage_id(store, "4.1 Child S")
    first = store.packs.add(pack.pack_id, pid, note="first")
    again = store.packs.add(pack.pack_id, pid, note="second")
    assert again == first
    items = store.packs.get(pack.pack_id).items
    assert len(items) == 1 and items[0].note == "first"
    assert pack.pack_id in store.packs.holding(pid)


def test_reorder_up_down_and_to_a_position(store):
    pack = store.packs.create("Order")
    ids = [passage_id(store, s) for s in ("1.1 This review", "3.1 The GP", "4.1 Child S", "3.1 The school nurse")]
    items = [store.packs.add(pack.pack_id, pid) for pid in ids]
    a, b, c, d = ids

    store.packs.move_up(pack.pack_id, items[2])
    assert order(store, pack.pack_id) == [a, c, b, d]
    store.packs.move_down(pack.pack_id, items[0])
    assert order(store, pack.pack_id) == [c, a, b, d]
    store.packs.move(pack.pack_id, items[3], 0)
    assert order(store, pack.pack_id) == [d, c, a, b]
    # beyond either end means to that end, and moving past the edge changes nothing
    store.packs.move(pack.pack_id, items[3], 99)
    assert order(store, pack.pack_id) == [c, a, b, d]
    store.packs.move_down(pack.pack_id, items[3])
    store.packs.move_up(pack.pack_id, items[2])
    store.packs.move(pack.pack_id, items[1], -5)
    assert order(store, pack.pack_id) == [b, c, a, d]
    assert [i.position for i in store.packs.get(pack.pack_id).items] == [0, 1, 2, 3]


def test_edit_heading_and_note(store):
    pack = store.packs.create("Edits")
    item = store.packs.add(pack.pack_id, passage_id(store, "3.1 The GP"), heading="Old", note="Old note")
    store.packs.edit(pack.pack_id, item, heading=" Joining the dots ", note="Line one\r\nline two\r\n\r\nNext\x00 para ")
    got = store.packs.get(pack.pack_id).items[0]
    assert got.heading == "Joining the dots"
    assert got.note == "Line one\nline two\n\nNext para"
    store.packs.edit(pack.pack_id, item, note="Only the note")
    got = store.packs.get(pack.pack_id).items[0]
    assert (got.heading, got.note) == ("Joining the dots", "Only the note")


def test_remove_renumbers_the_rest(store):
    pack = store.packs.create("Removals")
    ids = [passage_id(store, s) for s in ("1.1 This review", "3.1 The GP", "4.1 Child S")]
    items = [store.packs.add(pack.pack_id, pid) for pid in ids]
    store.packs.remove(pack.pack_id, items[1])
    loaded = store.packs.get(pack.pack_id)
    assert [i.passage_id for i in loaded.items] == [ids[0], ids[2]]
    assert [i.position for i in loaded.items] == [0, 1]
    with pytest.raises(Missing):
        store.packs.remove(pack.pack_id, items[1])


def test_rename_set_introduction_and_delete(store):
    pack = store.packs.create("Draft")
    item = store.packs.add(pack.pack_id, passage_id(store, "3.1 The GP"))
    store.packs.rename(pack.pack_id, "Final")
    store.packs.set_introduction(pack.pack_id, "For the March session.")
    loaded = store.packs.get(pack.pack_id)
    assert (loaded.title, loaded.introduction) == ("Final", "For the March session.")
    store.packs.update(pack.pack_id, "Final v2", "")
    assert store.packs.get(pack.pack_id).introduction == ""

    store.packs.delete(pack.pack_id)
    assert store.packs.get(pack.pack_id) is None
    assert pack.pack_id not in [p.pack_id for p in store.packs.list()]
    assert store.catalogue.pack_item_rows(pack.pack_id) == []
    for call in (
        lambda: store.packs.delete(pack.pack_id),
        lambda: store.packs.rename(pack.pack_id, "Back"),
        lambda: store.packs.add(pack.pack_id, passage_id(store, "3.1 The GP")),
        lambda: store.packs.edit(pack.pack_id, item, note="x"),
        lambda: store.packs.move_up(pack.pack_id, item),
    ):
        with pytest.raises(Missing):
            call()


def test_values_a_pack_cannot_hold_are_refused_and_nothing_is_stored(store):
    before = len(store.packs.list())
    for title in ("", "   ", "x" * (TITLE_MAX + 1)):
        with pytest.raises(PackError):
            store.packs.create(title)
    assert len(store.packs.list()) == before
    assert store.packs.create("x" * TITLE_MAX).title == "x" * TITLE_MAX

    pack = store.packs.create("Limits")
    pid = passage_id(store, "3.1 The GP")
    with pytest.raises(PackError, match="at most 4000"):
        store.packs.add(pack.pack_id, pid, note="n" * (NOTE_MAX + 1))
    with pytest.raises(PackError):
        store.packs.add(pack.pack_id, pid, heading="h" * 201)
    assert store.packs.get(pack.pack_id).items == []
    item = store.packs.add(pack.pack_id, pid, note="n" * NOTE_MAX)
    with pytest.raises(PackError):
        store.packs.edit(pack.pack_id, item, note="n" * (NOTE_MAX + 1))
    with pytest.raises(PackError):
        store.packs.rename(pack.pack_id, "")
    assert store.packs.get(pack.pack_id).title == "Limits"


def test_unknown_pack_item_or_passage(store):
    pack = store.packs.create("Lookups")
    assert store.packs.get(987654) is None
    with pytest.raises(Missing) as missing:
        store.packs.add(pack.pack_id, "0000000000000000-p0001-00")
    assert missing.value.what == "That passage"
    with pytest.raises(Missing) as missing:
        store.packs.add(987654, passage_id(store, "3.1 The GP"))
    assert missing.value.what == "That learning pack"
    other = store.packs.create("Other")
    item = store.packs.add(other.pack_id, passage_id(store, "3.1 The GP"))
    with pytest.raises(Missing):  # an item belongs to one pack only
        store.packs.edit(pack.pack_id, item, note="x")


def test_list_puts_the_most_recently_changed_first(store, monkeypatch):
    import kb.store.pack_rows

    ticks = iter(f"2031-01-01T00:00:{n:02d}+00:00" for n in range(60))
    monkeypatch.setattr(kb.store.pack_rows, "now", lambda: next(ticks))
    a = store.packs.create("Listed A")
    b = store.packs.create("Listed B")
    mine = lambda: [p.title for p in store.packs.list() if p.title.startswith("Listed")]  # noqa: E731
    assert mine() == ["Listed B", "Listed A"]
    store.packs.add(a.pack_id, passage_id(store, "3.1 The GP"))
    assert mine() == ["Listed A", "Listed B"]
    listed = {p.pack_id: p for p in store.packs.list()}
    assert listed[a.pack_id].item_count == 1 and listed[b.pack_id].item_count == 0


def test_packs_persist_across_a_new_knowledge_base_on_the_same_store(store):
    pack = store.packs.create("Kept", "Survives a restart.")
    store.packs.add(pack.pack_id, passage_id(store, "3.1 The school nurse"), heading="H", note="N")
    store.packs.add(pack.pack_id, passage_id(store, "4.1 Child S"))
    expected = to_markdown(store.packs.get(pack.pack_id))

    reopened = KnowledgeBase(Settings(home=store.settings.home, catalogue=store.settings.catalogue))
    loaded = reopened.packs.get(pack.pack_id)
    assert (loaded.title, loaded.introduction) == ("Kept", "Survives a restart.")
    assert [(i.heading, i.note) for i in loaded.items] == [("H", "N"), ("", "")]
    assert to_markdown(loaded) == expected
    assert to_docx(loaded) == to_docx(store.packs.get(pack.pack_id))


def test_an_item_whose_passage_left_the_store_is_kept_and_marked(make_kb, tmp_path):
    from ingest import ingest_paths

    kb = make_kb()
    path = build_report(tmp_path / "review.pdf", child_t_review())
    assert ingest_paths(kb, [path]).ingested == 1
    pack = kb.packs.create("Replaced")
    old = passage_id(kb, "4.1 Child T")
    kb.packs.add(pack.pack_id, old, heading="Voice", note="Still useful")
    # a changed file at the same path replaces the report and its passages
    build_report(path, child_t_review("4.1 Child T was seen alone only once by the social worker, and her feelings"))
    assert ingest_paths(kb, [path]).replaced == 1
    assert kb.passage(old) is None

    item = kb.packs.get(pack.pack_id).items[0]
    assert item.passage is None and item.citation is None
    assert (item.heading, item.note) == ("Voice", "Still useful")
    markdown = to_markdown(kb.packs.get(pack.pack_id))
    assert f"*This passage (id {old}) is no longer in the knowledge base.*" in markdown
    assert "## Sources" not in markdown
    assert "no longer in the knowledge base" in pdf_page_text(to_pdf(kb.packs.get(pack.pack_id)))


# --- exports ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def teaching_pack(store):
    """Two passages from reports nine years apart, with notes that need escaping and mapping."""
    pack = store.packs.create("Not seen, not heard", "Two reviews, nine years apart.\n\nRead each passage aloud.")
    store.packs.add(pack.pack_id, passage_id(store, "4.1 Child S"), heading="The child’s voice",
                    note="Ask: who saw Child S alone?\n\n1. Discuss in pairs.")
    store.packs.add(pack.pack_id, passage_id(store, "3.1 The school nurse"),
                    note="Zoë said “no” — Łukasz’s 漢字 note ≥ 3 *not* emphasis")
    return store.packs.get(pack.pack_id)


def test_markdown_has_the_exact_structure(teaching_pack):
    assert to_markdown(teaching_pack) == "\n".join([
        "# Not seen, not heard",
        "",
        "Two reviews, nine years apart.",
        "",
        "Read each passage aloud.",
        "",
        "## 1. The child’s voice",
        "",
        f"> {CHILD_S_41}",
        ">",
        f"> {CHILD_S_42}",
        "",
        "**Trainer’s note:** Ask: who saw Child S alone?",
        "",
        "1\\. Discuss in pairs.",
        "",
        "Source: Serious Case Review: Child S (2021), p. 2",
        "",
        "## 2. Passage 2",
        "",
        f"> {CHILD_T_31}",
        ">",
        "> 3.2 The note read \\<script\\>alert(1)\\</script\\> & nobody acted on it; agencies did not share what "
        "they knew and each incident was treated as new.",
        "",
        "**Trainer’s note:** Zoë said “no” — Łukasz’s 漢字 note ≥ 3 \\*not\\* emphasis",
        "",
        f"Source: {CHILD_T_TITLE} (2012), p. 1",
        "",
        "## Sources",
        "",
        "- Serious Case Review: Child S. 2021",
        f"- {CHILD_T_TITLE}. Northbridge Safeguarding Children Partnership, 2012. <{CHILD_T_URL}>",
        "",
    ])


def test_markdown_keeps_table_lines_and_escapes_markup(store):
    pack = store.packs.create("*Bold* [link](x) # not a heading")
    store.packs.add(pack.pack_id, passage_id(store, "Date | Agency"), note="- not a list\n+ nor this")
    markdown = to_markdown(store.packs.get(pack.pack_id))
    assert markdown.startswith("# \\*Bold\\* \\[link\\](x) # not a heading\n")
    assert "> Date | Agency | Event\\\n> March 2018 | Health visiting | Bruise to the cheek of Child S seen at home\\\n" in markdown
    assert "**Trainer’s note:** \\- not a list\\\n\\+ nor this\n" in markdown
    assert md_escape("&amp; &#60; AT&T") == "\\&amp; \\&#60; AT&T"


def word_paragraphs(data: bytes) -> list[tuple[str, str]]:
    return [(p.style.name, p.text) for p in WordDocument(io.BytesIO(data)).paragraphs]


def test_word_export_in_order_with_citations_and_sources(teaching_pack):
    data = to_docx(teaching_pack)
    assert word_paragraphs(data) == [
        ("Title", "Not seen, not heard"),
        ("Normal", "Two reviews, nine years apart."),
        ("Normal", "Read each passage aloud."),
        ("Heading 1", "1. The child’s voice"),
        ("Quote", CHILD_S_41),
        ("Quote", CHILD_S_42),
        ("Normal", "Trainer’s note: Ask: who saw Child S alone?"),
        ("Normal", "1. Discuss in pairs."),
        ("Normal", "Source: Serious Case Review: Child S (2021), p. 2"),
        ("Heading 1", "2. Passage 2"),
        ("Quote", CHILD_T_31),
        ("Quote", CHILD_T_32),
        ("Normal", "Trainer’s note: Zoë said “no” — Łukasz’s 漢字 note ≥ 3 *not* emphasis"),
        ("Normal", f"Source: {CHILD_T_TITLE} (2012), p. 1"),
        ("Heading 1", "Sources"),
        ("List Bullet", "Serious Case Review: Child S. 2021"),
        ("List Bullet", f"{CHILD_T_TITLE}. Northbridge Safeguarding Children Partnership, 2012. {CHILD_T_URL}"),
    ]
    props = WordDocument(io.BytesIO(data)).core_properties
    assert props.title == "Not seen, not heard" and props.author == "scrkb"
    assert props.created == datetime.fromisoformat(teaching_pack.created)
    assert props.modified == datetime.fromisoformat(teaching_pack.updated)


def test_word_export_keeps_line_breaks_of_a_table_passage(store):
    pack = store.packs.create("Table")
    store.packs.add(pack.pack_id, passage_id(store, "Date | Agency"))
    paragraphs = WordDocument(io.BytesIO(to_docx(store.packs.get(pack.pack_id)))).paragraphs
    quote = [p for p in paragraphs if p.style.name == "Quote"]
    assert len(quote) == 1 and quote[0].text.split("\n")[:2] == [
        "Date | Agency | Event", "March 2018 | Health visiting | Bruise to the cheek of Child S seen at home",
    ]


def pdf_page_text(data: bytes) -> str:
    pdf = pdfium.PdfDocument(data)
    try:
        return " ".join(" ".join(pdf[i].get_textpage().get_text_range().split()) for i in range(len(pdf)))
    finally:
        pdf.close()


def test_pdf_export_in_order_with_latin_characters_mapped(teaching_pack):
    text = pdf_page_text(to_pdf(teaching_pack))
    expected_in_order = [
        "Not seen, not heard", "Two reviews, nine years apart.", "Read each passage aloud.",
        "1. The child’s voice", CHILD_S_41, CHILD_S_42, "Trainer’s note: Ask: who saw Child S alone?",
        "1. Discuss in pairs.", "Source: Serious Case Review: Child S (2021), p. 2",
        "2. Passage 2", CHILD_T_31, CHILD_T_32,
        "Trainer’s note: Zoë said “no” — Lukasz’s ?? note >= 3 *not* emphasis",
        f"Source: {CHILD_T_TITLE} (2012), p. 1",
        "Sources", "• Serious Case Review: Child S. 2021",
        f"• {CHILD_T_TITLE}. Northbridge Safeguarding Children Partnership, 2012. {CHILD_T_URL}",
    ]
    at = 0
    for piece in expected_in_order:
        found = text.find(piece, at)
        assert found >= 0, f"{piece!r} missing after position {at} in {text!r}"
        at = found + len(piece)
    assert "\u25a0" not in text  # no empty-box glyphs


def test_pdf_text_maps_what_the_built_in_fonts_lack():
    assert pdf_text("“a” ‘b’ — – … é € ß") == "“a” ‘b’ — – … é € ß"
    assert pdf_text("Łódź ≥ 3 → x\u2011y \u00adsoft \u200bzero ı e\u0301") == "Lódz >= 3 -> x-y soft zero i é"
    assert pdf_text("漢字 🙂 x\u0301") == "?? ? x"
    assert pdf_text("tab\tand\nline") == "tab\tand\nline"


def test_exports_are_deterministic(teaching_pack):
    assert to_markdown(teaching_pack) == to_markdown(teaching_pack)
    assert to_docx(teaching_pack) == to_docx(teaching_pack)
    assert to_pdf(teaching_pack) == to_pdf(teaching_pack)


def test_pdf_is_dated_by_the_packs_last_change(teaching_pack):
    pdf = pdfium.PdfDocument(to_pdf(teaching_pack))
    try:
        stated = {key: pdf.get_metadata_value(key) for key in ("CreationDate", "ModDate")}
    finally:
        pdf.close()
    changed = datetime.fromisoformat(teaching_pack.updated).astimezone(timezone.utc)
    assert stated == {key: changed.strftime("D:%Y%m%d%H%M%S+00'00'") for key in stated}
    assert not stated["CreationDate"].startswith("D:2000")


def test_export_file_names(teaching_pack, store):
    assert filename(teaching_pack, "docx") == f"not-seen-not-heard-{teaching_pack.pack_id}.docx"
    odd = store.packs.create("Łódź: “café” & 漢字!")
    assert filename(odd, "md") == f"lodz-cafe-{odd.pack_id}.md"
    assert filename(store.packs.create("漢字"), "pdf").startswith("learning-pack-")
