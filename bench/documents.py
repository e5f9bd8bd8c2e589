"""A folder of PDFs against one CSV holding the same texts: one run of the ingest job each, the
local model, every state on the embedded PostgreSQL. Each page's text is one chunk, so both cases
embed and index the same texts; the difference is reading PDFs. Prints pages/s and chunks/s of the
PDFs beside rows/s of the table, for the whole run and for validation alone.

Each case runs in its own home (its own databases), so none reuses another's embeddings.

Run: .venv/bin/python bench/documents.py [--files 50] [--pages 20]   (needs the dev extra: fpdf2)
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

warnings.simplefilter("ignore")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pyarrow as pa  # noqa: E402
import pyarrow.csv as pa_csv  # noqa: E402

WORDS = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma".split()


def page_text(n: int) -> str:
    """About 600 characters that depend only on the page's number."""
    return f"Page {n}. " + " ".join(WORDS[(n * k) % len(WORDS)] for k in range(1, 90))


def write_case(root: Path, kind: str, files: int, pages: int) -> list[str]:
    from tests.document_files import pdf_bytes

    root.mkdir(parents=True, exist_ok=True)
    if kind == "csv":
        numbers = range(files * pages)
        path = root / "table.csv"
        pa_csv.write_csv(pa.table({"id": [f"row-{n}" for n in numbers], "text": [page_text(n) for n in numbers]}), path)
        return ["table.csv"]
    folder = root / "manuals"
    folder.mkdir(parents=True)
    for f in range(files):
        (folder / f"manual-{f:04d}.pdf").write_bytes(pdf_bytes([page_text(f * pages + p) for p in range(pages)]))
    return ["manuals/"]


def worker(kind: str, files: int, pages: int) -> None:
    """One case in a fresh home (a child process, so each case loads its model like a real run)."""
    from ingest_run import timed_ingest

    from resources.state_db import embedded_server_uri
    from vectordb_assets.settings import Settings

    with tempfile.TemporaryDirectory(prefix="vectordb-bench-") as folder:
        os.environ["VECTORDB_HOME"] = folder
        os.environ["DATABASE_URL"] = embedded_server_uri(Path(folder) / "pgdata")
        os.environ["VECTORDB_PARTITION_DEPTH"] = "1"
        settings = Settings.from_env()
        keys = write_case(Path(settings.source.root), kind, files, pages)
        seconds, steps = timed_ingest(settings, keys, files * pages, kind)
        print(f"{seconds}\t{steps['validated_parquet']}")


def measure(kind: str, files: int, pages: int) -> tuple[float, float]:
    output = subprocess.run(
        [sys.executable, __file__, "--worker", kind, str(files), str(pages)],
        capture_output=True,
        text=True,
        check=False,
    )
    if output.returncode != 0:
        sys.exit(output.stdout[-2000:] + output.stderr[-3000:])
    run, validate = output.stdout.strip().splitlines()[-1].split("\t")
    return float(run), float(validate)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=50)
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        kind, files, pages = args.worker
        worker(kind, int(files), int(pages))
        return
    units = args.files * args.pages
    pdf_run, pdf_validate = measure("pdf", args.files, args.pages)
    csv_run, csv_validate = measure("csv", args.files, args.pages)
    print(
        f"machine: {os.cpu_count()} cores; {args.files} PDFs of {args.pages} pages (a chunk each) vs one CSV of {units} rows"
    )
    print("| case | run (s) | pages/s | chunks/s | rows/s | validate (s) | validated units/s | run vs CSV |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    print(
        f"| {args.files} PDFs | {pdf_run:.1f} | {units / pdf_run:.0f} | {units / pdf_run:.0f} | | {pdf_validate:.1f}"
        f" | {units / pdf_validate:.0f} | {pdf_run / csv_run:.2f} |"
    )
    print(
        f"| one CSV | {csv_run:.1f} | | | {units / csv_run:.0f} | {csv_validate:.1f} | {units / csv_validate:.0f} | 1.00 |"
    )


if __name__ == "__main__":
    main()
