"""Pick a catalogue row's report among the files a page offers, or refuse to guess, saying why.

A candidate is scored by the share of the row's title and case words found in its
title, link text or file name. Annexes, easy-read versions, summaries, responses
and the like are set aside unless the row itself is one; an accessible version is
taken only when nothing else is offered.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from kb.sources.report_catalogue import CatalogueEntry

MIN_SCORE = 0.5  # at least half the row's words, else the page is not about this report
MARGIN = 0.1  # a best candidate this close to the next is a coin toss: refuse
STOP_WORDS = frozenset("the of and in into on for to by with an at from or its their this that s".split())
# What a file name abbreviates: "SCR_Child_T.pdf" is the serious case review of Child T.
ABBREVIATIONS = {
    "scr": ("serious", "case", "review"),
    "cspr": ("child", "safeguarding", "practice", "review"),
    "lcspr": ("local", "child", "safeguarding", "practice", "review"),
    "lscb": ("local", "safeguarding", "children", "board"),
}
ACCESSIBLE = ("an accessible version", re.compile(r"\baccessible\b|\blarge print\b"))
SECONDARY = [
    ("an annex", re.compile(r"\bannex(?:e|es)?\b|\bappendi(?:x|ces)\b")),
    ("an easy-read version", re.compile(r"\beasy ?read\b")),
    ("a summary", re.compile(r"\bsummary\b|\bbriefing\b|\binfographic\b|\bfactsheet\b")),
    ("a response", re.compile(r"\bresponses?\b")),
    ("a version for children", re.compile(r"\b(?:children|young people)(?: s)? version\b|\bchild friendly\b")),
    ("a translation", re.compile(r"\bwelsh\b|\bcymraeg\b")),
    ("a sign-language version", re.compile(r"\bbsl\b|\bbritish sign language\b")),
    ("a letter", re.compile(r"\bletters?\b")),
    ("an action plan", re.compile(r"\baction plan\b")),
    ("terms of reference", re.compile(r"\bterms of reference\b")),
]


@dataclass
class Candidate:
    url: str
    title: str  # the attachment's title or the link's words
    filename: str = ""


@dataclass
class Choice:
    candidate: Candidate | None  # None: refused
    because: str  # why it was chosen, or why none was


def words(text: str) -> list[str]:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.findall(r"[a-z0-9]+", folded)


def _plain(text: str) -> str:
    return " ".join(words(text))


def _kind(candidate: Candidate, row_text: str) -> tuple[int, str | None]:
    """0 for a plain document, 1 for an accessible version, 2 for a secondary one; and what it is."""
    text = _plain(f"{candidate.title} {candidate.filename.rsplit('.', 1)[0]}")
    for name, pattern in SECONDARY:
        if pattern.search(text) and not pattern.search(row_text):
            return 2, name
    name, pattern = ACCESSIBLE
    if pattern.search(text) and not pattern.search(row_text):
        return 1, name
    return 0, None


def _score(candidate: Candidate, wanted: list[str]) -> int:
    found = set()
    for word in words(f"{candidate.title} {candidate.filename.rsplit('.', 1)[0]}"):
        found.add(word)
        found.update(ABBREVIATIONS.get(word, ()))
    return sum(w in found for w in wanted)


def choose(candidates: list[Candidate], entry: CatalogueEntry, lone_plain_ok: bool = False) -> Choice:
    """The candidate that is the row's report, or None with the reason.

    lone_plain_ok: a page that is about this one report (a GOV.UK publication) and
    offers one plain PDF offers the report, whatever its title says.
    """
    if not candidates:
        return Choice(None, "the page links to no PDF")
    wanted = list(dict.fromkeys(w for w in words(f"{entry.title} {entry.case}") if w not in STOP_WORDS))
    row_text = _plain(f"{entry.title} {entry.case}")
    scored = sorted(
        ((*_kind(c, row_text), _score(c, wanted), i, c) for i, c in enumerate(candidates)),
        key=lambda t: (t[0], -t[2], t[3]),
    )
    set_aside = [f"'{_label(c)}' ({name})" for tier, name, _, _, c in scored if tier == 2]
    refusal = None
    for tier in (0, 1):
        group = [(score, c) for t, _, score, _, c in scored if t == tier]
        if not group:
            continue
        (best, chosen), runner = group[0], group[1] if len(group) > 1 else None
        share = best / len(wanted) if wanted else 0.0
        lone = lone_plain_ok and tier == 0 and len(group) == 1
        if share < MIN_SCORE and not lone:
            refusal = refusal or (f"nothing matches the catalogue's title well enough: the best, "
                                  f"'{_label(chosen)}', has {best} of its {len(wanted)} words")
            continue
        if runner and (best - runner[0]) / max(len(wanted), 1) < MARGIN:
            return Choice(None, f"'{_label(chosen)}' and '{_label(runner[1])}' match the catalogue's title "
                                f"equally well ({best} and {runner[0]} of {len(wanted)} words)")
        why = ("it is the only PDF that is not an annex, summary or other version" if lone and share < MIN_SCORE
               else f"it has {best} of the {len(wanted)} words of the catalogue's title and case")
        if tier == 1:
            why += "; it is an accessible version, and no other version matches"
        if set_aside:
            why += f"; set aside {', '.join(set_aside)}"
        return Choice(chosen, f"chose '{_label(chosen)}': {why}")
    if refusal:
        return Choice(None, refusal + (f"; set aside {', '.join(set_aside)}" if set_aside else ""))
    return Choice(None, f"the page offers only {', '.join(set_aside)}, not the report itself")


def _label(candidate: Candidate) -> str:
    return candidate.title or candidate.filename or candidate.url
