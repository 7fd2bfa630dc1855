"""Citations ready to paste, and as RIS and BibTeX files that reference managers import: read back by parsers here."""

from __future__ import annotations

import csv
import io
import re

import pytest
from conftest import passage_id

from kb.models import Document, DocumentMeta, Passage
from kb.research import citations
from kb.research.citations import CitationError, cite_passage, for_passages, render, to_bibtex, to_ris

URL = "https://example.org/reviews/child_s%20final.pdf"
AWKWARD = "Review of {Child} S & 100% of #1_case ~ ^ \\ done"


def document(**meta) -> Document:
    defaults = dict(title="Serious Case Review: Child S", publisher="Riverton Safeguarding Children Partnership",
                    year_published=2021, url=URL, case="Child S", review_type="serious case review")
    return Document("a" * 16, "0" * 64, "/srv/private/alice/reports/child-s.pdf", 1000, 9,
                    DocumentMeta(**{**defaults, **meta}))


def passage(start: int = 3, end: int = 4, text: str = "4.1 Child S was never seen alone.\n\nNobody asked.") -> Passage:
    return Passage(f"{'a' * 16}-p{start:04d}-00", "a" * 16, 0, text, start, end, section="4. Analysis")


# --- parsers, written from the formats' descriptions ------------------------------------------------

RIS_LINE = re.compile(r"^([A-Z][A-Z0-9])  - (.*)$")


def parse_ris(text: str) -> list[dict[str, list[str]]]:
    """RIS: 'TG  - value' lines, one record from TY to ER."""
    records, current = [], None
    for line in text.split("\r\n"):
        if not line:
            continue
        match = RIS_LINE.match(line)
        assert match, f"not an RIS line: {line!r}"
        tag, value = match.groups()
        if tag == "TY":
            assert current is None, "TY before the last record's ER"
            current = {}
        assert current is not None, f"{tag} outside a record"
        if tag == "ER":
            assert value == ""
            records.append(current)
            current = None
            continue
        current.setdefault(tag, []).append(value)
    assert current is None, "a record without ER"
    return records


BIBTEX_UNESCAPE = {r"\textbackslash{}": "\\", r"\^{}": "^", r"\~{}": "~"}


def _braced(text: str, at: int) -> tuple[str, int]:
    """The text inside the braces opening at `at`, and the position after them."""
    assert text[at] == "{"
    depth, i = 0, at
    while True:
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        depth += ch == "{"
        depth -= ch == "}"
        i += 1
        if depth == 0:
            return text[at + 1:i - 1], i


def bibtex_value(raw: str) -> str:
    for escaped, plain in BIBTEX_UNESCAPE.items():
        raw = raw.replace(escaped, plain)
    raw = re.sub(r"\\([{}&%$#_])", r"\1", raw)
    if raw.startswith("{") and raw.endswith("}"):  # braced to keep capitals
        raw = raw[1:-1]
    return raw


def parse_bibtex(text: str) -> list[tuple[str, str, dict[str, str]]]:
    """@type{key, name = {value}, ...}: each entry's type, key and fields with escapes undone."""
    entries, at = [], 0
    while (start := text.find("@", at)) != -1:
        head = re.compile(r"@(\w+)\{([^,\s]+),").match(text, start)
        assert head, f"not an entry at {text[start:start + 40]!r}"
        fields, i = {}, head.end()
        while True:
            field = re.compile(r"\s*(\w+) = ").match(text, i)
            if not field:
                break
            value, i = _braced(text, field.end())
            fields[field.group(1)] = bibtex_value(value)
            i += text[i] == ","
        closing = re.compile(r"\s*\}").match(text, i)
        assert closing, f"entry {head.group(2)} not closed"
        entries.append((head.group(1), head.group(2), fields))
        at = closing.end()
    return entries


# --- the line ------------------------------------------------------------------------------------


def test_citation_line_names_publisher_year_title_pages_and_address():
    cited = cite_passage(document(), passage())
    assert cited.line == (f"Riverton Safeguarding Children Partnership (2021) Serious Case Review: Child S, "
                          f"pp. 3–4. Available at: {URL}")
    assert cite_passage(document(), passage(5, 5)).pages == "p. 5"


