"""Links to PDFs on a page, with the words that describe them."""

from kb.sources.links import pdf_links


def test_links_to_pdfs_are_found_once_each_with_their_words_and_absolute_addresses():
    page = """<html><head><base href="https://council.example/docs/"></head><body>
      <a class="thumb" href="reports/child-v.pdf"><img alt="Cover of the Child V report" src="c.png"></a>
      <a href="reports/child-v.pdf#page=2" title="Child V review">Overview report</a>
      <a href="/downloads/file/13/child-v-summary">Executive summary</a>
      <a href="/about">About the board</a>
      <a href="https://elsewhere.example/print?id=4" type="application/pdf">Printable version</a>
      <a href="/plan">Action plan (PDF, 80KB)</a>
      <a href="mailto:board@council.example">Write to us about the PDF</a>
      <a href="javascript:void(0)">PDF viewer</a>
    </body></html>"""
    found = {link.url: (link.text, link.filename) for link in pdf_links(page, "https://council.example/reviews/")}
    assert found == {
        "https://council.example/docs/reports/child-v.pdf": ("Cover of the Child V report Child V review Overview report", "child-v.pdf"),
        "https://council.example/downloads/file/13/child-v-summary": ("Executive summary", "child-v-summary"),
        "https://elsewhere.example/print?id=4": ("Printable version", "print"),
        "https://council.example/plan": ("Action plan (PDF, 80KB)", "plan"),
    }


def test_a_page_with_unclosed_links_still_yields_them():
    found = pdf_links('<p><a href="a.pdf">First<p><a href="b%20c.pdf">Second', "https://x.example/r/")
    assert [(l.url, l.text, l.filename) for l in found] == [
        ("https://x.example/r/a.pdf", "First", "a.pdf"), ("https://x.example/r/b%20c.pdf", "Second", "b c.pdf"),
    ]
