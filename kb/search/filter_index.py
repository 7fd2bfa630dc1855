"""The rows a filter keeps, from columns held in memory: a few milliseconds where SQL took hundreds.

At 300,000 passages SQLite needed 100-500 ms to list the rows a year range or a
theme keeps (a join per passage), more than the whole ranking. The columns the
filters test (document, year, case, type, nation, area, section, and each
theme's passages) are read once per catalogue generation, like the vector
matrix, and a filter becomes NumPy masks. Agencies, rarely asked for and with
many values, still go to SQLite (SearchFilters.sql), remembered per value set.
The result is the same set SearchFilters.sql() selects (a test holds them equal).
"""

from __future__ import annotations

import threading

import numpy as np

from kb.search.filters import SearchFilters
from kb.store.catalogue import Catalogue

CODED = {"cases": "case_name", "review_types": "review_type", "nations": "nation", "areas": "area",
         "sections": "section_kind", "doc_ids": "doc_id"}


class FilterIndex:
    def __init__(self, catalogue: Catalogue):
        self.catalogue = catalogue
        self.generation: tuple[int, int] = (-1, -1)
        self.rowids = np.zeros(0, dtype=np.int64)
        self.years = np.zeros(0, dtype=np.float64)
        self.codes: dict[str, tuple[dict[str, int], np.ndarray]] = {}
        self.themes: dict[str, np.ndarray] = {}
        self._agencies: dict[tuple, np.ndarray] = {}
        self._lock = threading.Lock()

    def fresh(self) -> "FilterIndex":
        # Reviews change which passages count for a theme without changing the generation.
        generation = (self.catalogue.generation(), self.catalogue.reviews_version())
        if generation != self.generation:
            with self._lock:
                if generation != self.generation:
                    self.rowids, self.years, self.codes = self.catalogue.filter_columns()
                    self.themes = {theme: np.isin(self.rowids, rows)
                                   for theme, rows in self.catalogue.shown_theme_rowids().items()}
                    self._agencies = {}
                    self.generation = generation
        return self

    def allowed(self, filters: SearchFilters) -> np.ndarray:
        """The rowids the filter keeps, ascending."""
        mask = np.ones(len(self.rowids), dtype=bool)
        # SQL's NULL compares false: a passage of unknown year is out of any year range.
        if filters.year_from is not None:
            mask &= self.years >= filters.year_from
        if filters.year_to is not None:
            mask &= self.years <= filters.year_to
        for field, column in CODED.items():
            values = getattr(filters, field)
            if values:
                vocabulary, codes = self.codes[column]
                mask &= np.isin(codes, [vocabulary[v] for v in values if v in vocabulary])
        for theme in filters.themes:
            mask &= self.themes.get(theme, np.zeros(len(self.rowids), dtype=bool))
        if filters.agencies:
            key = tuple(sorted(filters.agencies))
            if key not in self._agencies:
                where, params = SearchFilters(agencies=key).sql()
                self._agencies[key] = self.catalogue.filtered_rowids(where, params)
            mask &= np.isin(self.rowids, self._agencies[key])
        return self.rowids[mask]
