"""`vectordb ingest`, `status` and `runs` against the real webserver and daemon: runs submitted
over GraphQL for named files, followed to the end, each file's progress read back."""

from __future__ import annotations

import json
import os
from pathlib import Path

import dagster as dg
import pytest
import requests
from click.testing import CliRunner

from resources.state_db import StateDatabase
from tests.conftest import free_port
from tests.dagster_processes import dagster_process, instance_home, wait_for
from vectordb_assets.cli import main
from vectordb_assets.landing.partitions import source_files

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("models_dir")]  # starts the daemon and the webserver


def landing_sensor_ticked(instance: dg.DagsterInstance) -> bool:
    """Whether a tick of the landing sensor has finished."""
    from dagster._core.scheduler.instigation import TickStatus

    for state in instance.all_instigator_state():
        if state.instigator_name == "landing_sensor":
            return any(
                t.status != TickStatus.STARTED
                for t in instance.get_ticks(state.instigator_origin_id, state.selector_id)
            )
    return False


def test_ingest_status_and_runs_through_the_webserver(
    home: Path, state_db: StateDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    landing = home / "landing"
    landing.mkdir(parents=True)
    dagster_home = instance_home(tmp_path / "dagster-home")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DAGSTER_HOME": str(dagster_home),
        "VECTORDB_HOME": str(home),
        "DATABASE_URL": state_db.database_url,
        "VECTORDB_SENSOR_INTERVAL": "3600",
    }
    for name in ("VECTORDB_HOME", "DATABASE_URL"):
        monkeypatch.setenv(name, env[name])
    monkeypatch.setenv("VECTORDB_DAGSTER_URL", url)
    with (
        dg.DagsterInstance.from_config(str(dagster_home)) as instance,
        dagster_process(["dagster-daemon", "run"], env, tmp_path / "daemon.log"),
        dagster_process(["dagster-webserver", "-h", "127.0.0.1", "-p", str(port)], env, tmp_path / "webserver.log"),
    ):
        wait_for(lambda: _serving(url), "the webserver")
        # The sensor's first tick saw an empty landing area; the next is an hour away.
        wait_for(lambda: landing_sensor_ticked(instance), "the landing sensor's first tick")
        (landing / "help").mkdir()
        (landing / "help/a.csv").write_text(
            "id,text\n1,reset a password\n2,change the email address\n3,close an account\n"
        )
        (landing / "notes.jsonl").write_text('{"id": "n1", "text": "a note"}\n{"id": "n2", "text": "another note"}\n')
        (landing / "broken.json").write_text('[{"id": "1", "text": ')

        result = CliRunner().invoke(
            main,
            [
                "ingest",
                "help/a.csv",
                str(landing / "notes.jsonl"),
                "--namespace",
                "v2",
                "--batch-rows",
                "1",
                "--wait",
                "--json",
            ],
        )
        assert result.exit_code == 0, result.output + (tmp_path / "daemon.log").read_text()[-3000:]
        states = {state["partition"]: state for state in json.loads(result.stdout)}
        assert set(states) == {"help/a.csv", "notes.jsonl"}
        assert set(instance.get_dynamic_partitions(source_files.name)) == {"help/a.csv", "notes.jsonl"}
        for key, rows in {"help/a.csv": 3, "notes.jsonl": 2}.items():
            state = states[key]
            assert (state["status"], state["namespace"], state["errors"]) == ("SUCCESS", "v2", [])
            assert state["started"] <= state["ended"]
            stages = state["files"][key]
            assert set(stages) == {"validated_parquet", "embeddings", "vector_index"}
            assert all(
                (s["status"], s["records_total"], s["records_processed"], s["records_failed"]) == ("ok", rows, rows, 0)
                for s in stages.values()
            ), stages
            assert stages["embeddings"]["chunks_completed"] == rows
        with state_db.connect() as conn:
            stored = conn.execute("select namespace, count(*) from documents group by namespace").fetchall()
        assert stored == [("v2", 5)]

        run_id = states["help/a.csv"]["run_id"]
        status = CliRunner().invoke(main, ["status", run_id])
        assert status.exit_code == 0, status.output
        assert f"run_id: {run_id}" in status.output and "status: SUCCESS" in status.output
        assert "  vector_index       ok        3/3 records" in status.output

        # A file that cannot be read: its run says so, naming the file and the reason.
        broken = CliRunner().invoke(main, ["ingest", "broken.json", "--wait", "--json"])
        assert broken.exit_code == 1
        (state,) = json.loads(broken.stdout)
        assert state["status"] == "FAILURE"
        validated = state["files"]["broken.json"]["validated_parquet"]
        assert validated == {"status": "failed", "error": state["errors"][0].removeprefix("validated_parquet: ")}
        assert validated["error"].startswith("validated_parquet failed: broken.json: invalid JSON"), state
        assert CliRunner().invoke(main, ["status", state["run_id"]]).exit_code == 1  # a failed run fails `status`

        listed = CliRunner().invoke(main, ["runs", "--json"])
        assert listed.exit_code == 0
        assert {r["run_id"] for r in json.loads(listed.stdout)} >= {s["run_id"] for s in states.values()} | {
            state["run_id"]
        }
        assert requests.get(f"{url}/server_info", timeout=10).ok  # the health check the docs show


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ingest", "../outside.csv"], "'../outside.csv' does not name an object of the landing area"),
        (["ingest", "./a.csv"], "'./a.csv' does not name an object of the landing area"),
        (["ingest", "s3://elsewhere/a.csv"], "'s3://elsewhere/a.csv' is not in the landing area"),
        (["ingest", "a.csv", "--namespace", "no spaces"], "namespace 'no spaces' is not allowed"),
        (["ingest", "newcomer/nosuch.csv"], "no object {landing}/newcomer/nosuch.csv"),
        (["ingest", "a.csv"], "the Dagster webserver at http://127.0.0.1:9 cannot be reached (VECTORDB_DAGSTER_URL)"),
        (["status", "some-run"], "the Dagster webserver at http://127.0.0.1:9 cannot be reached"),
        (["runs"], "the Dagster webserver at http://127.0.0.1:9 cannot be reached"),
    ],
)
def test_bad_requests_and_an_unreachable_webserver_get_one_line(
    home: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    monkeypatch.setenv("VECTORDB_DAGSTER_URL", "http://127.0.0.1:9")
    (home / "landing").mkdir(parents=True)
    (home / "landing/a.csv").write_text("id,text\n1,a\n")
    result = CliRunner().invoke(main, args)
    message = message.format(landing=home / "landing")
    assert result.exit_code in (1, 2) and message in result.output and "Traceback" not in result.output


def _serving(url: str) -> bool:
    try:
        return requests.get(f"{url}/server_info", timeout=5).ok
    except requests.ConnectionError:
        return False
