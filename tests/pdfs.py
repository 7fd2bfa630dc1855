"""Build small report-like PDFs for tests: running headers, page numbers, numbered
paragraphs, words hyphenated at line ends, and a chronology table."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas
from reportlab.platypus import Table, TableStyle

WIDTH, HEIGHT = A4
LEFT, TOP, BOTTOM = 72, HEIGHT - 90, 80
LEADING = 14


@dataclass
class Heading:
    """A heading; a line break in its text sets it on two lines, as a long heading wraps."""

    text: str
    size: int = 14


@dataclass
class Para:
    """A paragraph given as the lines it is set in, so line-end hyphens are exact."""

    lines: list[str]


@dataclass
class Chronology:
    rows: list[list[str]]


@dataclass
class PageBreak:
    pass


@dataclass
class ReportSpec:
    title: str
    header: str = "Serious Case Review: Child S"
    footer: str = "Riverton Safeguarding Children Partnership"
    body: list = field(default_factory=list)
    author: str = "Independent reviewer"


def build_report(path: Path, spec: ReportSpec) -> Path:
    c = canvas.Canvas(str(path), pagesize=A4, invariant=1)
    c.setTitle(spec.title)
    c.setAuthor(spec.author)
    page = [1]
    y = [TOP]

    def furniture():
        c.setFont("Helvetica", 8)
        c.drawString(LEFT, HEIGHT - 50, spec.header)
        c.drawString(LEFT, 40, spec.footer)
        c.drawRightString(WIDTH - LEFT, 40, f"Page {page[0]}")

    def new_page():
        c.showPage()
        page[0] += 1
        y[0] = TOP
        furniture()

    def need(height):
        if y[0] - height < BOTTOM:
            new_page()

    furniture()
    for item in spec.body:
        if isinstance(item, PageBreak):
            new_page()
        elif isinstance(item, Heading):
            need(item.size + LEADING)
            y[0] -= 6
            c.setFont("Helvetica-Bold", item.size)
            for n, line in enumerate(item.text.split("\n")):
                if n:
                    y[0] -= item.size + 2
                c.drawString(LEFT, y[0], line)
            y[0] -= item.size + 8
        elif isinstance(item, Para):
            c.setFont("Helvetica", 10.5)
            for line in item.lines:
                need(LEADING)
                c.drawString(LEFT, y[0], line)
                y[0] -= LEADING
            y[0] -= 8
        elif isinstance(item, Chronology):
            table = Table(item.rows, colWidths=[80, 120, 250])
            table.setStyle(TableStyle([
                ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 9),
                ("FONT", (0, 1), (-1, -1), "Helvetica", 9),
            ]))
            _, height = table.wrapOn(c, WIDTH - 2 * LEFT, HEIGHT)
            need(height + 10)
            table.drawOn(c, LEFT, y[0] - height)
            y[0] -= height + 14
    c.showPage()
    c.save()
    return path


def child_s_review() -> ReportSpec:
    """A three-page review with every feature the extractor must handle."""
    return ReportSpec(
        title="Serious Case Review: Child S",
        body=[
            Heading("Serious Case Review: Child S", 18),
            Para(["Riverton Safeguarding Children Partnership. Published March 2021."]),
            Heading("1. Introduction"),
            Para([
                "1.1 This review considers the involvement of agencies with Child S and her",
                "family between 2017 and 2019. It was commissioned after Child S was admitted",
                "to hospital with serious injuries.",
            ]),
            Para([
                "1.2 The review followed a systems methodology and spoke to the practi-",
                "tioners involved, including the health visitor and the social worker.",
            ]),
            Heading("2. Chronology of agency involvement"),
            Chronology([
                ["Date", "Agency", "Event"],
                ["March 2018", "Health visiting", "Bruise to the cheek of Child S seen at home"],
                ["June 2018", "Police", "Domestic incident reported at the family home"],
                ["August 2018", "GP practice", "Mother attends with low mood"],
            ]),
            Heading("3. Analysis of practice"),
            Para([
                "3.1 The GP saw the mother five times and never linked the visits. Each",
                "appointment was treated as a new episode and the history was not consid-",
                "ered. Information held by the police about domestic abuse was not shared",
                "with the GP practice or with children's social care.",
            ]),
            Para([
                "3.2 The health visitor recorded a bruise on a non-mobile baby but the",
                "signifi-",
                "cance of the injury was not recognised and no referral was made to the",
                "multi-",
                "agency safeguarding hub.",
            ]),
            PageBreak(),
            Heading("4. Findings"),
            Para([
                "4.1 Child S was not seen alone by any professional during the period under",
                "review, and her voice is absent from the records of every agency.",
            ]),
            Para([
                "4.2 Mr B, the mother's partner, was never assessed although he was living",
                "in the household for most of the period under review.",
            ]),
            Heading("5. Recommendations"),
            Para(["5.1 The partnership should ensure that agencies share information about domestic abuse."]),
        ],
    )


def long_paragraph_review() -> ReportSpec:
    """A report whose single paragraph is far longer than the embedding window."""
    sentence = (
        "The social worker visited the family home on a further occasion and recorded that "
        "the children appeared well cared for although the kitchen was dirty. "
    )
    words = (sentence * 30).split()
    lines, line = [], []
    for word in words:
        line.append(word)
        if len(" ".join(line)) > 80:
            lines.append(" ".join(line))
            line = []
    lines.append(" ".join(line))
    return ReportSpec(title="Thematic review of neglect", body=[Heading("2. Analysis"), Para(["2.1 " + lines[0], *lines[1:]])])


def encrypted_pdf(path: Path, user_password: str = "secret") -> Path:
    from reportlab.lib.pdfencrypt import StandardEncryption

    c = canvas.Canvas(str(path), pagesize=A4, encrypt=StandardEncryption(user_password, ownerPassword="owner"))
    c.drawString(72, 700, "1.1 A confidential paragraph about Child T and the health visitor.")
    c.showPage()
    c.save()
    return path


def zero_page_pdf(path: Path) -> Path:
    """A well-formed PDF whose page tree is empty."""
    return raw_pdf(path, [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"])


def truncated_pdf(source: Path, path: Path) -> Path:
    data = source.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def cut_tail_with_junk_head(source: Path, path: Path) -> Path:
    """A PDF with bytes before its %PDF- header and its tail cut off at `startxref`: no startxref, no %%EOF.

    pdf.js's issue6069.pdf and scan-bad.pdf are damaged so; pdfium reads them by scanning for objects.
    """
    data = source.read_bytes()
    path.write_bytes(b"Saved by a mail gateway, 2021-03-04\n" + data[: data.rindex(b"startxref")])
    return path


def image_only(source: Path, path: Path, dpi: int = 200, pages: set[int] | None = None) -> Path:
    """Re-make a PDF with its pages (or only `pages`, 1-based) as images with no text layer, like a scan."""
    import io

    import pypdfium2 as pdfium
    from reportlab.lib.utils import ImageReader

    pdf = pdfium.PdfDocument(str(source))
    c = canvas.Canvas(str(path), pagesize=A4, invariant=1)
    text_pdf = None
    for index in range(len(pdf)):
        number = index + 1
        if pages is None or number in pages:
            image = pdf[index].render(scale=dpi / 72, grayscale=True).to_pil()
            buffer = io.BytesIO()
            image.save(buffer, format="PNG")
            c.drawImage(ImageReader(buffer), 0, 0, width=WIDTH, height=HEIGHT)
        else:
            # keep this page's text layer by drawing its text again, line by line
            text_pdf = text_pdf or pdf
            page = text_pdf[index]
            textpage = page.get_textpage()
            for i in range(textpage.count_rects()):
                left, bottom, right, top = textpage.get_rect(i)
                c.setFont("Helvetica", 10)
                c.drawString(left, bottom + 1, textpage.get_text_bounded(left, bottom, right, top))
        c.showPage()
    c.save()
    return path


def character_error_rate(reference: str, hypothesis: str) -> float:
    """Levenshtein distance between the texts over the reference length (whitespace normalised)."""
    ref, hyp = " ".join(reference.split()), " ".join(hypothesis.split())
    previous = list(range(len(hyp) + 1))
    for i, rc in enumerate(ref, start=1):
        current = [i]
        for j, hc in enumerate(hyp, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (rc != hc)))
        previous = current
    return previous[-1] / max(1, len(ref))


# --- hostile and broken files, built on the fly ------------------------------------


def raw_pdf(path: Path, objects: list[bytes]) -> Path:
    """Write numbered objects (1 is the catalogue) with a correct cross-reference table."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    path.write_bytes(bytes(out))
    return path