def test_citation_line_leaves_out_what_is_unknown_and_never_the_server_path():
    cited = cite_passage(document(publisher=None, year_published=None, url=None), passage())
    assert cited.line == "Serious Case Review: Child S (n.d.), pp. 3–4."
    untitled = cite_passage(document(title=None, publisher=None, url=None), passage())
    assert untitled.line == "child-s.pdf (2021), pp. 3–4." and "/srv" not in untitled.line
    assert untitled.file_name == "child-s.pdf"


# --- RIS -------------------------------------------------------------------------------------------


def test_ris_records_carry_every_known_field():
    records = parse_ris(to_ris([cite_passage(document(author="A. Reviewer (chair)"), passage()),
                                cite_passage(document(url=None, publisher=None), passage(7, 7))]))
    assert len(records) == 2
    first, second = records
    assert first["TY"] == ["RPRT"] and first["TI"] == ["Serious Case Review: Child S"]
    assert first["AU"] == ["A. Reviewer (chair)"] and first["PB"] == ["Riverton Safeguarding Children Partnership"]
    assert first["PY"] == ["2021"] and first["SP"] == ["3"] and first["EP"] == ["4"] and first["UR"] == [URL]
    assert first["M3"] == ["serious case review"]
    assert "Quoted (pp. 3–4): “4.1 Child S was never seen alone. Nobody asked.”" in first["N1"][0]
    assert second["SP"] == second["EP"] == ["7"] and "UR" not in second and "PB" not in second


def test_ris_keeps_each_value_on_one_line():
    text = to_ris([cite_passage(document(title="A title\nover two lines"), passage(text="line one\r\nline two"))])
    record = parse_ris(text)[0]
    assert record["TI"] == ["A title over two lines"] and "line one line two" in record["N1"][0]


# --- BibTeX ------------------------------------------------------------------------------------------


def test_bibtex_report_entries_read_back_exactly():
    text = to_bibtex([cite_passage(document(), passage()), cite_passage(document(), passage(3, 3))])
    entries = parse_bibtex(text)
    assert [kind for kind, _, _ in entries] == ["report", "report"]
    keys = [key for _, key, _ in entries]
    assert keys == ["childs2021p3", "childs2021p3a"], "keys are unique within a file"
    fields = entries[0][2]
    assert fields["title"] == "Serious Case Review: Child S"
    assert fields["institution"] == "Riverton Safeguarding Children Partnership"
    assert fields["year"] == "2021" and fields["pages"] == "3--4" and fields["url"] == URL
    assert fields["type"] == "serious case review"
    assert entries[1][2]["pages"] == "3"


def test_bibtex_escapes_special_characters_and_they_read_back():
    fields = parse_bibtex(to_bibtex([cite_passage(document(title=AWKWARD, publisher="Smith & Jones_Ltd"),
                                                  passage(text="50% of {cases} cost $5 #1"))]))[0][2]
    assert fields["title"] == AWKWARD
    assert fields["institution"] == "Smith & Jones_Ltd"
    assert "50% of {cases} cost $5 #1" in fields["note"]


def test_bibtex_keys_fold_accents():
    entries = parse_bibtex(to_bibtex([cite_passage(document(case="Victoria Climbié", year_published=2003), passage())]))
    assert entries[0][1] == "victoriaclimbie2003p3"


# --- CSV and the store ----------------------------------------------------------------------------------


def test_csv_has_one_row_per_citation_with_formulas_neutralised():
    rows = list(csv.DictReader(io.StringIO(render([cite_passage(document(title="=HYPERLINK(1)"), passage())],
                                                  "csv").decode("utf-8"))))
    assert len(rows) == 1 and rows[0]["title"] == "'=HYPERLINK(1)" and rows[0]["pages"] == "pp. 3–4"
    assert list(rows[0]) == citations.CSV_COLUMNS


def test_citations_of_stored_passages_in_the_order_asked(ingested):
    first, second = passage_id(ingested, "4.1 Child S"), passage_id(ingested, "3.1 The GP saw")
    found = for_passages(ingested, [second, first, second])
    assert [c.passage_id for c in found] == [second, first]
    assert all(c.title == "Serious Case Review: Child S" and c.year == 2021 for c in found)
    with pytest.raises(CitationError, match="No passage 'nope'"):
        for_passages(ingested, [first, "nope"])
    with pytest.raises(CitationError, match="ris, bibtex, csv"):
        render(found, "endnote")
