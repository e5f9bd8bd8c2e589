"""How the index stage decides that a row changed."""

import hashlib
import json

from pydantic import Field

from resources.settings_only import SettingsOnlyResource


class IndexPolicy(SettingsOnlyResource):
    """Which metadata fields are volatile: left out of the hash that decides whether to re-upsert.

    Example::

        IndexPolicy(volatile_fields=["crawled_at", "fetched_at"])
    """

    volatile_fields: list[str] = Field(
        default_factory=list,
        description="Top-level metadata fields whose changes alone do not rewrite a vector.",
    )

    def record_hash(self, content_hash: str, metadata_json: str) -> str:
        """sha256 over the content hash and the metadata without volatile fields."""
        if not self.volatile_fields:
            # Validation writes metadata as canonical JSON (sorted keys), so the text itself will do.
            return hashlib.sha256(f"{content_hash}\x1f{metadata_json}".encode()).hexdigest()
        metadata = json.loads(metadata_json) if metadata_json else {}
        kept = {k: v for k, v in metadata.items() if k not in self.volatile_fields}
        payload = json.dumps([content_hash, kept], sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()
