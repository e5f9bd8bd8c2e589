"""The sensor that evaluates the index checks' automation conditions (`index_checks_condition`)
and requests their runs, running from the start so a new deployment needs no toggle."""

from __future__ import annotations

import dagster as dg

# Runs it requests carry this tag, so they can be told from on-demand runs of the checks.
TRIGGER_TAG = "vectordb/trigger"


def build_index_checks_sensor(checks: dg.AssetSelection) -> dg.AutomationConditionSensorDefinition:
    """The automation condition sensor over the index's full checks."""
    return dg.AutomationConditionSensorDefinition(
        "index_checks_automation",
        target=checks,
        default_status=dg.DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=30,
        run_tags={TRIGGER_TAG: "index_checks"},
        description="Runs the index's full checks at each VECTORDB_CHECK_CRON tick and after the index first "
        "changes since the last tick.",
    )
