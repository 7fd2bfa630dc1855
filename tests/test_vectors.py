"""The vector index through a Chroma server: the URL, the same results as embedded, repair, and a clear error when it is down."""

import json

import pytest
from conftest import new_collection, run_cli
from pdfs import distinct_reports
from servers import chroma_run, free_port

from ingest import ingest_paths
from kb import KnowledgeBase, Settings, VectorStoreUnavailable
from kb.search.filters import SearchFilters
from kb.store.vectors import ChromaServer
from webapp import create_app


def test_url_names_server_and_collection():
    plain = ChromaServer.parse("http://chroma.example:8100")
    assert (plain.host, plain.port, plain.ssl, plain.collection) == ("chroma.example", 8100, False, "passages")
    assert (plain.tenant, plain.database) == ("default_tenant", "default_database")
    named = ChromaServer.parse("https://chroma.example/?collection=team_a&database=scrkb&tenant=t1")
    assert (named.port, named.ssl, named.collection, named.database, named.tenant) == (443, True, "team_a", "scrkb", "t1")
    assert ChromaServer.parse("http://10.0.0.5/").port == 8000


@pytest.mark.parametrize("url", ["chroma:8000", "ftp://host:21", "http://host:8000/team_a", "http://host:8000/?colection=x",
                                 "http://host:port"])
def test_a_wrong_url_is_refused_with_the_setting_named(url):
    with pytest.raises(VectorStoreUnavailable, match="SCRKB_CHROMA_URL"):
        ChromaServer.parse(url)


def test_an_unreachable_server_is_one_clear_sentence_before_any_work(tmp_path, child_s_pdf):
    url = f"http://127.0.0.1:{free_port()}"
    home = tmp_path / "kb"
    env = {"SCRKB_CHROMA_URL": url}
    for args in (("ingest", str(child_s_pdf)), ("check",), ("reindex",), ("search", "neglect", "--mode", "semantic")):
        result = run_cli(*args, home=home, env=env, check=False)
        assert result.returncode == 1, args
        assert url in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert KnowledgeBase(Settings(home=home)).stats()["documents"] == 0  # nothing was parsed or stored


def test_search_results_match_the_embedded_index(ingested, ingested_on_server):
    filtered = SearchFilters(sections=("findings",))
    for query in ("mother's partner never assessed", "GP saw the mother five times", "health visitor did not share"):
        for mode in ("semantic", "hybrid"):
            for filters in (None, filtered):
                embedded = ingested.search(query, k=8, mode=mode, filters=filters).hits
                served = ingested_on_server.search(query, k=8, mode=mode, filters=filters).hits
                assert [h.passage_id for h in served] == [h.passage_id for h in embedded], (query, mode, filters)
                assert [h.score for h in served] == pytest.approx([h.score for h in embedded], abs=1e-5)
    assert ingested_on_server.check()["consistent"]


def test_reindex_moves_an_embedded_store_onto_a_server(make_kb, tmp_path, chroma_server):
    kb = make_kb()
    ingest_paths(kb, distinct_reports(tmp_path / "reports", 2))
    url = new_collection(chroma_server)
    moved = KnowledgeBase(Settings(home=kb.settings.home, catalogue=kb.settings.catalogue, chroma_url=url))
    before = moved.check()
    assert not before["consistent"] and before["vectors"] == 0 and len(before["missing_vectors"]) == before["passages"]
    assert moved.reindex()["documents_reindexed"] == 2
    after = moved.check()
    assert after["consistent"] and after["vectors"] == after["passages"] and after["index"] == url


def test_stores_on_one_server_keep_to_their_own_collection_and_database(make_kb, tmp_path, chroma_server):
    [first, second] = distinct_reports(tmp_path / "reports", 2)
    a = make_kb("a", chroma_url=new_collection(chroma_server))
    b = make_kb("b", chroma_url=f"{chroma_server}/?database=scrkb_b&collection=passages")
    ingest_paths(a, [first])
    ingest_paths(b, [second])
    assert a.check()["consistent"] and b.check()["consistent"]
    assert not (a.vectors.ids() & b.vectors.ids())


def test_a_server_that_goes_away_is_a_503_page_and_a_clear_cli_error(tmp_path, child_s_pdf):
    home = tmp_path / "kb"
    with chroma_run(tmp_path / "chroma") as server:
        kb = KnowledgeBase(Settings(home=home, catalogue=tmp_path / "none.csv", chroma_url=server))
        assert ingest_paths(kb, [child_s_pdf]).ingested == 1
        client = create_app(kb, {"TESTING": True}).test_client()
        assert client.get("/search?q=neglect&mode=semantic").status_code == 200
    response = client.get("/search?q=neglect&mode=semantic")
    assert response.status_code == 503 and b"not reachable" in response.data
    api = client.get("/api/v1/search?q=neglect&mode=semantic")
    assert api.status_code == 503 and api.get_json()["error"]["status"] == 503
    result = run_cli("check", "--json", home=home, env={"SCRKB_CHROMA_URL": server}, check=False)
    assert result.returncode == 1 and server in result.stderr and "Traceback" not in result.stderr
    assert json.loads(run_cli("stats", "--json", home=home).stdout)["documents"] == 1  # the catalogue is untouched
