"""The upload job: one job folder of the upload area uploaded, its summary recorded as metadata."""

from pathlib import Path

import dagster as dg
from dagster_aws.s3 import S3Resource
from pydantic import Field

from resources.location import Location
from vectordb_assets.transfer.upload_area import UploadArea, UploadRefused
from vectordb_assets.transfer.uploads import upload_folder


class UploadConfig(dg.Config):
    """What to upload and where."""

    job: str = Field(description="The job folder's name inside VECTORDB_UPLOAD_FOLDER.")
    include: list[str] = Field(default_factory=list, description="Globs of relative paths to upload.")
    exclude: list[str] = Field(default_factory=list, description="Globs of relative paths to leave out.")
    tags: dict[str, str] = Field(default_factory=dict, description="Tags set on every uploaded object.")
    multipart_threshold_mb: int = Field(default=64, description="Larger files go multipart.")


@dg.op
def upload_files(
    context: dg.OpExecutionContext, config: UploadConfig, s3: S3Resource, upload_area: UploadArea
) -> dg.Output[None]:
    """Uploads the job folder; fails, with the summary, unless every file was uploaded or skipped."""
    try:
        folder, destination = upload_area.job(config.job)
    except UploadRefused as error:
        raise dg.Failure(description=str(error), allow_retries=False) from None
    target = Location.parse(destination, base=Path.cwd())
    summary = upload_folder(
        s3.get_client(),
        folder,
        target.root,
        target.prefix,
        include=config.include,
        exclude=config.exclude,
        tags=config.tags,
        multipart_threshold=config.multipart_threshold_mb << 20,
    )
    metadata = summary.to_dict()
    if summary.status != "success":
        raise dg.Failure(
            description=f"upload {summary.status}: {len(summary.errors)} file(s) failed", metadata=metadata
        )
    context.log.info(f"uploaded {summary.files_uploaded}, skipped {summary.files_skipped}")
    return dg.Output(None, metadata=metadata)


@dg.job(description="Upload a folder of job outputs to the landing prefix, skipping unchanged files.")
def upload_job_outputs() -> None:
    upload_files()
