"""The learning-pack pages: every route, redirect after each change, bad input, and escaped PDF text."""

from __future__ import annotations

import io
import re

import pytest
from conftest import ingested_store, passage_id
from docx import Document as WordDocument
from pdfs import Heading, Para, ReportSpec, build_report

from kb import KnowledgeBase
from kb.research.packs import NOTE_MAX, TITLE_MAX
from webapp import create_app

SCRIPT = "<script>alert(1)</script>"


def hostile_review() -> ReportSpec:
    """A report whose text holds markup that a page must show, never run."""
    return ReportSpec(
        title="Serious Case Review: Child M", header="Serious Case Review: Child M",
        body=[
            Heading("Serious Case Review: Child M", 18),
            Para(["Westmoor Safeguarding Children Partnership. Published May 2019."]),
            Heading("3. Analysis"),
            Para([f"3.1 The referral form read {SCRIPT} and \"quoted\" <b>bold</b> & more; the school",
                  "nurse's concern about Child M was never passed to children's social care."]),
        ],
    )


@pytest.fixture(scope="module")
def store(tmp_path_factory, child_s_pdf) -> KnowledgeBase:
    home = tmp_path_factory.mktemp("packs-web")
    return ingested_store(home, [child_s_pdf, build_report(home / "child-m.pdf", hostile_review())])


@pytest.fixture
def client(store):
    # These tests are about the pack routes; CSRF tokens on every form are tested in test_access.py.
    return create_app(store, {"TESTING": True, "WTF_CSRF_ENABLED": False}).test_client()


def new_pack(client, title="A pack", introduction="") -> int:
    response = client.post("/packs", data={"title": title, "introduction": introduction})
    assert response.status_code == 303
    match = re.fullmatch(r"/packs/(\d+)", response.headers["Location"])
    assert match, response.headers["Location"]
    return int(match.group(1))


def add(client, pack_id, passage, **fields):
    response = client.post("/packs/add", data={"passage": passage, "pack": str(pack_id), **fields})
    assert response.status_code == 303, response.get_data(as_text=True)
    return int(response.headers["Location"].rsplit("#item-", 1)[1])


def html_of(client, url) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.get_data(as_text=True)


def test_navigation_and_pack_list(client, store):
    html = html_of(client, "/")
    assert 'href="/packs">Learning packs</a>' in html and 'href="/compare">Compare cases</a>' in html
    pack_id = new_pack(client, "Listed <i>pack</i>")
    html = html_of(client, "/packs")
    assert f'href="/packs/{pack_id}">Listed &lt;i&gt;pack&lt;/i&gt;</a>' in html
    assert 'action="/packs" method="post"' in html and f'maxlength="{TITLE_MAX}"' in html


def test_create_shows_the_empty_pack(client):
    pack_id = new_pack(client, "Thresholds", "First line\r\n\r\nSecond <em>line</em>")
    html = html_of(client, f"/packs/{pack_id}")
    assert "<h1>Thresholds</h1>" in html
    assert "<p>First line</p><p>Second &lt;em&gt;line&lt;/em&gt;</p>" in html
    assert "This pack has no passages yet." in html


@pytest.mark.parametrize("title", ["", "   ", "x" * (TITLE_MAX + 1)])
def test_create_refuses_a_bad_title(client, store, title):
    before = len(store.packs.list())
    response = client.post("/packs", data={"title": title})
    assert response.status_code == 400
    assert "title" in response.get_data(as_text=True)
    assert len(store.packs.list()) == before


def test_add_form_shows_the_passage_escaped_and_the_packs(client, store):
    pack_id = new_pack(client, "Chosen pack")
    hostile = passage_id(store, "3.1 The referral form")
    html = html_of(client, f"/packs/add?passage={hostile}")
    assert SCRIPT not in html and "<b>bold</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert f'name="pack" value="{pack_id}"' in html and 'name="pack" value="new"' in html
    assert f'name="passage" value="{hostile}"' in html
    assert 'action="/packs/add" method="post"' in html


def test_add_form_needs_a_known_passage(client):
    assert client.get("/packs/add").status_code == 400
    assert client.get("/packs/add?passage=0000000000000000-p0009-00").status_code == 404


def test_add_to_a_new_pack_and_to_an_existing_one(client, store):
    gp = passage_id(store, "3.1 The GP")
    response = client.post("/packs/add", data={"passage": gp, "pack": "new", "title": "Made while adding",
                                               "heading": "Joining the dots", "note": "Ask who knew what."})
    assert response.status_code == 303
    location = response.headers["Location"]
    pack_id = int(re.match(r"/packs/(\d+)#item-\d+$", location).group(1))
    html = html_of(client, f"/packs/{pack_id}")
    assert "<h1>Made while adding</h1>" in html and "1. Joining the dots" in html
    assert "Ask who knew what." in html and "3.1 The GP saw the mother five times" in html
    assert "Serious Case Review: Child S (2021), p. 1" in html

    add(client, pack_id, passage_id(store, "4.1 Child S"))
    html = html_of(client, f"/packs/{pack_id}")
    assert html.index("3.1 The GP saw") < html.index("4.1 Child S was not seen")
    assert "2. Passage 2" in html
    # the add form now says which packs already hold the passage
    assert "already holds this one" in html_of(client, f"/packs/add?passage={gp}")


