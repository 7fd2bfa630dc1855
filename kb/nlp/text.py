"""Small text helpers shared by ingest, tagging and search."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

_BOUNDARY = re.compile(r"[.!?]['\"’”)\]]*\s+(?=[A-Z0-9(‘“\"'])")
_ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "st", "no", "nos", "co", "ltd", "para", "paras", "e.g", "i.e",
    "cf", "vs", "al", "etc", "approx", "fig", "ref", "prof", "rev", "jan", "feb", "mar",
    "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "sgt", "pc", "insp",
}


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Split prose into sentences, returned as (start, end) character offsets."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        before = text[start : match.start() + 1]
        last_word = re.findall(r"([A-Za-z.]+)\.$", before)
        if last_word and (last_word[0].lower().rstrip(".") in _ABBREVIATIONS or len(last_word[0]) == 1):
            continue
        end = match.start() + 1
        if text[start:end].strip():
            spans.append(_trim(text, start, end))
        start = match.end()
    if text[start:].strip():
        spans.append(_trim(text, start, len(text)))
    return spans


def sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in sentence_spans(text)]


def read_jsonl(path: Path, parse: Callable[[dict], object]) -> list:
    """Parse each non-blank line of a JSON Lines file; a bad line raises ValueError naming path:line."""
    rows = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            if line.strip():
                try:
                    rows.append(parse(json.loads(line)))
                except (ValueError, KeyError, TypeError) as exc:
                    raise ValueError(f"{path}:{n}: {exc}") from exc
    return rows


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end
