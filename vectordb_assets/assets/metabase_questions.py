"""One daily-partitioned asset per configured Metabase question, with a job and a daily schedule."""

import tempfile
from pathlib import Path

import dagster as dg

from resources.metabase import MetabaseResource
from resources.object_store import ObjectStore
from vectordb_assets.transfer.metabase_exports import MetabaseQuestion, rows_of_day


def build_question_asset(question: MetabaseQuestion) -> dg.AssetsDefinition:
    """The asset that lands one day of the question's rows as metabase/<id>/<day>.csv."""

    @dg.asset(
        name=f"metabase_question_{question.question_id}",
        partitions_def=dg.DailyPartitionsDefinition(start_date=question.start_date),
        kinds={"csv"},
        group_name="metabase",
        description=f"Rows of Metabase question {question.question_id} by {question.date_column}, one day per partition.",
    )
    def question_export(
        context: dg.AssetExecutionContext, metabase: MetabaseResource, source_store: ObjectStore
    ) -> dg.MaterializeResult:
        day = context.partition_key
        key = question.landing_key(day)
        with tempfile.TemporaryDirectory(prefix="vectordb-metabase-") as folder:
            export, rows_file = Path(folder, "export.csv"), Path(folder, "day.csv")
            size = metabase.export_csv(question.question_id, export, question.parameters(day))
            rows = rows_of_day(export, rows_file, question.date_column, day, f"question {question.question_id}")
            if rows:
                source_store.put_file(key, rows_file)
            else:
                # A day without rows lands nothing; a file landed for it before is withdrawn.
                source_store.delete(key)
        metadata = {"rows": rows, "export_bytes": size, "location": source_store.describe(key)}
        if rows:
            metadata["link"] = dg.MetadataValue.url(source_store.url(key))
        context.log.info(f"question {question.question_id}, {day}: {rows} rows → {source_store.describe(key)}")
        return dg.MaterializeResult(metadata=metadata)

    return question_export


def build_question_schedule(asset: dg.AssetsDefinition) -> tuple:
    """A job for the asset and a schedule that fetches the last complete day, every day."""
    job = dg.define_asset_job(f"{asset.key.path[-1]}_daily", selection=[asset])
    schedule = dg.build_schedule_from_partitioned_job(
        job, hour_of_day=1, default_status=dg.DefaultScheduleStatus.RUNNING
    )
    return job, schedule
