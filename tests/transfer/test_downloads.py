"""`vectordb download` on moto's S3: streamed, verified against S3's checksum, never left partial."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest
from botocore.response import StreamingBody
from click.testing import CliRunner

from vectordb_assets.cli import main
from vectordb_assets.transfer.downloads import DownloadVerificationError, download_object
from vectordb_assets.transfer.uploads import upload_folder


@pytest.fixture
def outputs(tmp_path: Path) -> Path:
    folder = tmp_path / "job"
    folder.mkdir()
    (folder / "small.parquet").write_bytes(os.urandom(1000))
    (folder / "large.parquet").write_bytes(os.urandom(11 << 20))  # three parts of 5 MiB
    return folder


def test_objects_uploaded_whole_or_in_parts_are_downloaded_and_checked_by_sha256(
    s3, s3_bucket: str, outputs: Path, tmp_path: Path
) -> None:
    assert upload_folder(s3, outputs, s3_bucket, "job", multipart_threshold=5 << 20).status == "success"
    assert s3.head_object(Bucket=s3_bucket, Key="job/large.parquet")["ETag"].endswith('-3"')
    into = tmp_path / "downloads"
    into.mkdir()
    for name in ("small.parquet", "large.parquet"):
        summary = download_object(s3, s3_bucket, f"job/{name}", into)
        assert summary.verified_by == "sha256" and summary.path == str(into / name)
        assert (into / name).read_bytes() == (outputs / name).read_bytes()
    assert sorted(p.name for p in into.iterdir()) == ["large.parquet", "small.parquet"]  # no temporary files left


def test_an_object_without_a_checksum_is_checked_by_its_md5(s3, s3_bucket: str, tmp_path: Path) -> None:
    s3.put_object(Bucket=s3_bucket, Key="plain.csv", Body=b"id,text\n1,one\n")
    summary = download_object(s3, s3_bucket, "plain.csv", tmp_path / "copy.csv")
    assert summary.verified_by == "md5" and (tmp_path / "copy.csv").read_bytes() == b"id,text\n1,one\n"


@pytest.mark.parametrize("checksum", [{"ChecksumAlgorithm": "SHA256"}, {}], ids=["sha256", "md5"])
def test_a_copy_corrupted_on_the_way_is_refused_and_the_destination_left_alone(
    s3, s3_bucket: str, tmp_path: Path, checksum: dict
) -> None:
    s3.put_object(Bucket=s3_bucket, Key="a.csv", Body=b"id,text\n1,one\n", **checksum)
    destination = tmp_path / "a.csv"
    destination.write_bytes(b"the previous copy")

    def flip_bytes(parsed, **_) -> None:  # the network changes the bytes on their way
        body = parsed["Body"].read()
        parsed["Body"] = StreamingBody(io.BytesIO(body.replace(b"one", b"eno")), len(body))

    s3.meta.events.register("after-call.s3.GetObject", flip_bytes)
    try:
        with pytest.raises(DownloadVerificationError, match="s3://.*/a.csv: S3 keeps (SHA-256|MD5)"):
            download_object(s3, s3_bucket, "a.csv", destination)
    finally:
        s3.meta.events.unregister("after-call.s3.GetObject", flip_bytes)
    assert destination.read_bytes() == b"the previous copy"
    assert [p.name for p in tmp_path.iterdir()] == ["a.csv"]


def test_the_download_command_prints_what_it_did_and_names_a_missing_object(
    s3, s3_bucket: str, home: Path, tmp_path: Path
) -> None:
    s3.put_object(Bucket=s3_bucket, Key="dir/b.json", Body=b"[]", ChecksumAlgorithm="SHA256")
    result = CliRunner().invoke(main, ["download", f"s3://{s3_bucket}/dir/b.json", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "uri": f"s3://{s3_bucket}/dir/b.json",
        "path": str(tmp_path / "b.json"),
        "bytes": 2,
        "verified_by": "sha256",
    }
    missing = CliRunner().invoke(main, ["download", f"s3://{s3_bucket}/dir/none.json", str(tmp_path)])
    assert missing.exit_code == 1 and f"no object s3://{s3_bucket}/dir/none.json" in missing.output
    local = CliRunner().invoke(main, ["download", str(tmp_path / "b.json"), str(tmp_path / "c.json")])
    assert local.exit_code != 0 and "not an s3:// URI" in local.output
