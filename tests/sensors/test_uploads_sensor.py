"""Job output folders uploaded when complete (a `_SUCCESS` marker, or quiet for a while), once per
version, with the status summary kept; the landing sensor passes over the markers and summaries."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import boto3
import dagster as dg
import pytest

from resources.object_store import LocalObjectStore, S3ObjectStore
from sensors.landing_sensor import build_landing_sensor
from sensors.uploads_sensor import build_uploads_sensor
from tests.sensors.ticks import tick
from vectordb_assets.assets.jobs import ingest_files
from vectordb_assets.assets.upload_job import upload_job_outputs
from vectordb_assets.transfer.upload_area import UploadArea


def requests_of(sensor: dg.SensorDefinition) -> list[dg.RunRequest]:
    with dg.build_sensor_context() as context:
        result = sensor(context)
    return [] if isinstance(result, dg.SkipReason) else list(result)


def write_job(folder: Path, age_seconds: float = 0.0, done: bool = False) -> None:
    (folder / "pages").mkdir(parents=True)
    (folder / "pages/1.json").write_text('[{"id": "1", "text": "one"}]')
    (folder / "pages/2.json").write_text('[{"id": "2", "text": "two"}]')
    if done:
        (folder / "_SUCCESS").write_text("")
    for path in folder.rglob("*"):
        os.utime(path, (time.time() - age_seconds,) * 2)


def test_complete_job_folders_are_uploaded_once_per_version_with_their_summary(
    tmp_path: Path, s3_bucket: str, moto_endpoint: str, s3_resource, aws_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    outputs = tmp_path / "outputs"
    write_job(outputs / "20261127T010000Z_scrape-1", done=True)  # marked complete
    write_job(outputs / "20261127T020000Z_scrape-2", age_seconds=600)  # quiet for 10 minutes
    write_job(outputs / "20261127T030000Z_scrape-3")  # still being written
    sensor = build_uploads_sensor(
        upload_job_outputs, outputs, f"s3://{s3_bucket}/landing/scraper", quiet_seconds=300, interval_seconds=30
    )
    requests = requests_of(sensor)
    area = UploadArea(folder=str(outputs), destination=f"s3://{s3_bucket}/landing/scraper")
    assert [r.tags["vectordb/job_folder"] for r in requests] == [
        "20261127T010000Z_scrape-1",
        "20261127T020000Z_scrape-2",
    ]

    client = boto3.client("s3", endpoint_url=moto_endpoint)
    with dg.instance_for_test() as instance:
        for request in requests:
            result = upload_job_outputs.execute_in_process(
                run_config=request.run_config, instance=instance, resources={"s3": s3_resource, "upload_area": area}
            )
            assert result.success
        (output,) = [e for e in result.all_events if e.event_type_value == "STEP_OUTPUT"]
        metadata = output.step_output_data.metadata
        assert metadata["status"].value == "success" and metadata["uploaded_at"].value
    keys = sorted(o["Key"] for o in client.list_objects_v2(Bucket=s3_bucket)["Contents"])
    one, two = "landing/scraper/20261127T010000Z_scrape-1", "landing/scraper/20261127T020000Z_scrape-2"
    assert keys == [
        f"{one}/_SUCCESS",
        f"{one}/_upload_summary.json",
        f"{one}/pages/1.json",
        f"{one}/pages/2.json",
        f"{two}/_upload_summary.json",
        f"{two}/pages/1.json",
        f"{two}/pages/2.json",
    ]
    summary = json.loads(
        client.get_object(Bucket=s3_bucket, Key="landing/scraper/20261127T010000Z_scrape-1/_upload_summary.json")[
            "Body"
        ].read()
    )
    assert (summary["status"], summary["files_uploaded"], summary["folder"]) == (
        "success",
        3,
        "20261127T010000Z_scrape-1",
    )
    assert summary["uploaded_at"].endswith("+00:00")

    # Unchanged folders are asked for under the same run keys (Dagster runs a run key once);
    # a folder that changes gets a new key, and its upload sends only the changed file.
    again = {r.tags["vectordb/job_folder"]: r.run_key for r in requests_of(sensor)}
    assert again == {r.tags["vectordb/job_folder"]: r.run_key for r in requests}
    (outputs / "20261127T010000Z_scrape-1/pages/2.json").write_text('[{"id": "2", "text": "two, fixed"}]')
    changed = {r.tags["vectordb/job_folder"]: r for r in requests_of(sensor)}
    assert changed["20261127T010000Z_scrape-1"].run_key != again["20261127T010000Z_scrape-1"]
    with dg.instance_for_test() as instance:
        rerun = upload_job_outputs.execute_in_process(
            run_config=changed["20261127T010000Z_scrape-1"].run_config,
            instance=instance,
            resources={"s3": s3_resource, "upload_area": area},
        )
    (output,) = [e for e in rerun.all_events if e.event_type_value == "STEP_OUTPUT"]
    assert (
        output.step_output_data.metadata["files_uploaded"].value,
        output.step_output_data.metadata["files_skipped"].value,
    ) == (1, 2)


def test_the_landing_sensor_passes_over_markers_and_summaries(
    tmp_path: Path, s3_bucket: str, s3_resource, state_db, moto_endpoint: str
) -> None:
    client = boto3.client("s3", endpoint_url=moto_endpoint)
    for key in (
        "job-1/pages/1.json",
        "job-1/_SUCCESS",
        "job-1/_upload_summary.json",
        "job-1/.tmp/part.json",
        "_staging/x.csv",
    ):
        client.put_object(Bucket=s3_bucket, Key=f"landing/{key}", Body=b'[{"id": "1", "text": "one"}]')
    store = S3ObjectStore(s3=s3_resource, bucket=s3_bucket, prefix="landing")
    sensor = build_landing_sensor(
        ingest_files, minimum_interval_seconds=30, max_partitions_per_run=100, excluded_prefix=None
    )
    with dg.instance_for_test() as instance:
        first = tick(sensor, instance, {"source_store": store, "state_db": state_db}, None)
        assert [r.partition_key for r in first.run_requests] == ["job-1/pages/1.json"]
    # S3 events name the same keys; a local landing folder hides them alike.
    events = {s3_bucket: {"landing/job-2/a.csv", "landing/job-2/_SUCCESS", "landing/job-2/_temporary/0/b.csv"}}
    assert store.keys_in(events) == {"job-2/a.csv"}
    for key in ("job/a.csv", "job/_SUCCESS", "job/_upload_summary.json", "_temporary/b.csv"):
        (tmp_path / "local" / key).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "local" / key).write_text("id,text\n1,x\n")
    assert [o.key for o in LocalObjectStore(root=str(tmp_path / "local")).list_objects()] == ["job/a.csv"]


def test_automatic_uploads_need_an_s3_destination_and_add_the_sensor(home: Path) -> None:
    from vectordb_assets.definitions import build_definitions
    from vectordb_assets.settings import Settings, SettingsError

    with pytest.raises(SettingsError, match="VECTORDB_UPLOAD_FOLDER needs an s3:// VECTORDB_UPLOAD_DESTINATION"):
        Settings.from_env({"VECTORDB_HOME": str(home), "VECTORDB_UPLOAD_FOLDER": "outputs"})
    settings = Settings.from_env(
        {
            "VECTORDB_HOME": str(home),
            "VECTORDB_UPLOAD_FOLDER": "outputs",
            "VECTORDB_UPLOAD_DESTINATION": "s3://landing/jobs",
        }
    )
    sensor = build_definitions(settings).resolve_sensor_def("job_outputs_sensor")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING and sensor.job_name == "upload_job_outputs"
    assert "job_outputs_sensor" not in {
        s.name for s in build_definitions(Settings.from_env({"VECTORDB_HOME": str(home)})).sensors or []
    }
