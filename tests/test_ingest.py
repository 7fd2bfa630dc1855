"""`scrkb ingest`: idempotent, whole documents or nothing, bad files reported and never fatal."""

import json
import shutil
import sqlite3

from conftest import run_cli, url_env
from pdfs import (
    Heading,
    Para,
    ReportSpec,
    build_report,
    encrypted_pdf,
    truncated_pdf,
    zero_page_pdf,
)

from ingest import ingest_paths


def summary(result):
    return json.loads(result.stdout)


def test_ingest_summary_stats_and_round_trip_in_new_processes(tmp_path, child_s_pdf, chroma_url):
    home = tmp_path / "kb"
    env = url_env(chroma_url)
    first = summary(run_cli("ingest", str(child_s_pdf), "--json", home=home, env=env))
    assert first["ingested"] == 1 and first["failed"] == []
    assert first["documents"] == 1 and first["pages"] == 2 and first["passages"] >= 5

    # A new process sees every passage in both the catalogue and the vector index
    # (chroma-core/chroma#6975: vectors lost on a clean exit below 1,000 writes).
    stats = summary(run_cli("stats", "--json", home=home, env=env))
    assert stats["passages"] == first["passages"] and stats["entities"] > 0
    check = summary(run_cli("check", "--json", home=home, env=env))
    assert check["consistent"] and check["vectors"] == first["passages"]
    assert check["index"] == (chroma_url or str(home / "chroma"))
    assert (home / "chroma").exists() == (chroma_url is None)  # a server-mode store keeps no vectors of its own
    for mode in ("semantic", "keyword", "hybrid"):
        hits = summary(run_cli("search", "GP saw the mother five times", "-k", "3", "--mode", mode, "--json",
                               home=home, env=env))
        top = hits[0]
        assert "never linked the visits" in top["text"], mode
        assert top["page"] == 1 and top["title"] == "Serious Case Review: Child S"
        assert top["source_path"] == str(child_s_pdf.resolve())
        assert {"passage_id", "doc_id", "score"} <= set(top)


def test_reingest_is_skipped_without_parsing(tmp_path, child_s_pdf):
    home = tmp_path / "kb"
    run_cli("ingest", str(child_s_pdf), home=home)
    again = summary(run_cli("ingest", str(child_s_pdf), "--json", home=home))
    assert again["unchanged"] == 1 and again["ingested"] == 0
    assert again["pages_processed"] == 0


def test_changed_file_replaces_its_passages_and_vectors(make_kb, tmp_path, child_s_pdf, chroma_url):
    kb = make_kb(chroma_url=chroma_url)
    path = tmp_path / "review.pdf"
    shutil.copy(child_s_pdf, path)
    ingest_paths(kb, [path])
    old_ids = set(kb.catalogue.all_passage_ids())
    build_report(path, ReportSpec(title="Serious Case Review: Child T", body=[
        Heading("1. Findings"), Para(["1.1 The school nurse raised concerns about Child T's weight."]),
    ]))
    report = ingest_paths(kb, [path])
    assert report.replaced == 1 and report.documents == 1
    new_ids = kb.catalogue.all_passage_ids()
    assert not (old_ids & new_ids)
    assert kb.vectors.ids() == new_ids
    assert kb.search("school nurse weight", k=1).hits[0].text.startswith("1.1 The school nurse")


def test_same_content_under_a_second_name_is_stored_once(make_kb, tmp_path, child_s_pdf):
    kb = make_kb()
    copy = tmp_path / "copy-of-review.pdf"
    shutil.copy(child_s_pdf, copy)
    report = ingest_paths(kb, [child_s_pdf, copy])
    assert report.ingested == 1 and report.unchanged == 1 and report.documents == 1
    [doc] = kb.documents()
    assert kb.catalogue.paths_of(doc.doc_id) == sorted([str(child_s_pdf.resolve()), str(copy.resolve())])


def test_bad_files_are_reported_and_good_ones_ingested(tmp_path, child_s_pdf):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(child_s_pdf, folder / "good.pdf")
    (folder / "empty.pdf").write_bytes(b"")
    (folder / "notes.pdf").write_text("Minutes of the strategy meeting, not a PDF at all.\n")
    encrypted_pdf(folder / "locked.pdf")
    truncated_pdf(child_s_pdf, folder / "cut.pdf")
    zero_page_pdf(folder / "zero.pdf")
    (folder / "readme.txt").write_text("ignored: not named .pdf and no PDF header")

    result = run_cli("ingest", str(folder), "--json", home=tmp_path / "kb", check=False)
    assert result.returncode == 3
    data = summary(result)
    reasons = {f["path"].rsplit("/", 1)[1]: f["reason"] for f in data["failed"]}
    assert reasons == {
        "empty.pdf": "not a PDF",
        "notes.pdf": "not a PDF",
        "locked.pdf": "encrypted",
        "cut.pdf": "malformed",
        "zero.pdf": "no pages",
    }
    assert all(f["error"] for f in data["failed"])
    assert data["ingested"] == 1 and data["documents"] == 1
    failures = summary(run_cli("failures", "--json", home=tmp_path / "kb"))
    assert len(failures) == 5
    assert summary(run_cli("check", "--json", home=tmp_path / "kb"))["consistent"]


