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
            c.drawString(LEFT, y[0], item.text)
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
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [] /Count 0 >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
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


def truncated_pdf(source: Path, path: Path) -> Path:
    data = source.read_bytes()
    path.write_bytes(data[: len(data) // 2])
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
