"""The ingest job's runs through the Dagster webserver's GraphQL API: submit a run for landed
objects, follow a run's state and each file's progress, list recent runs. `vectordb ingest`,
`status` and `runs` use it; any other service can send the same GraphQL requests.

Example::

    api = RunsApi("http://127.0.0.1:3000")
    run_id = api.submit(["exports/2026-11-01.csv"], namespace="v2")
    api.status(run_id)["status"]  # "QUEUED", "STARTED", "SUCCESS", "FAILURE", …
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import dagster as dg
import requests
from dagster_graphql import DagsterGraphQLClient, DagsterGraphQLClientError
from gql import Client, gql
from gql.transport.exceptions import TransportConnectionFailed
from gql.transport.requests import RequestsHTTPTransport

from vectordb_assets.assets.embeddings import EmbeddingsConfig
from vectordb_assets.assets.per_file import FAILED_STATUS, RANGE_END_TAG, RANGE_START_TAG, STATUS
from vectordb_assets.assets.vector_index import VectorIndexConfig
from vectordb_assets.landing.partitions import source_files

JOB = "ingest_files"
REPOSITORY = "__repository__"
STAGES = ("validated_parquet", "embeddings", "vector_index")
PARTITION_TAG, NAMESPACE_TAG = "dagster/partition", "vectordb/namespace"
FINISHED = ("SUCCESS", "FAILURE", "CANCELED")
FAILURE_CLASS = "dagster._core.definitions.events.Failure"
PROGRESS = ("records_total", "records_processed", "records_failed", "chunks_completed", "chunks_total")

ADD_PARTITION = """
mutation AddPartition($repository: RepositorySelector!, $name: String!, $key: String!) {
  addDynamicPartition(repositorySelector: $repository, partitionsDefName: $name, partitionKey: $key) {
    __typename
    ... on UnauthorizedError { message }
    ... on PythonError { message }
  }
}"""

RUN = """
query Run($runId: ID!, $after: String) {
  runOrError(runId: $runId) {
    __typename
    ... on Run {
      runId status startTime endTime jobName
      tags { key value }
      eventConnection(afterCursor: $after) {
        cursor hasMore
        events {
          __typename
          ... on MaterializationEvent {
            assetKey { path } partition
            metadataEntries {
              label
              ... on IntMetadataEntry { intRepr }
              ... on FloatMetadataEntry { floatValue }
              ... on TextMetadataEntry { text }
              ... on BoolMetadataEntry { boolValue }
            }
          }
          ... on ExecutionStepFailureEvent { stepKey error { message } }
          ... on RunFailureEvent { message }
        }
      }
    }
    ... on RunNotFoundError { message }
    ... on PythonError { message }
  }
}"""

RUNS = """
query Runs($limit: Int!, $job: String!) {
  runsOrError(limit: $limit, filter: {pipelineName: $job}) {
    __typename
    ... on Runs { results { runId status startTime endTime tags { key value } } }
    ... on InvalidPipelineRunsFilterError { message }
    ... on PythonError { message }
  }
}"""


HEALTH = """
query Health {
  version
  instance { daemonHealth { allDaemonStatuses { daemonType required healthy lastHeartbeatTime } } }
}"""


class RunsApiError(RuntimeError):
    """The webserver could not be reached, or refused or failed a request (its message says why)."""


def _value(entry: dict[str, Any]) -> Any:
    if "intRepr" in entry:
        return int(entry["intRepr"])
    for name in ("floatValue", "text", "boolValue"):
        if name in entry:
            return entry[name]
    return None


class RunsApi:
    """The ingest job of the code location `location` on the webserver at `url`."""

    def __init__(
        self, url: str, location: str = "vectordb_assets", timeout: int = 60, headers: Mapping[str, str] | None = None
    ):
        """`headers` go with every request: an authenticating proxy's token, for instance."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise RunsApiError(f"{url!r} is not the http(s) URL of a Dagster webserver")
        transport = RequestsHTTPTransport(
            url=f"{url.rstrip('/')}/graphql", use_json=True, timeout=timeout, headers=dict(headers or {})
        )
        self.url, self.location = url.rstrip("/"), location
        self._client = DagsterGraphQLClient(parts.hostname, transport=transport)
        self._graphql = Client(transport=transport)

    def _query(self, query: str, **variables: Any) -> dict[str, Any]:
        try:
            return self._graphql.execute(gql(query), variable_values=variables)
        except (TransportConnectionFailed, requests.ConnectionError, requests.Timeout):
            raise RunsApiError(
                f"the Dagster webserver at {self.url} cannot be reached (VECTORDB_DAGSTER_URL)"
            ) from None
        except Exception as error:  # the transport's other errors: HTTP 5xx, GraphQL errors
            raise RunsApiError(f"{self.url}: {type(error).__name__}: {error}") from None

    def add_partitions(self, keys: list[str]) -> None:
        """Add the partitions among `keys` the job does not have yet."""
        repository = {"repositoryLocationName": self.location, "repositoryName": REPOSITORY}
        for key in keys:
            answer = self._query(ADD_PARTITION, repository=repository, name=source_files.name, key=key)[
                "addDynamicPartition"
            ]
            if answer["__typename"] not in ("AddDynamicPartitionSuccess", "DuplicateDynamicPartitionError"):
                raise RunsApiError(
                    f"partition {key!r} could not be added: {answer.get('message', answer['__typename'])}"
                )

    def submit(self, partition: str, namespace: str | None = None, batch_rows: int | None = None) -> str:
        """Submit a run of the ingest job for one partition (its files in `namespace`, embedded
        `batch_rows` at a time, when given); its run id."""
        ops: dict[str, dg.Config] = {}
        if namespace:
            ops["vector_index"] = VectorIndexConfig(namespace=namespace)
        if batch_rows:
            ops["embeddings"] = EmbeddingsConfig(batch_rows=batch_rows)
        try:
            return self._client.submit_job_execution(
                JOB,
                repository_location_name=self.location,
                repository_name=REPOSITORY,
                run_config=dg.RunConfig(ops=ops),
                tags={PARTITION_TAG: partition, **({NAMESPACE_TAG: namespace} if namespace else {})},
            )
        except DagsterGraphQLClientError as error:
            raise RunsApiError(f"{self.url}: the run for {partition!r} was not submitted: {error}") from None

    def submit_range(self, job: str, first: str, last: str) -> str:
        """Submit one run of `job` (a job of one partitioned asset) over the partitions from
        `first` to `last`; its run id."""
        tags = {RANGE_START_TAG: first, RANGE_END_TAG: last}
        try:
            return self._client.submit_job_execution(
                job, repository_location_name=self.location, repository_name=REPOSITORY, run_config={}, tags=tags
            )
        except DagsterGraphQLClientError as error:
            raise RunsApiError(f"{self.url}: the run of {job} for {first}..{last} was not submitted: {error}") from None

    def status(self, run_id: str) -> dict[str, Any]:
        """The run's state, times, errors, each file's progress through each stage, and the
        metadata of any other asset's partitions (`assets`)."""
        files: dict[str, dict[str, dict[str, Any]]] = {}
        others: dict[str, dict[str, dict[str, Any]]] = {}
        errors: list[str] = []
        failed_steps: dict[str, str] = {}
        after = None
        while True:
            answer = self._query(RUN, runId=run_id, after=after)["runOrError"]
            if answer["__typename"] != "Run":
                raise RunsApiError(answer.get("message") or f"no run {run_id}")
            events = answer["eventConnection"]
            for event in events["events"]:
                kind = event["__typename"]
                if kind == "MaterializationEvent" and event["assetKey"]["path"][-1] in STAGES and event["partition"]:
                    metadata = {e["label"]: _value(e) for e in event["metadataEntries"]}
                    stage = {
                        "status": metadata.get(STATUS, "ok"),
                        **{n: metadata[n] for n in PROGRESS if n in metadata},
                    }
                    if metadata.get("error"):
                        stage["error"] = metadata["error"]
                    files.setdefault(event["partition"], {})[event["assetKey"]["path"][-1]] = stage
                elif kind == "MaterializationEvent" and event["partition"]:  # another asset: a Metabase export's days
                    metadata = {e["label"]: _value(e) for e in event["metadataEntries"]}
                    others.setdefault(event["assetKey"]["path"][-1], {})[event["partition"]] = metadata
                elif kind == "ExecutionStepFailureEvent":
                    message = event["error"]["message"].strip().removeprefix(f"{FAILURE_CLASS}: ")
                    failed_steps[event["stepKey"]] = message
                    errors.append(f"{event['stepKey']}: {message}")
                elif kind == "RunFailureEvent" and event.get("message"):
                    errors.append(event["message"])
            if not events["hasMore"]:
                break
            after = events["cursor"]
        tags = {t["key"]: t["value"] for t in answer["tags"]}
        partition = tags.get(PARTITION_TAG)
        for step, message in failed_steps.items():  # a one-file run whose file failed: the step failed
            if partition and step in STAGES and step not in files.get(partition, {}):
                files.setdefault(partition, {})[step] = {"status": FAILED_STATUS, "error": message}
        return {
            "run_id": answer["runId"],
            "status": answer["status"],
            "started": answer["startTime"],
            "ended": answer["endTime"],
            "partition": partition,
            "namespace": tags.get(NAMESPACE_TAG),
            "errors": errors,
            "files": files,
            "assets": others,
        }

    def wait(self, run_ids: list[str], every_seconds: float = 2.0) -> list[dict[str, Any]]:
        """The runs' states once every one has finished."""
        states = {run_id: self.status(run_id) for run_id in run_ids}
        while any(state["status"] not in FINISHED for state in states.values()):
            time.sleep(every_seconds)
            states = {
                run_id: state if state["status"] in FINISHED else self.status(run_id)
                for run_id, state in states.items()
            }
        return list(states.values())

    def runs(self, limit: int = 20) -> list[dict[str, Any]]:
        """The ingest job's latest runs, newest first."""
        answer = self._query(RUNS, limit=limit, job=JOB)["runsOrError"]
        if answer["__typename"] != "Runs":
            raise RunsApiError(answer.get("message") or answer["__typename"])
        return [
            {
                "run_id": r["runId"],
                "status": r["status"],
                "started": r["startTime"],
                "ended": r["endTime"],
                "partition": {t["key"]: t["value"] for t in r["tags"]}.get(PARTITION_TAG),
            }
            for r in answer["results"]
        ]

    def health(self) -> dict[str, Any]:
        """The webserver's Dagster version and each daemon's health and seconds since its last heartbeat."""
        answer = self._query(HEALTH)
        now = time.time()
        daemons = {
            d["daemonType"]: {
                "healthy": bool(d["healthy"]),
                "heartbeat_age_seconds": round(now - d["lastHeartbeatTime"], 1) if d["lastHeartbeatTime"] else None,
            }
            for d in answer["instance"]["daemonHealth"]["allDaemonStatuses"]
            if d["required"]
        }
        return {"version": answer["version"], "daemons": daemons}
