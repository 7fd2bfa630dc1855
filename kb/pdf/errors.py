"""The PDF reader's one error type: a file that cannot be read, with its reason from the fixed list."""

from __future__ import annotations

from kb.models import FailureReason


class PdfError(Exception):
    """A PDF that cannot be read, with the reason from the fixed list."""

    def __init__(self, reason: FailureReason, detail: str = ""):
        super().__init__(f"{reason.value}: {detail}" if detail else reason.value)
        self.reason = reason
        self.detail = detail
