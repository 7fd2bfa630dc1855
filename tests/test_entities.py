"""Entities: agencies, roles and anonymised subjects, with offsets into the passage text."""

from kb.nlp.spacy_pipeline import tag_entities


def test_field_entities_with_offsets_and_canonical_names():
    text = (
        "The HV visited Child A on 3 March 2007 and told children's social care; Mr X was never "
        "assessed by the police. The GP referred Mother to CAMHS."
    )
    [entities] = tag_entities([text])
    found = {(e.label, e.text, e.canonical) for e in entities}
    assert ("ROLE", "HV", "health visitor") in found
    assert ("SUBJECT", "Child A", None) in found
    assert ("SUBJECT", "Mr X", None) in found
    assert ("AGENCY", "children's social care", "children's social care") in found
    assert ("AGENCY", "the police", "police") in found
    assert ("AGENCY", "CAMHS", "CAMHS") in found
    assert ("DATE", "3 March 2007", None) in found
    for e in entities:
        assert text[e.start : e.end] == e.text


def test_entities_are_stored_per_passage(ingested):
    doc = ingested.documents()[0]
    passages = ingested.passages(doc.doc_id)
    finding = next(p for p in passages if "Mr B" in p.text)
    labels = {(e.label, e.text) for e in finding.entities}
    assert ("SUBJECT", "Mr B") in labels
    for p in passages:
        for e in p.entities:
            assert p.text[e.start : e.end] == e.text
