"""Multi-agency chronologies: dates as reports write them, table rows and narrative sentences in order."""

from __future__ import annotations

import pytest

from kb.models import EntitySpan, Passage
from kb.research.chronology import (
    chronology,
    contacts_of,
    events_of,
    find_dates,
    parse_date,
)


@pytest.mark.parametrize("text, sortable, precision, end", [
    ("March 2007", "2007-03", "month", None),
    ("14 March 2007", "2007-03", "day", None),
    ("on 14th March, 2007 the GP", "2007-03", "day", None),
    ("March 14, 2007", "2007-03", "day", None),
    ("14/03/2007", "2007-03", "day", None),
    ("Spring 1987", "1987-03", "season", None),
    ("in the summer of 2019", "2019-06", "season", None),
    ("May–June 1987", "1987-05", "month", (1987, 6)),
    ("May-June 1987", "1987-05", "month", (1987, 6)),
    ("between January and September 2020", "2020-01", "month", (2020, 9)),
    ("December 2006 to January 2007", "2006-12", "month", (2007, 1)),
    ("12 to 14 March 2007", "2007-03", "day", (2007, 3)),
    ("2010", "2010", "year", None),
    ("early 2007", "2007-02", "part of year", None),
    ("mid-2007", "2007-06", "part of year", None),
    ("Late 2019", "2019-10", "part of year", None),
    ("the end of 2007", "2007-12", "part of year", None),
    ("from 1983 to July 1984", "1983", "year", (1984, 7)),
    ("1997 - 2013", "1997", "year", (2013, None)),
    ("the 1990s", "1990", "decade", (1999, None)),
    ("Early 2000s", "2000", "decade", (2003, None)),
])
def test_dates_as_reports_write_them(text, sortable, precision, end):
    date = parse_date(text)
    assert date is not None, text
    assert (date.sortable, date.precision) == (sortable, precision)
    assert date.text in text  # the original wording is kept
    if end:
        assert (date.end_year, date.end_month or None) == end


@pytest.mark.parametrize("text", [
    "the following day", "under the Children Act 1989", "Working Together 2018 says", "Year: 2009",
    "a week later", "they may visit", "paragraph 2010", "4.2 The GP", "",
])
def test_what_is_not_a_placeable_date(text):
    assert parse_date(text) is None


def test_may_the_verb_is_not_a_month():
    assert parse_date("the family may 2010 have moved").precision == "year"
    assert parse_date("In May 2010 the family moved").sortable == "2010-05"


def test_dates_sort_by_year_then_month():
    dates = find_dates("Late 2006, then March 2006, 2006, 1 March 2006 and Spring 2005.")
    ordered = sorted(dates, key=lambda d: d.key)
    assert [d.text for d in ordered] == ["Spring 2005", "2006", "March 2006", "1 March 2006", "Late 2006"]


def passage(pid: str, seq: int, text: str, kind: str | None, names: list[tuple[str, str, str]]) -> Passage:
    """A passage whose AGENCY/ROLE entities are found by their wording: (label, text as written, canonical)."""
    entities = []
    for label, written, canonical in names:
        start = 0
        while (start := text.find(written, start)) >= 0:
            entities.append(EntitySpan(label, written, start, start + len(written), canonical))
            start += len(written)
    return Passage(pid, "doc", seq, text, seq + 1, seq + 1, "Chronology", kind, entities=entities)


NAMES = [("AGENCY", "Police", "police"), ("AGENCY", "police", "police"), ("AGENCY", "CSC", "children's social care"),
         ("AGENCY", "school", "school"), ("ROLE", "GP", "GP"), ("ROLE", "health visitor", "health visitor"),
         ("AGENCY", "hospital", "hospital")]
TABLE = """Date | Agency | Event
June 2018 | Police | Domestic incident reported at the family home
Spring 2017 | Health visiting; GP | GP sees mother with low mood
Shortly after | CSC | Referral closed with no further action
14 March 2019 | CSC / school | Strategy discussion; school not invited"""
NARRATIVE = ("2.1 In early 2016 the health visitor saw the baby at home. The following week the GP was told. "
             "The family moved in 2015.\n\n2.2 Between May and June 2019 the hospital treated a fracture.")


