"""The field's vocabulary: abbreviations, synonyms, spellings and case aliases, for query expansion."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from kb.settings import DATA_DIR

VOCABULARY_FILE = DATA_DIR / "vocabulary.yaml"
QUOTED = re.compile(r'"([^"]+)"')
WORD = re.compile(r"[\w'’&.]+", re.UNICODE)
STOPWORDS = frozenset(
    "a an and are as at be but by for from had has have he her his in into is it its of on or "
    "she that the their them then there they this to was were what when where which who why "
    "will with would did do does not no".split()
)
MAX_PHRASE_WORDS = 6
# Last words of case names that are not surnames ("Munro review", "Cleveland inquiry").
NOT_SURNAMES = frozenset({"review", "reviews", "inquiry", "report", "analysis", "children", "child", "case", "cases"})


@dataclass(frozen=True)
class Term:
    """One thing the user asked for, and every way of writing it."""

    text: str
    alternatives: tuple[str, ...]
    phrase: bool = False  # typed in quotes: matched as a phrase, never expanded


@dataclass(frozen=True)
class Vocabulary:
    version: str
    groups: dict[str, tuple[str, ...]]  # lower-cased form -> the forms of its group
    cases: dict[str, str]  # lower-cased alias -> the case's own name

    @classmethod
    def load(cls, case_aliases: dict[str, str] | None = None, path: Path = VOCABULARY_FILE) -> "Vocabulary":
        data = _read(path)
        groups: dict[str, tuple[str, ...]] = {}
        for group in [*data.get("synonyms", []), *data.get("spellings", [])]:
            forms = tuple(dict.fromkeys(str(f) for f in group))
            for form in forms:
                groups[form.lower()] = tuple(dict.fromkeys(groups.get(form.lower(), ()) + forms))
        aliases = dict(case_aliases or {})
        for case in set(aliases.values()):
            # People search by surname ("Pelka"), and misspell it ("Connolly"): both name the case.
            words = case.split()
            if len(words) >= 2 and words[-1][:1].isupper() and len(words[-1]) >= 5 and words[-1].lower() not in NOT_SURNAMES:
                for form in groups.get(words[-1].lower(), (words[-1],)):
                    aliases.setdefault(form.lower(), case)
        by_case: dict[str, set[str]] = {}
        for alias, case in aliases.items():
            by_case.setdefault(case, {case}).add(alias)
        for names in by_case.values():
            forms = tuple(sorted(names))
            for name in forms:
                groups[name.lower()] = forms
        cases = {alias.lower(): case for alias, case in aliases.items()}
        return cls(version=str(data.get("version", "0")), groups=groups, cases=cases)

    def terms(self, query: str) -> list[Term]:
        """Split a query into terms: quoted phrases kept, known phrases found, the rest by word."""
        terms = [Term(p, (p,), phrase=True) for p in QUOTED.findall(query) if p.strip()]
        words = WORD.findall(QUOTED.sub(" ", query))
        words = [w.strip(".'’") for w in words]
        i = 0
        while i < len(words):
            for size in range(min(MAX_PHRASE_WORDS, len(words) - i), 0, -1):
                candidate = " ".join(words[i : i + size])
                if candidate.lower() in self.groups:
                    terms.append(Term(candidate, self.groups[candidate.lower()]))
                    i += size
                    break
            else:
                word = words[i]
                if word and word.lower() not in STOPWORDS:
                    terms.append(Term(word, (word,)))
                i += 1
        return terms

    def cases_named(self, terms: list[Term]) -> list[str]:
        """The cases a query names by any of their aliases ("Baby P" names Peter Connelly)."""
        return list(dict.fromkeys(self.cases[t.text.lower()] for t in terms if t.text.lower() in self.cases))

    def expand_for_embedding(self, query: str) -> str:
        """Spell out abbreviations and aliases so the embedding model understands them."""
        extra = []
        for term in self.terms(query):
            case = self.cases.get(term.text.lower())
            if case and case.lower() != term.text.lower():
                extra.append(case)
                continue
            longer = [a for a in term.alternatives if a.lower() != term.text.lower() and len(a) > len(term.text)]
            if longer and len(term.text) <= 5:
                extra.append(longer[0])
        return f"{query} ({'; '.join(extra)})" if extra else query


@lru_cache(maxsize=4)
def _read(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}
