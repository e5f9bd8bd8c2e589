"""Peak memory and time of validating each hostile file, each in its own process.

The files (tests/hostile_files.py) are small on disk and made to exhaust a reader: a Parquet
dictionary bomb, 5,000 null columns, a JSONL row of 20,000 keys, a 64 MiB line, an 8 MB CSV
field, a gzip bomb. Peaks are VmHWM, beside a process that only imports the validation code.
Run: .venv/bin/python bench/hostile_memory.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.hostile_files import HOSTILE, baseline_mib, validate_alone  # noqa: E402


def main() -> None:
    base = baseline_mib()
    print(f"baseline (imports only): {base:.0f} MiB")
    print("| file | on disk | outcome | seconds | peak MiB | above baseline |")
    print("| --- | ---: | --- | ---: | ---: | ---: |")
    with tempfile.TemporaryDirectory() as folder:
        for name, make in HOSTILE.items():
            path = Path(folder, name)
            make(path)
            result = validate_alone(path, Path(folder, "out.parquet"))
            outcome = "refused" if result["outcome"] == "refused" else f"read, {result['rows_kept']} rows kept"
            print(
                f"| {name} | {path.stat().st_size / 1e6:.2f} MB | {outcome} | {result['seconds']:.2f} |"
                f" {result['peak_mib']:.0f} | {result['peak_mib'] - base:.0f} |"
            )


if __name__ == "__main__":
    main()
