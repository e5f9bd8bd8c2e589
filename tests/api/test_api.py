"""`vectordb api` as its clients use it: the real server on a loopback port in front of the real
webserver and daemon, keys made with `vectordb api-keys`, requests sent with an HTTP client."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from types import SimpleNamespace

import dagster as dg
import psycopg
import pytest
import requests

from tests.conftest import free_port
from tests.dagster_processes import dagster_process, instance_home, wait_for
from tests.fake_metabase import API_KEY as METABASE_KEY
from tests.fake_metabase import FakeMetabase
from tests.test_ingest_commands import landing_sensor_ticked

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("models_dir")]  # starts the API

VECTORDB = str(Path(sys.executable).with_name("vectordb"))
TODAY = dt.datetime.now(dt.UTC).date()
DAYS = [(TODAY - dt.timedelta(days=n)).isoformat() for n in (3, 2, 1)]
# Question 42's rows: two on the first day, none on the second, one on the last complete day.
EXPORT = f"id,title,created_at\nm1,Invoice overdue,{DAYS[0]}T09:00:00Z\nm2,Refund issued,{DAYS[0]}T17:30:00Z\nm3,Plan upgraded,{DAYS[2]}T08:00:00Z\n"
STAGES = ("validated_parquet", "embeddings", "vector_index")


def vectordb(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([VECTORDB, *args], env=env, capture_output=True, text=True, timeout=300)


def make_key(env: dict[str, str], name: str, *scopes: str, per_minute: int | None = None) -> str:
    args = ["api-keys", "create", name, *[f"--scope={s}" for s in scopes]]
    made = vectordb(env, *args, *([f"--requests-per-minute={per_minute}"] if per_minute else []))
    assert made.returncode == 0, made.stderr
    return made.stdout.strip()


def answering(url: str) -> bool:
    try:
        return requests.get(url, timeout=5).ok
    except requests.ConnectionError:
        return False


@contextmanager
def api_server(env: dict[str, str], log_path: Path) -> Iterator[str]:
    """`vectordb api` on a free loopback port, stopped afterwards; its base URL."""
    port = free_port()
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [VECTORDB, "api", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            url = f"http://127.0.0.1:{port}"
            wait_for(lambda: answering(f"{url}/api/v1/health/live"), "the API", timeout=120)
            yield url
        finally:
            process.terminate()
            process.wait(timeout=30)


@contextmanager
def fresh_database(pg_server_uri: str) -> Iterator[str]:
    name = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server_uri, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    try:
        yield pg_server_uri.replace("/postgres?", f"/{name}?")
    finally:
        with psycopg.connect(pg_server_uri, autocommit=True) as conn:
            conn.execute(f'drop database "{name}" with (force)')


@pytest.fixture(scope="module")
def deployment(pg_server_uri: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    """The webserver, the daemon and the API over one landing folder and state database, with a
    key of each scope."""
    folder = tmp_path_factory.mktemp("api")
    home, dagster_home = folder / "home", instance_home(folder / "dagster-home")
    landing = home / "landing"
    landing.mkdir(parents=True)
    with ExitStack() as stack:
        metabase = FakeMetabase(csv_by_card={42: EXPORT})
        metabase.start()
        stack.callback(metabase.stop)
        database_url = stack.enter_context(fresh_database(pg_server_uri))
        port = free_port()
        env = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith("VECTORDB_") or name == "VECTORDB_MODELS_DIR"
        }
        env.update(
            DAGSTER_HOME=str(dagster_home),
            VECTORDB_HOME=str(home),
            DATABASE_URL=database_url,
            VECTORDB_SENSOR_INTERVAL="3600",
            VECTORDB_DAGSTER_URL=f"http://127.0.0.1:{port}",
            VECTORDB_METABASE_URL=metabase.url,
            METABASE_API_KEY=METABASE_KEY,
            VECTORDB_METABASE_QUESTIONS=f"42:created_at:{DAYS[0]}",
        )
        instance = stack.enter_context(dg.DagsterInstance.from_config(str(dagster_home)))
        stack.enter_context(dagster_process(["dagster-daemon", "run"], env, folder / "daemon.log"))
        stack.enter_context(
            dagster_process(["dagster-webserver", "-h", "127.0.0.1", "-p", str(port)], env, folder / "webserver.log")
        )
        wait_for(lambda: answering(f"http://127.0.0.1:{port}/server_info"), "the webserver")
        wait_for(lambda: landing_sensor_ticked(instance), "the landing sensor's first tick")
        keys = {scope: make_key(env, f"{scope}-key", scope) for scope in ("ingest", "read", "search", "admin")}
        url = stack.enter_context(api_server(env, folder / "api.log"))
        yield SimpleNamespace(
            url=url,
            env=env,
            landing=landing,
            instance=instance,
            keys=keys,
            log=folder / "api.log",
            daemon_log=folder / "daemon.log",
        )


def call(
    deployment: SimpleNamespace, method: str, path: str, scope: str | None = "admin", **kwargs
) -> requests.Response:
    headers = {"X-API-Key": deployment.keys[scope]} if scope else {}
    return requests.request(method, f"{deployment.url}{path}", headers=headers, timeout=60, **kwargs)


def finished(deployment: SimpleNamespace, task_id: str) -> dict:
    def done() -> dict | None:
        status = call(deployment, "GET", f"/api/v1/status/{task_id}", "read").json()
        return status if status["status"] in ("completed", "failed") else None

    return wait_for(done, f"task {task_id}", timeout=400, every=1.0)


def partition_metadata(instance: dg.DagsterInstance, stage: str, partition: str) -> dict:
    (record,) = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(stage), asset_partitions=[partition]), limit=1
    ).records
    return {name: value.value for name, value in record.asset_materialization.metadata.items()}


def test_keys_scopes_and_revocation(deployment: SimpleNamespace) -> None:
    assert call(deployment, "GET", "/api/v1/tasks", None).status_code == 401
    wrong = requests.get(
        f"{deployment.url}/api/v1/tasks", headers={"X-API-Key": "vdb_000000000000_" + "x" * 43}, timeout=10
    )
    assert (wrong.status_code, wrong.json()) == (401, {"detail": "unknown or revoked API key"})
    refused = call(deployment, "POST", "/api/v1/search", "read", json={"query": "a"})
    assert (
        refused.status_code == 403
        and refused.json()["detail"] == "key 'read-key' does not have the 'search' scope (it has read)"
    )
    assert call(deployment, "GET", "/api/v1/tasks", "ingest").status_code == 403
    bearer = requests.get(
        f"{deployment.url}/api/v1/tasks", headers={"Authorization": f"Bearer {deployment.keys['read']}"}, timeout=10
    )
    assert bearer.status_code == 200

    temporary = make_key(deployment.env, "temporary", "read")
    assert (
        requests.get(f"{deployment.url}/api/v1/tasks", headers={"X-API-Key": temporary}, timeout=10).status_code == 200
    )
    assert vectordb(deployment.env, "api-keys", "revoke", "temporary").returncode == 0
    assert (
        requests.get(f"{deployment.url}/api/v1/tasks", headers={"X-API-Key": temporary}, timeout=10).status_code == 401
    )

    listed = vectordb(deployment.env, "api-keys", "list", "--all", "--json")
    keys = {k["name"]: k for k in json.loads(listed.stdout)}
    assert (
        keys["temporary"]["revoked_at"]
        and keys["read-key"]["last_used_at"]
        and keys["search-key"]["last_used_at"] is None
    )
    assert not any(secret in listed.stdout for secret in [temporary, *deployment.keys.values()])
    log = deployment.log.read_text()
    assert "GET /api/v1/tasks 200 key=read-key" in log and "POST /api/v1/search 403 key=read-key" in log
    assert not any(secret[17:] in log for secret in [temporary, *deployment.keys.values()])
    taken = vectordb(deployment.env, "api-keys", "create", "read-key", "--scope=read")
    assert taken.returncode == 1 and "a key named 'read-key' exists" in taken.stderr


def test_a_task_through_to_completed_with_its_files_figures(deployment: SimpleNamespace) -> None:
    (deployment.landing / "help").mkdir()
    (deployment.landing / "help/a.csv").write_text(
        "id,text\n1,reset a password\n2,change the email address\n3,close an account\n4,export my data\n5,delete a card\n,no id\n"
    )
    (deployment.landing / "notes.jsonl").write_text(
        '{"id": "n1", "text": "a note"}\n{"id": "n2", "text": "another note"}\n'
    )
    answer = call(
        deployment,
        "POST",
        "/api/v1/process",
        "ingest",
        json={
            "data_source": "s3_csv",
            "keys": ["help/a.csv", str(deployment.landing / "notes.jsonl")],
            "batch_size": 1,
        },
    )
    assert answer.status_code == 202, answer.text
    task = answer.json()
    assert task["status"] == "pending" and {r["partition"] for r in task["runs"]} == {"help/a.csv", "notes.jsonl"}
    status = finished(deployment, task["task_id"])
    assert status["status"] == "completed", (status, deployment.daemon_log.read_text()[-3000:])
    assert (status["total_records"], status["processed_records"], status["failed_records"]) == (8, 7, 1)
    for figures in status["files"]:
        validated, embedded, indexed = (partition_metadata(deployment.instance, s, figures["key"]) for s in STAGES)
        assert figures["total_records"] == validated["records_total"]
        assert (
            figures["failed_records"]
            == validated["records_failed"] + embedded["records_failed"] + indexed["records_failed"]
        )
        assert figures["processed_records"] == indexed["records_processed"]
        assert (figures["chunks_completed"], figures["chunks_total"]) == (
            embedded["chunks_completed"],
            embedded["chunks_total"],
        )
    assert status["chunks_completed"] == 7 and status["created_by"] == "ingest-key" and status["error"] is None

    (deployment.landing / "broken.json").write_text('[{"id": "1", "text": ')
    broken = call(deployment, "POST", "/api/v1/process", "ingest", json={"s3_key": "broken.json"}).json()
    failed = finished(deployment, broken["task_id"])
    assert failed["status"] == "failed" and failed["error"].startswith("broken.json: validated_parquet: "), failed
    assert "invalid JSON" in failed["error"]

    listed = call(deployment, "GET", "/api/v1/tasks?limit=1", "read").json()
    assert listed["total"] >= 2 and [t["task_id"] for t in listed["tasks"]] == [broken["task_id"]]
    second = call(deployment, "GET", "/api/v1/tasks?limit=1&offset=1", "read").json()
    assert [t["task_id"] for t in second["tasks"]] == [task["task_id"]] and second["tasks"][0]["status"] == "completed"

    searched = call(
        deployment, "POST", "/api/v1/search", "search", json={"query": "forgot my password", "top_k": 3}
    ).json()
    cli = vectordb(deployment.env, "search", "forgot my password", "--top-k", "3", "--json")
    assert searched["results"] == json.loads(cli.stdout) and searched["results"][0]["id"] == "1"


def test_a_metabase_task_exports_the_days_then_indexes_their_files(deployment: SimpleNamespace) -> None:
    answer = call(
        deployment,
        "POST",
        "/api/v1/process",
        "ingest",
        json={"data_source": "metabase", "question_id": 42, "start_date": DAYS[0], "date_column": "created_at"},
    )
    assert answer.status_code == 202, answer.text
    status = finished(deployment, answer.json()["task_id"])
    assert status["status"] == "completed", (status, deployment.daemon_log.read_text()[-3000:])
    assert [f["key"] for f in status["files"]] == [
        f"metabase/42/{DAYS[0]}..{DAYS[2]}",
        f"metabase/42/{DAYS[0]}.csv",
        f"metabase/42/{DAYS[2]}.csv",
    ]
    assert (status["total_records"], status["processed_records"], status["failed_records"]) == (3, 3, 0)
    hits = call(deployment, "POST", "/api/v1/search", "search", json={"query": "refund", "top_k": 1}).json()["results"]
    assert hits[0]["id"] == "m2" and hits[0]["source_key"] == f"metabase/42/{DAYS[0]}.csv"


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"data_source": "metabase", "question_id": 7}, "question 7 is not among VECTORDB_METABASE_QUESTIONS (42)"),
        (
            {"data_source": "metabase", "question_id": 42, "date_column": "day"},
            "question 42 is exported by its 'created_at' column (VECTORDB_METABASE_QUESTIONS), not 'day'",
        ),
        ({"data_source": "metabase", "question_id": 42, "start_date": TODAY.isoformat()}, "(the last complete day)"),
    ],
)
def test_a_metabase_request_outside_the_configured_question_is_refused(
    deployment: SimpleNamespace, body: dict, detail: str
) -> None:
    answer = call(deployment, "POST", "/api/v1/process", "ingest", json=body)
    assert answer.status_code == 422 and detail in answer.json()["detail"], answer.text


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "detail"),
    [
        ("GET", "/api/v1/status/no-such-task", None, 404, "no task 'no-such-task'"),
        ("GET", f"/api/v1/status/{uuid.UUID(int=1)}", None, 404, f"no task '{uuid.UUID(int=1)}'"),
        (
            "POST",
            "/api/v1/process",
            {"keys": ["../outside.csv"]},
            403,
            "'../outside.csv' does not name an object of the landing area",
        ),
        (
            "POST",
            "/api/v1/process",
            {"keys": ["s3://elsewhere/a.csv"]},
            403,
            "'s3://elsewhere/a.csv' is not in the landing area",
        ),
        ("POST", "/api/v1/process", {"keys": ["missing.csv"]}, 404, "missing.csv"),
        (
            "POST",
            "/api/v1/process",
            {"keys": ["a.csv"], "namespace": "no spaces"},
            422,
            "namespace 'no spaces' is not allowed",
        ),
        ("POST", "/api/v1/process", {}, 422, "name the files to process: keys (a list) or s3_key"),
        (
            "GET",
            "/s3/download?key=../../etc/passwd",
            None,
            403,
            "'../../etc/passwd' does not name an object of the landing area",
        ),
        ("GET", "/s3/list?prefix=../", None, 403, "prefix '../' does not name a place in the landing area"),
    ],
)
def test_bad_requests_get_clear_answers(
    deployment: SimpleNamespace, method: str, path: str, body: dict | None, status: int, detail: str
) -> None:
    answer = call(deployment, method, path, json=body)
    assert answer.status_code == status and detail in answer.json()["detail"], answer.text
    assert "Traceback" not in answer.text


def test_unknown_fields_and_large_bodies_are_refused(deployment: SimpleNamespace) -> None:
    unknown = call(deployment, "POST", "/api/v1/process", json={"keys": ["a.csv"], "resources": {"embedder": {}}})
    assert unknown.status_code == 422 and unknown.json()["detail"][0]["loc"] == ["body", "resources"]
    large = call(deployment, "POST", "/api/v1/search", json={"query": "x" * (2 << 20)})
    assert large.status_code == 413 and "VECTORDB_API_MAX_BODY_BYTES" in large.json()["detail"]
    chunked = requests.post(
        f"{deployment.url}/api/v1/search",
        data=iter([b'{"query": "', b"x" * (2 << 20), b'"}']),
        headers={"X-API-Key": deployment.keys["admin"], "Content-Type": "application/json"},
        timeout=60,
    )
    assert "Content-Length" not in chunked.request.headers
    assert chunked.status_code == 413


def test_a_link_out_of_the_landing_area_is_not_served(deployment: SimpleNamespace, tmp_path: Path) -> None:
    (tmp_path / "secret.csv").write_text("id,text\n1,secret\n")
    (deployment.landing / "lnk").symlink_to(tmp_path)
    for path in ("/s3/download?key=lnk/secret.csv", "/s3/parquet/sample?key=lnk/secret.csv"):
        answer = call(deployment, "GET", path, "read")
        assert answer.status_code in (403, 404, 422) and "secret" not in answer.text.replace("lnk/secret.csv", ""), (
            answer.text
        )


def test_a_key_over_its_budget_gets_429_with_retry_after(deployment: SimpleNamespace) -> None:
    limited = make_key(deployment.env, "limited", "read", per_minute=2)
    answers = [
        requests.get(f"{deployment.url}/api/v1/tasks", headers={"X-API-Key": limited}, timeout=10) for _ in range(3)
    ]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert 1 <= int(answers[2].headers["Retry-After"]) <= 30
    assert answers[2].json()["detail"] == "key 'limited' is over its 2 requests per minute"
    assert call(deployment, "GET", "/api/v1/tasks", "read").status_code == 200  # another key's budget is its own


def test_health_names_each_service_and_no_secret(deployment: SimpleNamespace) -> None:
    assert call(deployment, "GET", "/api/v1/health/live", None).json() == {"status": "ok"}
    assert call(deployment, "GET", "/api/v1/health", None).status_code == 401
    deadline = time.monotonic() + 60  # a daemon started by the fixture may not have written its first heartbeat yet
    while (answer := call(deployment, "GET", "/api/v1/health", "read")).status_code != 200:
        assert time.monotonic() < deadline, answer.text
        time.sleep(2)
    health = answer.json()
    assert health["status"] == "healthy", health
    checks = health["checks"]
    assert all(check["ok"] for check in checks.values())
    assert (
        checks["webserver"]["version"] and 0 <= checks["webserver"]["daemons"]["SENSOR"]["heartbeat_age_seconds"] < 60
    )
    assert checks["state_database"]["pgvector"] and checks["vector_store"]["collection"] == "documents"
    assert deployment.env["DATABASE_URL"] not in answer.text


def test_the_api_keeps_serving_while_the_webserver_and_database_are_down(
    deployment: SimpleNamespace, pg_server_uri: str, tmp_path: Path
) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    with api_server({**deployment.env, "VECTORDB_DAGSTER_URL": closed}, tmp_path / "api.log") as url:
        key = {"X-API-Key": deployment.keys["admin"]}
        (deployment.landing / "later.csv").write_text("id,text\n1,later\n")
        answer = requests.post(f"{url}/api/v1/process", json={"keys": ["later.csv"]}, headers=key, timeout=30)
        assert answer.status_code == 503 and answer.json()["detail"] == (
            f"the Dagster webserver at {closed} cannot be reached (VECTORDB_DAGSTER_URL)"
        )
        health = requests.get(f"{url}/api/v1/health", headers=key, timeout=30)
        assert health.status_code == 503 and not health.json()["checks"]["webserver"]["ok"]
        assert health.json()["checks"]["state_database"]["ok"]
    down = f"postgresql://vectordb:pa%40ss@127.0.0.1:{free_port()}/state?connect_timeout=2"
    with api_server({**deployment.env, "DATABASE_URL": down}, tmp_path / "api-db.log") as url:
        answer = requests.get(f"{url}/api/v1/tasks", headers={"X-API-Key": deployment.keys["read"]}, timeout=60)
        assert answer.status_code == 503 and answer.json()["detail"].startswith("PostgreSQL is unavailable"), (
            answer.text
        )
        assert "pa%40ss" not in answer.text and "pa@ss" not in answer.text
        assert requests.get(f"{url}/api/v1/health/live", timeout=10).status_code == 200


def docs_curl_examples() -> list[str]:
    """The curl lines of the HTTP API's docs page."""
    lines = (Path(__file__).resolve().parents[2] / "docs/pages/guides/http-api.md").read_text().splitlines()
    return [line[2:] for line in lines if line.startswith("$ curl ")]