def _one_page(content: bytes, extra: bytes = b"", filters: bytes = b"") -> list[bytes]:
    """Objects 1-5 of a one-page PDF: catalogue, pages, page, content stream, Helvetica."""
    return [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >> "
        b"/Contents 4 0 R" + extra + b" >>",
        b"<< /Length %d%s >>\nstream\n" % (len(content), filters) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]


TEXT_LINE = b"BT /F1 12 Tf 72 760 Td (1.1 The health visitor recorded the visit and shared it with the GP.) Tj ET\n"


def png_named_pdf(path: Path) -> Path:
    """A real PNG image under a .pdf name."""
    from PIL import Image

    Image.new("RGB", (64, 64), (200, 30, 30)).save(path, format="PNG")
    return path


def broken_xref(source: Path, path: Path) -> Path:
    """Move every offset in the cross-reference table 37 bytes past its object (pdfium rebuilds it)."""
    import re

    data = source.read_bytes()
    start = data.rindex(b"\nxref\n")
    table = re.sub(rb"(\d{10}) (\d{5}) n", lambda m: b"%010d %s n" % (int(m.group(1)) + 37, m.group(2)), data[start:])
    path.write_bytes(data[:start] + table)
    return path


def deeply_nested(path: Path, depth: int = 100_000) -> Path:
    """A page whose dictionary holds an array nested `depth` deep, beside ordinary text."""
    return raw_pdf(path, _one_page(TEXT_LINE, extra=b" /Deep " + b"[" * depth + b"]" * depth))


