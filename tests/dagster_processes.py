"""The real Dagster daemon and webserver on the project's workspace, for tests that need them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import dagster as dg
import yaml

PROJECT = Path(__file__).resolve().parents[1]
T = TypeVar("T")


def instance_home(dagster_home: Path) -> Path:
    """`dagster_home` holding the project's `dagster.yaml` (monitoring, retries, concurrency),
    with the instance's storage moved under it and created (a daemon and a webserver started
    together would both create it, and one would fail)."""
    dagster_home.mkdir(parents=True, exist_ok=True)
    config = yaml.safe_load((PROJECT / "dagster.yaml").read_text())
    config["storage"] = {"sqlite": {"base_dir": str(dagster_home / "storage")}}
    config["local_artifact_storage"]["config"]["base_dir"] = str(dagster_home)
    config["compute_logs"]["config"]["base_dir"] = str(dagster_home / "logs")
    (dagster_home / "dagster.yaml").write_text(yaml.safe_dump(config))
    with dg.DagsterInstance.from_config(str(dagster_home)):
        pass
    return dagster_home


def wait_for(condition: Callable[[], T], what: str, timeout: float = 300.0, every: float = 0.5) -> T:
    """Poll `condition()` until it returns something truthy, failing after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


@contextmanager
def dagster_process(args: list[str], env: dict[str, str], log_path: Path) -> Iterator[subprocess.Popen]:
    """A Dagster command (`dagster-daemon run`, `dagster-webserver`) on the project's workspace,
    stopped with its children afterwards; its output goes to `log_path`."""
    command = [str(Path(sys.executable).with_name(args[0])), *args[1:], "-w", str(PROJECT / "workspace.yaml")]
    with log_path.open("w") as log:
        process = subprocess.Popen(
            command, cwd=PROJECT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            yield process
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
