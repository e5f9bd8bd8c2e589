"""Screenshots of the real UI for the docs: the pipeline run on the sample files by the real
daemon's sensor, the webserver, and headless Chromium (`/usr/bin/chromium`, or CHROMIUM).

    .venv/bin/python docs/take_screenshots.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote

import dagster as dg

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

from resources.embedders import LocalEmbedder  # noqa: E402
from resources.state_db import embedded_server_uri  # noqa: E402
from tests.conftest import free_port  # noqa: E402
from tests.dagster_processes import dagster_process, instance_home, wait_for  # noqa: E402
from vectordb_assets.landing.samples import write_samples  # noqa: E402

OUT = Path(__file__).resolve().parent / "pages" / "images"
PAGES = {
    "partition-validated.png": "/assets/validated_parquet?view=partitions&partition="
    + quote("catalog/products.parquet", safe=""),
    "partition-embeddings.png": "/assets/embeddings?view=partitions&partition="
    + quote("reviews/2026-11-01.jsonl", safe=""),
}


def screenshot(url: str, path: Path) -> None:
    chromium = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                f"--user-data-dir={profile}",
                "--hide-scrollbars",
                "--window-size=1200,1300",
                "--virtual-time-budget=20000",
                f"--screenshot={path}",
                url,
            ],
            check=True,
            capture_output=True,
            timeout=180,
        )


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="vectordb-screens-") as folder:
        home = Path(folder, "home")
        write_samples(home / "landing", LocalEmbedder())
        dagster_home = instance_home(Path(folder, "dagster"))
        (dagster_home / ".nux").mkdir()
        (dagster_home / ".nux/nux.yaml").write_text("seen: 1\n")  # no welcome dialog over the page
        env = {
            **os.environ,
            "DAGSTER_HOME": str(dagster_home),
            "VECTORDB_HOME": str(home),
            "VECTORDB_SENSOR_INTERVAL": "1",
            "DATABASE_URL": embedded_server_uri(Path(folder, "pgdata")),
        }
        port = free_port()
        with (
            dg.DagsterInstance.from_config(str(dagster_home)) as instance,
            dagster_process(["dagster-daemon", "run"], env, Path(folder, "daemon.log")),
            dagster_process(["dagster-webserver", "-h", "127.0.0.1", "-p", str(port)], env, Path(folder, "web.log")),
        ):
            wait_for(
                lambda: any(r.status == dg.DagsterRunStatus.SUCCESS for r in instance.get_runs()),
                "the sensor's run",
                600,
            )
            for name, page in PAGES.items():
                screenshot(f"http://127.0.0.1:{port}{page}", OUT / name)
                print(f"wrote {OUT / name}")


if __name__ == "__main__":
    main()
