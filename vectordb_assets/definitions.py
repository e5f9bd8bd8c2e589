"""The code location's one `Definitions`, built from the environment when Dagster loads it."""

import dagster as dg

from resources.embedders import Embedder
from sensors.index_checks_sensor import build_index_checks_sensor
from sensors.isolation_sensor import build_isolation_sensor
from sensors.landing_sensor import build_landing_sensor
from sensors.uploads_sensor import build_uploads_sensor
from vectordb_assets.assets.jobs import FULL_INDEX_CHECKS, PIPELINE_ASSETS, check_vector_index, ingest_files
from vectordb_assets.assets.metabase_questions import build_question_asset, build_question_schedule
from vectordb_assets.assets.repair_job import repair_vector_index
from vectordb_assets.assets.upload_job import upload_job_outputs
from vectordb_assets.assets.vector_index_checks import build_landed_files_indexed, build_matches_ledger
from vectordb_assets.resources_from_settings import resources_for
from vectordb_assets.settings import Settings

MODEL_DEPENDENT_ASSETS = ("embeddings", "vector_index")
STORE_KINDS = {"pgvector": {"postgres", "pgvector"}, "pinecone": {"pinecone"}, "s3vectors": {"s3", "s3vectors"}}
LOCAL_BACKEND_KINDS = {
    "openvino": "openvino",
    "openvino-int8": "openvino",
    "torch": "pytorch",
    "onnx": "onnx",
    "onnx-int8": "onnx",
}


def configured_kinds(settings: Settings) -> dict[str, set[str]]:
    """The technologies each stage uses with these settings (the icons on the asset graph)."""
    return {
        "raw_files": {settings.source.scheme},
        "validated_parquet": {"parquet"},
        "embeddings": {
            "parquet",
            "openai" if settings.embedding.embedder == "openai" else LOCAL_BACKEND_KINDS[settings.local_model.backend],
        },
        "vector_index": STORE_KINDS[settings.index.store],
    }


def configured(assets: list[dg.AssetsDefinition], settings: Settings, embedder: Embedder) -> list[dg.AssetsDefinition]:
    """The chain's assets with the kinds of the configured services, and the model as part of
    the code version of the stages whose output depends on it, so a model change shows those
    partitions as changed in the UI."""
    version = f"{embedder.model_id}@{embedder.dimension}"
    kinds = configured_kinds(settings)

    def configure(spec: dg.AssetSpec) -> dg.AssetSpec:
        name = spec.key.path[-1]
        changed = spec.merge_attributes(kinds=kinds[name])
        return changed.replace_attributes(code_version=version) if name in MODEL_DEPENDENT_ASSETS else changed

    return [asset.map_asset_specs(configure) for asset in assets]


def build_definitions(settings: Settings) -> dg.Definitions:
    """Assets, job, sensor and resources for the given settings."""
    resources = resources_for(settings)
    question_assets = [build_question_asset(question) for question in settings.metabase.questions]
    question_jobs, question_schedules = (
        zip(*map(build_question_schedule, question_assets)) if question_assets else ((), ())
    )
    return dg.Definitions(
        assets=[*configured(PIPELINE_ASSETS, settings, resources["embedder"]), *question_assets],
        schedules=list(question_schedules),
        asset_checks=[
            build_matches_ledger(settings.dagster.check_cron),
            build_landed_files_indexed(
                settings.dagster.check_cron, settings.source_excluded_prefix, settings.landing.partition_depth
            ),
        ],
        jobs=[ingest_files, check_vector_index, repair_vector_index, upload_job_outputs, *question_jobs],
        sensors=[
            build_landing_sensor(
                ingest_files,
                minimum_interval_seconds=settings.dagster.sensor_interval_seconds,
                max_partitions_per_run=settings.landing.max_partitions_per_run,
                excluded_prefix=settings.source_excluded_prefix,
                max_deleted_fraction=settings.landing.max_deleted_fraction,
                objects_per_tick=settings.landing.listing_objects_per_tick,
                reconcile_seconds=settings.landing.reconcile_seconds,
                partition_depth=settings.landing.partition_depth,
            ),
            build_isolation_sensor(ingest_files),
            build_index_checks_sensor(FULL_INDEX_CHECKS),
            *(
                [
                    build_uploads_sensor(
                        upload_job_outputs,
                        *settings.upload_target,
                        settings.uploads.quiet_seconds,
                        settings.dagster.sensor_interval_seconds,
                    )
                ]
                if settings.upload_target
                else []
            ),
        ],
        resources=resources,
        # The chain is linear: one process per run loads the model once and runs every step.
        executor=dg.in_process_executor,
    )


@dg.definitions
def defs() -> dg.Definitions:
    """Definitions for the current environment (see docs: Configuration)."""
    return build_definitions(Settings.from_env())