def deep_page_tree(path: Path, depth: int = 100_000) -> Path:
    """A page tree of `depth` nested /Pages nodes (/Kids inside /Kids) above its one page."""
    objects = [b"<< /Type /Catalog /Pages 3 0 R >>", b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    for level in range(depth):
        number = 3 + level
        parent = b" /Parent %d 0 R" % (number - 1) if level else b""
        objects.append(b"<< /Type /Pages /Kids [%d 0 R] /Count 1%s >>" % (number + 1, parent))
    page = 3 + depth
    objects.append(
        b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 2 0 R >> >> "
        b"/Contents %d 0 R >>" % (page - 1, page + 1)
    )
    objects.append(b"<< /Length %d >>\nstream\n" % len(TEXT_LINE) + TEXT_LINE + b"\nendstream")
    return raw_pdf(path, objects)


def compression_bomb(path: Path, gigabytes: float = 4) -> Path:
    """A page whose content stream, Flate-compressed twice, inflates to `gigabytes` of spaces.

    Made without ever holding the inflated stream: after a full flush, deflate
    turns each identical block of input into identical bytes, so one compressed
    block is repeated, and the Adler-32 checksum of the whole is worked out.
    """
    import struct
    import zlib

    block = 1 << 24
    blocks = int(gigabytes * (1 << 30)) // block
    deflate = zlib.compressobj(9)
    head = deflate.compress(TEXT_LINE) + deflate.flush(zlib.Z_FULL_FLUSH)
    body = deflate.compress(b" " * block) + deflate.flush(zlib.Z_FULL_FLUSH)
    tail = deflate.flush(zlib.Z_FINISH)[:-4]  # the empty last block, without its checksum
    adler = zlib.adler32(TEXT_LINE)
    low, high, n = adler & 0xFFFF, adler >> 16, blocks * block
    high = (high + n * low + ord(" ") * (n * (n + 1) // 2)) % 65521
    low = (low + n * ord(" ")) % 65521
    inner = head + body * blocks + tail + struct.pack(">I", (high << 16) | low)
    return raw_pdf(path, _one_page(zlib.compress(inner, 9), filters=b" /Filter [/FlateDecode /FlateDecode]"))


def slow_page(path: Path, runs: int = 40_000) -> Path:
    """A page of `runs` separate tiny text runs: a minute or more of work for the line builder."""
    import zlib

    ops = [TEXT_LINE]
    for i in range(runs):
        x, y = 20 + (i % 100) * 5.5, 820 - (i // 100) % 160 * 5 - (i // 16000) * 0.3
        ops.append(b"BT /F1 4 Tf %.1f %.1f Td (ab) Tj ET\n" % (x, y))
    return raw_pdf(path, _one_page(zlib.compress(b"".join(ops)), filters=b" /Filter /FlateDecode"))


def many_pages(path: Path, pages: int, title: str = "Learning review") -> Path:
    c = canvas.Canvas(str(path), pagesize=A4, invariant=1)
    for number in range(1, pages + 1):
        c.setFont("Helvetica", 11)
        c.drawString(LEFT, TOP, f"{number}.1 {title}: the agencies met on day {number} and shared what they knew.")
        c.showPage()
    c.save()
    return path


def padded_report(path: Path, megabytes: float) -> Path:
    """A one-page report carrying an unused stream of `megabytes` (as a scan or a photo would)."""
    padding = b"0" * int(megabytes * 2**20)
    return raw_pdf(path, _one_page(TEXT_LINE) + [b"<< /Length %d >>\nstream\n" % len(padding) + padding + b"\nendstream"])


def distinct_reports(folder: Path, count: int) -> list[Path]:
    """`count` small reports with different text (so different content hashes)."""
    folder.mkdir(parents=True, exist_ok=True)
    agencies = ["health visitor", "school nurse", "GP", "police", "social worker", "midwife", "housing officer", "youth worker"]
    paths = []
    for n in range(count):
        agency = agencies[n % len(agencies)]
        spec = ReportSpec(title=f"Serious Case Review: Child {chr(65 + n)}", header=f"Review of Child {chr(65 + n)}", body=[
            Heading(f"Serious Case Review: Child {chr(65 + n)}", 18),
            Heading("1. Findings"),
            Para([f"1.1 The {agency} saw Child {chr(65 + n)} on {n + 2} occasions and did not share",
                  "the concerns with the other agencies that were working with the family."]),
            Para([f"1.2 Review {n}: the history of the family was not considered when each new",
                  "referral arrived, and every incident was treated as if it were the first."]),
            PageBreak(),
            Heading("2. Recommendations"),
            Para([f"2.1 The partnership should make sure that the {agency} records who lives in the home."]),
        ])
        paths.append(build_report(folder / f"review-{n}.pdf", spec))
    return paths


# --- redaction: boxes drawn over the text layer ------------------------------------

SECRET_NAME = "Jane Smithson"


def redaction_pdf(path: Path, box: str) -> Path:
    """A two-page report; on page 2 a box of kind `box` is drawn:

    "over name": a black box drawn over SECRET_NAME, which stays in the text layer;
    "black highlight": the name highlighted in black first, then written in black on it;
    "decorative bar": a black bar over no text; "grey highlight": a light grey box
    under a phrase; "banner": white heading text on a dark blue banner; "table
    cell": a chronology table whose cell naming SECRET_NAME is blacked out.
    """
    c = canvas.Canvas(str(path), pagesize=A4, invariant=1)
    c.setFont("Helvetica-Bold", 16)
    c.drawString(LEFT, TOP, "Child Safeguarding Practice Review: Child R")
    c.setFont("Helvetica", 11)
    c.drawString(LEFT, TOP - 30, "1.1 This review considers how agencies worked with Child R and her family.")
    c.showPage()
    c.setFont("Helvetica", 11)
    before = "2.1 Child R lived with her mother and "
    line = before + SECRET_NAME + ", a family friend, in a rented flat."
    x, y = LEFT, TOP - 40
    name_x = x + c.stringWidth(before, "Helvetica", 11)
    name_w = c.stringWidth(SECRET_NAME, "Helvetica", 11)
    if box == "black highlight":
        c.setFillColorRGB(0, 0, 0)
        c.rect(name_x - 1, y - 3, name_w + 2, 14, fill=1, stroke=0)
    if box == "grey highlight":
        c.setFillGray(0.85)
        c.rect(name_x - 1, y - 3, name_w + 2, 14, fill=1, stroke=0)
        c.setFillGray(0)
    c.setFillColorRGB(0, 0, 0)
    c.drawString(x, y, line)
    c.drawString(x, y - 18, "2.2 The health visitor did not ask who else lived in the home or visited it.")
    if box == "over name":
        c.rect(name_x - 1, y - 3, name_w + 2, 14, fill=1, stroke=0)
    if box == "decorative bar":
        c.rect(LEFT, y - 60, 400, 8, fill=1, stroke=0)
    if box == "table cell":
        table = Table([["Date", "Person", "Event"], ["May 2020", SECRET_NAME, "Moved into the flat"],
                       ["June 2020", "Health visitor", "Home visit, nobody else present"]], colWidths=[80, 120, 220])
        table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, colors.black), ("FONT", (0, 0), (-1, -1), "Helvetica", 9)]))
        _, table_height = table.wrapOn(c, WIDTH - 2 * LEFT, HEIGHT)
        table.drawOn(c, LEFT, y - 60 - table_height)
        c.setFillColorRGB(0, 0, 0)
        c.rect(LEFT + 81, y - 60 - table_height * 2 / 3 - 1, 118, table_height / 3 + 1, fill=1, stroke=0)
    if box == "banner":
        c.setFillColorRGB(0.05, 0.15, 0.35)
        c.rect(LEFT - 6, y + 30, 420, 26, fill=1, stroke=0)
        c.setFillColorRGB(1, 1, 1)
        c.setFont("Helvetica-Bold", 14)
        c.drawString(LEFT, y + 38, "2. The household and who lived there")
    c.showPage()
    c.save()
    return path


def redaction_on_turned_page(path: Path, rotate: int = 0, boxes: bytes = b"/MediaBox [100 100 695 942]") -> Path:
    """One page with SECRET_NAME under a black box, drawn on a page turned by /Rotate or with offset boxes."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    before = "2.1 Child R lived with her mother and "
    x = 172 + stringWidth(before, "Helvetica", 11)
    content = (
        b"BT /F1 11 Tf 172 800 Td (" + f"{before}{SECRET_NAME}, a family friend, in a rented flat.".encode() + b") Tj ET\n"
        + b"0 g %.2f 797 %.2f 14 re f\n" % (x - 1, stringWidth(SECRET_NAME, "Helvetica", 11) + 2)
        + b"BT /F1 11 Tf 172 780 Td (2.2 The health visitor did not ask who else lived in the home.) Tj ET\n"
    )
    objects = _one_page(content)
    objects[2] = (
        b"<< /Type /Page /Parent 2 0 R " + boxes + b" /Rotate %d /Resources << /Font << /F1 5 0 R >> >> "
        b"/Contents 4 0 R >>" % rotate
    )
    return raw_pdf(path, objects)
