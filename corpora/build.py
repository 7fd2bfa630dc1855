"""Build the sample digests in corpora/sample/src/*.md into PDFs in corpora/sample/.

The source format is fixed by corpora/sample/src/FORMAT.md. The PDFs are committed
test inputs for ingest, so the build must be byte-for-byte reproducible:
`python corpora/build.py --check` proves the committed files still match their sources.
"""
from __future__ import annotations

import argparse
import io
import re
import sys
import tempfile
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import pypdfium2 as pdfium
import yaml
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Frame,
    NextPageTemplate,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

HERE = Path(__file__).resolve().parent
SRC_DIR, OUT_DIR = HERE / "sample" / "src", HERE / "sample"

# The committed PDFs were built with exactly these versions; another version may lay
# out, render or compress differently, so --check is only meaningful with them.
BUILT_WITH = {"reportlab": "5.1.0", "pypdfium2": "5.15.2"}
INSTALLED = {name: version(name) for name in BUILT_WITH}
CREATOR = "scrkb corpora/build.py (reportlab {reportlab}, pypdfium2 {pypdfium2})".format(**INSTALLED)

DISCLAIMER = "Sample digest written for scrkb; not the original report \u2014 cite the original"
PDF_AUTHOR = "scrkb sample corpus"
LAYOUTS = ("single", "two-column", "image-only")
REVIEW_TYPES = ("serious case review", "child safeguarding practice review", "child practice review",
                "inquiry", "national review", "thematic review", "independent review",
                "triennial analysis", "other")
REQUIRED = ("id", "title", "review_type", "publisher", "year", "url", "header", "layout")
OPTIONAL = ("subtitle",)
IMAGE_DPI, MM = 200, 72 / 25.4

NUMBERED_PARA = re.compile(r"^(\d+(?:\.\d+)+)\s+(\S.*)$")
SOURCES_HEADING = "Sources"  # the final section: one bullet per address a digest's facts were checked against
URL = re.compile(r"^https?://\S+$")
LIST_ITEM = re.compile(r"^(\d+)\.\s+(\S.*)$")
FORBIDDEN = [(re.compile(r"!?\[[^\]]*\]\("), "links and images"), (re.compile(r"\[\^"), "footnotes"),
             (re.compile(r"</?[A-Za-z][^>]*>"), "HTML"), (re.compile(r"^>"), "block quotes")]


class SourceError(Exception):
    """A digest source breaks FORMAT.md; the message names the file and line."""
    def __init__(self, path: Path, line: int, message: str):
        super().__init__(f"{path}:{line}: {message}")


@dataclass(frozen=True)
class FrontMatter:
    id: str
    title: str
    review_type: str
    publisher: str
    year: int
    url: str
    header: str
    layout: str
    subtitle: str = ""


@dataclass(frozen=True)
class Block:
    """One body element: heading2, heading3, para, table, numbered or bullets."""
    kind: str
    line: int
    text: str = ""
    number: str = ""  # a paragraph's own number, e.g. "3.4"
    rows: tuple = ()  # table rows of cell strings, header row first
    items: tuple = ()  # (number, text) for numbered lists, text for bullets


@dataclass
class Digest:
    path: Path
    meta: FrontMatter
    blocks: list[Block]


def plain_text(text: str) -> str:
    """Strip the inline markup (*em*, **strong**) the way the text reads in the PDF."""
    return re.sub(r"\*([^*]+?)\*", r"\1", re.sub(r"\*\*([^*]+?)\*\*", r"\1", text))


def parse_source(path: Path | str) -> Digest:
    """Parse one digest source; raise SourceError naming the file and line."""
    path = Path(path)
    lines = path.read_text(encoding="utf-8").split("\n")
    if lines[0].strip() != "---":
        raise SourceError(path, 1, "the file must start with a '---' front-matter line")
    end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
    if end is None:
        raise SourceError(path, 1, "front matter is not closed by a '---' line")
    for number, line in enumerate(lines, start=1):
        # The standard PDF fonts are cp1252 (WinAnsi): anything else would print as a box.
        bad = next((ch for ch in line if ch.encode("cp1252", "replace") == b"?" and ch != "?"), None)
        if bad:
            raise SourceError(path, number, f"character {bad!r} (U+{ord(bad):04X}) has no glyph in the PDF fonts")
        for pattern, what in FORBIDDEN if number > end + 1 else ():
            if pattern.search(line):
                raise SourceError(path, number, f"{what} are not allowed in digest sources")
    blocks = _parse_body(path, lines, end + 1)
    _check_sources(path, blocks)
    return Digest(path, _parse_front_matter(path, lines[1:end]), blocks)


