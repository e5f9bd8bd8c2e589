"""Files made to exhaust a worker, each small on disk, and a way to validate one in its own
process and read its peak memory (the tests and bench/hostile_memory.py use both)."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def dictionary_bomb(path: Path) -> None:
    """30,000 rows of one 1 MB dictionary value: a file of kilobytes that decodes to 30 GB."""
    value = pa.array(["x" * (1 << 20)])
    text = pa.DictionaryArray.from_arrays(pa.array(np.zeros(30_000, dtype=np.int32)), value)
    ids = pa.array([str(i) for i in range(30_000)])
    pq.write_table(pa.table({"id": ids, "text": text}), path, compression="zstd")


def many_null_columns(path: Path) -> None:
    """10,000 rows × 5,000 columns that are all null."""
    columns = {"id": pa.array([str(i) for i in range(10_000)]), "text": pa.array(["t"] * 10_000)}
    columns.update({f"c{i}": pa.nulls(10_000, pa.string()) for i in range(5_000)})
    pq.write_table(pa.table(columns), path)


def wide_row(path: Path) -> None:
    """10,000 rows, one of them with 20,000 keys."""
    with open(path, "w") as handle:
        for i in range(10_000):
            row = {"id": str(i), "text": f"row {i}"}
            if i == 5_000:
                row.update({f"k{j}": j for j in range(20_000)})
            handle.write(json.dumps(row) + "\n")


def long_line(path: Path, size: int = 64 << 20) -> None:
    """One JSON line of `size` bytes."""
    with open(path, "w") as handle:
        handle.write('{"id": "1", "text": "' + "y" * size + '"}\n')


def long_csv_field(path: Path) -> None:
    """A CSV whose second row holds an 8 MB field."""
    path.write_text("id,text\n1,short\n2," + "z" * (8 << 20) + "\n3,short again\n")


def gzip_bomb(path: Path) -> None:
    """1 GB of one repeated line, gzip-compressed to about 1 MB."""
    line = b'{"id": "1", "text": "' + b"a" * 1000 + b'"}\n'
    with gzip.open(path, "wb", compresslevel=9) as handle:
        for _ in range(1_000):
            handle.write(line * 1_000)


HOSTILE: dict[str, Callable[[Path], None]] = {
    "dictionary-bomb.parquet": dictionary_bomb,
    "null-columns.parquet": many_null_columns,
    "wide-row.jsonl": wide_row,
    "long-line.jsonl": long_line,
    "long-field.csv": long_csv_field,
    "bomb.jsonl.gz": gzip_bomb,
}

# The child may not grow past this address space: a reader that lost its bounds fails at once
# (MemoryError) instead of taking the machine's memory.
ADDRESS_SPACE_LIMIT = 6 << 30

_VALIDATE = """
import json, resource, sys, time
resource.setrlimit(resource.RLIMIT_AS, (int(sys.argv[5]), int(sys.argv[5])))
from pathlib import Path
from vectordb_assets.validation.validate import validate_file
from vectordb_assets.validation.readers import UnreadableFileError
from vectordb_assets.validation.limits import ReadLimits
from vectordb_assets.validation.readers import ReadOptions
from vectordb_assets.validation.report import ValidationOptions
path, key, out = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
options = ValidationOptions(read=ReadOptions(limits=ReadLimits(**json.loads(sys.argv[4]))))
started = time.perf_counter()
try:
    report = validate_file(path, key, "e", out, options=options)
    outcome = {"outcome": "validated", "rows_kept": report.rows_kept, "rejected": dict(report.rejected)}
except UnreadableFileError as error:
    outcome = {"outcome": "refused", "error": str(error)}
outcome["seconds"] = time.perf_counter() - started
outcome["peak_mib"] = int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1]) / 1024
print(json.dumps(outcome))
"""


def validate_alone(path: Path, out: Path, limits: dict | None = None) -> dict:
    """Validate `path` in a new process (with `limits` for ReadLimits); its outcome, seconds and
    peak RSS in MiB (VmHWM: a process's own, whatever its parent used)."""
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            _VALIDATE,
            str(path),
            path.name,
            str(out),
            json.dumps(limits or {}),
            str(ADDRESS_SPACE_LIMIT),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def baseline_mib() -> float:
    """Peak RSS of a process that only imports the validation code."""
    code = (
        "import vectordb_assets.validation.validate; "
        "print(int(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1]) / 1024)"
    )
    return float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
