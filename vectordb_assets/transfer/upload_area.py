"""Where job outputs are uploaded from and to: the settings' folder and destination, never a run's.

A run of the upload job names one job folder; it is resolved strictly inside
`VECTORDB_UPLOAD_FOLDER` (one plain segment, not a link) and goes under
`VECTORDB_UPLOAD_DESTINATION/<job>/`, so no run's config can upload another folder or write to
another bucket.

Example::

    area = UploadArea(folder="/srv/jobs", destination="s3://landing/scraper")
    folder, target = area.job("run-2026-12-01")
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from resources.settings_only import SettingsOnlyResource


class UploadRefused(PermissionError):
    """The job folder named is not one the upload area holds."""


class UploadArea(SettingsOnlyResource):
    """The job outputs folder and the s3:// location its job folders go under (from the settings)."""

    folder: str = Field(default="", description="VECTORDB_UPLOAD_FOLDER, resolved; empty: uploads are off.")
    destination: str = Field(default="", description="s3://bucket/prefix the job folders go under.")

    def job(self, name: str) -> tuple[Path, str]:
        """The job folder `name` inside the area, and the s3:// location it is uploaded to."""
        if not self.folder or not self.destination:
            raise UploadRefused("no upload folder is configured (set VECTORDB_UPLOAD_FOLDER)")
        if not name or "/" in name or "\\" in name or name.startswith((".", "_")):
            raise UploadRefused(f"job folder {name!r} is not one plain folder name inside {self.folder}")
        root = Path(self.folder).resolve()
        path = root / name
        if path.is_symlink() or path.resolve().parent != root:
            raise UploadRefused(f"job folder {name!r} is a link; {self.folder} is uploaded without following links")
        if not path.is_dir():
            raise UploadRefused(f"job folder {name!r} is not a folder in {self.folder}")
        return path, f"{self.destination.rstrip('/')}/{name}"
