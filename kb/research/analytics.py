"""Research counts over the stored theme tags: per document, case, year, type and nation;
co-occurrence; trends; and the evidence behind every count.

Every number is computed from the catalogue under explicit CountingRules, and every
result carries those rules, so a count can always be traced to the passages behind
it. Reviewers' verdicts hold everywhere (a rejected tag never counts, a confirmed or
added one always does), and passage counts carry an estimated true count corrected
for the tagger's measured accuracy (kb/research/estimates.py). Results are plain
Tables (columns and rows) in a fixed order, which the exports write as CSV, JSON or
Excel without further interpretation.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from itertools import combinations

from kb.knowledge_base import KnowledgeBase
from kb.research.estimates import ESTIMATE_COLUMNS, Estimator

KINDS = {"shows": ("shows",), "shows+names": ("shows", "names")}
UNITS = ("passages", "documents")
# Groupings a count can be broken down by -> (documents column, the column's name in a table).
GROUPINGS = {
    "document": ("doc_id", "doc_id"),
    "case": ("case_name", "case"),
    "year": ("year_published", "year"),
    "incident_year": ("year_of_incident", "incident_year"),
    "type": ("review_type", "review_type"),
    "nation": ("nation", "nation"),
}
BASES = {"published": "year_published", "incident": "year_of_incident"}
DIGITS = 4  # rounding of shares, Jaccard, lift and scores: stable text in every export
REVIEW_WORDS = {"confirm": "confirmed", "add": "added"}


class AnalyticsError(ValueError):
    """A request the counts cannot answer (unknown theme, grouping or rule), in plain words."""


@dataclass(frozen=True)
class CountingRules:
    """Which theme tags count: recorded in every output so a number can be reproduced."""

    min_score: float = 0.0
    kinds: str = "shows"  # "shows", or "shows+names" to count passages that only name a theme too
    unit: str = "passages"  # what wide tables, co-occurrence and trend charts count
    reviewed_only: bool = False  # count only tags a reviewer confirmed or added

    def __post_init__(self):
        if self.kinds not in KINDS:
            raise AnalyticsError(f"kinds must be one of {', '.join(KINDS)}")
        if self.unit not in UNITS:
            raise AnalyticsError(f"unit must be one of {', '.join(UNITS)}")
        if not isinstance(self.min_score, (int, float)) or not 0 <= self.min_score <= 1:
            raise AnalyticsError("min_score must be a number between 0 and 1")
        if not isinstance(self.reviewed_only, bool):
            raise AnalyticsError("reviewed_only must be true or false")

    @property
    def tag_kinds(self) -> tuple[str, ...]:
        return KINDS[self.kinds]

    def as_dict(self) -> dict:
        named = " or names" if self.kinds == "shows+names" else ""
        if self.reviewed_only:
            which = "A passage counts for a theme only when a reviewer confirmed or added the theme on it"
        else:
            which = (f"A passage counts for a theme when the tagger says it shows{named} the theme with a score "
                     f"of at least {self.min_score:g}, unless a reviewer rejected it, or when a reviewer "
                     "confirmed or added it")
        return {
            **asdict(self),
            "meaning": (
                f"{which}; a document counts when at least one of its passages does. "
                f"Wide tables, co-occurrence and trend charts count {self.unit}."
            ),
        }


@dataclass
class Table:
    name: str  # short and stable: a sheet name, a CSV file's role
    title: str
    columns: list[str]
    rows: list[list]
    notes: list[str] = field(default_factory=list)

    def records(self) -> list[dict]:
        return [dict(zip(self.columns, row)) for row in self.rows]


@dataclass
class Analysis:
    """One research output: what was asked, under which rules, and its tables."""

    name: str
    parameters: dict
    rules: CountingRules | None
    tables: list[Table]
    summary: dict = field(default_factory=dict)

    def table(self, name: str) -> Table:
        for table in self.tables:
            if table.name == name:
                return table
        raise AnalyticsError(f"no table {name!r}; this output has {', '.join(t.name for t in self.tables)}")


@dataclass
class _Coding:
    """The store's documents and which themes each document and passage counts for."""

    documents: list[dict]
    by_doc: dict[str, dict[str, int]]  # doc_id -> theme_id -> passages counted
    by_passage: dict[str, set[str]]  # passage_id -> themes counted
    themes: list[str]  # column order: the taxonomy's, then stored ids it no longer has
    labels: dict[str, str]
    groups: dict[str, str]  # theme id -> group label
    reviewed_by_doc: dict[str, dict[str, int]]  # doc_id -> theme_id -> counted passages a reviewer judged
    estimator: Estimator

    @property
    def summary(self) -> dict:
        counted = sum(n for themes in self.by_doc.values() for n in themes.values())
        reviewed = sum(n for themes in self.reviewed_by_doc.values() for n in themes.values())
        return {"counted_tags": counted, "counted_tags_reviewed": reviewed}

    def reviewed_and_estimate(self, theme: str, documents: list[dict]) -> list:
        """A theme's counted passages in these documents that a reviewer judged, then the estimated
        true count and its 95% interval's ends (the columns passages_reviewed and ESTIMATE_COLUMNS)."""
        counted = sum(self.by_doc.get(d["doc_id"], {}).get(theme, 0) for d in documents)
        reviewed = sum(self.reviewed_by_doc.get(d["doc_id"], {}).get(theme, 0) for d in documents)
        return [reviewed, *self.estimator.cells(theme, counted, reviewed)]

    @property
    def total_passages(self) -> int:
        return sum(d["passages"] for d in self.documents)

    def doc_shows(self, doc_id: str, theme: str) -> bool:
        return self.by_doc.get(doc_id, {}).get(theme, 0) > 0


