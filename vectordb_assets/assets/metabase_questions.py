"""One daily-partitioned asset per configured Metabase question, with a job and a daily schedule."""

import tempfile
from pathlib import Path

import dagster as dg

from resources.metabase import MetabaseResource
from resources.object_store import ObjectStore
from vectordb_assets.transfer.metabase_exports import MetabaseQuestion, rows_by_day


def build_question_asset(question: MetabaseQuestion) -> dg.AssetsDefinition:
    """The asset that lands one day of the question's rows as metabase/<id>/<day>.csv.

    A backfill is one run over its days. A question with a date parameter is exported once per
    day with the day set; one without is exported once per run, and the export split by day."""

    @dg.asset(
        name=f"metabase_question_{question.question_id}",
        partitions_def=dg.DailyPartitionsDefinition(start_date=question.start_date),
        backfill_policy=dg.BackfillPolicy.single_run(),
        kinds={"csv"},
        group_name="metabase",
        description=f"Rows of Metabase question {question.question_id} by {question.date_column}, one day per partition.",
    )
    def question_export(
        context: dg.AssetExecutionContext, metabase: MetabaseResource, source_store: ObjectStore
    ) -> dg.MaterializeResult:
        days = context.partition_keys
        name = f"question {question.question_id}"
        with tempfile.TemporaryDirectory(prefix="vectordb-metabase-") as folder:
            rows: dict[str, int] = {}
            sizes: dict[str, int] = {}
            for batch in [[day] for day in days] if question.parameter else [days]:
                export = Path(folder, "export.csv")
                size = metabase.export_csv(
                    question.question_id, export, question.parameters(batch[0]) if question.parameter else []
                )
                rows.update(rows_by_day(export, Path(folder), question.date_column, batch, name))
                sizes.update(dict.fromkeys(batch, size))
            for day in days:
                key = question.landing_key(day)
                if rows[day]:
                    source_store.put_file(key, Path(folder, f"{day}.csv"))
                else:
                    # A day without rows lands nothing; a file landed for it before is withdrawn.
                    source_store.delete(key)
                metadata = {"rows": rows[day], "export_bytes": sizes[day], "location": source_store.describe(key)}
                if rows[day]:
                    metadata["link"] = dg.MetadataValue.url(source_store.url(key))
                context.add_asset_metadata(metadata, partition_key=day)
                context.log.info(f"{name}, {day}: {rows[day]} rows → {source_store.describe(key)}")
        return dg.MaterializeResult()

    return question_export


def build_question_schedule(asset: dg.AssetsDefinition) -> tuple:
    """A job for the asset and a schedule that fetches the last complete day, every day."""
    job = dg.define_asset_job(f"{asset.key.path[-1]}_daily", selection=[asset])
    schedule = dg.build_schedule_from_partitioned_job(
        job, hour_of_day=1, default_status=dg.DefaultScheduleStatus.RUNNING
    )
    return job, schedule
