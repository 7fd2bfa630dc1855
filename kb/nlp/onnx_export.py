"""Export the packaged embedding model to ONNX, offline, once per machine: full precision and int8.

The files are cached in a folder named by a fingerprint of the source weights
and of the tools that made them, so new weights (or a new exporter) export
again instead of reusing a stale graph. Several processes may ask at once
(gunicorn workers, parallel tests): a file lock lets one export while the
others wait, and each file appears by an atomic rename, whole or not at all.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import tempfile
import warnings
from collections.abc import Callable
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path

from kb.hashing import file_sha256

# Bump when the export or quantisation below changes, so old caches are not reused.
EXPORT_VERSION = 1
OPSET = 17
# The files that decide the graph's weights and shape.
SOURCE_FILES = ("model.safetensors", "config.json")
INPUTS = ["input_ids", "attention_mask", "token_type_ids"]
FILES = {"onnx": "model.onnx", "onnx-int8": "model-int8.onnx"}


class ExportError(RuntimeError):
    """The ONNX model could not be made; the message says why."""


def cached_model(variant: str, cache_dir: Path, source_dir: Path, load_torch: Callable) -> Path:
    """The ONNX file for `variant` ("onnx" or "onnx-int8"), exported from `source_dir` if not cached yet.

    `load_torch` returns the packaged transformer as a torch module; it is
    called only when an export is needed.
    """
    folder = cache_dir / f"onnx-{fingerprint(source_dir)[:16]}"
    path = folder / FILES[variant]
    if path.exists():
        return path
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with _locked(folder / ".lock"):
            if not path.exists():  # another process may have made it while we waited
                full = folder / FILES["onnx"]
                if not full.exists():
                    _atomic(full, lambda tmp: _export(load_torch(), tmp))
                if variant == "onnx-int8":
                    _atomic(path, lambda tmp: _quantise(full, tmp))
                (folder / "source.json").write_text(json.dumps(_provenance(source_dir), indent=1, sort_keys=True))
    except ExportError:
        raise
    except ImportError as exc:
        raise ExportError(f"exporting the embedding model to ONNX needs the `onnx` package ({exc}); "
                          "install scrkb's dependencies or set SCRKB_EMBEDDING_BACKEND=torch") from exc
    except Exception as exc:  # noqa: BLE001 - any failure inside torch's exporter or the quantiser
        raise ExportError(f"could not export the embedding model to ONNX at {path}: "
                          f"{type(exc).__name__}: {exc}") from exc
    return path


def fingerprint(source_dir: Path) -> str:
    """A digest of the source weights and of the tool versions that shape the exported graph."""
    digest = hashlib.sha256(json.dumps(_provenance(source_dir), sort_keys=True).encode())
    return digest.hexdigest()


def _provenance(source_dir: Path) -> dict:
    return {
        "export_version": EXPORT_VERSION,
        "opset": OPSET,
        "torch": version("torch"),
        "onnxruntime": version("onnxruntime"),
        "sources": {name: file_sha256(source_dir / name) for name in SOURCE_FILES},
    }




@contextmanager
def _locked(path: Path):
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes, even if the process dies
        yield


def _atomic(path: Path, write: Callable[[Path], None]) -> None:
    """Write through a temporary file in the same folder, then rename it into place."""
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=".onnx")
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; other accounts serving the store read it too
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _export(bert, target: Path) -> None:
    """Trace the transformer to its last hidden state, with dynamic batch and length."""
    import importlib

    import torch

    importlib.import_module("onnx")  # the exporter needs it: fail here with a plain ImportError

    class LastHidden(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.bert(input_ids=input_ids, attention_mask=attention_mask,
                             token_type_ids=token_type_ids).last_hidden_state

    ids = torch.ones((2, 16), dtype=torch.long)
    mask = torch.ones_like(ids)
    # Traced with padding: with none, the exporter bakes in "attend to every token",
    # and padded batches then drift (cosine 0.96 to torch).
    mask[1, 8:] = 0
    with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
        # The TorchScript exporter is deprecated in favour of dynamo, which needs
        # onnxscript; its warnings would fail the test suite's "warnings are errors".
        warnings.simplefilter("ignore")
        torch.onnx.export(
            LastHidden().eval(), (ids, mask, torch.zeros_like(ids)), str(target), dynamo=False,
            input_names=INPUTS, output_names=["last_hidden_state"], opset_version=OPSET,
            dynamic_axes={n: {0: "batch", 1: "tokens"} for n in [*INPUTS, "last_hidden_state"]},
        )


def _quantise(source: Path, target: Path) -> None:
    """Int8 weights per output channel, matrix products only.

    onnxruntime's defaults (per tensor, every op) cost too much accuracy:
    cosine 0.956 to torch, against 0.993 for this.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # The quantiser logs advice to pre-process the model first, which is for convolutional nets.
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8, per_channel=True,
                         op_types_to_quantize=["MatMul"])
    finally:
        logging.disable(previous)
