"""Search filters: typed values checked against what the store allows, turned into fixed SQL.

No user text reaches SQL as syntax: every field has one template with `?`
placeholders, and values are validated (theme ids against the taxonomy,
section kinds against the section list, years as integers) before use.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from kb.nlp.sections import section_kinds
from kb.store.reviews import counted_tags

MIN_YEAR, MAX_YEAR = 1900, 2100


class FilterError(ValueError):
    """A filter value that is not allowed, in words a user can act on."""


@dataclass(frozen=True)
class SearchFilters:
    themes: tuple[str, ...] = ()
    cases: tuple[str, ...] = ()
    review_types: tuple[str, ...] = ()
    nations: tuple[str, ...] = ()
    areas: tuple[str, ...] = ()
    agencies: tuple[str, ...] = ()  # canonical agency or role names, as tagged in passages
    sections: tuple[str, ...] = ()  # section kinds: findings, recommendations, chronology...
    doc_ids: tuple[str, ...] = ()
    year_from: int | None = None
    year_to: int | None = None

    def is_empty(self) -> bool:
        return not any(getattr(self, f.name) not in (None, ()) for f in fields(self))

    def validate(self, theme_ids: list[str]) -> "SearchFilters":
        unknown = sorted(set(self.themes) - set(theme_ids))
        if unknown:
            raise FilterError(f"unknown theme: {', '.join(unknown)}")
        bad_sections = sorted(set(self.sections) - set(section_kinds()))
        if bad_sections:
            raise FilterError(
                f"unknown section: {', '.join(bad_sections)} (one of {', '.join(section_kinds())})"
            )
        for name in ("year_from", "year_to"):
            year = getattr(self, name)
            if year is not None and not (isinstance(year, int) and MIN_YEAR <= year <= MAX_YEAR):
                raise FilterError(f"{name.replace('_', ' ')} must be a year between {MIN_YEAR} and {MAX_YEAR}")
        if self.year_from is not None and self.year_to is not None and self.year_from > self.year_to:
            raise FilterError("year from is after year to")
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, tuple) and not all(isinstance(v, str) and v.strip() for v in value):
                raise FilterError(f"{f.name} takes non-empty text values")
        return self

    def sql(self) -> tuple[str, list]:
        """A WHERE clause over `passages p JOIN documents d`, with its parameters."""
        clauses: list[str] = []
        params: list = []

        def within(column: str, values: tuple[str, ...]):
            if values:
                clauses.append(f"{column} IN ({','.join('?' * len(values))})")
                params.extend(values)

        for theme in self.themes:  # every chosen theme must be shown, as counted (reviewers' verdicts included)
            counted, counted_params = counted_tags(theme_id=theme)
            clauses.append(f"p.passage_id IN (SELECT passage_id FROM {counted})")
            params.extend(counted_params)
        within("d.case_name", self.cases)
        within("d.review_type", self.review_types)
        within("d.nation", self.nations)
        within("d.area", self.areas)
        within("p.section_kind", self.sections)
        within("p.doc_id", self.doc_ids)
        if self.agencies:
            marks = ",".join("?" * len(self.agencies))
            clauses.append(
                f"p.passage_id IN (SELECT passage_id FROM entities WHERE label IN ('AGENCY', 'ROLE') AND canonical IN ({marks}))"
            )
            params.extend(self.agencies)
        if self.year_from is not None:
            clauses.append("d.year_published >= ?")
            params.append(self.year_from)
        if self.year_to is not None:
            clauses.append("d.year_published <= ?")
            params.append(self.year_to)
        return (" AND ".join(clauses) or "1"), params
