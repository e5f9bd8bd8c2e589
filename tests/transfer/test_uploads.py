"""Uploading job outputs and printing links, through real boto3 on moto's server."""

from __future__ import annotations

import json
import urllib.request
from datetime import UTC
from pathlib import Path

import pytest
from click.testing import CliRunner
from dagster_aws.s3 import S3Resource

from resources.object_store import SettingsS3Resource
from vectordb_assets.assets.upload_job import upload_job_outputs
from vectordb_assets.cli import main
from vectordb_assets.transfer.upload_area import UploadArea
from vectordb_assets.transfer.uploads import upload_folder


@pytest.fixture
def outputs(tmp_path: Path) -> Path:
    folder = tmp_path / "job-output"
    (folder / "pages").mkdir(parents=True)
    (folder / "pages/1.json").write_text('[{"id": "1", "text": "one"}]')
    (folder / "pages/2.json").write_text('[{"id": "2", "text": "two"}]')
    (folder / "debug.log").write_text("noise")
    (folder / "big.jsonl").write_bytes(b'{"id": "x", "text": "' + b"y" * (6 << 20) + b'"}\n')
    return folder


def test_upload_goes_multipart_tags_and_skips_unchanged_files(outputs: Path, s3, s3_bucket: str) -> None:
    summary = upload_folder(
        s3, outputs, s3_bucket, "landing", exclude=["*.log"], tags={"job": "scrape"}, multipart_threshold=5 << 20
    )
    assert (summary.status, summary.files_uploaded, summary.files_skipped) == ("success", 3, 0)
    assert f"s3://{s3_bucket}/landing/big.jsonl" in summary.urls
    assert s3.head_object(Bucket=s3_bucket, Key="landing/big.jsonl")["ETag"].strip('"').endswith("-2")  # two parts
    assert s3.get_object_tagging(Bucket=s3_bucket, Key="landing/pages/1.json")["TagSet"] == [
        {"Key": "job", "Value": "scrape"}
    ]
    assert "landing/debug.log" not in {o["Key"] for o in s3.list_objects_v2(Bucket=s3_bucket)["Contents"]}
    (outputs / "pages/2.json").write_text('[{"id": "2", "text": "two, edited"}]')
    again = upload_folder(s3, outputs, s3_bucket, "landing", exclude=["*.log"], multipart_threshold=5 << 20)
    assert (again.files_uploaded, again.files_skipped, again.urls) == (1, 2, [f"s3://{s3_bucket}/landing/pages/2.json"])


def test_a_partial_upload_names_the_failed_file_and_a_rerun_uploads_only_it(outputs: Path, s3, s3_bucket: str) -> None:
    (outputs / "pages/3.json").symlink_to(outputs / "pages/missing.json")
    result = CliRunner().invoke(
        main, ["upload", str(outputs), f"s3://{s3_bucket}/in", "--include", "pages/*", "--json"]
    )
    summary = json.loads(result.stdout)
    assert result.exit_code == 1 and summary["status"] == "partial"
    assert list(summary["errors"]) == ["pages/3.json"] and "No such file" in summary["errors"]["pages/3.json"]
    assert summary["files_uploaded"] == 2
    (outputs / "pages/missing.json").write_text('[{"id": "3", "text": "three"}]')
    rerun = CliRunner().invoke(main, ["upload", str(outputs), f"s3://{s3_bucket}/in", "--include", "pages/*", "--json"])
    summary = json.loads(rerun.stdout)
    assert rerun.exit_code == 0
    assert summary["urls"] == [f"s3://{s3_bucket}/in/pages/3.json", f"s3://{s3_bucket}/in/pages/missing.json"]
    assert summary["files_skipped"] == 2


def upload_area(outputs: Path, bucket: str) -> UploadArea:
    return UploadArea(folder=str(outputs.parent), destination=f"s3://{bucket}/p")


def test_the_upload_job_records_its_summary(outputs: Path, s3, s3_bucket: str, moto_endpoint: str) -> None:
    config = {"ops": {"upload_files": {"config": {"job": outputs.name, "exclude": ["big.*"]}}}}
    resources = {"s3": S3Resource(endpoint_url=moto_endpoint), "upload_area": upload_area(outputs, s3_bucket)}
    result = upload_job_outputs.execute_in_process(run_config=config, resources=resources)
    assert result.success
    (output,) = [e for e in result.all_events if e.event_type_value == "STEP_OUTPUT"]
    metadata = output.step_output_data.metadata
    assert metadata["status"].value == "success" and metadata["files_uploaded"].value == 3
    assert s3.head_object(Bucket=s3_bucket, Key=f"p/{outputs.name}/pages/1.json")


