"""Job outputs uploaded when complete: each subfolder of a local outputs folder (one per job run,
named `<timestamp>_<job id>/` by convention) is uploaded once it is complete — it holds a
`_SUCCESS` marker, or nothing in it has changed for a while — into `<destination>/<folder>/`.

A folder's version is a digest of its files' paths, sizes and modification times; it is the run
key, so Dagster requests one upload per version: a folder that changes after its upload is
uploaded again, and the upload sends only the files whose checksum changed.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

import dagster as dg

from vectordb_assets.transfer.uploads import select_files

SUCCESS_MARKER = "_SUCCESS"


def folder_version(files: list[Path], folder: Path) -> str:
    """A digest of the files' relative paths, sizes and modification times."""
    digest = hashlib.sha256()
    for path in files:
        stat = path.stat()
        digest.update(f"{path.relative_to(folder).as_posix()}\x1f{stat.st_size}\x1f{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:20]


def complete_folders(outputs: Path, quiet_seconds: float, now: float) -> dict[str, str]:
    """Folder name → version of each complete job folder under `outputs`."""
    complete = {}
    for folder in sorted(p for p in outputs.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))):
        files = select_files(folder)
        if not files:
            continue
        settled = now - max(path.stat().st_mtime for path in files) >= quiet_seconds
        if (folder / SUCCESS_MARKER).is_file() or settled:
            complete[folder.name] = folder_version(files, folder)
    return complete


def build_uploads_sensor(
    job: Any, outputs: Path, destination: str, quiet_seconds: int, interval_seconds: int
) -> dg.SensorDefinition:
    """The sensor that uploads each complete job folder of `outputs` with `job` (the upload job)."""

    @dg.sensor(
        name="job_outputs_sensor",
        job=job,
        minimum_interval_seconds=interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Uploads each complete job folder of {outputs} into {destination}/<folder>/.",
    )
    def job_outputs_sensor(context: dg.SensorEvaluationContext) -> Any:
        if not outputs.is_dir():
            return dg.SkipReason(f"{outputs} does not exist")
        folders = complete_folders(outputs, quiet_seconds, time.time())
        if not folders:
            return dg.SkipReason(f"no complete job folder in {outputs}")
        return [
            dg.RunRequest(
                run_key=f"{name}@{version}",
                run_config={"ops": {"upload_files": {"config": {"job": name}}}},
                tags={"vectordb/job_folder": name},
            )
            for name, version in folders.items()
        ]

    return job_outputs_sensor
