"""Choosing a row's report among the files a page offers, or refusing to guess."""

from kb.sources.choose import Candidate, choose
from kb.sources.report_catalogue import CatalogueEntry

NATIONAL = CatalogueEntry(
    id="national", case="Arthur Labinjo-Hughes and Star Hobson",
    title="Child Protection in England: National review into the murders of Arthur Labinjo-Hughes and Star Hobson",
)
REPORT = Candidate("https://example.org/report.pdf", NATIONAL.title, "Child_Protection_in_England_FINAL.pdf")
ANNEX = Candidate("https://example.org/annex.pdf", "Annex A: Child Protection in England, methodology", "annex_a.pdf")
EASY = Candidate("https://example.org/easy.pdf", "Child Protection in England: national review", "Easy_Read_Version.pdf")
SUMMARY = Candidate("https://example.org/summary.pdf", "Child Protection in England: executive summary", "summary.pdf")


def test_the_report_is_chosen_over_its_annex_easy_read_and_summary_and_the_reason_says_so():
    choice = choose([ANNEX, EASY, SUMMARY, REPORT], NATIONAL)
    assert choice.candidate is REPORT
    assert "has 11 of the 11 words" in choice.because  # stop words (in, into, the, and) left out
    assert "'Annex A: Child Protection in England, methodology' (an annex)" in choice.because
    assert "(an easy-read version)" in choice.because and "(a summary)" in choice.because


def test_a_page_of_only_secondary_documents_is_refused():
    choice = choose([ANNEX, EASY], NATIONAL)
    assert choice.candidate is None and choice.because.startswith("the page offers only ")
    assert "(an annex)" in choice.because and "(an easy-read version)" in choice.because


def test_a_row_that_is_itself_a_summary_may_have_one():
    row = CatalogueEntry(id="s", case="Child Q", title="Child Q: executive summary of the local review")
    summary = Candidate("u", "Local child safeguarding practice review: Child Q, executive summary", "child-q-summary.pdf")
    assert choose([summary], row).candidate is summary


def test_file_names_count_and_their_abbreviations_are_read():
    row = CatalogueEntry(id="t", case="Child T", title="Serious Case Review: Child T")
    links = [Candidate("u1", "Download (PDF, 1 MB)", "SCR_Child_T_final.pdf"), Candidate("u2", "Download", "privacy.pdf")]
    choice = choose(links, row)
    assert choice.candidate is links[0] and "has 5 of the 5 words" in choice.because


def test_an_accessible_version_is_taken_only_when_no_other_is_offered():
    accessible = Candidate("a", NATIONAL.title + " (accessible version)", "report-accessible.pdf")
    assert choose([accessible, REPORT], NATIONAL).candidate is REPORT
    alone = choose([accessible, ANNEX], NATIONAL)
    assert alone.candidate is accessible and "accessible version, and no other version matches" in alone.because


def test_a_weak_match_is_refused_on_a_landing_page_but_a_lone_govuk_attachment_is_taken():
    row = CatalogueEntry(id="j", case="Rotherham", title="Independent Inquiry into Child Sexual Exploitation in Rotherham 1997-2013")
    lone = [Candidate("u", "Final report", "report.pdf")]
    refused = choose(lone, row)
    assert refused.candidate is None and "the best, 'Final report', has 0 of its" in refused.because
    taken = choose(lone, row, lone_plain_ok=True)
    assert taken.candidate is lone[0] and "the only PDF that is not an annex" in taken.because


def test_two_equally_good_matches_are_a_coin_toss_and_refused():
    row = CatalogueEntry(id="w", case="Child W", title="Child W review report")
    parts = [Candidate("1", "Child W review report, part 1"), Candidate("2", "Child W review report, part 2")]
    choice = choose(parts, row)
    assert choice.candidate is None and "equally well" in choice.because


def test_no_candidates_says_so():
    assert choose([], NATIONAL).because == "the page links to no PDF"
