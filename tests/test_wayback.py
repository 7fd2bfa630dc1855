"""Reading the Internet Archive's CDX answers, in the shape its API documents."""

import json
from urllib.parse import parse_qs, urlsplit

import pytest

from kb.sources.wayback import Capture, cdx_url, parse_captures, replay_url, replayed_at

URL = "https://lscb.example.org/downloads/child-x.pdf?v=2"


def test_the_query_asks_for_exactly_this_address_and_the_newest_successful_captures():
    query = parse_qs(urlsplit(cdx_url("https://web.archive.org/", URL)).query)
    assert urlsplit(cdx_url("https://web.archive.org/", URL)).path == "/cdx/search/cdx"
    assert query["url"] == [URL] and query["output"] == ["json"] and query["filter"] == ["statuscode:200"]
    assert query["fl"] == ["timestamp,original,mimetype,statuscode,digest"] and query["limit"] == ["-50"]


def test_captures_come_newest_first_with_their_dates():
    answer = [
        ["timestamp", "original", "mimetype", "statuscode", "digest"],
        ["20160312101500", "http://lscb.example.org:80/downloads/child-x.pdf?v=2", "application/pdf", "200", "Q4YU"],
        ["20190101000000", URL, "text/html", "200", "XAHD"],
        [],
        ["org%2Cexample%29%2F+20190101000000%21"],  # the resume key, when asked for
    ]
    captures = parse_captures(json.dumps(answer).encode())
    assert [(c.timestamp, c.mimetype) for c in captures] == [("20190101000000", "text/html"), ("20160312101500", "application/pdf")]
    assert captures[1].captured_at == "2016-03-12T10:15:00Z"
    assert replay_url("https://web.archive.org", captures[1]) == (
        "https://web.archive.org/web/20160312101500id_/http://lscb.example.org:80/downloads/child-x.pdf?v=2"
    )


def test_an_empty_answer_is_no_captures_and_a_strange_one_is_an_error():
    assert parse_captures(b"") == [] and parse_captures(b"[]") == []
    with pytest.raises(ValueError):
        parse_captures(b'{"error": "busy"}')
    with pytest.raises(ValueError):
        parse_captures(b'[["urlkey", "length"], ["x", "1"]]')


def test_the_capture_date_follows_a_redirect_to_a_neighbouring_capture():
    capture = Capture("20160312101500", URL, "application/pdf")
    assert replayed_at(f"https://web.archive.org/web/20160314000000id_/{URL}", capture) == "2016-03-14T00:00:00Z"
    assert replayed_at("https://mirror.example/elsewhere.pdf", capture) == "2016-03-12T10:15:00Z"
