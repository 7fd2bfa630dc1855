"""The only package that opens PDF files: pypdfium2 for text and images, pdfplumber for geometry, Tesseract for scans."""

from kb.pdf.errors import PdfError
from kb.pdf.page_images import passage_boxes, render_page_png
from kb.pdf.reading import (
    has_usable_text,
    looks_like_pdf,
    open_pdf,
    read_metadata,
    read_page,
)

__all__ = [
    "PdfError", "has_usable_text", "looks_like_pdf", "open_pdf", "passage_boxes",
    "read_metadata", "read_page", "render_page_png",
]
