"""`POST /api/v1/process`, `GET /api/v1/status/{task_id}`, `GET /api/v1/tasks`: ingest runs
submitted through the Dagster webserver as `vectordb ingest` submits them, followed as tasks.

A request chooses only what a run may choose (the files, their namespace, rows per embedding
batch, a configured Metabase question's days); resources come from the settings alone. A
Metabase task is one run of the question's export job over its days; once it has landed them,
the task's next status request submits the ingest runs of the days' files."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from vectordb_assets.api.auth import requires
from vectordb_assets.api.keys import ApiKey
from vectordb_assets.api.services import Services
from vectordb_assets.api.tasks import Task, task_status
from vectordb_assets.indexing.namespaces import check_namespace
from vectordb_assets.landing.landed_keys import landed_key
from vectordb_assets.landing.partitions import partition_key_for
from vectordb_assets.settings import Settings
from vectordb_assets.transfer.metabase_exports import MetabaseQuestion

router = APIRouter(prefix="/api/v1", tags=["processing"])
MAX_KEYS = 1_000


class ProcessRequest(BaseModel):
    """Files of the landing area to index (by key or URI; `s3_csv` is the replaced API's name for
    them), or the days of a configured Metabase question (`metabase`)."""

    model_config = ConfigDict(extra="forbid")

    data_source: Literal["s3_csv", "landed", "metabase"] = "s3_csv"
    keys: list[str] = Field(
        default_factory=list, max_length=MAX_KEYS, description="Keys (or URIs) in the landing area."
    )
    s3_key: str | None = Field(None, description="One key (or URI), as the replaced API took it.")
    namespace: str | None = Field(
        None, description="Namespace of the files' vectors; default: their route, else VECTORDB_NAMESPACE."
    )
    batch_size: int | None = Field(None, ge=1, le=100_000, description="Rows embedded per batch.")
    question_id: int | None = Field(None, description="metabase: a question of VECTORDB_METABASE_QUESTIONS.")
    start_date: dt.date | None = Field(None, description="metabase: the first day; default: the question's start.")
    end_date: dt.date | None = Field(None, description="metabase: the last day; default: yesterday (UTC).")
    date_column: str | None = Field(
        None, description="metabase: the question's date column, if given must be the configured one."
    )


def _question(settings: Settings, question_id: int | None) -> MetabaseQuestion:
    configured = {q.question_id: q for q in settings.metabase.questions}
    if question_id not in configured:
        raise HTTPException(
            422,
            f"question {question_id} is not among VECTORDB_METABASE_QUESTIONS"
            f" ({', '.join(map(str, configured)) or 'none configured'})",
        )
    return configured[question_id]


def _export_days(body: ProcessRequest, question: MetabaseQuestion) -> tuple[str, str]:
    if body.date_column and body.date_column != question.date_column:
        raise HTTPException(
            422,
            f"question {question.question_id} is exported by its {question.date_column!r} column"
            f" (VECTORDB_METABASE_QUESTIONS), not {body.date_column!r}",
        )
    first_day = dt.date.fromisoformat(question.start_date)
    yesterday = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    start, end = body.start_date or first_day, body.end_date or yesterday
    if not first_day <= start <= end <= yesterday:
        raise HTTPException(
            422,
            f"days {start}..{end}: question {question.question_id} has days from {first_day}"
            f" to {yesterday} (the last complete day), first day before last",
        )
    return start.isoformat(), end.isoformat()


def _submit_files(
    services: Services, object_keys: list[str], namespace: str | None, batch_size: int | None
) -> list[dict[str, Any]]:
    partitions = list(
        dict.fromkeys(partition_key_for(k, services.settings.landing.partition_depth) for k in object_keys)
    )
    services.runs.add_partitions(partitions)
    return [{"partition": p, "run_id": services.runs.submit(p, namespace, batch_size)} for p in partitions]


def _followed(services: Services, task: Task) -> Task:
    """A Metabase task whose export has landed its days, with the ingest runs of their files."""
    export = next((e for e in task.runs if "question_id" in e and not e.get("followed")), None)
    if export is None:
        return task
    state = services.run_states([export["run_id"]])[export["run_id"]]
    if state["status"] != "SUCCESS":
        return task
    question = _question(services.settings, export["question_id"])
    days = state["assets"].get(f"metabase_question_{question.question_id}", {})
    landed = [question.landing_key(day) for day, metadata in sorted(days.items()) if metadata.get("rows")]
    runs = (
        _submit_files(services, landed, task.request.get("namespace"), task.request.get("batch_size")) if landed else []
    )
    return services.tasks.replace_runs(task, [{**export, "followed": True, "landed": landed}, *runs])


def _status(services: Services, task: Task) -> dict:
    task = _followed(services, task)
    return task_status(task, services.run_states([entry["run_id"] for entry in task.runs]))


@router.post("/process", status_code=202)
def process(body: ProcessRequest, request: Request, key: ApiKey = Depends(requires("ingest"))) -> dict:
    """Submit one ingest run per partition of the named files; a task id to follow them by."""
    services: Services = request.app.state.services
    settings = services.settings
    if body.namespace:
        check_namespace(body.namespace)
    request_record = body.model_dump(mode="json", exclude_none=True)
    if body.data_source == "metabase":
        question = _question(settings, body.question_id)
        first, last = _export_days(body, question)
        job = f"metabase_question_{question.question_id}_daily"
        export = {
            "partition": f"metabase/{question.question_id}/{first}..{last}",
            "question_id": question.question_id,
            "run_id": services.runs.submit_range(job, first, last),
        }
        task_id = services.tasks.add(key.name, request_record, [export])
        return {"task_id": task_id, "status": "pending", "runs": [export], "status_url": f"/api/v1/status/{task_id}"}
    items = [*body.keys, *([body.s3_key] if body.s3_key else [])]
    if not items:
        raise HTTPException(422, "name the files to process: keys (a list) or s3_key")
    landed = [landed_key(item, settings.source) for item in items]
    for object_key in landed:
        services.landing.head(object_key)  # 404 naming the key before any run is submitted
    runs = _submit_files(services, landed, body.namespace, body.batch_size)
    task_id = services.tasks.add(key.name, request_record, runs)
    return {"task_id": task_id, "status": "pending", "runs": runs, "status_url": f"/api/v1/status/{task_id}"}


@router.get("/status/{task_id}")
def status(task_id: str, request: Request, key: ApiKey = Depends(requires("read"))) -> dict:
    """The task's state and its records and chunks, summed over its files, with each file's own."""
    services: Services = request.app.state.services
    return _status(services, services.tasks.get(task_id))


@router.get("/tasks")
def tasks(
    request: Request,
    limit: int = Query(20, ge=1, le=100),
    offset: int = Query(0, ge=0),
    key: ApiKey = Depends(requires("read")),
) -> dict:
    """The newest tasks, `limit` from `offset` on, each with its status."""
    services: Services = request.app.state.services
    page, total = services.tasks.page(limit, offset)
    return {"total": total, "limit": limit, "offset": offset, "tasks": [_status(services, task) for task in page]}
