"""The HTTP API's latency as a client sees it: `GET /api/v1/status/{task_id}` of a finished task
(three sample files, one run each: each status reads the task from the state database and each
run's events from the webserver) and `POST /api/v1/search` warm, after one search has loaded the
model. Everything runs here: the embedded PostgreSQL, the Dagster webserver and daemon on the
project's workspace, and `vectordb api`, each a process of its own, all on loopback.

Run: .venv/bin/python bench/api_latency.py [--requests 200] [--searches 50]
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import requests

warnings.simplefilter("ignore")

PROJECT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition: Callable[[], object], what: str, timeout: float = 600) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = condition()
        except requests.ConnectionError:
            value = None
        if value:
            return value
        time.sleep(0.5)
    sys.exit(f"timed out waiting for {what}")


@contextmanager
def process(args: list[str], env: dict[str, str], log: Path) -> Iterator[None]:
    with log.open("w") as out:
        child = subprocess.Popen(
            args, cwd=PROJECT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            yield
        finally:
            os.killpg(child.pid, signal.SIGTERM)
            child.wait(timeout=60)


def percentiles(seconds: list[float]) -> tuple[float, float, float]:
    ordered = sorted(seconds)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p99 * 1000, statistics.mean(ordered) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--searches", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vectordb-api-bench-") as folder, ExitStack() as stack:
        home, dagster_home = Path(folder, "home"), Path(folder, "dagster")
        dagster_home.mkdir()
        web_port, api_port = free_port(), free_port()
        env = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith("VECTORDB_") or name == "VECTORDB_MODELS_DIR"
        }
        env.update(
            VECTORDB_HOME=str(home),
            DAGSTER_HOME=str(dagster_home),
            VECTORDB_SENSOR_INTERVAL="3600",
            VECTORDB_DAGSTER_URL=f"http://127.0.0.1:{web_port}",
            VECTORDB_API_REQUESTS_PER_MINUTE="1000000",
        )
        vectordb = [str(BIN / "vectordb")]
        subprocess.run([*vectordb, "seed"], env=env, cwd=PROJECT, check=True, capture_output=True)
        key = subprocess.run(
            [*vectordb, "api-keys", "create", "bench", "--scope", "admin"],
            env=env,
            cwd=PROJECT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        workspace = ["-w", str(PROJECT / "workspace.yaml")]
        stack.enter_context(process([str(BIN / "dagster-daemon"), "run", *workspace], env, Path(folder, "daemon.log")))
        stack.enter_context(
            process(
                [str(BIN / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(web_port), *workspace],
                env,
                Path(folder, "webserver.log"),
            )
        )
        stack.enter_context(process([*vectordb, "api", "--port", str(api_port)], env, Path(folder, "api.log")))
        api = f"http://127.0.0.1:{api_port}"
        headers = {"X-API-Key": key}
        wait_for(lambda: requests.get(f"http://127.0.0.1:{web_port}/server_info", timeout=5).ok, "the webserver")
        wait_for(lambda: requests.get(f"{api}/api/v1/health/live", timeout=5).ok, "the API")
        keys = ["help_center/articles.csv", "catalog/products.parquet", "reviews/2026-11-01.jsonl"]
        task = requests.post(f"{api}/api/v1/process", json={"keys": keys}, headers=headers, timeout=60).json()
        status_url = f"{api}/api/v1/status/{task['task_id']}"

        def finished() -> dict | None:
            answer = requests.get(status_url, headers=headers, timeout=60)
            if not answer.ok:
                sys.exit(f"{answer.status_code}: {answer.text}")
            return answer.json() if answer.json()["status"] in ("completed", "failed") else None

        done = wait_for(finished, "the task")
        if done["status"] != "completed":
            sys.exit(f"the task failed: {done['error']}")

        def timed(call: Callable[[], requests.Response], count: int) -> list[float]:
            seconds = []
            for _ in range(count):
                started = time.perf_counter()
                answer = call()
                seconds.append(time.perf_counter() - started)
                if not answer.ok:
                    sys.exit(f"{answer.status_code}: {answer.text}")
            return seconds

        status = timed(lambda: requests.get(status_url, headers=headers, timeout=60), args.requests)
        body = {"query": "how do I reset my password", "top_k": 3}
        first = timed(lambda: requests.post(f"{api}/api/v1/search", json=body, headers=headers, timeout=120), 1)
        search = timed(
            lambda: requests.post(f"{api}/api/v1/search", json=body, headers=headers, timeout=60), args.searches
        )
    print(
        f"task: {len(keys)} files, {done['total_records']} records; first search (model load) {first[0] * 1000:,.0f} ms\n"
    )
    print("| request | count | p50 ms | p99 ms | mean ms |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, seconds in ((f"GET /api/v1/status ({len(keys)} runs)", status), ("POST /api/v1/search, warm", search)):
        p50, p99, mean = percentiles(seconds)
        print(f"| {name} | {len(seconds)} | {p50:.1f} | {p99:.1f} | {mean:.1f} |")


if __name__ == "__main__":
    main()
