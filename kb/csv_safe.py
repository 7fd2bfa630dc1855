"""CSV that a spreadsheet opens as text: the one writer behind research exports and the audit log.

Cells come from PDFs and from users, so a cell a spreadsheet would run as a formula
(CSV injection) is prefixed with a quote and stays text.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

# A spreadsheet runs a cell starting with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """A text cell a spreadsheet would run as a formula, prefixed with a quote so it stays text."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return int(value)
    return neutralise(value)


def write_csv(columns: Sequence, rows: Iterable[Sequence]) -> bytes:
    """A header and rows as UTF-8 CSV (RFC 4180 line endings), with formula-like cells neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([_cell(c) for c in columns])
    writer.writerows([[_cell(v) for v in row] for row in rows])
    return buffer.getvalue().encode("utf-8")