def test_a_pdf_with_an_empty_user_password_ingests(make_kb, tmp_path):
    kb = make_kb()
    report = ingest_paths(kb, [encrypted_pdf(tmp_path / "open.pdf", user_password="")])
    assert report.ingested == 1 and not report.failed
    assert "health visitor" in kb.passages(kb.documents()[0].doc_id)[0].text


def test_a_failed_file_is_retried_once_it_changes(make_kb, tmp_path, child_s_pdf):
    kb = make_kb()
    path = tmp_path / "report.pdf"
    path.write_bytes(b"")
    assert ingest_paths(kb, [path]).failed[0].reason.value == "not a PDF"
    shutil.copy(child_s_pdf, path)
    report = ingest_paths(kb, [path])
    assert report.ingested == 1 and not report.failed
    assert kb.failures() == []


def test_show_prints_metadata_and_passages(tmp_path, child_s_pdf):
    home = tmp_path / "kb"
    run_cli("ingest", str(child_s_pdf), home=home)
    doc_id = json.loads(run_cli("search", "Mr B", "--json", home=home).stdout)[0]["doc_id"]
    shown = summary(run_cli("show", doc_id, "--json", home=home))
    assert shown["meta"]["title"] == "Serious Case Review: Child S"
    assert shown["page_count"] == 2
    assert [p["seq"] for p in shown["passages"]] == list(range(len(shown["passages"])))
    missing = run_cli("show", "nope", home=home, check=False)
    assert missing.returncode == 1 and "No document with id 'nope'" in missing.stderr


def test_a_store_keeps_the_embedding_precision_that_built_it(tmp_path, child_s_pdf):
    home = tmp_path / "kb"
    run_cli("ingest", str(child_s_pdf), home=home, env={"SCRKB_EMBEDDING_BACKEND": "onnx"})
    int8 = {"SCRKB_EMBEDDING_BACKEND": "onnx-int8"}
    same = summary(run_cli("check", "--json", home=home, env=int8))
    assert same["stored_embedding_backends"] == ["onnx"] and same["embedding_backend"] == "onnx"
    assert not same["backend_mismatch"]
    searches = [json.loads(run_cli("search", "health visitor bruise", "--mode", "semantic", "--json", home=home,
                                   env={"SCRKB_EMBEDDING_BACKEND": backend}).stdout) for backend in ("onnx", "onnx-int8")]
    assert searches[0] and searches[0] == searches[1]  # the same vectors, whatever the setting

    other = run_cli("check", home=home, env={"SCRKB_EMBEDDING_BACKEND": "torch"})  # still exits 0
    assert "embedded with onnx, queries now with torch" in other.stdout and "search is unchanged" in other.stdout
    with sqlite3.connect(home / "catalogue.sqlite3") as db:  # a store extended before it kept its precision
        db.execute("UPDATE meta SET value = ? WHERE key = 'embedding_backends'", (json.dumps(["onnx", "onnx-int8"]),))
    db.close()
    mixed = run_cli("check", home=home, env=int8)
    assert "embedded with onnx, onnx-int8, queries now with onnx-int8" in mixed.stdout and "scores shift" in mixed.stdout
    # A store from before backends were recorded was embedded with torch: full precision, queried with onnx.
    with sqlite3.connect(home / "catalogue.sqlite3") as db:
        db.execute("DELETE FROM meta WHERE key = 'embedding_backends'")
    db.close()
    old = summary(run_cli("check", "--json", home=home, env=int8))
    assert old["consistent"] and old["stored_embedding_backends"] == ["torch"]
    assert old["embedding_backend"] == "onnx" and old["backend_mismatch"]


def test_a_catalogue_row_that_cannot_be_read_stops_the_ingest_with_its_line(tmp_path, child_s_pdf):
    # An unquoted comma in a title shifts every later cell of its row: nation would read as a review type.
    catalogue = tmp_path / "mine.csv"
    catalogue.write_text("id,case,title,review_type,nation\n"
                         "child-s,Child S,Serious Case Review: Child S,serious case review,England\n"
                         "child-t,Child T,Child T, a review,serious case review,Wales\n", encoding="utf-8")
    env = {"SCRKB_CATALOGUE": str(catalogue)}
    result = run_cli("ingest", str(child_s_pdf), home=tmp_path / "kb", env=env, check=False)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"{catalogue}, line 3: 6 cells where the header names 5" in result.stderr
    assert summary(run_cli("stats", "--json", home=tmp_path / "kb"))["documents"] == 0

    served = run_cli("serve", "--port", "0", home=tmp_path / "kb", env=env, check=False)
    assert served.returncode == 1 and f"{catalogue}, line 3" in served.stderr

    for text, reason in (
        ("id,case,year_published\na,A,2009\na,A again,2010\n", "line 3: the id 'a' is already used"),
        ("id,case,year_published\na,A,circa 2009\n", "line 2: year_published is 'circa 2009', not a year"),
        ("id,case\n,A\n", "line 2: the row has no id"),
        ("case,title\nA,B\n", "the first line must name the columns, with an 'id' column"),
    ):
        catalogue.write_text(text, encoding="utf-8")
        result = run_cli("ingest", str(child_s_pdf), home=tmp_path / "kb", env=env, check=False)
        assert result.returncode == 1 and reason in result.stderr, result.stderr
    catalogue.write_bytes("id,case\nb,Caf\xe9\n".encode("latin-1"))
    result = run_cli("ingest", str(child_s_pdf), home=tmp_path / "kb", env=env, check=False)
    assert result.returncode == 1 and f"{catalogue}: not UTF-8 text" in result.stderr