def test_table_rows_and_narrative_sentences_become_ordered_events():
    passages = [passage("p1", 0, TABLE, "chronology", NAMES), passage("p2", 1, NARRATIVE, "analysis", NAMES)]
    events, counts = events_of(passages)
    assert [(e.date.sortable, e.source) for e in events] == [
        ("2016-02", "narrative"), ("2017-03", "table"), ("2018-06", "table"), ("2019-03", "table"),
        ("2019-05", "narrative"),
    ]
    june = events[2]
    assert (june.agencies, june.agency_text, june.text) == (("police",), "Police",
                                                             "Domestic incident reported at the family home")
    assert events[3].agencies == ("children's social care", "school")
    assert events[1].roles == ("GP",) and events[0].roles == ("health visitor",)
    assert events[0].text == "2.1 In early 2016 the health visitor saw the baby at home."
    assert events[4].date.end_month == 6 and events[4].agencies == ("hospital",)
    # Said, not hidden: a row and a sentence naming an agency had no date that could be placed.
    assert counts["table_rows"] == 4 and counts["table_rows_without_date"] == 1
    assert counts["sentences_naming_an_agency"] == 3 and counts["sentences_without_date"] == 1
    assert counts["dated_sentences_without_agency"] == 1  # "The family moved in 2015." names no agency
    assert counts["events"] == len(events) == 5


def test_first_and_last_contact_per_agency():
    events, _ = events_of([passage("p1", 0, TABLE, "chronology", NAMES), passage("p2", 1, NARRATIVE, "analysis", NAMES)])
    contacts = {(c.label, c.name): c for c in contacts_of(events)}
    csc = contacts[("AGENCY", "children's social care")]
    assert (csc.events, csc.first.sortable, csc.last.sortable) == (1, "2019-03", "2019-03")
    gp = contacts[("ROLE", "GP")]
    assert (gp.events, gp.first.text) == (1, "Spring 2017")
    assert {name for label, name in contacts if label == "AGENCY"} == {"police", "children's social care", "school",
                                                                       "hospital"}


def test_recommendations_are_not_narrative_and_headerless_rows_need_a_chronology_section():
    recommendation = passage("p1", 0, "In March 2020 the police should review their policy.", "recommendations", NAMES)
    stray_table = passage("p2", 1, "March 2020 | Police | something", "analysis", NAMES)
    headerless = passage("p3", 2, "March 2020 | Police | Visit to the home", "chronology", NAMES)
    events, counts = events_of([recommendation, stray_table, headerless])
    assert [(e.passage_id, e.source) for e in events] == [("p3", "table")]


def test_real_entities_from_the_nlp_pipeline():
    from kb.nlp.spacy_pipeline import tag_entities

    text = TABLE + "\n\n" + NARRATIVE
    [entities] = tag_entities([text])
    events, _ = events_of([Passage("p", "doc", 0, text, 1, 1, "Chronology", "chronology", entities=entities)])
    assert len(events) >= 4
    assert any("police" in e.agencies for e in events)
    assert [e.date.key for e in events] == sorted(e.date.key for e in events)


def test_stored_document_chronology(ingested):
    doc = ingested.documents()[0]
    found = chronology(ingested, doc.doc_id)
    rows = [e for e in found.events if e.source == "table"]
    assert [e.date.sortable for e in rows] == ["2018-03", "2018-06", "2018-08"]
    assert "police" in rows[1].agencies
    with pytest.raises(KeyError):
        chronology(ingested, "no-such-document")


def test_sample_corpus_joins_the_dots(sample_kb):
    from kb.research.chronology import agencies_before_incident

    found = [chronology(sample_kb, d.doc_id) for d in sample_kb.documents()]
    rich = [c for c in found if len(c.events) >= 5 and c.distinct_agencies >= 3]
    assert rich, [(c.doc_id, len(c.events), c.distinct_agencies) for c in found]
    for c in rich:
        assert [e.date.key for e in c.events] == sorted(e.date.key for e in c.events)
        assert all(e.date.year for e in c.events)
    across = agencies_before_incident(sample_kb)
    assert across["documents_considered"] + len(across["documents_skipped_without_incident_year"]) == len(found)
    assert across["agencies"] and across["agencies"][0]["documents"] >= 2
