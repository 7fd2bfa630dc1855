"""Research counts against numbers worked out by hand on a four-document store written directly."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from kb import KnowledgeBase, Settings
from kb.models import Document, DocumentMeta, Evidence, Passage, ThemeMatch
from kb.research import analytics
from kb.research.analytics import AnalyticsError, CountingRules

MISSED, SHARING, THRESHOLDS, NEGLECT = "missed_warning_signs", "information_sharing", "thresholds", "neglect"
HYPERLINK = '=HYPERLINK("http://example.invalid","click")'

# doc id, metadata, passages: (text, [(theme, score, kind)])
FIXTURE = [
    ("a" * 16, DocumentMeta(title="Review of Child A", case="Child A", review_type="serious case review",
                            nation="England", year_published=2010, year_of_incident=2009), [
        ("The GP saw bruising and did not refer. Information was not shared with the school.",
         [(MISSED, 0.9, "shows"), (SHARING, 0.7, "shows")]),
        ("The health visitor recorded weight loss but nobody acted on it.", [(MISSED, 0.6, "shows")]),
        (HYPERLINK + " The threshold for a referral was discussed in training.", [(THRESHOLDS, 0.8, "names")]),
    ]),
    ("b" * 16, DocumentMeta(title="Review of Child B", case="Child B", review_type="serious case review",
                            nation="Wales", year_published=2010, year_of_incident=2008), [
        ("+1 The police did not tell children's social care about the incident.", [(SHARING, 0.8, "shows")]),
        ("The home was dirty and the children hungry. Warning signs are discussed in the glossary.",
         [(NEGLECT, 0.95, "shows"), (MISSED, 0.5, "names")]),
    ]),
    ("c" * 16, DocumentMeta(title="Second review of Child A", case="Child A", review_type="inquiry",
                            nation="England", year_published=2012), [
        ("@x The referral was judged below threshold. Agencies held information apart.",
         [(THRESHOLDS, 0.65, "shows"), (SHARING, 0.9, "shows")]),
        ("=1+2 A passage with no theme.", []),
    ]),
    ("d" * 16, DocumentMeta(title="-2 Thematic review", review_type="thematic review", nation="England"), [
        ("-2 Children were left without food for days.", [(NEGLECT, 0.7, "shows")]),
        ("\tA tabbed passage with no theme.", []),
    ]),
]


def build_store(home: Path) -> KnowledgeBase:
    """Write the fixture documents through the catalogue, as ingest would, with random unit vectors."""
    kb = KnowledgeBase(Settings(home=home, catalogue=home / "none.csv"))
    rng = np.random.default_rng(3)
    for doc_id, meta, items in FIXTURE:
        passages = []
        for seq, (text, themes) in enumerate(items):
            evidence = [Evidence(text[: text.index(".") + 1], 0, text.index(".") + 1)]
            passages.append(Passage(
                f"{doc_id}-p{seq + 1:04d}-00", doc_id, seq, text, seq + 1, seq + 1, "Analysis", "analysis",
                themes=[ThemeMatch(t, score, kind, evidence) for t, score, kind in themes],
            ))
        vectors = rng.normal(size=(len(passages), 384)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        document = Document(doc_id, doc_id * 4, f"/fixture/{doc_id}.pdf", 1, len(passages), meta)
        kb.catalogue.write_document(document, [], [], passages, vectors,
                                    [np.zeros((0, 384), np.float32) for _ in passages], kb.tagger.version)
    return kb


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> KnowledgeBase:
    return build_store(tmp_path_factory.mktemp("analytics") / "kb")


def _long(analysis, key_column: str) -> dict:
    return {(r[key_column], r["theme_id"]): r for r in analysis.table("counts").records()}


def test_counts_per_document_are_passages_showing_and_whether_shown(store):
    rows = _long(analytics.counts(store, "document"), "doc_id")
    a, b, c, d = "a" * 16, "b" * 16, "c" * 16, "d" * 16
    assert (rows[(a, MISSED)]["passages"], rows[(a, MISSED)]["shown"]) == (2, 1)
    assert (rows[(a, SHARING)]["passages"], rows[(a, THRESHOLDS)]["passages"]) == (1, 0)  # names does not count
    assert (rows[(b, MISSED)]["passages"], rows[(b, MISSED)]["shown"]) == (0, 0)
    assert (rows[(b, NEGLECT)]["passages"], rows[(c, THRESHOLDS)]["passages"], rows[(d, NEGLECT)]["shown"]) == (1, 1, 1)
    assert len(rows) == 4 * len(store.tagger.taxonomy.themes)  # explicit zeros for every document and theme
    assert rows[(a, MISSED)]["case"] == "Child A" and rows[(a, MISSED)]["year_of_incident"] == 2009


def test_counts_per_case_join_a_cases_reports(store):
    analysis = analytics.counts(store, "case")
    rows = _long(analysis, "case")
    child_a = rows[("Child A", SHARING)]
    assert (child_a["documents_in_group"], child_a["passages_in_group"]) == (2, 5)
    assert (child_a["passages"], child_a["documents"], child_a["share_of_documents"]) == (2, 2, 1.0)
    assert (rows[("Child A", MISSED)]["documents"], rows[("Child A", MISSED)]["share_of_documents"]) == (1, 0.5)
    # A document without a case is counted under its title, and says so.
    assert rows[("-2 Thematic review", NEGLECT)]["passages"] == 1
    assert any("no case name" in note for note in analysis.table("counts").notes)


def test_binary_and_count_tables_of_case_by_theme(store):
    analysis = analytics.counts(store, "case")
    binary, matrix = analysis.table("binary"), analysis.table("matrix")
    assert binary.columns[:2] == ["case", "documents_in_group"] and binary.columns[2:] == store.tagger.taxonomy.ids
    wanted = {
        "-2 Thematic review": {NEGLECT},
        "Child A": {MISSED, SHARING, THRESHOLDS},
        "Child B": {SHARING, NEGLECT},
    }
    assert [row[0] for row in binary.rows] == sorted(wanted, key=str.casefold)
    for row in binary.rows:
        cells = dict(zip(binary.columns[2:], row[2:]))
        assert {t for t, v in cells.items() if v == 1} == wanted[row[0]]
        assert set(cells.values()) <= {0, 1}
    child_a = dict(zip(matrix.columns, next(r for r in matrix.rows if r[0] == "Child A")))
    assert (child_a[MISSED], child_a[SHARING], child_a[THRESHOLDS]) == (2, 2, 1)
    by_documents = analytics.counts(store, "case", CountingRules(unit="documents")).table("matrix")
    child_a = dict(zip(by_documents.columns, next(r for r in by_documents.rows if r[0] == "Child A")))
    assert (child_a[MISSED], child_a[SHARING], child_a[THRESHOLDS]) == (1, 2, 1)


def test_counts_by_year_type_and_nation_leave_out_unknowns_and_say_so(store):
    years = analytics.counts(store, "year")
    rows = _long(years, "year")
    assert {k[0] for k in rows} == {2010, 2012}
    assert (rows[(2010, SHARING)]["documents"], rows[(2010, SHARING)]["documents_in_group"]) == (2, 2)
    assert any("d" * 16 in note for note in years.table("counts").notes)
    incident = _long(analytics.counts(store, "incident_year"), "incident_year")
    assert {k[0] for k in incident} == {2008, 2009}
    types = _long(analytics.counts(store, "type"), "review_type")
    assert rows_of(types, "serious case review", MISSED) == (2, 1)
    assert rows_of(types, "inquiry", THRESHOLDS) == (1, 1)
    nations = _long(analytics.counts(store, "nation"), "nation")
    assert rows_of(nations, "Wales", NEGLECT) == (1, 1)
    assert rows_of(nations, "England", NEGLECT) == (1, 1)
    with pytest.raises(AnalyticsError):
        analytics.counts(store, "colour")


def rows_of(rows: dict, key, theme) -> tuple[int, int]:
    return rows[(key, theme)]["passages"], rows[(key, theme)]["documents"]


def test_rules_min_score_and_names_are_honoured(store):
    strict = _long(analytics.counts(store, "document", CountingRules(min_score=0.75)), "doc_id")
    assert strict[("a" * 16, MISSED)]["passages"] == 1  # 0.9 counts, 0.6 does not
    assert strict[("a" * 16, SHARING)]["passages"] == 0  # 0.7
    assert strict[("c" * 16, THRESHOLDS)]["passages"] == 0  # 0.65
    assert strict[("c" * 16, SHARING)]["passages"] == 1  # 0.9
    named = _long(analytics.counts(store, "document", CountingRules(kinds="shows+names")), "doc_id")
    assert named[("a" * 16, THRESHOLDS)]["passages"] == 1
    assert named[("b" * 16, MISSED)]["shown"] == 1
    for bad in ({"kinds": "names"}, {"unit": "pages"}, {"min_score": 2}):
        with pytest.raises(AnalyticsError):
            CountingRules(**bad)
    assert CountingRules(min_score=0.5).as_dict()["min_score"] == 0.5


def _pairs(table) -> dict:
    return {frozenset((r["theme_a"], r["theme_b"])): r for r in table.records()}


def test_cooccurrence_across_documents(store):
    analysis = analytics.cooccurrence(store, CountingRules(unit="documents"))
    assert [t.name for t in analysis.tables] == ["pairs_documents", "pairs_passages"]
    pairs = _pairs(analysis.table("pairs_documents"))
    # Documents: A {missed, sharing}, B {sharing, neglect}, C {thresholds, sharing}, D {neglect}; N = 4.
    p = pairs[frozenset((MISSED, SHARING))]
    assert (p["n_a"], p["n_b"], p["n_ab"], p["n"]) == (1, 3, 1, 4)
    assert (p["jaccard"], p["lift"]) == (round(1 / 3, 4), round(4 / 3, 4))
    p = pairs[frozenset((SHARING, NEGLECT))]
    assert (p["n_ab"], p["jaccard"], p["lift"]) == (1, 0.25, round(4 / 6, 4))
    p = pairs[frozenset((MISSED, NEGLECT))]
    assert (p["n_ab"], p["jaccard"], p["lift"]) == (0, 0.0, 0.0)
    assert len(pairs) == 6  # four themes counted, every pair of them once


def test_cooccurrence_across_passages(store):
    analysis = analytics.cooccurrence(store)
    assert analysis.tables[0].name == "pairs_passages"
    pairs = _pairs(analysis.table("pairs_passages"))
    # Passages: {missed, sharing}, {missed}, {sharing}, {neglect}, {thresholds, sharing}, {neglect}; N = 9 passages.
    p = pairs[frozenset((MISSED, SHARING))]
    assert (p["n_a"], p["n_b"], p["n_ab"], p["n"], p["jaccard"], p["lift"]) == (2, 3, 1, 9, 0.25, 1.5)
    p = pairs[frozenset((SHARING, THRESHOLDS))]
    assert (p["n_ab"], p["jaccard"], p["lift"]) == (1, round(1 / 3, 4), 3.0)


def test_trends_give_each_years_denominators(store):
    analysis = analytics.trends(store)
    rows = {(r["period_start"], r["theme_id"]): r for r in analysis.table("trends").records()}
    r = rows[(2010, MISSED)]
    assert (r["documents"], r["passages"], r["documents_showing"], r["passages_showing"]) == (2, 5, 1, 2)
    assert (r["share_of_documents"], r["share_of_passages"]) == (0.5, 0.4)
    r = rows[(2012, THRESHOLDS)]
    assert (r["documents"], r["passages"], r["share_of_documents"], r["share_of_passages"]) == (1, 2, 1.0, 0.5)
    assert {k[0] for k in rows} == {2010, 2012}  # no year without documents, no undated document
    assert any("d" * 16 in note for note in analysis.table("trends").notes)
    decade = {(r["period_start"], r["theme_id"]): r for r in analytics.trends(store, span=5).table("trends").records()}
    r = decade[(2010, SHARING)]
    assert (r["period_end"], r["documents"], r["passages"], r["documents_showing"]) == (2014, 3, 7, 3)
    incident = analytics.trends(store, basis="incident").table("trends")
    assert {r["period_start"] for r in incident.records()} == {2008, 2009}
    with pytest.raises(AnalyticsError):
        analytics.trends(store, basis="fiscal")


def test_prevalence_over_the_whole_store(store):
    rows = {r["theme_id"]: r for r in analytics.prevalence(store).table("prevalence").records()}
    assert (rows[SHARING]["documents_showing"], rows[SHARING]["documents"], rows[SHARING]["share_of_documents"]) == (3, 4, 0.75)
    assert (rows[NEGLECT]["passages_showing"], rows[NEGLECT]["passages"]) == (2, 9)
    assert rows["child_voice"]["documents_showing"] == 0


def test_evidence_lists_the_passages_behind_a_count(store):
    rows = analytics.evidence(store, MISSED).table("evidence").records()
    assert [r["passage_id"] for r in rows] == ["a" * 16 + "-p0001-00", "a" * 16 + "-p0002-00"]
    first = rows[0]
    assert (first["title"], first["case"], first["page_start"], first["kind"], first["score"]) == (
        "Review of Child A", "Child A", 1, "shows", 0.9)
    assert first["evidence"] == "The GP saw bruising and did not refer."
    assert first["text"].startswith("The GP saw bruising")
    # Every count has its rows: passages counted for the theme = evidence rows.
    counted = sum(r["passages"] for r in analytics.counts(store, "document").table("counts").records() if r["theme_id"] == MISSED)
    assert counted == len(rows)
    named = analytics.evidence(store, MISSED, CountingRules(kinds="shows+names")).table("evidence").records()
    assert [r["kind"] for r in named] == ["shows", "shows", "names"]
    assert [r["doc_id"] for r in analytics.evidence(store, SHARING, case="Child A").table("evidence").records()] == [
        "a" * 16, "c" * 16]
    assert analytics.evidence(store, SHARING, CountingRules(min_score=0.85)).table("evidence").records()[0]["score"] == 0.9
    with pytest.raises(AnalyticsError):
        analytics.evidence(store, "no_such_theme")


def test_coded_passages_cover_every_counted_tag(store):
    coded = analytics.evidence(store, None).table("coded")
    assert coded.columns[:6] == ["passage_id", "doc_id", "document", "case", "year_published", "page"]
    assert len(coded.rows) == 8  # the tags of kind "shows"
    assert {r["code"] for r in coded.records()} >= {"Missed warning signs"}


def test_about_records_rules_corpus_and_versions(store):
    from kb.research.exports import about

    record = about(store, analytics.counts(store, "case", CountingRules(min_score=0.5, unit="documents")))
    assert record["counting_rules"]["min_score"] == 0.5 and record["counting_rules"]["unit"] == "documents"
    ids = sorted(f * 16 for f in "abcd")
    assert record["corpus"]["documents"] == 4 and record["corpus"]["passages"] == 9
    assert record["corpus"]["document_ids_sha256"] == hashlib.sha256("\n".join(ids).encode()).hexdigest()
    assert record["taxonomy"]["version"] == store.tagger.version
    assert record["calibration"]["source"] and record["scrkb_version"]
    assert record["export_date"] == store.catalogue.analytics_state()["last_ingested_at"]


def test_evidence_behind_a_cooccurrence_is_the_passages_with_both(store):
    a = "a" * 16
    both = analytics.evidence(store, MISSED, also=SHARING).table("evidence").records()
    assert [r["passage_id"] for r in both] == [f"{a}-p0001-00"]
    assert analytics.evidence(store, MISSED, also=SHARING).parameters == {"theme": MISSED, "case": None,
                                                                          "with": SHARING}
    pairs = {(r["theme_a"], r["theme_b"]): r for r in analytics.cooccurrence(store).table("pairs_passages").records()}
    assert pairs[(MISSED, SHARING)]["n_ab"] == len(both)
    # counting documents: the theme's passages in the documents that show the other theme too
    by_documents = CountingRules(unit="documents")
    rows = analytics.evidence(store, MISSED, by_documents, also=SHARING).table("evidence").records()
    assert [r["passage_id"] for r in rows] == [f"{a}-p0001-00", f"{a}-p0002-00"]
    doc_pairs = {(r["theme_a"], r["theme_b"]): r for r in analytics.cooccurrence(store).table("pairs_documents").records()}
    assert doc_pairs[(MISSED, SHARING)]["n_ab"] == len({r["doc_id"] for r in rows})
    # a passage that only names a theme counts for it only when the rules say so
    assert not analytics.evidence(store, NEGLECT, also=MISSED).table("evidence").rows
    named = analytics.evidence(store, NEGLECT, CountingRules(kinds="shows+names"), also=MISSED).table("evidence")
    assert [r["passage_id"] for r in named.records()] == [f"{'b' * 16}-p0002-00"]


def test_evidence_of_two_themes_needs_two_known_themes(store):
    with pytest.raises(AnalyticsError, match="unknown theme: nope"):
        analytics.evidence(store, MISSED, also="nope")
    with pytest.raises(AnalyticsError, match="two different themes"):
        analytics.evidence(store, MISSED, also=MISSED)


def test_cooccurrence_matrix_for_the_dashboard(store):
    themes, cells = analytics.cooccurrence_matrix(store)
    taxonomy = store.tagger.taxonomy.ids
    assert set(themes) == {MISSED, SHARING, THRESHOLDS, NEGLECT}
    assert themes == sorted(themes, key=taxonomy.index)
    assert cells[(MISSED, SHARING)] is cells[(SHARING, MISSED)] and cells[(MISSED, SHARING)]["n_ab"] == 1
    assert cells[(THRESHOLDS, SHARING)]["n_ab"] == 1 and cells[(MISSED, NEGLECT)]["n_ab"] == 0
