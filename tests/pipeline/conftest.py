"""Fixtures of the pipeline tests that switch between local backends."""

from __future__ import annotations

from pathlib import Path

import pytest

from resources.embedders import LocalEmbedder


@pytest.fixture(scope="session")
def exports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ONNX exports, made once for the session."""
    folder = tmp_path_factory.mktemp("models")
    LocalEmbedder(backend="onnx-int8", export_dir=str(folder)).load()
    return folder
