"""Ruled tables on a page, found with pdfplumber (opened only for the pages that need it)."""

from __future__ import annotations

from pathlib import Path

from kb.models import Table


class PlumberPage:
    """One page opened with pdfplumber on first use: only pages with tables or dark boxes need it."""

    def __init__(self, path: Path, index: int):
        self.path, self.index, self._pdf = path, index, None

    @property
    def page(self):
        if self._pdf is None:
            import pdfplumber  # imported here: most pages never need it

            self._pdf = pdfplumber.open(str(self.path), pages=[self.index + 1])
        return self._pdf.pages[0]

    def close(self) -> None:
        if self._pdf is not None:
            self._pdf.close()


def tables_of(geometry: PlumberPage, hidden: list[dict]) -> list[Table]:
    try:
        return _find_tables(geometry.page, hidden)
    except MemoryError:
        raise
    except Exception:  # pdfminer cannot read a page pdfium could: keep its text, without tables
        return []


def _find_tables(page, hidden: list[dict]) -> list[Table]:
    if hidden:  # a hidden name in a table cell must not come back through the table
        keys = {_char_key(char) for char in hidden}
        page = page.filter(lambda obj: obj.get("object_type") != "char" or _char_key(obj) not in keys)
    found = []
    for table in page.find_tables():
        rows = [[" ".join((cell or "").split()) for cell in row] for row in table.extract()]
        rows = [row for row in rows if any(row)]
        if len(rows) >= 2 and max(len(r) for r in rows) >= 2:
            x0, top, x1, bottom = table.bbox
            found.append(Table(rows=rows, top=top, bottom=bottom, x0=x0, x1=x1))
    return found


def _char_key(char: dict) -> tuple:
    return (char["text"], round(char["x0"], 2), round(char["top"], 2))