def _coding(kb: KnowledgeBase, rules: CountingRules) -> _Coding:
    taxonomy = kb.tagger.taxonomy
    by_doc: dict[str, dict[str, int]] = {}
    reviewed_by_doc: dict[str, dict[str, int]] = {}
    by_passage: dict[str, set[str]] = {}
    for doc_id, passage_id, theme_id, reviewed in kb.catalogue.analytics_theme_passages(
        rules.tag_kinds, rules.min_score, rules.reviewed_only
    ):
        counts = by_doc.setdefault(doc_id, {})
        counts[theme_id] = counts.get(theme_id, 0) + 1
        if reviewed:
            judged = reviewed_by_doc.setdefault(doc_id, {})
            judged[theme_id] = judged.get(theme_id, 0) + 1
        by_passage.setdefault(passage_id, set()).add(theme_id)
    stored = {t for themes in by_passage.values() for t in themes}
    themes = taxonomy.ids + sorted(stored - set(taxonomy.ids))
    labels = {t: (taxonomy.get(t).label if taxonomy.get(t) else t) for t in themes}
    groups = {t: (taxonomy.groups.get(taxonomy.get(t).group, taxonomy.get(t).group) if taxonomy.get(t) else "")
              for t in themes}
    estimator = Estimator(kb.theme_quality, kb.tagger.calibration, rules.kinds, rules.min_score)
    return _Coding(kb.catalogue.analytics_documents(), by_doc, by_passage, themes, labels, groups, reviewed_by_doc,
                   estimator)


def _key(document: dict, by: str):
    """The group a document falls in; a case falls back to the title, other groupings to None."""
    column = GROUPINGS[by][0]
    value = document[column]
    if by == "case" and not value:
        return document["title"] or document["doc_id"]
    return value


def _sort_key(value):
    return (0, value, "") if isinstance(value, int) else (1, 0, str(value).casefold())


def _grouped(coding: _Coding, by: str) -> tuple[dict, list[str]]:
    """Documents by group in a stable order, and notes on documents left out or relabelled."""
    if by not in GROUPINGS:
        raise AnalyticsError(f"counts can be broken down by {', '.join(GROUPINGS)}, not {by!r}")
    groups: dict = {}
    missing = []
    for document in coding.documents:
        key = _key(document, by)
        if key is None or key == "":
            missing.append(document["doc_id"])
            continue
        groups.setdefault(key, []).append(document)
    notes = []
    if missing:
        notes.append(f"{len(missing)} document(s) have no {GROUPINGS[by][1].replace('_', ' ')} and are left out: "
                     f"{', '.join(missing)}.")
    if by == "case":
        untitled = [d["doc_id"] for d in coding.documents if not d["case_name"]]
        if untitled:
            notes.append(f"{len(untitled)} document(s) have no case name and are counted under their title.")
    ordered = dict(sorted(groups.items(), key=lambda kv: _sort_key(kv[0])))
    return ordered, notes


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, DIGITS)


def _share(part: int, whole: int) -> float | None:
    return _round(part / whole) if whole else None


# --- counts by document, case, year, type, nation ---------------------------------


