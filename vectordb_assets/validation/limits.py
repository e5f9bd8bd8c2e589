"""Bounds on what one landed file can make a worker do: its size, how far it expands, how long a
row is, how many columns it has, how much of it is held at once.

The bounds are the settings' (`VECTORDB_MAX_*`), never a run's config, and every refusal names the
file, the bound it passed and the setting that raises it. With them a reader holds at most one
batch of `max_batch_bytes` of source bytes (and one row of `max_row_bytes`) whatever the file
claims about itself.

Example::

    limits = ReadLimits(max_row_bytes=1 << 20)
    limits.check_columns("a.jsonl", 20_000)  # UnreadableFileError naming VECTORDB_MAX_COLUMNS
"""

from __future__ import annotations

from pydantic import Field

from resources.settings_only import SettingsOnlyResource
from resources.vector_store import packed_metadata_bytes
from vectordb_assets.validation.errors import UnreadableFileError

GIB, MIB = 1 << 30, 1 << 20


def size_text(size: float) -> str:
    """A byte count as people read it: 1.5 GiB, 16 MiB, 900 bytes."""
    for unit, scale in (("GiB", GIB), ("MiB", MIB), ("KiB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.3g} {unit}"
    return f"{size:.0f} bytes"


class ReadLimits(SettingsOnlyResource):
    """What one file may cost a reader (from the settings)."""

    max_object_bytes: int = Field(
        default=20 * GIB, ge=1, description="VECTORDB_MAX_OBJECT_BYTES: larger objects are refused unread."
    )
    max_decompressed_bytes: int = Field(
        default=20 * GIB, ge=1, description="VECTORDB_MAX_DECOMPRESSED_BYTES: what a file may expand to."
    )
    max_decompression_ratio: float = Field(
        default=100.0, gt=1, description="VECTORDB_MAX_DECOMPRESSION_RATIO: expansion over the file's size."
    )
    max_row_bytes: int = Field(default=16 * MIB, ge=1024, description="VECTORDB_MAX_ROW_BYTES: one line, row or value.")
    max_columns: int = Field(
        default=2_000, ge=1, description="VECTORDB_MAX_COLUMNS: distinct columns or keys in one file."
    )
    max_batch_bytes: int = Field(
        default=64 * MIB, ge=MIB, description="VECTORDB_MAX_BATCH_BYTES: source bytes turned into rows at once."
    )
    max_nesting_depth: int = Field(
        default=64, ge=1, description="VECTORDB_MAX_NESTING_DEPTH: JSON nesting, checked before parsing."
    )
    max_pages: int = Field(default=5_000, ge=1, description="VECTORDB_MAX_PAGES: pages of one PDF.")
    max_metadata_bytes: int | None = Field(
        default=None,
        ge=1,
        description="What the vector store keeps per vector besides its text (S3 Vectors: 40 KB); none: unbounded.",
    )

    def check_object(self, key: str, size: int) -> None:
        if size > self.max_object_bytes:
            raise UnreadableFileError(
                f"{key}: {size_text(size)}, over the {size_text(self.max_object_bytes)} an object may have"
                " (VECTORDB_MAX_OBJECT_BYTES); refused unread"
            )

    def expansion_limit(self, size: int) -> float:
        """The most bytes a file of `size` bytes may decompress or decode to."""
        return min(max(size, 1) * self.max_decompression_ratio, self.max_decompressed_bytes)

    def refuse_expansion(self, key: str, size: int) -> UnreadableFileError:
        return UnreadableFileError(
            f"{key}: decompresses to more than {self.max_decompression_ratio:g}x its size ({size_text(size)}) or"
            f" {size_text(self.max_decompressed_bytes)}; refused as a likely decompression bomb"
            " (VECTORDB_MAX_DECOMPRESSION_RATIO, VECTORDB_MAX_DECOMPRESSED_BYTES)"
        )

    def refuse_row(self, key: str, where: str, **location: object) -> UnreadableFileError:
        return UnreadableFileError(
            f"{key}: {where} is longer than the {size_text(self.max_row_bytes)} a row may have (VECTORDB_MAX_ROW_BYTES)",
            **location,
        )

    def metadata_problem(self, metadata_json: str, source_key: str) -> str | None:
        """Why a row with this metadata cannot be indexed whole in the vector store, if it cannot
        (the store would refuse every vector written with it)."""
        if self.max_metadata_bytes is None or len(metadata_json) < self.max_metadata_bytes // 16:
            return None  # packed, a character takes at most 12 bytes: far within the bound
        size = packed_metadata_bytes(metadata_json, source_key)
        if size <= self.max_metadata_bytes:
            return None
        return f"metadata of {size_text(size)}, over the {size_text(self.max_metadata_bytes)} the vector store keeps per vector"

    def check_pages(self, key: str, pages: int) -> None:
        if pages > self.max_pages:
            raise UnreadableFileError(
                f"{key}: {pages:,} pages, over the {self.max_pages:,} a document may have (VECTORDB_MAX_PAGES)"
            )

    def check_text(self, key: str, size: int, chars: int) -> None:
        """The text extracted from a document of `size` bytes may be no more than it may expand to."""
        if chars > self.expansion_limit(size):
            raise self.refuse_expansion(key, size)

    def check_columns(self, key: str, count: int) -> None:
        if count > self.max_columns:
            raise UnreadableFileError(
                f"{key}: {count:,} distinct columns or keys, over the {self.max_columns:,} a file may have (VECTORDB_MAX_COLUMNS)"
            )
