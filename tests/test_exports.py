"""`scrkb export`: every format, the record of what the numbers rest on, byte-identical re-exports,
formula-safe CSV and a REFI-QDA codebook that parses."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import uuid
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from test_analytics import HYPERLINK, build_store

from kb.cli import main
from kb.csv_safe import FORMULA_STARTS, neutralise
from kb.research.exports import UNKNOWN_MODEL
from kb.themes.model import MODEL_FILE

QDA = "{urn:QDA-XML:codebook:1.0}"
# Every export that writes CSV, with the options it needs.
CSV_EXPORTS = [
    ["counts", "--by", "document"],
    ["counts", "--by", "case", "--table", "binary"],
    ["counts", "--by", "case", "--table", "matrix"],
    ["counts", "--by", "year"],
    ["counts", "--by", "type", "--include-names"],
    ["prevalence"],
    ["evidence", "--theme", "thresholds", "--include-names"],
    ["evidence", "--theme", "information_sharing"],
    ["cooccurrence", "--unit", "documents"],
    ["trends", "--span", "5"],
    ["coded", "--include-names"],
    ["chronology", "a" * 16],
    ["chronology"],
]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return build_store(tmp_path_factory.mktemp("exports") / "kb")


def export(store, *args: str) -> str:
    result = CliRunner().invoke(main, ["export", *args, "--kb", str(store.settings.home)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def cells(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"))))


@pytest.mark.parametrize("args", CSV_EXPORTS, ids=lambda a: "-".join(a)[:40])
def test_every_csv_export_neutralises_formulas_and_has_its_sidecar(store, tmp_path, args):
    out = tmp_path / "out.csv"
    export(store, *args, "--format", "csv", "--out", str(out))
    rows = cells(out.read_bytes())
    assert len(rows) >= 1
    for row in rows:
        for cell in row:
            assert not cell.startswith(FORMULA_STARTS), cell
    meta = json.loads(Path(str(out) + ".meta.json").read_text(encoding="utf-8"))
    assert meta["file_table"] in [t["name"] for t in meta["tables"]]
    assert meta["corpus"]["documents"] == 4


def test_formula_like_text_is_kept_behind_a_quote(store, tmp_path):
    out = tmp_path / "coded.csv"
    export(store, "coded", "--include-names", "--out", str(out))
    text_column = {row[-1] for row in cells(out.read_bytes())[1:]}
    assert "'" + HYPERLINK + " The threshold for a referral was discussed in training." in text_column
    assert any(t.startswith("'+1 ") for t in text_column)
    assert any(t.startswith("'-2 ") for t in text_column)
    assert any(t.startswith("'@x ") for t in text_column)
    by_case = tmp_path / "case.csv"
    export(store, "counts", "--by", "case", "--table", "binary", "--out", str(by_case))
    assert "'-2 Thematic review" in [row[0] for row in cells(by_case.read_bytes())]
    assert [neutralise(v) for v in ("=1", "+1", "-1", "@a", "\tx", "\rx", "ok", 5)] == [
        "'=1", "'+1", "'-1", "'@a", "'\tx", "'\rx", "ok", 5]


def test_csv_sidecar_records_what_the_numbers_rest_on(store, tmp_path):
    out = tmp_path / "counts.csv"
    export(store, "counts", "--by", "case", "--min-score", "0.7", "--unit", "documents", "--out", str(out))
    meta = json.loads(Path(str(out) + ".meta.json").read_text(encoding="utf-8"))
    assert meta["output"] == "counts" and meta["parameters"] == {"by": "case"} and meta["file_table"] == "counts"
    assert meta["counting_rules"]["min_score"] == 0.7 and meta["counting_rules"]["unit"] == "documents"
    assert meta["counting_rules"]["kinds"] == "shows"
    ids = "\n".join(sorted(c * 16 for c in "abcd"))
    assert meta["corpus"]["document_ids_sha256"] == hashlib.sha256(ids.encode()).hexdigest()
    assert meta["taxonomy"]["version"] == store.tagger.version and meta["taxonomy"]["stored_tag_versions"]
    assert meta["calibration"]["source"] and "thresholds" in meta["calibration"]
    assert meta["model"]["file_sha256"] == hashlib.sha256(MODEL_FILE.read_bytes()).hexdigest()
    assert "real passages" in meta["model"]["trained_on"] and "scrkb retag" in meta["model"]["meaning"]
    assert meta["model"]["stored_tags_made_by"] == [UNKNOWN_MODEL]  # the fixture writes its tags by hand
    assert meta["scrkb_version"]
    assert meta["export_date"] == store.catalogue.analytics_state()["last_ingested_at"]
    assert "last ingest" in meta["export_date_meaning"]


def test_json_export_carries_about_and_every_table(store):
    data = json.loads(export(store, "counts", "--by", "case", "--format", "json"))
    assert set(data) == {"about", "tables"}
    assert list(data["tables"]) == ["counts", "matrix", "binary"]
    binary = {row["case"]: row for row in data["tables"]["binary"]["rows"]}
    assert binary["Child A"]["information_sharing"] == 1 and binary["Child B"]["missed_warning_signs"] == 0
    assert data["about"]["counting_rules"]["kinds"] == "shows"
    evidence = json.loads(export(store, "evidence", "--theme", "missed_warning_signs", "--format", "json"))
    rows = evidence["tables"]["evidence"]["rows"]
    assert [r["page_start"] for r in rows] == [1, 2] and rows[0]["evidence"] == "The GP saw bruising and did not refer."


def test_xlsx_has_a_sheet_per_table_and_the_about_sheet(store, tmp_path):
    out = tmp_path / "counts.xlsx"
    export(store, "counts", "--by", "case", "--format", "xlsx", "--out", str(out))
    book = load_workbook(out)
    assert book.sheetnames == ["counts", "matrix", "binary", "About these numbers"]
    about = {row[0]: row[1] for row in book["About these numbers"].iter_rows(min_row=2, values_only=True)}
    assert about["counting_rules.unit"] == "passages" and about["corpus.documents"] == "4"
    assert about["taxonomy.version"] and about["scrkb_version"] and about["export_date"]
    assert about["calibration.source"] and about["model.file_sha256"] == hashlib.sha256(MODEL_FILE.read_bytes()).hexdigest()
    coded = tmp_path / "coded.xlsx"
    export(store, "coded", "--include-names", "--format", "xlsx", "--out", str(coded))
    texts = [cell.value for cell in load_workbook(coded)["coded"]["O"]]  # text: the last column
    assert HYPERLINK + " The threshold for a referral was discussed in training." in texts  # text, not a formula
    sheet_xml = zipfile.ZipFile(coded).read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet_xml


@pytest.mark.parametrize("fmt", ["csv", "json", "xlsx"])
@pytest.mark.parametrize("args", [["counts", "--by", "case"], ["evidence", "--theme", "neglect"], ["cooccurrence"],
                                  ["chronology", "b" * 16], ["coded"], ["trends"]], ids=lambda a: "-".join(a)[:24])
def test_re_export_gives_byte_identical_files(store, tmp_path, fmt, args):
    first, second = tmp_path / f"1.{fmt}", tmp_path / f"2.{fmt}"
    export(store, *args, "--format", fmt, "--out", str(first))
    export(store, *args, "--format", fmt, "--out", str(second))
    assert first.read_bytes() == second.read_bytes()
    if fmt == "csv":
        assert Path(f"{first}.meta.json").read_bytes() == Path(f"{second}.meta.json").read_bytes()
    if fmt == "xlsx":
        archive = zipfile.ZipFile(first)
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        core = archive.read("docProps/core.xml").decode()
        stamp = store.catalogue.analytics_state()["last_ingested_at"][:19]
        assert core.count(stamp) == 2  # created and modified: the store's last ingest, not now


def test_xlsx_without_out_is_refused(store):
    result = CliRunner().invoke(main, ["export", "counts", "--format", "xlsx", "--kb", str(store.settings.home)])
    assert result.exit_code == 2 and "--out" in result.output


def test_bad_arguments_are_usage_errors(store):
    home = str(store.settings.home)
    for args in (["evidence", "--theme", "no_such_theme"], ["counts", "--by", "colour"], ["counts", "--min-score", "3"],
                 ["counts", "--table", "nope"]):
        result = CliRunner().invoke(main, ["export", *args, "--kb", home])
        assert result.exit_code == 2, (args, result.output)
    result = CliRunner().invoke(main, ["export", "chronology", "nope", "--kb", home])
    assert result.exit_code == 1 and "No document" in result.output


def test_codebook_is_refi_qda_with_one_code_per_theme(store, tmp_path):
    out = tmp_path / "themes.qdc"
    export(store, "codebook", "--format", "qdc", "--out", str(out))
    root = ET.fromstring(out.read_bytes())
    assert root.tag == f"{QDA}CodeBook" and root.get("origin", "").startswith("scrkb ")
    taxonomy = store.tagger.taxonomy
    parents = root.findall(f"{QDA}Codes/{QDA}Code")
    assert {p.get("name") for p in parents} == set(taxonomy.groups.values())
    assert all(p.get("isCodable") == "false" for p in parents)
    codes = root.findall(f"{QDA}Codes/{QDA}Code/{QDA}Code")
    assert len(codes) == len(taxonomy.themes)
    assert sorted(c.get("name") for c in codes) == sorted(t.label for t in taxonomy.themes)
    assert all(c.get("isCodable") == "true" for c in codes)
    guids = [c.get("guid") for c in root.iter(f"{QDA}Code")]
    assert len(set(guids)) == len(guids) and all(uuid.UUID(g).version == 5 for g in guids)
    by_name = {c.get("name"): c for c in codes}
    theme = taxonomy.themes[0]
    assert by_name[theme.label].find(f"{QDA}Description").text == theme.definition
    again = tmp_path / "again.qdc"
    export(store, "codebook", "--out", str(again))
    assert again.read_bytes() == out.read_bytes()  # GUIDs derive from theme ids: stable


def test_chronology_export_tables(store, tmp_path):
    data = json.loads(export(store, "chronology", "a" * 16, "--format", "json"))
    assert list(data["tables"]) == ["events", "contacts"]
    assert data["about"]["summary"]["doc_id"] == "a" * 16
    assert "sentences_without_date" in data["about"]["summary"]
    corpus = json.loads(export(store, "chronology", "--format", "json"))
    assert list(corpus["tables"]) == ["agencies_before_incident"]
    assert corpus["about"]["summary"]["documents_considered"] == 2  # A and B have a year of incident