def test_the_docs_curl_examples_run_as_written(deployment: SimpleNamespace, tmp_path: Path) -> None:
    assert vectordb(deployment.env, "seed", "--force").returncode == 0
    examples = docs_curl_examples()
    assert len(examples) == 14
    env = {**os.environ, "VECTORDB_API_KEY": deployment.keys["admin"]}
    answers = {}
    for example in examples:
        command = example.replace("http://127.0.0.1:8080", deployment.url).replace(
            "curl -s ", "curl -sS --fail-with-body ", 1
        )
        done = subprocess.run(
            ["bash", "-c", command], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, (example, done.stdout, done.stderr)
        answers[example] = done.stdout
        if "/api/v1/process" in example:
            env["TASK_ID"] = json.loads(done.stdout)["task_id"]
            finished(deployment, env["TASK_ID"])
    (status,) = [json.loads(out) for example, out in answers.items() if "/api/v1/status/" in example]
    assert status["status"] == "completed" and status["processed_records"] > 0, status
    (search,) = [json.loads(out) for example, out in answers.items() if "/api/v1/search" in example]
    assert search["namespace"] == "support" and len(search["results"]) == 3
    landed = deployment.landing / "catalog/products.parquet"
    assert (tmp_path / "products.parquet").read_bytes() == landed.read_bytes()
    assert (tmp_path / "articles.csv").read_bytes() == (deployment.landing / "help_center/articles.csv").read_bytes()
