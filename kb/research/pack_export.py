"""A learning pack as a Word document, a PDF or Markdown, with full citations and a list of sources.

All three carry the same content in the same order: the title, the introduction,
then each item's heading, the passage as a quotation, the trainer's note and its
citation, and at the end every cited report once. The same pack always exports
to the same bytes: nothing depends on the clock.
"""

from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import replace
from datetime import datetime, timezone
from xml.sax.saxutils import escape as xml_escape

from kb.models import Document
from kb.research.exports import fixed_zip_times
from kb.research.packs import Pack, PackItem, source_line

FORMATS = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pdf": "application/pdf",
    "md": "text/markdown",
}
NOTE_LABEL = "Trainer’s note: "
SOURCE_LABEL = "Source: "


def export(pack: Pack, fmt: str) -> bytes:
    if fmt == "docx":
        return to_docx(pack)
    if fmt == "pdf":
        return to_pdf(pack)
    if fmt == "md":
        return to_markdown(pack).encode("utf-8")
    raise ValueError(f"unknown export format {fmt!r}")


def filename(pack: Pack, fmt: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", _ascii(pack.title).lower()).strip("-")[:60].strip("-")
    return f"{slug or 'learning-pack'}-{pack.pack_id}.{fmt}"


def heading(item: PackItem) -> str:
    return f"{item.number}. {item.heading or 'Passage ' + str(item.number)}"


def missing_text(item: PackItem) -> str:
    return f"This passage (id {item.passage_id}) is no longer in the knowledge base."


def paragraphs(text: str) -> list[list[str]]:
    """Text as paragraphs (split at blank lines), each a list of its lines."""
    return [
        [line.strip() for line in block.split("\n") if line.strip()]
        for block in re.split(r"\n\s*\n", text or "")
        if block.strip()
    ]


# --- Markdown ------------------------------------------------------------------

_MD_INLINE = re.compile(r"([\\`*_\[\]<>])")
_MD_ENTITY = re.compile(r"&(?=#?\w+;)")
_MD_LINE_START = re.compile(r"^(\s*)(?:([#+=|~-])|(\d+)([.)])(?=\s|$))")


def md_escape(line: str, starts_line: bool = True) -> str:
    """Text that Markdown shows as written: no emphasis, links, HTML or (at a line start) block markers."""
    line = _MD_ENTITY.sub(r"\\&", _MD_INLINE.sub(r"\\\1", line))
    if not starts_line:
        return line
    return _MD_LINE_START.sub(
        lambda m: m.group(1) + ("\\" + m.group(2) if m.group(2) else m.group(3) + "\\" + m.group(4)), line
    )


def _md_block(text: str, prefix: str = "") -> list[str]:
    """Paragraphs as Markdown lines; a line break inside a paragraph is kept as a hard break."""
    out: list[str] = []
    for n, para in enumerate(paragraphs(text)):
        if n:
            out.append(prefix.rstrip())
        out.extend(prefix + md_escape(line) + ("\\" if i < len(para) - 1 else "") for i, line in enumerate(para))
    return out


def to_markdown(pack: Pack) -> str:
    lines = [f"# {md_escape(pack.title, starts_line=False)}", ""]
    if pack.introduction:
        lines += [*_md_block(pack.introduction), ""]
    for item in pack.items:
        lines += [f"## {md_escape(heading(item), starts_line=False)}", ""]
        if item.passage is None:
            lines += [f"*{md_escape(missing_text(item))}*", ""]
        else:
            lines += [*_md_block(item.passage.text, prefix="> "), ""]
        if item.note:
            note = _md_block(item.note)
            lines += [f"**{NOTE_LABEL.strip()}** {note[0]}", *note[1:], ""]
        if item.citation:
            lines += [f"{SOURCE_LABEL}{md_escape(item.citation)}", ""]
    if pack.sources:
        lines += ["## Sources", ""]
        lines += [f"- {_md_source(d)}" for d in pack.sources]
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


_SAFE_URL = re.compile(r"^https?://[^\s<>]+$")


def _md_source(document: Document) -> str:
    """A source line whose URL stays a working link: escapes do not apply inside <...>."""
    url = document.meta.url or ""
    if not _SAFE_URL.match(url):
        return md_escape(source_line(document))
    without = replace(document, meta=replace(document.meta, url=None))
    return f"{md_escape(source_line(without))}. <{url}>"


# --- Word --------------------------------------------------------------------

# Word's XML cannot hold C0 controls other than tab and line breaks.
_XML_INVALID = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_EPOCH = datetime(2000, 1, 1, tzinfo=timezone.utc)


def _xml_safe(text: str) -> str:
    return _XML_INVALID.sub("", text or "")


def _when(stamp: str) -> datetime:
    try:
        when = datetime.fromisoformat(stamp)
    except (TypeError, ValueError):
        return _EPOCH
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def to_docx(pack: Pack) -> bytes:
    from docx import Document as WordDocument

    word = WordDocument()
    props = word.core_properties
    props.title = _xml_safe(pack.title)
    props.subject = "Learning pack"
    props.author = props.last_modified_by = "scrkb"
    props.comments = props.keywords = props.category = ""
    props.revision = 1
    props.created = _when(pack.created)
    props.modified = props.last_printed = _when(pack.updated)

    word.add_heading(_xml_safe(pack.title), level=0)
    for para in paragraphs(_xml_safe(pack.introduction)):
        _word_paragraph(word, para)
    for item in pack.items:
        word.add_heading(_xml_safe(heading(item)), level=1)
        if item.passage is None:
            word.add_paragraph().add_run(missing_text(item)).italic = True
        else:
            for para in paragraphs(_xml_safe(item.passage.text)):
                _word_paragraph(word, para, style="Quote")
        for n, para in enumerate(paragraphs(_xml_safe(item.note))):
            _word_paragraph(word, para, label=NOTE_LABEL if n == 0 else "")
        if item.citation:
            _word_paragraph(word, [_xml_safe(item.citation)], label=SOURCE_LABEL)
    if pack.sources:
        word.add_heading("Sources", level=1)
        for document in pack.sources:
            word.add_paragraph(_xml_safe(source_line(document)), style="List Bullet")
    buffer = io.BytesIO()
    word.save(buffer)
    return fixed_zip_times(buffer.getvalue())


def _word_paragraph(word, lines: list[str], style: str | None = None, label: str = ""):
    paragraph = word.add_paragraph(style=style)
    if label:
        paragraph.add_run(label).bold = True
    for i, line in enumerate(lines):
        run = paragraph.add_run(line)
        if i < len(lines) - 1:
            run.add_break()
    return paragraph


# --- PDF -----------------------------------------------------------------------

# The built-in PDF fonts cover Windows-1252 (Latin-1 plus curly quotes, dashes,
# the ellipsis, the euro and a few more). Other characters print as empty boxes,
# so each is replaced by its nearest Latin equivalent, or by '?'.
_PDF_SUBSTITUTES = {
    "\u00ad": "", "\u200b": "", "\u200c": "", "\u200d": "", "\u2060": "", "\ufeff": "",
    "\u2010": "-", "\u2011": "-", "\u2012": "–", "\u2015": "—", "\u2043": "-", "\u2212": "-",
    "\u2032": "'", "\u2033": '"', "\u2035": "'", "\u201b": "’", "\u201f": "”", "\u2044": "/",
    "\u2190": "<-", "\u2192": "->", "\u2194": "<->", "\u21d2": "=>", "\u2264": "<=", "\u2265": ">=",
    "\u2260": "!=", "\u2248": "~", "\u2713": "[x]", "\u2714": "[x]", "\u25cf": "•", "\u25aa": "•",
    "\u25e6": "•", "\u2219": "•", "\u00a0": " ",
    "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ħ": "h", "Ħ": "H", "ı": "i", "ŀ": "l", "Ŀ": "L",
    "ŧ": "t", "Ŧ": "T", "ĸ": "k", "ŉ": "'n", "ǉ": "lj", "ǌ": "nj",
}


def pdf_text(text: str) -> str:
    """Text that the built-in fonts can print, with line breaks kept."""
    out = []
    for ch in unicodedata.normalize("NFC", _xml_safe(text)):
        if ch in _PDF_SUBSTITUTES:
            out.append(_PDF_SUBSTITUTES[ch])
        elif ch in "\n\t" or _cp1252(ch):
            out.append(ch)
        else:
            out.append(_nearest(ch))
    return "".join(out)


def _cp1252(text: str) -> bool:
    try:
        text.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


def _nearest(ch: str) -> str:
    if unicodedata.combining(ch):
        return ""
    if unicodedata.category(ch).startswith("Z"):
        return " "
    stripped = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
    if stripped and _cp1252(stripped):
        return stripped
    return "?"


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", pdf_text(text)).encode("ascii", "ignore").decode()


def _pdf_markup(lines: list[str]) -> str:
    return "<br/>".join(xml_escape(pdf_text(line)) for line in lines)


def to_pdf(pack: Pack) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer

    sheet = getSampleStyleSheet()
    body = ParagraphStyle("PackBody", parent=sheet["BodyText"], fontName="Helvetica", fontSize=10.5, leading=14)
    styles = {
        "title": ParagraphStyle("PackTitle", parent=sheet["Title"], fontName="Helvetica-Bold", alignment=0),
        "heading": ParagraphStyle("PackHeading", parent=sheet["Heading2"], fontName="Helvetica-Bold", spaceBefore=14),
        "body": body,
        "quote": ParagraphStyle("PackQuote", parent=body, leftIndent=8 * mm, rightIndent=8 * mm,
                                borderPadding=(0, 0, 0, 3 * mm), fontName="Helvetica-Oblique"),
        "note": body,
        "citation": ParagraphStyle("PackCitation", parent=body, fontSize=9.5, textColor=colors.HexColor("#505a5f")),
        "source": ParagraphStyle("PackSource", parent=body, leftIndent=6 * mm, bulletIndent=1 * mm),
        "missing": ParagraphStyle("PackMissing", parent=body, fontName="Helvetica-Oblique"),
    }
    title = pdf_text(pack.title)
    story: list = [Paragraph(xml_escape(title), styles["title"])]
    story += [Paragraph(_pdf_markup(p), body) for p in paragraphs(pack.introduction)]
    for item in pack.items:
        flow = [Paragraph(xml_escape(pdf_text(heading(item))), styles["heading"])]
        if item.passage is None:
            flow.append(Paragraph(xml_escape(missing_text(item)), styles["missing"]))
        else:
            flow += [Paragraph(_pdf_markup(p), styles["quote"]) for p in paragraphs(item.passage.text)]
        for n, para in enumerate(paragraphs(item.note)):
            label = f"<b>{xml_escape(pdf_text(NOTE_LABEL))}</b>" if n == 0 else ""
            flow.append(Paragraph(label + _pdf_markup(para), styles["note"]))
        if item.citation:
            flow.append(Paragraph(f"<b>{xml_escape(SOURCE_LABEL)}</b>{_pdf_markup([item.citation])}", styles["citation"]))
        # a heading left alone at the foot of a page reads as a mistake
        story += [KeepTogether(flow[:2]), *flow[2:]]
    if pack.sources:
        story.append(Paragraph("Sources", styles["heading"]))
        story += [Paragraph(_pdf_markup([source_line(d)]), styles["source"], bulletText="•") for d in pack.sources]
    story.append(Spacer(1, 1))

    changed = _when(pack.updated).astimezone(timezone.utc)

    def footer(canvas, document):
        # invariant=1 keeps the bytes stable but dates the file 2000-01-01; the pack's
        # last change is as stable and is true.
        canvas.setDateFormatter(lambda *_: changed.strftime("D:%Y%m%d%H%M%S+00'00'"))
        canvas.saveState()
        canvas.setFont("Helvetica", 8)
        canvas.setFillColor(colors.HexColor("#505a5f"))
        canvas.drawString(document.leftMargin, 12 * mm, title[:90])
        canvas.drawRightString(A4[0] - document.rightMargin, 12 * mm, f"Page {document.page}")
        canvas.restoreState()

    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer, pagesize=A4, invariant=1, title=title, author="scrkb", subject="Learning pack",
        creator="scrkb", leftMargin=20 * mm, rightMargin=20 * mm, topMargin=20 * mm, bottomMargin=22 * mm,
    )
    document.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()
