"""The ONNX export: made once from the packaged weights, reused, and safe when processes race to make it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import onnxruntime
import pytest

from kb.hashing import file_sha256
from kb.nlp.onnx_export import ExportError, cached_model

CHECKOUT = Path(__file__).resolve().parent.parent
# Asks for the int8 model; says EXPORTING if it had to load the torch model to make it.
CHILD = """
import sys
from pathlib import Path
from kb.nlp.embedding import _load_model, model_dir
from kb.nlp.onnx_export import cached_model

def load():
    print("EXPORTING", flush=True)
    return _load_model()[0].auto_model

print(cached_model("onnx-int8", Path(sys.argv[1]), model_dir(), load))
"""


def _child(cache: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", CHILD, str(cache)], cwd=CHECKOUT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_racing_processes_make_one_model_and_the_next_reuses_it(tmp_path):
    racers = [_child(tmp_path), _child(tmp_path)]
    outputs = [p.communicate(timeout=600) for p in racers]
    assert [p.returncode for p in racers] == [0, 0], [err for _, err in outputs]
    paths = {out.splitlines()[-1] for out, _ in outputs}
    assert len(paths) == 1
    model = Path(paths.pop())
    assert sum("EXPORTING" in out for out, _ in outputs) == 1  # the other waited, then found it
    assert sorted(p.name for p in model.parent.glob("*.onnx")) == ["model-int8.onnx", "model.onnx"]
    assert not list(model.parent.glob(".*.onnx"))  # no temporary file left behind
    onnxruntime.InferenceSession(str(model), providers=["CPUExecutionProvider"])

    before = (model.stat().st_ino, model.stat().st_mtime_ns, file_sha256(model))
    again = _child(tmp_path)
    out, err = again.communicate(timeout=600)
    assert again.returncode == 0, err
    assert "EXPORTING" not in out and Path(out.splitlines()[-1]) == model
    assert (model.stat().st_ino, model.stat().st_mtime_ns, file_sha256(model)) == before


def test_changed_weights_export_again_and_a_failed_export_says_why(tmp_path):
    source = tmp_path / "weights"
    source.mkdir()
    (source / "config.json").write_text("{}")
    (source / "model.safetensors").write_bytes(b"not a model")

    def load():  # as the packaged model is loaded, but from these broken files
        from transformers import AutoModel

        return AutoModel.from_pretrained(str(source), local_files_only=True)

    with pytest.raises(ExportError, match="could not export the embedding model to ONNX") as failure:
        cached_model("onnx", tmp_path / "cache", source, load)
    print(failure.value)
    first = {p.name for p in (tmp_path / "cache").iterdir()}
    (source / "model.safetensors").write_bytes(b"other weights")
    with pytest.raises(ExportError):
        cached_model("onnx", tmp_path / "cache", source, load)
    second = {p.name for p in (tmp_path / "cache").iterdir()}
    assert len(first) == 1 and len(second) == 2  # new weights, new fingerprint, new folder
    assert not list((tmp_path / "cache").glob("*/*.onnx"))  # nothing half-written left to be reused