def _parse_front_matter(path: Path, lines: list[str]) -> FrontMatter:
    def line_of(key: str) -> int:
        return next((i + 2 for i, line in enumerate(lines) if line.startswith(f"{key}:")), 1)

    try:
        data = yaml.safe_load("\n".join(lines)) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise SourceError(path, mark.line + 2 if mark else 1, f"front matter is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise SourceError(path, 2, "front matter must be a YAML mapping")
    missing = [k for k in REQUIRED if k not in data or (data[k] in (None, "") and k != "url")]
    if missing:  # url may be "" for a report with no public copy, but must be stated
        raise SourceError(path, 1, f"front matter lacks {', '.join(missing)}")
    unknown = sorted(set(data) - set(REQUIRED) - set(OPTIONAL))
    if unknown:
        raise SourceError(path, line_of(unknown[0]), f"unknown front-matter field(s): {', '.join(unknown)}")
    for key, ok, problem in [
            ("layout", data["layout"] in LAYOUTS, f"is not one of {', '.join(LAYOUTS)}"),
            ("review_type", data["review_type"] in REVIEW_TYPES, f"is not one of {', '.join(REVIEW_TYPES)}"),
            ("year", type(data["year"]) is int, "is not a whole number"),
            ("id", str(data["id"]) == path.stem, f"differs from the file name {path.stem!r}")]:
        if not ok:
            raise SourceError(path, line_of(key), f"{key} {data[key]!r} {problem}")
    return FrontMatter(**{k: (v if k == "year" else str(v or "")) for k, v in data.items()})


def _parse_body(path: Path, lines: list[str], start: int) -> list[Block]:
    blocks, i = [], start
    while i < len(lines):
        line, number = lines[i].rstrip(), i + 1
        if not line.strip():
            i += 1
            continue
        run = []  # the consecutive non-blank lines starting here
        while i < len(lines) and lines[i].strip():
            run.append(lines[i].rstrip())
            i += 1
        if line.startswith("|"):
            blocks.append(_parse_table(path, run, number))
        elif LIST_ITEM.match(line) or line.startswith("- "):
            blocks.append(_parse_list(path, run, number))
        elif len(run) > 1:
            raise SourceError(path, number + 1, "a paragraph or heading must be one line: "
                              "separate blocks with a blank line (no hard wraps)")
        else:
            blocks.append(_parse_line(path, line, number))
    return blocks


def _parse_line(path: Path, line: str, number: int) -> Block:
    for prefix, kind in (("### ", "heading3"), ("## ", "heading2")):
        if line.startswith(prefix):
            return Block(kind, number, _checked(path, line[len(prefix):].strip(), number))
    if line.startswith("#"):
        raise SourceError(path, number, "only '## ' and '### ' headings are allowed")
    match = NUMBERED_PARA.match(line)
    if match:
        return Block("para", number, _checked(path, match.group(2), number), number=match.group(1))
    return Block("para", number, _checked(path, line.strip(), number))


def _parse_list(path: Path, run: list[str], first: int) -> Block:
    numbered, items = bool(LIST_ITEM.match(run[0])), []
    for number, line in enumerate(run, start=first):
        match = LIST_ITEM.match(line) if numbered else line.startswith("- ")
        if not match:
            kind = "a numbered item '1. '" if numbered else "a bullet '- '"
            raise SourceError(path, number, f"each line of this list must be {kind}")
        if numbered:
            items.append((match.group(1), _checked(path, match.group(2), number)))
        else:
            items.append(_checked(path, line[2:].strip(), number))
    return Block("numbered" if numbered else "bullets", first, items=tuple(items))


def _parse_table(path: Path, run: list[str], first: int) -> Block:
    def cells(line: str, number: int) -> list[str]:
        if not (line.startswith("|") and line.endswith("|")):
            raise SourceError(path, number, "a table row must start and end with '|'")
        return [_checked(path, c.strip(), number) for c in line[1:-1].split("|")]

    if len(run) < 3:
        raise SourceError(path, first, "a table needs a header row, a separator row and at least one row")
    rows = [cells(line, number) for number, line in enumerate(run, start=first)]
    if len(rows[1]) != len(rows[0]) or not all(re.fullmatch(r":?-{3,}:?", c) for c in rows[1]):
        raise SourceError(path, first + 1, "the second table row must be a separator like |---|---|")
    for number, row in enumerate(rows[2:], start=first + 2):
        if len(row) != len(rows[0]):
            raise SourceError(path, number, f"table row has {len(row)} cells; the header has {len(rows[0])}")
    return Block("table", first, rows=tuple(tuple(r) for r in [rows[0]] + rows[2:]))


def _check_sources(path: Path, blocks: list[Block]) -> None:
    """A `## Sources` section, if present, comes last and holds one bullet list of plain URLs."""
    start = next((i for i, b in enumerate(blocks) if b.kind == "heading2" and b.text == SOURCES_HEADING), None)
    if start is None:
        return
    rest = blocks[start + 1:]
    if [b.kind for b in rest] != ["bullets"]:
        raise SourceError(path, blocks[start].line, f"'## {SOURCES_HEADING}' must be the last section "
                          "and hold a single bullet list")
    for number, item in enumerate(rest[0].items, start=rest[0].line):
        if not URL.match(item):
            raise SourceError(path, number, f"each '## {SOURCES_HEADING}' item must be a plain http(s) URL")


def _checked(path: Path, text: str, number: int) -> str:
    if "*" in plain_text(text):
        raise SourceError(path, number, "unbalanced '*' or '**' in text")
    return text


# ---------------------------------------------------------------- rendering

def _markup(text: str) -> str:
    """Escape for reportlab's mini-markup, then turn *em* and **strong** into tags."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return re.sub(r"\*([^*]+?)\*", r"<i>\1</i>", re.sub(r"\*\*([^*]+?)\*\*", r"<b>\1</b>", text))


def _styles() -> dict[str, ParagraphStyle]:
    body = ParagraphStyle("body", fontName="Times-Roman", fontSize=11, leading=14.5, spaceAfter=7,
                          bulletFontName="Times-Roman")
    heading = {"fontName": "Helvetica-Bold", "keepWithNext": 1}
    small = {"fontSize": 9.5, "leading": 12, "spaceAfter": 0}
    centred = {"alignment": TA_CENTER}
    return {
        "body": body,
        "para": ParagraphStyle("para", body, leftIndent=30, bulletIndent=0),
        "item": ParagraphStyle("item", body, leftIndent=22, bulletIndent=6, spaceAfter=4),
        "source": ParagraphStyle("source", body, leftIndent=22, bulletIndent=6, spaceAfter=3, fontSize=9.5,
                                 leading=12),
        "h2": ParagraphStyle("h2", body, fontSize=14, leading=18, spaceBefore=12, spaceAfter=8, **heading),
        "h3": ParagraphStyle("h3", body, leading=14, spaceBefore=6, spaceAfter=5, **heading),
        "cell": ParagraphStyle("cell", body, **small),
        "head": ParagraphStyle("head", body, fontName="Times-Bold", **small),
        "title": ParagraphStyle("title", body, fontName="Helvetica-Bold", fontSize=22, leading=28,
                                spaceAfter=14, **centred),
        "subtitle": ParagraphStyle("subtitle", body, fontName="Helvetica", fontSize=14, leading=18,
                                   spaceAfter=36, **centred),
        "fact": ParagraphStyle("fact", body, spaceAfter=6, **centred),
        "notice": ParagraphStyle("notice", body, fontName="Helvetica-Oblique", fontSize=10, borderWidth=0.75,
                                 borderPadding=8, borderColor=colors.HexColor("#555555"), spaceBefore=40,
                                 **centred),
    }


def _title_page(meta: FrontMatter, st: dict) -> list:
    story = [Spacer(1, 120), Paragraph(_markup(meta.title), st["title"])]
    if meta.subtitle:
        story.append(Paragraph(_markup(meta.subtitle), st["subtitle"]))
    facts = [("Review type", meta.review_type), ("Publisher", meta.publisher), ("Year", str(meta.year)),
             ("Original", meta.url or "no public address recorded")]
    story += [Paragraph(f"<b>{k}:</b> {_markup(v)}", st["fact"]) for k, v in facts]
    return story + [Paragraph(_markup(DISCLAIMER), st["notice"])]


def _table(block: Block, width: float, st: dict) -> Table:
    # Every column gets room for its longest word (a narrow column would break "March"
    # into letters); the rest of the width is shared by how much each column holds.
    columns = list(zip(*block.rows))
    least = [max(stringWidth(w, "Times-Bold", 9.5) for c in col for w in plain_text(c).split() or ["M"]) + 12
             for col in columns]
    weights = [min(max(sum(len(c) for c in col) / len(col), 8), 60) for col in columns]
    spare = max(width - sum(least), 0)
    widths = [m + spare * w / sum(weights) for m, w in zip(least, weights)]
    widths = [w * min(1, width / sum(widths)) for w in widths]
    data = [[Paragraph(_markup(c), st["head" if n == 0 else "cell"]) for c in row] for n, row in enumerate(block.rows)]
    table = Table(data, colWidths=widths, repeatRows=1, spaceBefore=4, spaceAfter=10)
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, colors.grey), ("VALIGN", (0, 0), (-1, -1), "TOP"),
                               ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#E4E4E4"))]))
    return table


def _url_lines(url: str, width: float, style: ParagraphStyle) -> list[str]:
    """Break a URL (which has no spaces to wrap at) into lines that fit width: after a '/' or before
    a '-', '_', '.', '?', '&' or '=' where possible, between characters only when one part is too long."""
    def fits(text: str) -> bool:
        return stringWidth(text, style.fontName, style.fontSize) <= width

    lines, line = [], ""
    for piece in filter(None, re.findall(r"[-_.?&=]?[^/\-_.?&=]*/?", url)):
        if fits(line + piece):
            line += piece
            continue
        if line:
            lines.append(line)
        while not fits(piece):
            cut = max(n for n in range(1, len(piece) + 1) if fits(piece[:n]) or n == 1)
            lines.append(piece[:cut])
            piece = piece[cut:]
        line = piece
    return lines + [line] if line else lines


def _flowables(block: Block, width: float, st: dict, in_sources: bool = False) -> list:
    if block.kind in ("heading2", "heading3"):
        return [Paragraph(_markup(block.text), st["h2" if block.kind == "heading2" else "h3"])]
    if block.kind == "para":  # a hanging number, as printed reviews set their paragraphs
        return [Paragraph(_markup(block.text), st["para" if block.number else "body"], bulletText=block.number or None)]
    if block.kind == "table":
        return [_table(block, width, st)]
    if block.kind == "numbered":
        return [Paragraph(_markup(t), st["item"], bulletText=f"{n}.") for n, t in block.items]
    if in_sources:  # one URL per item, broken into lines by hand (a Frame pads 6pt on each side)
        style = st["source"]
        return [Paragraph("<br/>".join(_markup(line) for line in _url_lines(t, width - 12 - style.leftIndent - 1, style)),
                          style, bulletText="\u2022") for t in block.items]
    return [Paragraph(_markup(t), st["item"], bulletText="\u2022") for t in block.items]


def _furniture(header: str) -> dict:
    """Return the page hooks that draw the running header and the "Page N" footer."""
    def start(canvas: Canvas, doc: BaseDocTemplate) -> None:
        top = doc.pagesize[1] - 15 * MM
        canvas.setFont("Helvetica", 8.5)
        canvas.setFillGray(0.3)
        canvas.drawString(doc.leftMargin, top, header)
        canvas.setLineWidth(0.4)
        canvas.line(doc.leftMargin, top - 1.5 * MM, doc.pagesize[0] - doc.rightMargin, top - 1.5 * MM)
        canvas.setFillGray(0)

    def end(canvas: Canvas, doc: BaseDocTemplate) -> None:
        # Drawn after the body so extraction reads header, body, footer; "Page N" is the
        # PDF page number, so the page a citation gives is the page a viewer shows.
        canvas.setFont("Helvetica", 8.5)
        canvas.setFillGray(0.3)
        canvas.drawCentredString(doc.pagesize[0] / 2, 11 * MM, f"Page {doc.page}")
    return {"onPage": start, "onPageEnd": end}


def render_pdf(digest: Digest) -> bytes:
    """Lay out a digest as a text PDF, one or two columns, and return its bytes."""
    meta, st, buf = digest.meta, _styles(), io.BytesIO()
    doc = BaseDocTemplate(buf, pagesize=A4, leftMargin=25 * MM, rightMargin=25 * MM, topMargin=25 * MM,
                          bottomMargin=22 * MM, invariant=1, title=meta.title, author=PDF_AUTHOR,
                          subject=meta.header, creator=CREATOR)
    full = Frame(doc.leftMargin, doc.bottomMargin, doc.width, doc.height, id="full")
    width, frames = doc.width, [full]
    if meta.layout == "two-column":
        gutter = 7 * MM
        width = (doc.width - gutter) / 2
        frames = [Frame(doc.leftMargin + n * (width + gutter), doc.bottomMargin, width, doc.height, id=f"col{n}")
                  for n in (0, 1)]
    doc.addPageTemplates([PageTemplate("title", [full]),
                          PageTemplate("body", frames, **_furniture(meta.header))])
    story = _title_page(meta, st) + [NextPageTemplate("body"), PageBreak()]
    in_sources = False
    for block in digest.blocks:
        if block.kind == "heading2":
            in_sources = block.text == SOURCES_HEADING
        story += _flowables(block, width, st, in_sources)
    doc.build(story)
    return buf.getvalue()


def rasterise(pdf: bytes, meta: FrontMatter) -> bytes:
    """Redraw every page as a greyscale image, so the PDF has no text layer and needs OCR."""
    buf, source = io.BytesIO(), pdfium.PdfDocument(pdf)
    canvas = Canvas(buf, invariant=1)
    canvas.setTitle(meta.title)
    canvas.setAuthor(PDF_AUTHOR)
    canvas.setSubject(meta.header)
    canvas.setCreator(CREATOR)
    try:
        for page in source:
            w, h = page.get_size()
            image = page.render(scale=IMAGE_DPI / 72, grayscale=True).to_pil().convert("L")
            canvas.setPageSize((w, h))
            canvas.drawImage(ImageReader(image), 0, 0, width=w, height=h)
            canvas.showPage()
    finally:
        source.close()
    canvas.save()
    return buf.getvalue()


def build_one(src: Path, out_dir: Path) -> Path:
    """Build one source into out_dir/<id>.pdf and return the PDF's path."""
    digest = parse_source(src)
    pdf = render_pdf(digest)
    target = out_dir / f"{digest.meta.id}.pdf"
    target.write_bytes(rasterise(pdf, digest.meta) if digest.meta.layout == "image-only" else pdf)
    return target


def sources(src_dir: Path, only: list[str] | None = None) -> list[Path]:
    """List the digest sources in src_dir (FORMAT.md is the spec, not a digest)."""
    found = sorted(p for p in src_dir.glob("*.md") if p.name != "FORMAT.md")
    missing = sorted(set(only or ()) - {p.stem for p in found})
    if missing:
        raise SystemExit(f"no source for {', '.join(missing)} in {src_dir}")
    return [p for p in found if not only or p.stem in only]


def build_all(paths: list[Path], out_dir: Path) -> list[str]:
    """Build every source, carrying on past a bad one; return the error messages."""
    out_dir.mkdir(parents=True, exist_ok=True)
    errors = []
    for path in paths:
        try:
            build_one(path, out_dir)
        except SourceError as exc:
            errors.append(str(exc))
        except Exception as exc:  # noqa: BLE001 -- a layout failure in one digest must not hide the others
            errors.append(f"{path}: build failed: {type(exc).__name__}: {exc}")
    return errors


def check(paths: list[Path], out_dir: Path) -> list[str]:
    """Rebuild into a temporary folder and name every PDF in out_dir that differs or is missing."""
    with tempfile.TemporaryDirectory() as tmp:
        problems = build_all(paths, Path(tmp))
        for path in paths:
            fresh, committed = Path(tmp) / f"{path.stem}.pdf", out_dir / f"{path.stem}.pdf"
            if not committed.exists():
                problems.append(f"{committed}: missing (source {path.name})")
            elif fresh.exists() and fresh.read_bytes() != committed.read_bytes():
                problems.append(f"{committed}: differs from a fresh build of {path.name}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="+", metavar="ID", help="build only these catalogue ids")
    parser.add_argument("--check", action="store_true", help="fail if a committed PDF differs from a rebuild")
    parser.add_argument("--src", type=Path, default=SRC_DIR, help="folder of digest sources")
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="folder the PDFs go to")
    args = parser.parse_args(argv)
    if INSTALLED != BUILT_WITH:
        print(f"warning: installed {INSTALLED} differ from BUILT_WITH {BUILT_WITH}; "
              "PDFs may not match the committed ones", file=sys.stderr)
    paths = sources(args.src, args.only)
    problems = check(paths, args.out) if args.check else build_all(paths, args.out)
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        print(f"{'checked' if args.check else 'built'} {len(paths)} digest(s) in {args.out}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
