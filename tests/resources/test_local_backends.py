"""The local model on OpenVINO and ONNX Runtime against the same model on torch (sentence-transformers)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from resources.embedders import MINILM_MODEL_ID, LocalEmbedder, load_minilm
from resources.onnx_minilm import OnnxMiniLM, exported
from vectordb_assets.embedding.cache import EmbeddingCache
from vectordb_assets.embedding.stage import embed_file
from vectordb_assets.validation.validate import validate_file

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("models_dir")]  # loads torch and every backend

TEXTS = [
    "hello world",
    "How do I reset my password?",
    "Ticket 12: the customer asks about invoices and refunds after step 12.",
    "Crème brûlée, naïve café — ünïcödé and 漢字 and emoji 😀 side by side.",
    "a",
    " ".join(f"word{i}" for i in range(400)),  # longer than the model's 256 word pieces: truncated alike
    *(f"Support note {i}: " + "the export failed again " * (i % 9 + 1) for i in range(40)),
]


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module")
def torch_embedder() -> LocalEmbedder:
    return LocalEmbedder(backend="torch")


@pytest.mark.parametrize("backend", ["openvino", "onnx"])
def test_backend_gives_torchs_vectors_and_keeps_the_model_id(
    backend: str, export_dir: Path, torch_embedder: LocalEmbedder
) -> None:
    other = LocalEmbedder(backend=backend, export_dir=str(export_dir))
    cosines = np.sum(other.embed(TEXTS) * torch_embedder.embed(TEXTS), axis=1)
    assert cosines.min() >= 0.9999
    assert other.model_id == torch_embedder.model_id == MINILM_MODEL_ID
    # The model's own pipeline ends in a Normalize module: torch normalises even when not asked to.
    unnormalized = LocalEmbedder(backend=backend, export_dir=str(export_dir), normalize=False).embed(TEXTS[:3])
    reference = LocalEmbedder(backend="torch", normalize=False).embed(TEXTS[:3])
    np.testing.assert_allclose(np.linalg.norm(unnormalized, axis=1), np.linalg.norm(reference, axis=1), atol=1e-4)
    assert np.sum(unnormalized * reference, axis=1).min() >= 0.9999


def test_openvino_compiles_again_over_a_damaged_compiled_model(export_dir: Path, torch_embedder: LocalEmbedder) -> None:
    LocalEmbedder(backend="openvino", export_dir=str(export_dir)).load()
    (blob,) = (export_dir / "openvino-cache").glob("*.blob")
    blob.chmod(0o600)
    blob.write_bytes(blob.read_bytes()[:100_000])  # as a process killed while writing it would leave it
    model = OnnxMiniLM(exported(export_dir, quantized=False), "openvino")
    assert np.sum(model.encode(TEXTS, 64, True) * torch_embedder.embed(TEXTS), axis=1).min() >= 0.9999
    assert blob.stat().st_size > 100_000  # written again whole


@pytest.mark.parametrize("backend", ["openvino-int8", "onnx-int8"])
def test_8_bit_weights_are_another_model_with_close_vectors(
    backend: str, export_dir: Path, torch_embedder: LocalEmbedder
) -> None:
    quantized = LocalEmbedder(backend=backend, export_dir=str(export_dir))
    assert quantized.model_id == f"{MINILM_MODEL_ID}@{backend}"
    cosines = np.sum(quantized.embed(TEXTS) * torch_embedder.embed(TEXTS), axis=1)
    assert cosines.min() >= 0.95 and cosines.min() < 0.9999  # close, but not the same vectors


def test_switching_backends_reuses_or_re_embeds_through_the_cache(
    export_dir: Path, torch_embedder, state_db, tmp_path: Path
) -> None:
    raw = tmp_path / "a.csv"
    raw.write_text("id,text\n" + "".join(f'{i},"{text}"\n' for i, text in enumerate(TEXTS[:5])))
    validate_file(raw, "a.csv", "e", tmp_path / "v.parquet")

    def embedded(backend_embedder: LocalEmbedder):
        cache = EmbeddingCache(state_db, backend_embedder.model_id)
        return embed_file(tmp_path / "v.parquet", tmp_path / "out.parquet", "a.csv", backend_embedder, cache)

    assert embedded(torch_embedder).texts_embedded == 5
    for backend in ("openvino", "onnx"):
        same = embedded(LocalEmbedder(backend=backend, export_dir=str(export_dir)))
        assert (same.cache_hits, same.texts_embedded) == (5, 0)  # the same vectors: nothing embedded again
    for backend in ("openvino-int8", "onnx-int8"):
        other = embedded(LocalEmbedder(backend=backend, export_dir=str(export_dir)))
        assert (other.cache_hits, other.texts_embedded) == (0, 5)  # another model: every text again


def test_word_pieces_are_counted_as_the_model_counts_them() -> None:
    model_tokenizer = load_minilm(None).tokenizer
    counted = LocalEmbedder(backend="onnx").count_tokens(TEXTS)
    assert counted == [len(ids) for ids in model_tokenizer(TEXTS, add_special_tokens=False)["input_ids"]]
    for text in TEXTS[:6]:
        expected = model_tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
        assert LocalEmbedder().token_spans(text) == [tuple(span) for span in expected]
    assert LocalEmbedder(backend="onnx").max_input_tokens == load_minilm(None).max_seq_length - 2


@pytest.mark.parametrize("backend", ["openvino", "onnx"])
def test_an_exported_model_loads_without_torch(backend: str, export_dir: Path) -> None:
    LocalEmbedder(backend=backend, export_dir=str(export_dir)).load()  # exported (once) here
    exports = sorted(path.name for path in export_dir.iterdir())
    script = (
        "import sys\n"
        "from resources.embedders import LocalEmbedder\n"
        f"vector = LocalEmbedder(backend={backend!r}, export_dir={str(export_dir)!r}).embed(['hello'])\n"
        "assert vector.shape == (1, 384), vector.shape\n"
        "print(sorted(name for name in ('torch', 'sentence_transformers') if name in sys.modules))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert loaded.stdout.strip().splitlines()[-1] == "[]"
    assert sorted(path.name for path in export_dir.iterdir()) == exports  # the export was reused
