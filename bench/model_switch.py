"""A model change on the bundled sample corpus, end to end on the embedded PostgreSQL: the first
index with torch MiniLM, the onnx-int8 generation built beside it while readers stay on torch,
the switch, a rollback and a switch forward again, and the return to torch after its generation
was dropped (rebuilt from the embedding cache). Each run is one run of the ingest job over every
sample file; the switches are the readiness check and the promotion that `vectordb promote` does.

Prints, for each step: seconds, texts embedded, texts found in the cache, vectors written to the
step's generation, and which generation readers use afterwards.

Run: .venv/bin/python bench/model_switch.py
"""

from __future__ import annotations

import os
import tempfile
import time
import warnings
from pathlib import Path

warnings.simplefilter("ignore")

import dagster as dg  # noqa: E402


def main() -> None:
    from resources.embedders import LocalEmbedder
    from vectordb_assets.assets.per_file import RANGE_END_TAG, RANGE_START_TAG
    from vectordb_assets.definitions import build_definitions
    from vectordb_assets.indexing.generation_policy import GenerationPolicy
    from vectordb_assets.indexing.generations import GenerationRegistry, generation_id
    from vectordb_assets.indexing.switch import drop, promote, readiness
    from vectordb_assets.landing.partitions import source_files
    from vectordb_assets.landing.samples import write_samples
    from vectordb_assets.resources_from_settings import search_objects
    from vectordb_assets.settings import Settings

    with tempfile.TemporaryDirectory(prefix="vectordb-bench-") as folder:
        os.environ["VECTORDB_HOME"] = folder
        os.environ["VECTORDB_AUTO_PROMOTE"] = "false"
        torch = Settings.from_env().with_changes(VECTORDB_LOCAL_BACKEND="torch")
        int8 = torch.with_changes(VECTORDB_LOCAL_BACKEND="onnx-int8")
        root = Path(torch.source.root)
        keys = sorted(str(path.relative_to(root)) for path in write_samples(root, LocalEmbedder(backend="torch")))
        ids = {
            s.local_model.backend: generation_id(m.model_id, m.dimension)
            for s, m in ((torch, LocalEmbedder(backend="torch")), (int8, LocalEmbedder(backend="onnx-int8")))
        }
        LocalEmbedder(backend="onnx-int8", export_dir=str(torch.models)).load()  # the export, outside the timings
        rows: list[tuple] = []

        resources = search_objects(torch)
        with dg.instance_for_test() as instance:
            instance.add_dynamic_partitions(source_files.name, keys)
            registry = GenerationRegistry(resources.state_db, resources.vector_store.collection_name)
            policy: GenerationPolicy = resources.generations

            def live() -> str:
                return registry.live().generation

            def run(step: str, settings: Settings) -> None:
                job = build_definitions(settings).resolve_job_def("ingest_files")
                started = time.perf_counter()
                result = job.execute_in_process(
                    instance=instance, tags={RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[-1]}
                )
                seconds = time.perf_counter() - started
                assert result.success
                figures: dict[str, int] = {}
                for event in result.get_asset_materialization_events():
                    for name in ("texts_embedded", "cache_hits", "added", "updated"):
                        if name in event.materialization.metadata:
                            figures[name] = figures.get(name, 0) + event.materialization.metadata[name].value
                written = figures.get("added", 0) + figures.get("updated", 0)
                rows.append(
                    (step, seconds, figures.get("texts_embedded", 0), figures.get("cache_hits", 0), written, live())
                )

            def switch(step: str, backend: str) -> None:
                generation = registry.get(ids[backend])
                store = policy.store_of(resources.vector_store, generation)
                started = time.perf_counter()
                check = readiness(registry, generation, store)
                assert check.ready or generation.state != "building", check.explain()
                promote(registry, generation, store)
                rows.append((step, time.perf_counter() - started, 0, 0, 0, live()))

            run("first index (torch)", torch)
            run("build onnx-int8 generation (readers on torch)", int8)
            switch("switch to onnx-int8 (check + promote)", "onnx-int8")
            switch("rollback to torch", "torch")
            switch("forward to onnx-int8 again", "onnx-int8")
            old = registry.get(ids["torch"])
            drop(registry, old, policy.store_of(resources.vector_store, old))
            run("torch again after its generation was dropped", torch)
            switch("switch to torch", "torch")

        names = {value: key for key, value in ids.items()}
        print(f"sample corpus: {len(keys)} files; generations: torch {ids['torch']}, onnx-int8 {ids['onnx-int8']}\n")
        print("| step | seconds | texts embedded | texts from cache | vectors written | readers on |")
        print("| --- | ---: | ---: | ---: | ---: | --- |")
        for step, seconds, embedded, cached, written, reading in rows:
            print(f"| {step} | {seconds:.2f} | {embedded} | {cached} | {written} | {names[reading]} |")


if __name__ == "__main__":
    main()