@pytest.mark.parametrize("job", ["..", "../elsewhere", "job-output/pages", "_hidden", "", "linked"])
def test_the_upload_job_uploads_only_a_job_folder_of_the_upload_area(
    job: str, outputs: Path, tmp_path: Path, s3, s3_bucket: str, moto_endpoint: str
) -> None:
    elsewhere = tmp_path.parent / f"{tmp_path.name}-elsewhere"
    elsewhere.mkdir()
    (elsewhere / "secret.csv").write_text("id,text\n1,secret\n")
    (tmp_path / "linked").symlink_to(elsewhere, target_is_directory=True)
    resources = {"s3": S3Resource(endpoint_url=moto_endpoint), "upload_area": upload_area(outputs, s3_bucket)}
    result = upload_job_outputs.execute_in_process(
        run_config={"ops": {"upload_files": {"config": {"job": job}}}}, resources=resources, raise_on_error=False
    )
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert f"job folder {job!r}" in failure.step_failure_data.user_failure_data.description
    assert "Contents" not in s3.list_objects_v2(Bucket=s3_bucket)


def test_a_run_cannot_point_the_upload_job_at_another_folder_or_bucket(
    outputs: Path, tmp_path: Path, s3, s3_bucket: str, moto_endpoint: str
) -> None:
    resources = {"s3": SettingsS3Resource(endpoint_url=moto_endpoint), "upload_area": upload_area(outputs, s3_bucket)}
    run_config = {
        "ops": {"upload_files": {"config": {"job": outputs.name}}},
        "resources": {"upload_area": {"config": {"folder": "/etc", "destination": "s3://attacker/loot"}}},
    }
    result = upload_job_outputs.execute_in_process(run_config=run_config, resources=resources, raise_on_error=False)
    assert not result.success
    message = "".join(str(e.event_specific_data) for e in result.all_events if e.is_failure)
    assert "resources.upload_area.config.destination" in message and "resources.upload_area.config.folder" in message
    assert "Contents" not in s3.list_objects_v2(Bucket=s3_bucket)


def test_a_link_to_outside_the_job_folder_is_never_uploaded(outputs: Path, tmp_path: Path, s3, s3_bucket: str) -> None:
    (tmp_path / "credentials").write_text("aws_secret_access_key = hunter2")
    (outputs / "creds.json").symlink_to(tmp_path / "credentials")
    (outputs / "pages/again.json").symlink_to(outputs / "pages/1.json")  # inside: followed
    summary = upload_folder(s3, outputs, s3_bucket, "landing", exclude=["big.*", "*.log"])
    assert summary.status == "partial" and list(summary.errors) == ["creds.json"]
    assert "link to outside the folder" in summary.errors["creds.json"]
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=s3_bucket)["Contents"]}
    assert "landing/creds.json" not in keys and "landing/pages/again.json" in keys


def link_lifetime(link: str) -> float:
    """Seconds from now until a presigned link expires, read from its signed query (SigV4's
    X-Amz-Date + X-Amz-Expires, or SigV2's Expires)."""
    from datetime import datetime
    from urllib.parse import parse_qs, urlsplit

    query = {name: values[0] for name, values in parse_qs(urlsplit(link).query).items()}
    now = datetime.now(UTC).timestamp()
    if "X-Amz-Expires" in query:
        signed = datetime.strptime(query["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp()
        return signed + int(query["X-Amz-Expires"]) - now
    return int(query["Expires"]) - now


@pytest.mark.parametrize("expires", [60, 7200])
def test_url_prints_a_working_presigned_link_that_lives_as_long_as_asked(
    s3, s3_bucket: str, home: Path, expires: int
) -> None:
    s3.put_object(Bucket=s3_bucket, Key="_vectordb/validated/a.csv.parquet", Body=b"PAR1...")
    result = CliRunner().invoke(
        main, ["url", f"s3://{s3_bucket}/_vectordb/validated/a.csv.parquet", "--expires", str(expires)]
    )
    assert result.exit_code == 0, result.output
    link = result.output.strip()
    assert expires - 5 <= link_lifetime(link) <= expires
    with urllib.request.urlopen(link) as response:
        assert response.read() == b"PAR1..."
    missing = CliRunner().invoke(main, ["url", f"s3://{s3_bucket}/nothing-here"])
    assert missing.exit_code == 1 and "no object" in missing.output


def test_s3_verifies_the_checksum_and_a_same_size_edit_is_uploaded_again(outputs: Path, s3, s3_bucket: str) -> None:
    import base64
    import hashlib

    page = outputs / "pages/1.json"
    upload_folder(s3, outputs, s3_bucket, "in", include=["pages/1.json"])
    stored = s3.head_object(Bucket=s3_bucket, Key="in/pages/1.json", ChecksumMode="ENABLED")["ChecksumSHA256"]
    assert stored == base64.b64encode(hashlib.sha256(page.read_bytes()).digest()).decode()
    # Same size, other bytes: the checksum, not the size or a header we sent, decides.
    page.write_text(page.read_text().replace("one", "eno"))
    again = upload_folder(s3, outputs, s3_bucket, "in", include=["pages/1.json"])
    assert (again.files_uploaded, again.files_skipped) == (1, 0)
    assert s3.get_object(Bucket=s3_bucket, Key="in/pages/1.json")["Body"].read() == page.read_bytes()


def test_a_missing_bucket_fails_at_once_without_retries(outputs: Path, s3) -> None:
    summary = upload_folder(s3, outputs, "no-such-bucket-here", "in", include=["pages/1.json"])
    assert summary.status == "failed" and "NoSuchBucket" in summary.errors["pages/1.json"]