def counts(kb: KnowledgeBase, by: str = "document", rules: CountingRules | None = None) -> Analysis:
    """Theme counts per group (long table), and group x theme tables of counts and of 0/1."""
    rules = rules or CountingRules()
    coding = _coding(kb, rules)
    groups, notes = _grouped(coding, by)
    key_column = GROUPINGS[by][1]
    long_rows, matrix_rows, binary_rows = [], [], []
    for key, documents in groups.items():
        passages = {t: sum(coding.by_doc.get(d["doc_id"], {}).get(t, 0) for d in documents) for t in coding.themes}
        showing = {t: sum(coding.doc_shows(d["doc_id"], t) for d in documents) for t in coding.themes}
        if by == "document":
            d = documents[0]
            lead = [d["doc_id"], d["title"], d["case_name"], d["year_published"], d["year_of_incident"],
                    d["review_type"], d["nation"]]
            long_rows += [[*lead, t, coding.labels[t], passages[t], int(showing[t] > 0),
                           *coding.reviewed_and_estimate(t, documents)] for t in coding.themes]
            wide_lead = [d["doc_id"], d["title"]]
        else:
            in_group = sum(d["passages"] for d in documents)
            long_rows += [
                [key, len(documents), in_group, t, coding.labels[t], passages[t], showing[t],
                 _share(showing[t], len(documents)), *coding.reviewed_and_estimate(t, documents)]
                for t in coding.themes
            ]
            wide_lead = [key, len(documents)]
        unit = passages if rules.unit == "passages" else showing
        matrix_rows.append([*wide_lead, *(unit[t] for t in coding.themes)])
        binary_rows.append([*wide_lead, *(int(showing[t] > 0) for t in coding.themes)])
    if by == "document":
        long_columns = ["doc_id", "title", "case", "year_published", "year_of_incident", "review_type", "nation",
                        "theme_id", "theme", "passages", "shown", "passages_reviewed", *ESTIMATE_COLUMNS]
        wide_columns = ["doc_id", "title"]
    else:
        long_columns = [key_column, "documents_in_group", "passages_in_group", "theme_id", "theme", "passages",
                        "documents", "share_of_documents", "passages_reviewed", *ESTIMATE_COLUMNS]
        wide_columns = [key_column, "documents_in_group"]
    label = key_column.replace("_", " ")
    tables = [
        Table("counts", f"Theme counts by {label}", long_columns, long_rows, notes),
        Table("matrix", f"{rules.unit.capitalize()} per {label} and theme", wide_columns + coding.themes,
              matrix_rows, notes),
        Table("binary", f"Whether each {label} shows each theme (1) or not (0)", wide_columns + coding.themes,
              binary_rows, notes),
    ]
    return Analysis("counts", {"by": by}, rules, tables, coding.summary)


def prevalence(kb: KnowledgeBase, rules: CountingRules | None = None) -> Analysis:
    """Each theme across the whole store: documents and passages showing it, with their totals."""
    rules = rules or CountingRules()
    coding = _coding(kb, rules)
    n_docs, n_passages = len(coding.documents), coding.total_passages
    rows = []
    for t in coding.themes:
        docs = sum(coding.doc_shows(d["doc_id"], t) for d in coding.documents)
        passages = sum(c.get(t, 0) for c in coding.by_doc.values())
        rows.append([t, coding.labels[t], coding.groups[t], docs, n_docs, _share(docs, n_docs),
                     passages, n_passages, _share(passages, n_passages),
                     *coding.reviewed_and_estimate(t, coding.documents), *coding.estimator.quality_cells(t)])
    columns = ["theme_id", "theme", "group", "documents_showing", "documents", "share_of_documents",
               "passages_showing", "passages", "share_of_passages", "passages_reviewed", *ESTIMATE_COLUMNS,
               "precision", "recall", "experimental"]
    table = Table("prevalence", "How many documents and passages show each theme", columns, rows)
    return Analysis("prevalence", {}, rules, [table], coding.summary)


# --- co-occurrence ----------------------------------------------------------------------


