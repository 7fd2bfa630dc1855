"""Write research outputs as CSV, JSON, Excel and a REFI-QDA codebook, always with what they rest on.

Every export carries an "about" record: the counting rules, taxonomy version,
calibration, the tagger's measured accuracy per theme and the reviews counts rest on
(for counts), the corpus (document count and a SHA-256 of the sorted document ids),
the scrkb version and a date. The date is the store's last ingest, not the time of
export, so exporting the same store twice gives byte-identical files; the "about"
says so. CSV cells that a spreadsheet would run as a formula are neutralised.
"""

from __future__ import annotations

import hashlib
import io
import json
import uuid
import xml.etree.ElementTree as ET
import zipfile
from datetime import datetime
from importlib import metadata

from kb.csv_safe import write_csv
from kb.knowledge_base import KnowledgeBase
from kb.research.analytics import Analysis, Table
from kb.research.chronology import Chronology
from kb.research.estimates import quality_about, reviews_about
from kb.themes.model import ThemeModel
from kb.themes.taxonomy import Taxonomy

FORMATS = ("csv", "json", "xlsx")
MIMETYPES = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "qdc": "application/xml",
}
QDA_NAMESPACE = "urn:QDA-XML:codebook:1.0"
GUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:scrkb:taxonomy")
ABOUT_SHEET = "About these numbers"
# Used when the store is empty and has no ingest time: a fixed date keeps files reproducible.
EPOCH = "2000-01-01T00:00:00+00:00"
UNKNOWN_MODEL = "unknown: tagged before scrkb recorded the model (schema 3 or older)"


def scrkb_version() -> str:
    try:
        return metadata.version("scrkb")
    except metadata.PackageNotFoundError:
        from kb import __version__

        return __version__


def corpus_fingerprint(doc_ids: list[str]) -> str:
    """SHA-256 of the sorted document ids joined by newlines: the same corpus gives the same hash."""
    return hashlib.sha256("\n".join(sorted(doc_ids)).encode("utf-8")).hexdigest()


def about(kb: KnowledgeBase, analysis: Analysis) -> dict:
    """What the numbers rest on, recorded with every export."""
    state = kb.catalogue.analytics_state()
    tagger = kb.tagger
    calibration = tagger.calibration
    counting = {}
    if analysis.rules is not None:
        counting = {
            "theme_quality": quality_about(kb.theme_quality, tagger.taxonomy.ids),
            "reviews": reviews_about(analysis.summary, kb.catalogue.review_summary()),
        }
    return {
        "output": analysis.name,
        "parameters": analysis.parameters,
        "counting_rules": analysis.rules.as_dict() if analysis.rules else None,
        "tables": [{"name": t.name, "title": t.title, "rows": len(t.rows), "notes": t.notes} for t in analysis.tables],
        "summary": analysis.summary,
        "taxonomy": {
            "version": tagger.version,
            "stored_tag_versions": state["taxonomy_versions"],
            "themes": len(tagger.taxonomy.themes),
        },
        "calibration": {
            "source": calibration.source,
            "default_threshold": calibration.default,
            "thresholds": dict(sorted(calibration.thresholds.items())),
            "meaning": "The tagger stores a theme on a passage when its score reaches the theme's threshold; "
                       "min_score in the counting rules only ever removes tags above that.",
        },
        "model": model_about(tagger.model, state["tag_models"]),
        **counting,
        "corpus": {
            "documents": len(state["doc_ids"]),
            "passages": state["passages"],
            "document_ids_sha256": corpus_fingerprint(state["doc_ids"]),
            "document_ids_sha256_of": "the sorted document ids, joined by newlines, UTF-8",
            "store_generation": state["generation"],
        },
        "scrkb_version": scrkb_version(),
        "export_date": state["last_ingested_at"] or EPOCH,
        "export_date_meaning": "the store's last ingest, not the moment of export, so re-exporting an "
                               "unchanged store gives identical files",
    }