def test_add_refuses_bad_input(client, store):
    gp = passage_id(store, "3.1 The GP")
    pack_id = new_pack(client)
    before = len(store.packs.list())
    cases = [
        ({"passage": "nope", "pack": str(pack_id)}, 404),
        ({"pack": str(pack_id)}, 404),
        ({"passage": gp, "pack": "987654"}, 404),
        ({"passage": gp, "pack": "first"}, 400),
        ({"passage": gp, "pack": "²"}, 400),
        ({"passage": gp, "pack": "9" * 30}, 400),
        ({"passage": gp}, 400),
        ({"passage": gp, "pack": "new", "title": ""}, 400),
        ({"passage": gp, "pack": "new", "title": "x" * (TITLE_MAX + 1)}, 400),
        ({"passage": gp, "pack": "new", "title": "Fine", "note": "n" * (NOTE_MAX + 1)}, 400),
        ({"passage": gp, "pack": str(pack_id), "heading": "h" * 201}, 400),
    ]
    for data, status in cases:
        assert client.post("/packs/add", data=data).status_code == status, data
    assert len(store.packs.list()) == before  # a refused note left no empty new pack behind
    assert store.packs.get(pack_id).items == []


def test_pack_page_escapes_pdf_text(client, store):
    pack_id = new_pack(client, "Escaping")
    add(client, pack_id, passage_id(store, "3.1 The referral form"), heading="<i>h</i>", note=f"note {SCRIPT}")
    html = html_of(client, f"/packs/{pack_id}")
    assert SCRIPT not in html and "<b>bold</b>" not in html and "<i>h</i>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html and "&lt;i&gt;h&lt;/i&gt;" in html
    assert html.count("&lt;script&gt;alert(1)&lt;/script&gt;") == 3  # passage, note, and the note's edit box
    # no inline script or style anywhere: the CSP would block them
    assert re.findall(r"<script(?![^>]*\bsrc=)", html) == []
    assert " style=" not in html
    assert "Content-Security-Policy" in client.get(f"/packs/{pack_id}").headers


def test_edit_item_heading_and_note(client, store):
    pack_id = new_pack(client)
    item = add(client, pack_id, passage_id(store, "3.1 The GP"))
    response = client.post(f"/packs/{pack_id}/items/{item}", data={"heading": "Start again", "note": "Line 1\r\nLine 2"})
    assert response.status_code == 303 and response.headers["Location"] == f"/packs/{pack_id}#item-{item}"
    html = html_of(client, f"/packs/{pack_id}")
    assert "1. Start again" in html and "Line 1\nLine 2" in html

    assert client.post(f"/packs/{pack_id}/items/{item}", data={"heading": "", "note": "n" * (NOTE_MAX + 1)}).status_code == 400
    assert client.post(f"/packs/{pack_id}/items/{item}", data={"heading": "h" * 201, "note": ""}).status_code == 400
    assert store.packs.get(pack_id).items[0].heading == "Start again"
    assert client.post(f"/packs/{pack_id}/items/987654", data={"heading": "x", "note": ""}).status_code == 404
    other = new_pack(client, "Other")
    assert client.post(f"/packs/{other}/items/{item}", data={"heading": "x", "note": ""}).status_code == 404


def test_move_and_remove_items(client, store):
    pack_id = new_pack(client, "Reorder")
    starts = ["1.1 This review", "3.1 The GP", "4.1 Child S"]
    items = [add(client, pack_id, passage_id(store, s)) for s in starts]
    a, b, c = (passage_id(store, s) for s in starts)
    order = lambda: [i.passage_id for i in store.packs.get(pack_id).items]  # noqa: E731

    html = html_of(client, f"/packs/{pack_id}")
    assert html.count('value="up"') == 2 and html.count('value="down"') == 2  # none past either end

    move = lambda item, **data: client.post(f"/packs/{pack_id}/items/{item}/move", data=data)  # noqa: E731
    response = move(items[2], direction="up")
    assert response.status_code == 303 and response.headers["Location"].endswith(f"#item-{items[2]}")
    assert order() == [a, c, b]
    assert move(items[0], direction="down").status_code == 303
    assert order() == [c, a, b]
    assert move(items[1], direction="to", position="1").status_code == 303
    assert order() == [b, c, a]
    assert move(items[1], direction="to", position="50").status_code == 303
    assert order() == [c, a, b]
    for bad in ({"direction": "sideways"}, {}, {"direction": "to", "position": "zero"},
                {"direction": "to", "position": "0"}, {"direction": "to", "position": "-1"},
                {"direction": "to", "position": "³"}, {"direction": "to", "position": "9" * 40}):
        assert move(items[0], **bad).status_code == 400, bad
    assert move(987654, direction="up").status_code == 404

    response = client.post(f"/packs/{pack_id}/items/{items[0]}/remove")
    assert response.status_code == 303 and response.headers["Location"] == f"/packs/{pack_id}"
    assert order() == [c, b]
    assert client.post(f"/packs/{pack_id}/items/{items[0]}/remove").status_code == 404


