"""Processing tasks: one `POST /api/v1/process` request and the runs it submitted, kept in the
state database; a task's status is read from its runs' per-file metadata in the shape the
replaced processing API answered with (`total_records`, `processed_records`, …).

Example::

    tasks = TaskStore(state_db)
    task_id = tasks.add("crm-sync", {"data_source": "s3_csv"}, [{"run_id": "…", "partition": "a.csv"}])
    task_status(tasks.get(task_id), {run_id: runs_api.status(run_id)})["status"]  # "processing"
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from psycopg.types.json import Jsonb

from resources.state_db import StateDatabase
from vectordb_assets.assets.per_file import FAILED_STATUS, STATUS

STAGES = ("validated_parquet", "embeddings", "vector_index")
WAITING = ("QUEUED", "NOT_STARTED", "STARTING", "MANAGED")
FAILED_RUNS = ("FAILURE", "CANCELED", "CANCELING")


@dataclass(frozen=True)
class Task:
    task_id: str
    key_name: str
    request: dict[str, Any]
    runs: list[dict[str, str]]
    created_at: dt.datetime


class UnknownTask(LookupError):
    """No task has this id."""


class TaskStore:
    """The tasks of the state database `state_db`."""

    def __init__(self, state_db: StateDatabase):
        self.state_db = state_db

    def add(self, key_name: str, request: dict[str, Any], runs: list[dict[str, str]]) -> str:
        task_id = str(uuid.uuid4())
        with self.state_db.connect() as conn:
            conn.execute(
                "insert into vectordb_api_tasks (task_id, key_name, request, runs) values (%s, %s, %s, %s)",
                (task_id, key_name, Jsonb(request), Jsonb(runs)),
            )
        return task_id

    def get(self, task_id: str) -> Task:
        try:
            uuid.UUID(task_id)
        except ValueError:
            raise UnknownTask(task_id) from None
        with self.state_db.connect() as conn:
            row = conn.execute(
                "select task_id, key_name, request, runs, created_at from vectordb_api_tasks where task_id = %s",
                (task_id,),
            ).fetchone()
        if row is None:
            raise UnknownTask(task_id)
        return Task(*row)

    def replace_runs(self, task: Task, runs: list[dict[str, Any]]) -> Task:
        """The task with `runs` for its runs, unless another request changed them first (then as
        that request left it)."""
        with self.state_db.connect() as conn:
            conn.execute(
                "update vectordb_api_tasks set runs = %s where task_id = %s and runs = %s",
                (Jsonb(runs), task.task_id, Jsonb(task.runs)),
            )
        return self.get(task.task_id)

    def page(self, limit: int, offset: int) -> tuple[list[Task], int]:
        """The newest tasks from `offset` on, and how many there are."""
        with self.state_db.connect() as conn:
            total = conn.execute("select count(*) from vectordb_api_tasks").fetchone()[0]
            rows = conn.execute(
                "select task_id, key_name, request, runs, created_at from vectordb_api_tasks"
                " order by created_at desc, task_id limit %s offset %s",
                (limit, offset),
            ).fetchall()
        return [Task(*row) for row in rows], total


def _file_status(partition: str, run: dict[str, Any]) -> dict[str, Any]:
    """One partition's figures: rows read and rejected at validation, rows indexed, chunks embedded."""
    stages = run["files"].get(partition, {})
    validated, embedded, indexed = (stages.get(name, {}) for name in STAGES)
    failed_stage = next((name for name in STAGES if stages.get(name, {}).get(STATUS) == FAILED_STATUS), None)
    if failed_stage:
        state = "failed"
    elif indexed or run["status"] == "SUCCESS":
        state = "completed"
    elif run["status"] in WAITING:
        state = "pending"
    elif run["status"] in FAILED_RUNS:
        state = "failed"
    else:
        state = "processing"
    figures = {
        "key": partition,
        "run_id": run["run_id"],
        "status": state,
        "total_records": validated.get("records_total", 0),
        "processed_records": indexed.get("records_processed", 0),
        "failed_records": validated.get("records_failed", 0)
        + embedded.get("records_failed", 0)
        + indexed.get("records_failed", 0),
        "chunks_completed": embedded.get("chunks_completed", 0),
        "chunks_total": embedded.get("chunks_total", 0),
        "error": None,
    }
    if failed_stage:
        figures["error"] = f"{partition}: {failed_stage}: {stages[failed_stage].get('error', 'failed')}"
    elif state == "failed":
        figures["error"] = f"{partition}: " + (
            "; ".join(run["errors"]) or f"run {run['run_id']} {run['status'].lower()}"
        )
    return figures


def _export_status(entry: dict[str, Any], run: dict[str, Any]) -> dict[str, Any]:
    """A Metabase export run as a task's step: its days' rows land as files, indexed once it is
    `followed` (their runs submitted)."""
    state = {"SUCCESS": "completed" if entry.get("followed") else "processing"}.get(run["status"])
    if state is None:
        state = "failed" if run["status"] in FAILED_RUNS else "pending" if run["status"] in WAITING else "processing"
    figures = {
        "key": entry["partition"],
        "run_id": run["run_id"],
        "status": state,
        "total_records": 0,
        "processed_records": 0,
        "failed_records": 0,
        "chunks_completed": 0,
        "chunks_total": 0,
        "error": None,
    }
    if state == "failed":
        figures["error"] = f"{entry['partition']}: " + (
            "; ".join(run["errors"]) or f"run {run['run_id']} {run['status'].lower()}"
        )
    return figures


def task_status(task: Task, runs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The task's state and figures, summed over its files, from its runs' states (`RunsApi.status`)."""
    files = [
        _export_status(entry, runs[entry["run_id"]])
        if "question_id" in entry
        else _file_status(entry["partition"], runs[entry["run_id"]])
        for entry in task.runs
    ]
    states = {f["status"] for f in files}
    if "pending" in states and states <= {"pending"}:
        status = "pending"
    elif states & {"pending", "processing"}:
        status = "processing"
    else:
        status = "failed" if "failed" in states else "completed"
    totals = {
        name: sum(f[name] for f in files)
        for name in ("total_records", "processed_records", "failed_records", "chunks_completed", "chunks_total")
    }
    errors = [f["error"] for f in files if f["error"]]
    return {
        "task_id": task.task_id,
        "status": status,
        "data_source": task.request.get("data_source"),
        "namespace": task.request.get("namespace"),
        "created_at": task.created_at.isoformat(),
        "created_by": task.key_name,
        **totals,
        "error": "; ".join(errors) or None,
        "files": files,
    }
