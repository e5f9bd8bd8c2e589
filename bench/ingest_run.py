"""One timed run of the ingest job over partitions, for the benchmarks that compare inputs."""

from __future__ import annotations

import os
import sys
import time

import dagster as dg


def timed_ingest(settings, keys: list[str], expected_vectors: int, case: str) -> tuple[float, dict[str, float]]:
    """Run the ingest job over the partitions `keys` on an ephemeral instance; the wall time and
    each step's seconds. Exits naming `case` if the run fails or the store does not end holding
    `expected_vectors`."""
    from resources.state_db import StateDatabase
    from vectordb_assets.assets.per_file import RANGE_END_TAG, RANGE_START_TAG
    from vectordb_assets.definitions import build_definitions
    from vectordb_assets.landing.partitions import source_files
    from vectordb_assets.resources_from_settings import vector_store

    job = build_definitions(settings).resolve_job_def("ingest_files")
    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions(source_files.name, keys)
        started = time.perf_counter()
        result = job.execute_in_process(
            instance=instance, tags={RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[-1]}, raise_on_error=False
        )
        seconds = time.perf_counter() - started
        if not result.success:
            sys.exit(f"the run failed ({case})")
        steps = {s.step_key: s.end_time - s.start_time for s in instance.get_run_step_stats(result.run_id)}
    indexed = vector_store(settings, StateDatabase(database_url=os.environ["DATABASE_URL"])).count("default")
    if indexed != expected_vectors:
        sys.exit(f"the store holds {indexed} vectors, not {expected_vectors} ({case})")
    return seconds, steps
