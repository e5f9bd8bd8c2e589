"""A small driver for end-to-end tests: land files, run the job, read the index."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg
from psycopg import sql

from resources.state_db import StateDatabase
from vectordb_assets.assets.per_file import RANGE_END_TAG, RANGE_START_TAG
from vectordb_assets.definitions import build_definitions
from vectordb_assets.landing.partitions import source_files
from vectordb_assets.settings import Settings

T0 = datetime(2026, 11, 1, tzinfo=UTC).timestamp()


class Pipeline:
    """The platform on a local landing folder and a test database, with a test instance."""

    def __init__(self, settings: Settings, instance: dg.DagsterInstance, state_db: StateDatabase):
        self.settings = settings
        self.instance = instance
        self.state_db = state_db
        self.landing = Path(settings.source.root)

    def land(self, key: str, content: str | bytes, minute: int = 0) -> None:
        """Write a file (text as UTF-8) into the landing folder, modified `minute` minutes after a fixed time."""
        path = self.landing / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
        os.utime(path, (T0 + 60 * minute, T0 + 60 * minute))

    def remove(self, key: str) -> None:
        (self.landing / key).unlink()

    def run(
        self, *keys: str, run_config: dict | None = None, settings: Settings | None = None, tags: dict | None = None
    ) -> dict[str, dict[str, Any]]:
        """Run the ingest job over `keys` (adjacent partitions) and return each asset's metadata:
        the partition's own for one key, {key: metadata} for several."""
        known = self.instance.get_dynamic_partitions(source_files.name)
        self.instance.add_dynamic_partitions(source_files.name, [k for k in keys if k not in known])
        job = build_definitions(settings or self.settings).resolve_job_def("ingest_files")
        tags = dict(tags or {})
        if len(keys) == 1:
            result = job.execute_in_process(
                instance=self.instance, partition_key=keys[0], run_config=run_config, tags=tags
            )
        else:
            tags.update({RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[-1]})
            result = job.execute_in_process(instance=self.instance, tags=tags, run_config=run_config)
        assert result.success
        self.last_run_id = result.run_id
        by_asset: dict[str, dict[str, Any]] = {}
        for event in result.get_asset_materialization_events():
            metadata = {k: v.value for k, v in event.materialization.metadata.items()}
            by_asset.setdefault(event.asset_key.path[-1], {})[event.partition] = metadata
        if len(keys) == 1:
            return {asset: partitions[keys[0]] for asset, partitions in by_asset.items()}
        return by_asset

    def index(self, namespace: str = "default") -> dict[str, tuple[str, str]]:
        """id → (text, source key) of every vector in the collection's namespace."""
        with self.state_db.connect() as conn:
            query = sql.SQL("select id, text, source_key from {} where namespace = %s")
            rows = conn.execute(query.format(sql.Identifier(self.settings.index.collection)), (namespace,)).fetchall()
        return {r[0]: (r[1], r[2]) for r in rows}

    def vectors(self) -> dict[str, list[float]]:
        with self.state_db.connect() as conn:
            query = sql.SQL("select id, embedding from {}").format(sql.Identifier(self.settings.index.collection))
            rows = conn.execute(query).fetchall()
        return {r[0]: r[1].to_list() for r in rows}


def total(per_partition: dict[str, dict[str, Any]], name: str) -> int:
    """The sum of one figure over the partitions of a run."""
    return sum(metadata.get(name, 0) for metadata in per_partition.values())
