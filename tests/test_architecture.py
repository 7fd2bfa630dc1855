"""The shape of the house: dependencies point one way, no cycles, small modules, one home per library."""

import ast
import sys

from kb.settings import CHECKOUT

sys.path.insert(0, str(CHECKOUT / "scripts"))
from import_graph import cycles, figures, graph, modules  # noqa: E402

# Where each third-party library may be imported (docs/architecture.md says why).
LIBRARY_HOMES = {
    "sqlite3": ("kb.store",),
    "chromadb": ("kb.store.vectors",),
    "tantivy": ("kb.store.keyword_index",),
    "pypdfium2": ("kb.pdf",),
    "pdfplumber": ("kb.pdf",),
    "pytesseract": ("kb.pdf.ocr",),
    "spacy": ("kb.nlp.spacy_pipeline",),
    "sentence_transformers": ("kb.nlp.embedding",),
    "onnxruntime": ("kb.nlp.embedding", "kb.nlp.onnx_export"),
    "flask": ("webapp",),
}


def test_there_are_no_import_cycles():
    assert cycles(graph()) == []


def test_kb_imports_neither_the_web_app_nor_the_ingest_pipeline_outside_the_command_line():
    for module, imported in graph().items():
        if module.startswith("kb") and not module.startswith("kb.cli"):
            assert not {m for m in imported if m.startswith(("webapp", "ingest"))}, module


def test_the_ingest_pipeline_does_not_import_the_web_app():
    for module, imported in graph().items():
        if module.startswith("ingest"):
            assert not {m for m in imported if m.startswith("webapp")}, module


def test_modules_stay_small_and_kb_top_level_stays_short():
    shape = figures()
    assert shape["modules_over_500_lines"] == []
    assert shape["kb_top_level_modules"] <= 12, shape["kb_top_level"]


def test_each_library_is_imported_only_in_its_home():
    for module, path in modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            else:
                continue
            for name in names:
                homes = LIBRARY_HOMES.get(name.split(".")[0])
                if homes:
                    assert module.startswith(homes), f"{module} imports {name}, which belongs in {homes}"