def cooccurrence(kb: KnowledgeBase, rules: CountingRules | None = None) -> Analysis:
    """Theme pairs across documents and across passages: counts, Jaccard and lift.

    Jaccard = both / either; lift = both x N / (a x b), so 1 is what chance alone
    would give. Pairs are listed when each theme is counted at least once.
    """
    rules = rules or CountingRules()
    coding = _coding(kb, rules)
    doc_sets = [{t for t, n in coding.by_doc.get(d["doc_id"], {}).items() if n} for d in coding.documents]
    passage_sets = list(coding.by_passage.values())
    by_documents = _pairs(coding, doc_sets, len(coding.documents), "documents")
    by_passages = _pairs(coding, passage_sets, coding.total_passages, "passages")
    tables = [by_documents, by_passages] if rules.unit == "documents" else [by_passages, by_documents]
    return Analysis("cooccurrence", {}, rules, tables, coding.summary)


def _pairs(coding: _Coding, sets: list[set[str]], total: int, unit: str) -> Table:
    single: dict[str, int] = {}
    both: dict[tuple[str, str], int] = {}
    order = {t: i for i, t in enumerate(coding.themes)}
    for themes in sets:
        ranked = sorted(themes, key=order.__getitem__)
        for t in ranked:
            single[t] = single.get(t, 0) + 1
        for pair in combinations(ranked, 2):
            both[pair] = both.get(pair, 0) + 1
    rows = []
    for a, b in combinations([t for t in coding.themes if single.get(t)], 2):
        n_a, n_b, n_ab = single[a], single[b], both.get((a, b), 0)
        rows.append([a, b, coding.labels[a], coding.labels[b], n_a, n_b, n_ab, total,
                     _round(n_ab / (n_a + n_b - n_ab)), _round(n_ab * total / (n_a * n_b)) if total else None])
    columns = ["theme_a", "theme_b", "label_a", "label_b", "n_a", "n_b", "n_ab", "n", "jaccard", "lift"]
    notes = [f"n is every {unit[:-1]} in the store, including those that show no theme."]
    return Table(f"pairs_{unit}", f"Themes counted in the same {unit[:-1]}", columns, rows, notes)


# --- trends -------------------------------------------------------------------------------


def trends(kb: KnowledgeBase, rules: CountingRules | None = None, basis: str = "published", span: int = 1) -> Analysis:
    """Prevalence of each theme by year (or by `span`-year period), with the documents and
    passages of each period, so every share shows what it rests on."""
    rules = rules or CountingRules()
    if basis not in BASES:
        raise AnalyticsError(f"basis must be one of {', '.join(BASES)}")
    if not isinstance(span, int) or not 1 <= span <= 50:
        raise AnalyticsError("span must be a whole number of years from 1 to 50")
    coding = _coding(kb, rules)
    periods: dict[int, list[dict]] = {}
    undated = []
    for d in coding.documents:
        year = d[BASES[basis]]
        if year is None:
            undated.append(d["doc_id"])
            continue
        periods.setdefault(year - year % span if span > 1 else year, []).append(d)
    rows = []
    for start in sorted(periods):
        documents = periods[start]
        n_passages = sum(d["passages"] for d in documents)
        for t in coding.themes:
            showing = sum(coding.doc_shows(d["doc_id"], t) for d in documents)
            passages = sum(coding.by_doc.get(d["doc_id"], {}).get(t, 0) for d in documents)
            rows.append([start, start + span - 1, len(documents), n_passages, t, coding.labels[t], showing, passages,
                         _share(showing, len(documents)), _share(passages, n_passages),
                         *coding.reviewed_and_estimate(t, documents)])
    notes = []
    if undated:
        which = "publication" if basis == "published" else "incident"
        notes.append(f"{len(undated)} document(s) have no year of {which} and are left out: {', '.join(undated)}.")
    columns = ["period_start", "period_end", "documents", "passages", "theme_id", "theme", "documents_showing",
               "passages_showing", "share_of_documents", "share_of_passages", "passages_reviewed", *ESTIMATE_COLUMNS]
    title = f"Themes by year of {'publication' if basis == 'published' else 'incident'}"
    table = Table("trends", title, columns, rows, notes)
    return Analysis("trends", {"basis": basis, "span": span}, rules, [table], coding.summary)


# --- evidence -------------------------------------------------------------------------------


