"""Validate a ~100 MB and a ~1 GB CSV: rows per second and peak memory of each.

Each file is validated in its own process, so each peak RSS is that file's alone.
Run: .venv/bin/python bench/validate_csv_memory.py [--sizes-mb 100 1000]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHUNK_ROWS = 100_000


def write_csv(path: Path, target_bytes: int) -> int:
    """A CSV of about `target_bytes`: id, text, category, created. Returns the row count."""
    rows = 0
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("id,text,category,created\n")
        while handle.tell() < target_bytes:
            handle.write(
                "".join(
                    f'{i},"Row {i}: a sentence about item {i % 977} in topic {i % 31}, with detail {i * 7919 % 100003}",'
                    f"c{i % 13},2026-11-{1 + i % 28:02d}\n"
                    for i in range(rows, rows + CHUNK_ROWS)
                )
            )
            rows += CHUNK_ROWS
    return rows


def child(path: str) -> None:
    from vectordb_assets.validation.validate import validate_file

    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        report = validate_file(Path(path), Path(path).name, "bench", Path(folder, "out.parquet"))
    seconds = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"rows": report.rows_kept, "seconds": seconds, "peak_mib": peak_kib / 1024}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes-mb", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--child")
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    results = []
    with tempfile.TemporaryDirectory(prefix="vectordb-bench-") as folder:
        for size in args.sizes_mb:
            path = Path(folder, f"rows-{size}mb.csv")
            write_csv(path, size << 20)
            out = subprocess.run(
                [sys.executable, __file__, "--child", str(path)], check=True, capture_output=True, text=True
            )
            results.append((size, path.stat().st_size, json.loads(out.stdout.strip().splitlines()[-1])))
            path.unlink()
    print("| file | size (MB) | rows | seconds | rows/s | peak RSS (MiB) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for size, actual, r in results:
        print(
            f"| ~{size} MB CSV | {actual / 1e6:.0f} | {r['rows']} | {r['seconds']:.1f} | {r['rows'] / r['seconds']:,.0f} | {r['peak_mib']:.0f} |"
        )
    if len(results) > 1:
        print(f"peak RSS ratio (largest / smallest): {results[-1][2]['peak_mib'] / results[0][2]['peak_mib']:.2f}")


if __name__ == "__main__":
    main()