def test_rename_and_introduction(client, store):
    pack_id = new_pack(client, "Before")
    response = client.post(f"/packs/{pack_id}/details", data={"title": "After", "introduction": "Read first."})
    assert response.status_code == 303 and response.headers["Location"] == f"/packs/{pack_id}"
    pack = store.packs.get(pack_id)
    assert (pack.title, pack.introduction) == ("After", "Read first.")
    assert client.post(f"/packs/{pack_id}/details", data={"title": "", "introduction": ""}).status_code == 400
    assert client.post(f"/packs/{pack_id}/details", data={"title": "t" * (TITLE_MAX + 1)}).status_code == 400
    assert client.post("/packs/987654/details", data={"title": "x", "introduction": ""}).status_code == 404
    assert store.packs.get(pack_id).title == "After"


def test_delete_asks_first(client, store):
    pack_id = new_pack(client, "Doomed <pack>")
    add(client, pack_id, passage_id(store, "3.1 The GP"))
    html = html_of(client, f"/packs/{pack_id}")
    assert f'href="/packs/{pack_id}/delete"' in html
    html = html_of(client, f"/packs/{pack_id}/delete")
    assert "Delete “Doomed &lt;pack&gt;”?" in html and f'action="/packs/{pack_id}/delete" method="post"' in html
    assert store.packs.get(pack_id) is not None  # asking deletes nothing

    response = client.post(f"/packs/{pack_id}/delete")
    assert response.status_code == 303 and response.headers["Location"] == "/packs"
    assert client.get(f"/packs/{pack_id}").status_code == 404
    assert client.get(f"/packs/{pack_id}/delete").status_code == 404
    assert client.post(f"/packs/{pack_id}/delete").status_code == 404


def test_downloads(client, store):
    pack_id = new_pack(client, "Download me", "Intro.")
    add(client, pack_id, passage_id(store, "3.1 The referral form"), heading="Script", note="Mind the markup.")
    html = html_of(client, f"/packs/{pack_id}")
    for fmt in ("docx", "pdf", "md"):
        assert f'href="/packs/{pack_id}.{fmt}"' in html

    md = client.get(f"/packs/{pack_id}.md")
    assert md.status_code == 200 and md.mimetype == "text/markdown"
    assert md.headers["Content-Disposition"] == f'attachment; filename="download-me-{pack_id}.md"'
    text = md.get_data(as_text=True)
    assert text.startswith("# Download me\n\nIntro.\n\n## 1. Script\n\n> 3.1 The referral form read \\<script\\>")
    assert "Source: Serious Case Review: Child M (2019), p. 1" in text

    docx = client.get(f"/packs/{pack_id}.docx")
    assert docx.status_code == 200 and docx.mimetype.endswith("wordprocessingml.document")
    paragraphs = [p.text for p in WordDocument(io.BytesIO(docx.data)).paragraphs]
    assert paragraphs[:3] == ["Download me", "Intro.", "1. Script"]
    assert any(SCRIPT in p for p in paragraphs)

    pdf = client.get(f"/packs/{pack_id}.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    assert client.get(f"/packs/{pack_id}.pdf").data == pdf.data

    assert client.get(f"/packs/{pack_id}.txt").status_code == 404
    assert client.get("/packs/987654.md").status_code == 404


def test_changes_need_post_and_unknown_packs_are_404(client):
    pack_id = new_pack(client)
    for url in (f"/packs/{pack_id}/details", f"/packs/{pack_id}/items/1", f"/packs/{pack_id}/items/1/move",
                f"/packs/{pack_id}/items/1/remove"):
        assert client.get(url).status_code == 405, url
    assert client.get("/packs/987654").status_code == 404
    huge = "9" * 30  # past SQLite's integers
    assert client.get(f"/packs/{huge}").status_code == 404
    assert client.get(f"/packs/{huge}.md").status_code == 404
    assert client.post(f"/packs/{pack_id}/items/{huge}/remove").status_code == 404
    assert "Page not found" in client.get("/packs/987654").get_data(as_text=True)


def test_search_results_offer_add_to_pack(client, store):
    html = html_of(client, "/search?q=GP+saw+the+mother")
    assert re.search(r'href="/packs/add\?passage=[0-9a-f]{16}-p\d{4}-\d{2}">Add to a learning pack</a>', html)
    without = create_app(store, {"TESTING": True, "PACKS_ENABLED": False}).test_client()
    assert "Add to a learning pack" not in without.get("/search?q=GP+saw+the+mother").get_data(as_text=True)
