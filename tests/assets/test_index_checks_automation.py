"""The index's full checks run by their automation condition: after the index first changes,
at each cron tick, and not again between ticks however often the index changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg

from vectordb_assets.assets.jobs import FULL_INDEX_CHECKS
from vectordb_assets.definitions import build_definitions
from vectordb_assets.landing.partitions import source_files
from vectordb_assets.settings import Settings

CHECKS = {"vector_index_matches_ledger", "landed_files_indexed"}


def requested(result: dg.EvaluateAutomationConditionsResult) -> set[str]:
    """The names of the checks the evaluation requested."""
    return {r.key.name for r in result.results if isinstance(r.key, dg.AssetCheckKey) and r.true_subset.size}


def test_checks_run_after_the_first_change_then_once_per_tick(home: Path) -> None:
    defs = build_definitions(Settings.from_env())
    assert defs.resolve_sensor_def("index_checks_automation").default_status == dg.DefaultSensorStatus.RUNNING
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(source_files.name, ["a.csv", "b.csv"])

    def index(key: str) -> None:
        instance.report_runless_asset_event(dg.AssetMaterialization("vector_index", partition=key))

    now = datetime.now(UTC)
    next_tick = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    cursor = None

    def evaluate(at: datetime) -> set[str]:
        nonlocal cursor
        result = dg.evaluate_automation_conditions(
            defs, instance, asset_selection=FULL_INDEX_CHECKS, evaluation_time=at, cursor=cursor
        )
        cursor = result.cursor
        return requested(result)

    assert evaluate(now) == set()  # an empty index: nothing to check yet
    index("a.csv")
    assert evaluate(now + timedelta(seconds=1)) == CHECKS  # the first files: checked at once
    index("b.csv")
    assert evaluate(now + timedelta(seconds=2)) == set()  # checked since the last tick already
    assert evaluate(next_tick + timedelta(seconds=1)) == CHECKS  # the tick, with or without changes
    assert evaluate(next_tick + timedelta(seconds=2)) == set()
    index("a.csv")
    assert evaluate(next_tick + timedelta(seconds=3)) == set()  # again, wait for the next tick
    assert evaluate(next_tick + timedelta(hours=1, seconds=1)) == CHECKS