def model_about(model: ThemeModel | None, stored: list[str]) -> dict:
    """Which trained model the thresholds and quality figures belong to, and which made the stored tags."""
    current = model.sha256 if model else ""
    return {
        "file_sha256": current or None,
        "trained_on": model.trained_on if model else "no trained model: the tagger's measurements alone",
        "stored_tags_made_by": [sha or UNKNOWN_MODEL for sha in stored],
        "stored_tags_all_by_this_model": stored in ([], [current]),
        "meaning": "The thresholds and the quality figures here are this model's; a stored tag was made by the model "
                   "in use when its report was ingested or last retagged. Where stored tags were made by another "
                   "model, run `scrkb retag` before reading these counts beside these figures or earlier exports.",
    }


# --- turning chronologies into tables ------------------------------------------------------


def chronology_analysis(chron: Chronology) -> Analysis:
    events = Table(
        "events", f"Dated events in {chron.title or chron.doc_id}",
        ["date", "date_text", "year", "month", "day", "precision", "end_year", "end_month", "source", "agencies",
         "roles", "agency_text", "text", "page", "passage_id"],
        [[e.date.sortable, e.date.text, e.date.year, e.date.month or None, e.date.day or None, e.date.precision,
          e.date.end_year, e.date.end_month or None, e.source, "; ".join(e.agencies), "; ".join(e.roles),
          e.agency_text, e.text, e.page, e.passage_id] for e in chron.events],
        [f"{chron.counts.get('table_rows_without_date', 0)} chronology row(s) and "
         f"{chron.counts.get('sentences_without_date', 0)} sentence(s) naming an agency had no date that could be "
         "placed, and are not listed."],
    )
    contacts = Table(
        "contacts", "First and last dated contact of each agency and role",
        ["name", "label", "events", "first", "first_text", "last", "last_text"],
        [[c.name, c.label, c.events, c.first.sortable, c.first.text, c.last.sortable, c.last.text]
         for c in chron.contacts],
    )
    summary = {"doc_id": chron.doc_id, "title": chron.title, "case": chron.case,
               "year_of_incident": chron.year_of_incident, "distinct_agencies": chron.distinct_agencies,
               "distinct_roles": sum(1 for c in chron.contacts if c.label == "ROLE"), **chron.counts}
    return Analysis("chronology", {"doc_id": chron.doc_id}, None, [events, contacts], summary)


def before_incident_analysis(found: dict) -> Analysis:
    table = Table(
        "agencies_before_incident", "Agencies and roles in dated events before the incident",
        ["name", "label", "documents", "events"],
        [[a["name"], a["label"], a["documents"], a["events"]] for a in found["agencies"]],
        [f"Window: {found['window']}.",
         f"{len(found['documents_skipped_without_incident_year'])} document(s) without a year of incident skipped."],
    )
    summary = {k: v for k, v in found.items() if k != "agencies"}
    return Analysis("agencies_before_incident", {"years_before": found["years_before"]}, None, [table], summary)


# --- formats ---------------------------------------------------------------------------------


def to_csv(table: Table) -> bytes:
    """One table as UTF-8 CSV (RFC 4180 line endings), with formula-like cells neutralised."""
    return write_csv(table.columns, table.rows)


def json_data(analysis: Analysis, about_record: dict) -> dict:
    return {
        "about": about_record,
        "tables": {t.name: {"title": t.title, "columns": t.columns, "rows": t.records(), "notes": t.notes}
                   for t in analysis.tables},
    }


