"""Local model backends on the same texts and machine: torch (sentence-transformers' `encode`),
ONNX Runtime, and ONNX Runtime with 8-bit weights.

Prints, for each backend: the time a fresh process takes to import and load it and embed one
text (what `vectordb search` pays for its query), rows/s over the same texts (backends alternated,
best of `--rounds`), the smallest cosine between its vectors and torch's, and recall@10 against
torch's on generated queries (the share of torch's 10 nearest texts a backend also ranks in its
10 nearest). The ONNX exports are made once, before timing, under a temporary folder.
Run: .venv/bin/python bench/local_backends.py [--texts 4000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

warnings.simplefilter("ignore")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from resources.embedders import LOCAL_BACKENDS, LocalEmbedder  # noqa: E402

# Packages whose docstrings make the real-text corpus (all installed with the project).
DOCUMENTED_PACKAGES = (
    "pandas",
    "numpy",
    "dagster",
    "pyarrow",
    "sqlalchemy",
    "botocore",
    "pydantic",
    "transformers",
    "scipy",
    "sklearn",
    "openai",
    "psycopg",
)

FIRST_QUERY = """
import sys, time
started = time.perf_counter()
from resources.embedders import LocalEmbedder
LocalEmbedder(backend=sys.argv[1], export_dir=sys.argv[2]).embed(["how do I reset my password"])
print(time.perf_counter() - started)
"""


def vocabulary() -> list[str]:
    """Whole words of the model's own vocabulary (a few thousand), for texts that differ in meaning."""
    from resources.onnx_minilm import minilm_dir

    words = (minilm_dir() / "vocab.txt").read_text().split()
    return [word for word in words[2000:12000] if word.isalpha() and len(word) > 3]


def corpus(count: int, words: list[str]) -> list[str]:
    """Texts of 5 to 150 words drawn at random (seeded) from `words`."""
    rng = np.random.default_rng(11)
    return [" ".join(rng.choice(words, size=int(rng.integers(5, 150)))) for _ in range(count)]


def queries(words: list[str]) -> list[str]:
    """100 queries of 3 to 8 words."""
    rng = np.random.default_rng(12)
    return [" ".join(rng.choice(words, size=int(rng.integers(3, 9)))) for _ in range(100)]


def documentation(count: int) -> tuple[list[str], list[str]]:
    """`count` paragraphs of the docstrings of installed packages (real English text, the same on
    every machine with the same packages), and 100 queries: the first 8 words of 100 others."""
    import ast

    import numpy as np

    site = Path(np.__file__).resolve().parents[1]
    paragraphs = set()
    for package in DOCUMENTED_PACKAGES:
        for path in sorted((site / package).rglob("*.py")):
            try:
                tree = ast.parse(path.read_text(errors="ignore"))
            except (SyntaxError, ValueError):
                continue
            for node in ast.walk(tree):
                if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                    for paragraph in (ast.get_docstring(node) or "").split("\n\n"):
                        paragraph = " ".join(paragraph.split())
                        if 40 <= len(paragraph) <= 1000 and not paragraph.startswith((">>>", "..", "-", "=")):
                            paragraphs.add(paragraph)
    texts = sorted(paragraphs)
    np.random.default_rng(13).shuffle(texts)
    if len(texts) < count + 100:
        raise SystemExit(f"the installed packages' docstrings give {len(texts)} paragraphs, fewer than {count + 100}")
    return texts[:count], [" ".join(text.split()[:8]) for text in texts[count : count + 100]]


def recall_at_10(reference: tuple[np.ndarray, np.ndarray], candidate: tuple[np.ndarray, np.ndarray]) -> float:
    """Share of the reference's 10 nearest corpus texts per query that the candidate also finds."""
    found = []
    for docs, asked in (reference, candidate):
        found.append(np.argsort(-(asked @ docs.T), axis=1)[:, :10])
    return float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(*found)]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--texts", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    words = vocabulary()
    texts, asked = corpus(args.texts, words), queries(words)
    with tempfile.TemporaryDirectory(prefix="vectordb-bench-") as export_dir:
        embedders = {backend: LocalEmbedder(backend=backend, export_dir=export_dir) for backend in LOCAL_BACKENDS}
        exporting = {}
        for backend, embedder in embedders.items():
            started = time.perf_counter()
            embedder.load()
            exporting[backend] = time.perf_counter() - started
        first_query = {
            backend: float(
                subprocess.run(
                    [sys.executable, "-c", FIRST_QUERY, backend, export_dir],
                    capture_output=True,
                    text=True,
                    check=True,
                    cwd=Path(__file__).resolve().parents[1],
                )
                .stdout.strip()
                .splitlines()[-1]
            )
            for backend in embedders
        }
        seconds: dict[str, list[float]] = {backend: [] for backend in embedders}
        vectors = {}
        for _ in range(args.rounds):
            for backend, embedder in embedders.items():
                started = time.perf_counter()
                vectors[backend] = embedder.embed(texts)
                seconds[backend].append(time.perf_counter() - started)
        searched = {backend: (vectors[backend], embedder.embed(asked)) for backend, embedder in embedders.items()}
    torch_rate = args.texts / min(seconds["torch"])
    print(
        f"{args.texts} texts of 5 to 150 words, {len(asked)} queries of 3 to 8 words; best of {args.rounds} alternated rounds"
    )
    print(
        "| backend | model id | first load, with the export (s) | fresh process to first vector (s) | rows/s | vs torch | "
        "smallest cosine to torch | recall@10 vs torch |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for backend, embedder in embedders.items():
        rate = args.texts / min(seconds[backend])
        cosine = float(np.min(np.sum(vectors[backend] * vectors["torch"], axis=1)))
        print(
            f"| {backend} | {embedder.model_id} | {exporting[backend]:.1f} | {first_query[backend]:.1f} | {rate:,.0f} | "
            f"{rate / torch_rate:.2f} | {cosine:.6f} | {recall_at_10(searched['torch'], searched[backend]):.3f} |"
        )


if __name__ == "__main__":
    main()