def evidence(
    kb: KnowledgeBase, theme: str | None, rules: CountingRules | None = None, case: str | None = None,
    also: str | None = None,
) -> Analysis:
    """The passages behind a count: document, page, score, kind, the reviewer's verdict and the sentences
    that carry the theme.

    With `theme` None, every counted (passage, theme) pair: the coded-passages table. With
    `also`, the evidence behind a co-occurrence count: the theme's passages that also count
    for `also` (or, when the rules count documents, its passages in documents that also do).
    """
    rules = rules or CountingRules()
    taxonomy = kb.tagger.taxonomy
    if theme is not None and taxonomy.get(theme) is None:
        raise AnalyticsError(f"unknown theme: {theme}")
    keep = _also_counted(kb, rules, theme, also) if also is not None else None
    doc_ids = None
    if case is not None:
        doc_ids = tuple(d["doc_id"] for d in kb.catalogue.analytics_documents() if _key(d, "case") == case)
    rows = []
    for r in kb.catalogue.analytics_evidence(theme, rules.tag_kinds, rules.min_score, doc_ids, rules.reviewed_only):
        if keep is not None and not keep(r):
            continue
        t = taxonomy.get(r["theme_id"])
        sentences = " … ".join(" ".join(r["text"][a:b].split()) for a, b in r["evidence"])
        rows.append([
            r["passage_id"], r["doc_id"], r["title"], r["case_name"], r["year_published"], r["page_start"],
            r["page_end"], r["section"], r["theme_id"], t.label if t else r["theme_id"], r["kind"],
            _round(r["score"]), REVIEW_WORDS.get(r["review"], ""), sentences, r["text"],
        ])
    columns = ["passage_id", "doc_id", "title", "case", "year_published", "page_start", "page_end", "section",
               "theme_id", "theme", "kind", "score", "review", "evidence", "text"]
    notes = [] if doc_ids is None or doc_ids else [f"No document has the case {case!r}."]
    if theme is None:
        # Named as QDA packages expect on import: a document, a page, a code and the coded text.
        columns = ["passage_id", "doc_id", "document", "case", "year_published", "page", "page_end", "section",
                   "code_id", "code", "kind", "score", "review", "evidence", "text"]
        title = "Coded passages: every passage counted for a theme"
        name = "coded"
    else:
        title = (f"Evidence for {taxonomy.get(theme).label}" + (f" with {taxonomy.get(also).label}" if also else "")
                 + (f" in {case}" if case else ""))
        name = "evidence"
    notes.append("review: 'confirmed' or 'added' when a reviewer's verdict makes the passage count (kind and score "
                 "are empty for a theme a reviewer added that the tagger did not store); empty when unreviewed.")
    parameters = {"theme": theme, "case": case} if theme is not None else {}
    if also is not None:
        parameters["with"] = also
    summary = {"counted_tags": len(rows), "counted_tags_reviewed": sum(1 for r in rows if r[12])}
    return Analysis(name, parameters, rules, [Table(name, title, columns, rows, notes)], summary)


def _also_counted(kb: KnowledgeBase, rules: CountingRules, theme: str | None, also: str):
    """Which evidence rows of `theme` also count for `also`, under the same coding as cooccurrence()."""
    if kb.tagger.taxonomy.get(also) is None:
        raise AnalyticsError(f"unknown theme: {also}")
    if theme is None or theme == also:
        raise AnalyticsError("evidence of two themes needs two different themes")
    coding = _coding(kb, rules)
    if rules.unit == "documents":
        return lambda row: coding.doc_shows(row["doc_id"], also)
    return lambda row: also in coding.by_passage.get(row["passage_id"], ())


def cooccurrence_matrix(kb: KnowledgeBase, rules: CountingRules | None = None) -> tuple[list[str], dict]:
    """Convenience for the dashboard: the themes counted at least once, and each pair's record both ways round."""
    rules = rules or CountingRules()
    records = cooccurrence(kb, rules).tables[0].records()
    # pairs come in the taxonomy's order, (t1, t2), (t1, t3)..., so first appearances keep it
    themes = list(dict.fromkeys(t for r in records for t in (r["theme_a"], r["theme_b"])))
    cells = {}
    for r in records:
        cells[(r["theme_a"], r["theme_b"])] = cells[(r["theme_b"], r["theme_a"])] = r
    return themes, cells


def case_theme_matrix(kb: KnowledgeBase, rules: CountingRules | None = None) -> tuple[list[str], list[dict]]:
    """Convenience for the dashboard: theme ids, and per case its counts and documents."""
    analysis = counts(kb, "case", rules)
    matrix = analysis.table("matrix")
    themes = matrix.columns[2:]
    return themes, [
        {"case": row[0], "documents": row[1], "counts": dict(zip(themes, row[2:]))} for row in matrix.rows
    ]
