"""Themes that exist only where a child is at risk stay out of reports about adults: a coroner's report
on a man's death describes his depression and drinking without that being a parent's mental health or
substance misuse, while the same account in a child's review shows both."""

import textwrap

import pytest
from conftest import ingested_store
from pdfs import Heading, Para, ReportSpec, build_report

from kb.themes.subject import about_adult, child_present

ADULT_PARAGRAPHS = [
    "Mr Evans had a long history of depression and had twice been admitted to hospital after taking "
    "overdoses. In the months before his death he was drinking heavily every day and told his GP that he "
    "felt hopeless.",
    "The mental health trust discharged Mr Evans back to his GP, but the discharge letter was never sent, "
    "so the practice did not know that he had been assessed as at high risk of suicide.",
    "He lived alone in a rented flat and had recently lost his job as a delivery driver. Neighbours "
    "described him as quiet and said that he had stopped going out in the weeks before he died.",
    "The inquest heard evidence from the trust, the practice and the ambulance service, and concluded "
    "that he took his own life while his mental state was disturbed by alcohol.",
]
CHILD_PARAGRAPHS = [
    "Child S lived with her father, who had a long history of depression and had twice been admitted to "
    "hospital after taking overdoses. In the months before the incident he was drinking heavily every day "
    "while caring for the children.",
    "The health visitor saw Child S at home and noted that the baby was clean and well fed, and that the "
    "children's school reported good attendance.",
]
CARER_THEMES = {"parental_mental_health", "parental_substance_misuse"}


def _spec(title: str, header: str, paragraphs: list[str]) -> ReportSpec:
    body = [Heading(title)]
    for paragraph in paragraphs:
        body.append(Para(textwrap.wrap(paragraph, 85)))
    return ReportSpec(title=title, header=header, footer="Senior Coroner for Riverton", body=body)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    folder = tmp_path_factory.mktemp("subject")
    adult = build_report(folder / "prevention-of-future-deaths.pdf",
                         _spec("Regulation 28: Report to Prevent Future Deaths", "Regulation 28 report", ADULT_PARAGRAPHS))
    child = build_report(folder / "child-s-practice-review.pdf",
                         _spec("Child Safeguarding Practice Review: Child S", "Practice review: Child S", CHILD_PARAGRAPHS))
    return ingested_store(folder, [adult, child])


def _shown(kb, fragment: str) -> set[str]:
    for doc in kb.documents():
        for passage in kb.passages(doc.doc_id):
            if fragment in passage.text:
                return {m.theme_id for m in passage.themes if m.kind == "shows"}
    raise AssertionError(f"no stored passage holds {fragment!r}")


def _check(kb):
    # the same account of depression and drinking: a parent's condition in the child's review only
    assert CARER_THEMES <= _shown(kb, "Child S lived with her father")
    assert not CARER_THEMES & _shown(kb, "Mr Evans had a long history")
    # practice failures are shown in a report about an adult as in one about a child
    assert "information_sharing" in _shown(kb, "the discharge letter was never sent")
    assert not CARER_THEMES & _shown(kb, "the discharge letter was never sent")


def test_a_report_about_an_adult_shows_no_parental_themes_and_keeps_practice_failures(store):
    _check(store)


def test_retagging_reads_each_passage_within_its_own_report(store):
    store.retag()
    _check(store)


def test_which_reports_are_about_an_adult():
    assert about_adult(ADULT_PARAGRAPHS)
    assert not about_adult(CHILD_PARAGRAPHS)
    # a review's passage about a parent's drinking need not name the child: without an inquest, a coroner,
    # a safeguarding adults review... a report is taken as a child's, the genre scrkb is for
    review = [paragraph.replace("The inquest heard", "The panel heard").replace("Mr Evans", "The father")
              for paragraph in ADULT_PARAGRAPHS]
    assert not about_adult(review) and child_present(review) == [True] * len(review)
    # too little text to tell
    assert not about_adult(["The coroner heard that the mother's depression was not considered."])
    # in a (longer) report about an adult, a passage naming a child has a child in it
    named = ADULT_PARAGRAPHS * 3 + ["His two children stayed with him every other weekend."]
    assert child_present(named) == [False] * len(ADULT_PARAGRAPHS) * 3 + [True]