def to_json(analysis: Analysis, about_record: dict) -> bytes:
    return (json.dumps(json_data(analysis, about_record), indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def sidecar(about_record: dict, table: Table) -> bytes:
    """FILE.meta.json beside a CSV: the about record and which table the CSV holds."""
    return (json.dumps({**about_record, "file_table": table.name}, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _flatten(record: dict, prefix: str = "") -> list[tuple[str, str]]:
    rows = []
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            rows += _flatten(value, name + ".") if value else [(name, "")]
        elif isinstance(value, list):
            rows.append((name, "; ".join(json.dumps(v, ensure_ascii=False) if isinstance(v, dict) else str(v)
                                         for v in value)))
        else:
            rows.append((name, "" if value is None else str(value)))
    return rows


def to_xlsx(analysis: Analysis, about_record: dict) -> bytes:
    """One sheet per table and an "About these numbers" sheet; byte-identical for the same input."""
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font
    from openpyxl.writer.excel import ExcelWriter

    def put(sheet, row: int, values: list, bold: bool = False):
        for col, value in enumerate(values, start=1):
            if isinstance(value, str):
                value = ILLEGAL_CHARACTERS_RE.sub("", value)
            cell = sheet.cell(row=row, column=col, value=value)
            if isinstance(value, str) and value.startswith("="):
                cell.data_type = "s"  # text that looks like a formula stays text
            if bold:
                cell.font = Font(bold=True)

    workbook = Workbook()
    workbook.remove(workbook.active)
    for table in analysis.tables:
        sheet = workbook.create_sheet(table.name[:31])
        put(sheet, 1, table.columns, bold=True)
        for n, row in enumerate(table.rows, start=2):
            put(sheet, n, row)
        sheet.freeze_panes = "A2"
    sheet = workbook.create_sheet(ABOUT_SHEET)
    put(sheet, 1, ["item", "value"], bold=True)
    for n, row in enumerate(_flatten(about_record), start=2):
        put(sheet, n, list(row))
    stamp = datetime.fromisoformat(about_record.get("export_date") or EPOCH).replace(tzinfo=None)
    workbook.properties.creator = f"scrkb {about_record.get('scrkb_version', '')}".strip()
    workbook.properties.created = stamp
    workbook.properties.modified = stamp
    buffer = io.BytesIO()
    # ExcelWriter, not Workbook.save: save() stamps the current time into the file.
    ExcelWriter(workbook, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED)).save()
    return fixed_zip_times(buffer.getvalue())


def fixed_zip_times(data: bytes) -> bytes:
    """The same archive with every member dated 1980-01-01, so its bytes depend only on content.

    Office files (.xlsx, .docx) are zips that otherwise record the clock.
    """
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            target.writestr(fixed, source.read(info.filename))
    return out.getvalue()


def render(kb: KnowledgeBase, analysis: Analysis, fmt: str, table: str | None = None) -> tuple[bytes, bytes | None]:
    """The file's bytes, and for CSV the sidecar's bytes (the about record)."""
    record = about(kb, analysis)
    if fmt == "csv":
        chosen = analysis.table(table) if table else analysis.tables[0]
        return to_csv(chosen), sidecar(record, chosen)
    if fmt == "json":
        return to_json(analysis, record), None
    if fmt == "xlsx":
        return to_xlsx(analysis, record), None
    raise ValueError(f"format must be one of {', '.join(FORMATS)}")


# --- REFI-QDA codebook --------------------------------------------------------------------------


def theme_guid(theme_id: str) -> str:
    """A GUID that stays the same for a theme id across exports and machines."""
    return str(uuid.uuid5(GUID_NAMESPACE, f"theme:{theme_id}"))


def group_guid(group_id: str) -> str:
    return str(uuid.uuid5(GUID_NAMESPACE, f"group:{group_id}"))


def codebook_qdc(taxonomy: Taxonomy) -> bytes:
    """The taxonomy as a REFI-QDA codebook (.qdc): groups as parent codes, one codable code per theme."""
    ET.register_namespace("", QDA_NAMESPACE)
    tag = lambda name: f"{{{QDA_NAMESPACE}}}{name}"  # noqa: E731
    root = ET.Element(tag("CodeBook"), {"origin": f"scrkb {scrkb_version()} (taxonomy {taxonomy.version})"})
    codes = ET.SubElement(root, tag("Codes"))
    groups = list(taxonomy.groups) + sorted({t.group for t in taxonomy.themes} - set(taxonomy.groups))
    for group in groups:
        members = [t for t in taxonomy.themes if t.group == group]
        if not members:
            continue
        label = taxonomy.groups.get(group, group)
        parent = ET.SubElement(codes, tag("Code"), {"guid": group_guid(group), "name": label, "isCodable": "false"})
        ET.SubElement(parent, tag("Description")).text = f"{label}: a group of scrkb themes."
        for theme in members:
            code = ET.SubElement(parent, tag("Code"),
                                 {"guid": theme_guid(theme.id), "name": theme.label, "isCodable": "true"})
            ET.SubElement(code, tag("Description")).text = theme.definition
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"
