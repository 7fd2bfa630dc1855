"""A GOV.UK content item's PDF files, read in the documented shape of the `publication` schema."""

import json

import pytest

from kb.sources.govuk import api_url, attachments, is_govuk, parse_item

PAGE = "https://www.gov.uk/government/publications/child-sexual-exploitation-health-working-group-report"


def test_the_api_address_is_the_page_path_under_the_base():
    assert api_url("https://www.gov.uk/api/content/", PAGE + "?utm=x#details") == (
        "https://www.gov.uk/api/content/government/publications/child-sexual-exploitation-health-working-group-report"
    )
    assert is_govuk(PAGE) and is_govuk("https://GOV.UK/x") and not is_govuk("https://www.gov.uk.example.org/x")


def test_attachments_and_rendered_documents_are_merged_by_address():
    item = {
        "base_path": "/government/publications/x", "schema_name": "publication", "title": "Health working group report",
        "details": {
            "attachments": [
                {"attachment_type": "file", "id": "a.pdf", "title": "Health working group report",
                 "url": "https://assets.publishing.service.gov.uk/media/1/a.pdf", "content_type": "application/pdf",
                 "filename": "a.pdf"},
                {"attachment_type": "file", "id": "b.odt", "title": "Health working group report (OpenDocument)",
                 "url": "https://assets.publishing.service.gov.uk/media/2/b.odt",
                 "content_type": "application/vnd.oasis.opendocument.text", "filename": "b.odt"},
                {"attachment_type": "html", "id": "c", "title": "Health working group report: web version",
                 "url": "/government/publications/x/web-version"},
                {"attachment_type": "external", "id": "d", "title": "Elsewhere", "url": "https://example.org/d.pdf"},
            ],
            # Older items render each attachment, with links relative to www.gov.uk.
            "documents": [
                '<section class="attachment embedded"><div class="attachment-thumb"><a aria-hidden="true" '
                'class="thumbnail" href="/government/uploads/system/uploads/attachment_data/file/284679/Summary_web.pdf">'
                '<img alt="" src="/thumbnail_Summary_web.pdf.png" /></a></div><div class="attachment-details">'
                '<h2 class="title"><a href="/government/uploads/system/uploads/attachment_data/file/284679/Summary_web.pdf">'
                'Health working group report: executive summary</a></h2><p class="metadata"><span class="type">'
                '<abbr title="Portable Document Format">PDF</abbr></span></p></div></section>',
                '<section><h2 class="title"><a href="https://assets.publishing.service.gov.uk/media/1/a.pdf">'
                'Health working group report</a></h2></section>',
            ],
        },
    }
    candidates, others = attachments(parse_item(json.dumps(item).encode()), PAGE)
    assert [(c.url, c.title, c.filename) for c in candidates] == [
        ("https://assets.publishing.service.gov.uk/media/1/a.pdf", "Health working group report", "a.pdf"),
        ("https://www.gov.uk/government/uploads/system/uploads/attachment_data/file/284679/Summary_web.pdf",
         "Health working group report: executive summary", "Summary_web.pdf"),
    ]
    assert others == ["Health working group report (OpenDocument)", "Health working group report: web version", "Elsewhere"]


def test_an_answer_that_is_not_a_content_item_is_refused():
    for body in (b"[1, 2]", b'{"details": []}', b"<html>", b"\xff\xfe"):
        with pytest.raises(ValueError):
            parse_item(body)
