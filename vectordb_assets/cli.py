"""`vectordb`: the command line beside the Dagster UI."""

from __future__ import annotations

import json
import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import click

from vectordb_assets.settings import Settings, SettingsError


@contextmanager
def _resources(settings: Settings, only_search: bool = False) -> Iterator[Any]:
    """The resources the settings select; `only_search`: just the state database, the embedder,
    the vector store and the generation policy, made directly (the other services' SDKs are then
    not even imported)."""
    import dagster as dg

    from vectordb_assets.resources_from_settings import resources_for, search_objects

    if only_search:
        try:
            resources = search_objects(settings)
        except SettingsError as error:
            raise click.ClickException(str(error)) from None
        yield resources
        return
    with dg.build_resources(resources_for(settings)) as resources:
        yield resources


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as error:
        raise click.ClickException(str(error)) from None


def _pairs(values: tuple[str, ...], option: str) -> dict[str, str]:
    """key=value options as a dict."""
    pairs = {}
    for value in values:
        name, sep, item = value.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{value!r} is not key=value", param_hint=option)
        pairs[name] = item
    return pairs


def _explain(error: Exception) -> str | None:
    """One line for an error a user can meet and fix (credentials, endpoints, the database), or
    None for one that is a bug and keeps its traceback."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError
    from psycopg import OperationalError

    from vectordb_assets.indexing.generations import GenerationError

    if isinstance(error, NoCredentialsError):
        return "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or a role"
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        return f"{error.operation_name} was refused: {details.get('Code', '?')}: {details.get('Message', '')}".rstrip(": ")
    if isinstance(error, BotoCoreError):
        return f"S3: {error}"
    if isinstance(error, OperationalError):
        return f"the database cannot be reached: {str(error).strip().splitlines()[0]}"
    if isinstance(error, GenerationError):
        return str(error)
    return None


class _Commands(click.Group):
    """The command group: errors a user can fix are printed as one line, not a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except Exception as error:
            message = _explain(error)
            if message is None:
                raise
            raise click.ClickException(message) from None


def _quiet_libraries() -> None:
    """Keep the model's loading bars and libraries' warnings out of the command's output."""
    import logging
    import warnings

    os.environ.setdefault("TQDM_DISABLE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    warnings.simplefilter("ignore")
    for name in ("transformers", "sentence_transformers", "huggingface_hub", "dagster"):
        logging.getLogger(name).setLevel(logging.ERROR)


@click.group(cls=_Commands)
def main() -> None:
    """Keep vector indexes in step with the files that land in object storage."""
    _quiet_libraries()


@main.command()
@click.option("--force", is_flag=True, help="Write the samples even if the landing folder has files.")
def seed(force: bool) -> None:
    """Write the bundled sample files into the local landing folder."""
    settings = _settings()
    if settings.source.scheme != "file":
        raise click.ClickException(f"the source is {settings.source}; samples go only into a local folder")
    landing = Path(settings.source.root)
    if not force and landing.is_dir() and any(landing.rglob("*")):
        click.echo(f"{landing} already holds files; nothing written (use --force to add the samples)")
        return
    from vectordb_assets.landing.samples import write_samples

    with _resources(settings) as resources:
        for path in write_samples(landing, resources.embedder):
            click.echo(f"wrote {path}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address the UI listens on.")
@click.option("--port", default=3000, show_default=True, help="Port the UI listens on.")
def dev(host: str, port: int) -> None:
    """Seed the samples on first use, then start the Dagster UI and daemon on this project."""
    project = Path.cwd()
    if not (project / "workspace.yaml").is_file():
        raise click.ClickException(f"run this from the project folder (no workspace.yaml in {project})")
    settings = _settings()
    if settings.source.scheme == "file" and not Path(settings.source.root).exists():
        click.get_current_context().invoke(seed)
    os.environ.setdefault("DAGSTER_HOME", str(project))
    dagster = Path(sys.executable).with_name("dagster")
    os.execv(dagster, [str(dagster), "dev", "-h", host, "-p", str(port), "-w", "workspace.yaml"])


@main.command()
@click.argument("text")
@click.option("--top-k", default=5, show_default=True, type=click.IntRange(1, 1000), help="How many results.")
@click.option("--namespace", default=None, help="Namespace to search; default: VECTORDB_NAMESPACE (default).")
@click.option("--filter", "filters", multiple=True, help="Only rows whose metadata field equals a value: key=value.")
@click.option("--generation", default=None, help="Search this model generation (see `vectordb generations`), not the live one.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def search(text: str, top_k: int, namespace: str | None, filters: tuple[str, ...], generation: str | None, as_json: bool) -> None:
    """Embed TEXT with the live generation's model and print the nearest indexed rows."""
    settings = _settings()
    namespace = namespace or settings.namespace
    conditions = _pairs(filters, "--filter")
    with _resources(settings, only_search=True) as resources:
        reading = resources.generations.readers(resources.state_db, resources.vector_store, resources.embedder, generation)
        store, model = (reading.store, reading.embedder) if reading else (resources.vector_store, resources.embedder)
        vector = model.embed([text])[0]
        hits = store.query(namespace, vector, top_k, conditions)
    if as_json:
        click.echo(json.dumps([hit.__dict__ for hit in hits], ensure_ascii=False, indent=2))
        return
    if not hits:
        where = f"namespace {namespace!r} of collection {store.collection_name!r}"
        if conditions:
            wanted = ", ".join(f"{name}={value}" for name, value in conditions.items())
            click.echo(f"no vectors in {where} match {wanted}")
        else:
            click.echo(f"no vectors in {where}")
        return
    click.echo(f"{'score':>7}  {'id':<34}  {'source':<32}  text")
    for hit in hits:
        snippet = (hit.text or "").replace("\n", " ")
        snippet = snippet if len(snippet) <= 60 else snippet[:57] + "..."
        click.echo(f"{hit.score:7.4f}  {hit.id:<34}  {hit.source_key:<32}  {snippet}")


def _emit(data: Any, as_json: bool, table_rows: list[tuple] | None = None) -> None:
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    elif table_rows is not None:
        for row in table_rows:
            click.echo("  ".join(str(cell) for cell in row))
    else:
        for name, value in data.items():
            click.echo(f"{name}: {value if not isinstance(value, (list, dict)) else json.dumps(value, ensure_ascii=False, default=str)}")


@contextmanager
def _readable() -> Iterator[None]:
    from resources.object_store import ObjectNotFoundError
    from vectordb_assets.validation.readers import UnreadableFileError

    try:
        yield
    except (UnreadableFileError, ObjectNotFoundError) as error:
        raise click.ClickException(str(error)) from None


_json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")


@main.group()
def inspect() -> None:
    """Look at a local file or folder, or an s3:// object or prefix."""


@inspect.command("list")
@click.argument("uri")
@click.option("--suffix", default=None, help="Only names ending so, such as .parquet (any case).")
@click.option("--max-keys", default=None, type=click.IntRange(1), help="List at most this many files.")
@_json_option
def inspect_list(uri: str, suffix: str | None, max_keys: int | None, as_json: bool) -> None:
    """Files under a folder or prefix, with size (MB) and modification time."""
    from vectordb_assets.validation.inspection import list_files

    with _readable():
        files = list_files(uri, _settings(), suffix, max_keys)
    _emit(files, as_json, [(f"{f['size_mb']:>10.3f} MB", f["last_modified"], f["key"]) for f in files])


@inspect.command("metadata")
@click.argument("uri")
@_json_option
def inspect_metadata(uri: str, as_json: bool) -> None:
    """Rows, columns, and for Parquet row groups, writer and format version."""
    from vectordb_assets.validation.inspection import file_metadata

    with _readable():
        _emit(file_metadata(uri, _settings()), as_json)


@inspect.command("validate")
@click.argument("uri")
@click.option("--required-columns", default="", help="Comma-separated columns the file must have.")
@click.option("--max-rejected-ratio", default=0.0, show_default=True, help="Share of rejected rows still valid.")
@_json_option
def inspect_validate(uri: str, required_columns: str, max_rejected_ratio: float, as_json: bool) -> None:
    """The validation report; exits with status 1 when the file is not valid."""
    from vectordb_assets.validation.inspection import validation_report

    required = [c.strip() for c in required_columns.split(",") if c.strip()]
    with _readable():
        valid, report = validation_report(uri, _settings(), required, max_rejected_ratio)
    _emit(report, as_json)
    if not valid:
        raise SystemExit(1)


@inspect.command("sample")
@click.argument("uri")
@click.argument("count", default=5, type=click.IntRange(1, 10_000))
@_json_option
def inspect_sample(uri: str, count: int, as_json: bool) -> None:
    """The first COUNT rows as they are in the file."""
    from vectordb_assets.validation.inspection import sample_rows

    with _readable():
        rows = sample_rows(uri, _settings(), count)
    _emit(rows, as_json, [(json.dumps(r, ensure_ascii=False, default=str),) for r in rows])


@inspect.command("ids")
@click.argument("uri")
@click.option("--id-column", default=None, help="Id column; default: detected.")
@click.option("--all", "every_id", is_flag=True, help="Stream every id instead, one JSON object per line.")
@_json_option
def inspect_ids(uri: str, id_column: str | None, every_id: bool, as_json: bool) -> None:
    """The id column, total and unique ids, and repeated ones; with --all, every row's id."""
    from vectordb_assets.validation.inspection import all_ids, id_summary

    with _readable():
        if every_id:
            for item in all_ids(uri, _settings(), id_column):
                click.echo(json.dumps(item, ensure_ascii=False, default=str))
            return
        _emit(id_summary(uri, _settings(), id_column), as_json)


def _runs_api(settings: Settings) -> Any:
    from vectordb_assets.runs_api import RunsApi

    return RunsApi(settings.dagster_url, settings.dagster_location)


@contextmanager
def _answered() -> Iterator[None]:
    """The webserver's refusals and failures as one line."""
    from vectordb_assets.runs_api import RunsApiError

    try:
        yield
    except RunsApiError as error:
        raise click.ClickException(str(error)) from None


def _partition_of(item: str, settings: Settings) -> str:
    """The partition of a landed object named by its key or its URI in the landing area."""
    from vectordb_assets.landing.partitions import partition_key_for

    source = settings.source
    key = item
    if item.startswith("s3://") or item.startswith("/") or item.startswith("file://"):
        uri = item.removeprefix("file://")
        base = f"s3://{source.root}/{source.prefix}".rstrip("/") if source.scheme == "s3" else source.root.rstrip("/")
        if not uri.startswith(f"{base}/"):
            raise click.ClickException(f"{item!r} is not in the landing area {settings.source}")
        key = uri[len(base) + 1 :]
    if any(part in ("", ".", "..") for part in key.split("/")):
        raise click.ClickException(f"{item!r} does not name an object of the landing area")
    return partition_key_for(key, settings.partition_depth)


@main.command()
@click.argument("objects", nargs=-1, required=True)
@click.option("--namespace", default=None, help="Namespace of these files' vectors; default: their route, else VECTORDB_NAMESPACE.")
@click.option("--batch-rows", default=None, type=click.IntRange(1), help="Rows embedded per batch.")
@click.option("--wait", is_flag=True, help="Wait for the runs to finish; exit with status 1 if one fails.")
@_json_option
def ingest(objects: tuple[str, ...], namespace: str | None, batch_rows: int | None, wait: bool, as_json: bool) -> None:
    """Run the pipeline for OBJECTS (keys in the landing area, or their URIs) through the Dagster
    webserver at VECTORDB_DAGSTER_URL: one run per partition; prints the run ids."""
    from vectordb_assets.indexing.namespaces import check_namespace

    settings = _settings()
    if namespace:
        try:
            check_namespace(namespace)
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="--namespace") from None
    partitions = list(dict.fromkeys(_partition_of(item, settings) for item in objects))
    api = _runs_api(settings)
    with _answered():
        api.add_partitions(partitions)
        runs = {partition: api.submit(partition, namespace, batch_rows) for partition in partitions}
        if not as_json:
            for partition, run_id in runs.items():
                click.echo(f"{run_id}  {partition}")
        if not wait:
            if as_json:
                _emit([{"run_id": run_id, "partition": p} for p, run_id in runs.items()], True)
            return
        states = api.wait(list(runs.values()))
    if as_json:
        _emit(states, True)
    else:
        for state in states:
            click.echo(f"{state['run_id']}  {state['status']}" + "".join(f"\n  {error}" for error in state["errors"]))
    if any(state["status"] != "SUCCESS" for state in states):
        raise SystemExit(1)


@main.command()
@click.argument("run_id")
@_json_option
def status(run_id: str, as_json: bool) -> None:
    """A run's state, start and end, errors, and each file's progress through each stage."""
    with _answered():
        state = _runs_api(_settings()).status(run_id)
    if as_json:
        _emit(state, True)
        return
    for name in ("run_id", "status", "started", "ended", "partition", "namespace"):
        if state[name] is not None:
            value = state[name]
            click.echo(f"{name}: {_when(value) if name in ('started', 'ended') else value}")
    for error in state["errors"]:
        click.echo(f"error: {error}")
    for key, stages in state["files"].items():
        click.echo(key)
        for stage, figures in stages.items():
            counts = f"{figures.get('records_processed', 0)}/{figures.get('records_total', 0)} records"
            failed = f", {figures['records_failed']} failed" if figures.get("records_failed") else ""
            chunks = f", {figures['chunks_completed']} chunks" if figures.get("chunks_completed") else ""
            click.echo(f"  {stage:<18} {figures['status']:<9} {counts}{failed}{chunks}" + (f"  {figures['error']}" if "error" in figures else ""))


def _when(timestamp: float) -> str:
    from datetime import datetime, timezone

    return datetime.fromtimestamp(timestamp, timezone.utc).isoformat(timespec="seconds")


@main.command()
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000), help="How many runs.")
@_json_option
def runs(limit: int, as_json: bool) -> None:
    """The ingest job's latest runs, newest first."""
    with _answered():
        latest = _runs_api(_settings()).runs(limit)
    _emit(latest, as_json, [
        (r["run_id"], f"{r['status']:<9}", _when(r["started"]) if r["started"] else "-", r["partition"] or "(several)") for r in latest
    ])


def _embedder_for(model: str | None, settings: Settings) -> Any:
    """The embedder of `model` (`local`, `local:<backend>`, `openai:<model>[@<dimensions>]`; none:
    the configured one), for counting tokens and naming the model; it is never asked to embed."""
    from resources.embedders import LOCAL_BACKENDS
    from resources.openai_embedder import MODELS
    from vectordb_assets.resources_from_settings import embedder

    if model is None:
        return embedder(settings)
    kind, _, name = model.partition(":")
    if kind == "local" and (not name or name in LOCAL_BACKENDS):
        return embedder(settings.with_changes(embedder="local", local_backend=name or settings.local_backend))
    openai_model, _, dimensions = name.partition("@")
    if kind == "openai" and openai_model in MODELS and (not dimensions or dimensions.isdigit()):
        return embedder(settings.with_changes(
            embedder="openai", openai_model=openai_model, openai_dimensions=int(dimensions) if dimensions else None))
    choices = ", ".join(["local", *(f"local:{b}" for b in LOCAL_BACKENDS), *(f"openai:{m}" for m in MODELS)])
    raise click.BadParameter(f"--model {model!r} is not a model this platform runs; choose from {choices}", param_hint="--model")


@main.command()
@click.option("--model", default=None, help="local[:backend] or openai:<model>[@dimensions]; default: the configured model.")
@_json_option
def estimate(model: str | None, as_json: bool) -> None:
    """What embedding the current corpus with a model would take: texts, those already in the
    cache, tokens, requests, list price, and time at the configured rate limits."""
    from vectordb_assets.embedding.cache import EmbeddingCache
    from vectordb_assets.embedding.estimate import estimate as estimate_corpus
    from vectordb_assets.resources_from_settings import object_store

    settings = _settings()
    target = _embedder_for(model, settings)
    limits = None
    if target.model_id.startswith("openai/"):
        limits = {"requests_per_minute": settings.openai_requests_per_minute, "tokens_per_minute": settings.openai_tokens_per_minute}
    with _resources(settings, only_search=True) as resources:
        cache = EmbeddingCache(resources.state_db, target.model_id)
        figures = estimate_corpus(object_store(settings.output, settings), target, cache.held, limits=limits)
    if as_json:
        _emit(figures.to_dict(), True)
        return
    at_limits = "-" if figures.minutes_at_limits is None else (
        f"{figures.minutes_at_limits:,.1f} min at {settings.openai_requests_per_minute:,} requests and "
        f"{settings.openai_tokens_per_minute:,} tokens per minute")
    for label, value in [
        ("model", figures.model), ("files", f"{figures.files:,}"), ("texts", f"{figures.texts:,} distinct"),
        ("in the cache", f"{figures.cached:,}"), ("to embed", f"{figures.to_embed:,}"), ("tokens", f"{figures.tokens:,}"),
        ("requests", f"{figures.requests:,}"), ("list price", f"US$ {figures.cost_usd:,.4f}"), ("time", at_limits),
    ]:
        click.echo(f"{label:<13} {value}")


def _registry(resources: Any) -> Any:
    from vectordb_assets.indexing.generations import GenerationRegistry

    return GenerationRegistry(resources.state_db, resources.vector_store.collection_name)


@main.command()
@click.option("--drop", "to_drop", default=None, metavar="GENERATION", help="Drop this generation now (not the live one).")
@_json_option
def generations(to_drop: str | None, as_json: bool) -> None:
    """The collection's model generations: state, model, store collection, files and vectors, and
    when a retired one is dropped."""
    from vectordb_assets.indexing.generations import BUILDING, LIVE, RETIRED, generation_id
    from vectordb_assets.indexing.switch import drop

    settings = _settings()
    with _resources(settings, only_search=True) as resources:
        registry, policy = _registry(resources), resources.generations
        if to_drop:
            chosen = registry.get(to_drop)
            if chosen.state == LIVE:
                raise click.ClickException(f"generation {to_drop} is live: promote another before dropping it")
            drop(registry, chosen, policy.store_of(resources.vector_store, chosen))
        configured = generation_id(resources.embedder.model_id, resources.embedder.dimension)
        live = registry.live()
        rows = []
        for generation in registry.all():
            row = {**generation.to_dict(), "configured": generation.generation == configured}
            if generation.state in (BUILDING, LIVE, RETIRED):
                row.update(registry.counts(generation))
            if generation.state == BUILDING and live:
                row["files_lacking"] = registry.lacking(generation, live).count
            if generation.state == RETIRED:
                row["dropped_after"] = (generation.retired_at + policy.retention).isoformat(timespec="seconds")
            rows.append(row)
    if as_json:
        _emit(rows, True)
        return
    if not rows:
        click.echo(f"collection {registry.collection!r} has no generations yet: nothing was indexed")
        return
    click.echo(f"{'generation':<10}  {'state':<8}  {'model':<48}  {'dim':>5}  {'files':>7}  {'vectors':>9}  store collection")
    for row in rows:
        mark = " (configured)" if row["configured"] else ""
        extra = f"; lacks {row['files_lacking']} files" if "files_lacking" in row else ""
        extra += f"; dropped after {row['dropped_after']}" if "dropped_after" in row else ""
        click.echo(
            f"{row['generation']:<10}  {row['state']:<8}  {row['model']:<48}  {row['dimension']:>5}  {row.get('files', '-'):>7}  "
            f"{row.get('vectors', '-'):>9}  {row['store_collection']}{mark}{extra}"
        )


@main.command()
@click.option("--generation", default=None, help="The generation to make live (an older one: a rollback); default: the configured model's.")
@click.option("--force", is_flag=True, help="Promote a building generation although it lacks files or differs from its ledger.")
@_json_option
def promote(generation: str | None, force: bool, as_json: bool) -> None:
    """Point readers at a model generation, in one transaction: the configured one once it holds
    every file the live one holds (VECTORDB_AUTO_PROMOTE=false), or an older one (a rollback)."""
    from vectordb_assets.indexing.generations import BUILDING, GenerationError, generation_id
    from vectordb_assets.indexing.switch import drop_expired, promote as promote_generation, readiness

    settings = _settings()
    with _resources(settings, only_search=True) as resources:
        registry, policy = _registry(resources), resources.generations
        try:
            chosen = registry.get(generation or generation_id(resources.embedder.model_id, resources.embedder.dimension))
        except GenerationError as error:
            hint = "" if generation else " (run an ingest with the configured model first)"
            raise click.ClickException(f"{error}{hint}") from None
        store = policy.store_of(resources.vector_store, chosen)
        check = readiness(registry, chosen, store)
        if chosen.state == BUILDING and not check.ready and not force:
            raise click.ClickException(f"generation {chosen.generation} is not ready: {check.explain()}; --force promotes it anyway")
        previous = promote_generation(registry, chosen, store)
        dropped, failed = drop_expired(registry, policy.retention, lambda g: policy.store_of(resources.vector_store, g))
    outcome = {
        "live": chosen.generation, "model": chosen.model, "store_collection": chosen.store_collection,
        "previous": previous.generation if previous else None, "files_lacking": check.lacking.count,
        "lacking": check.lacking.examples, "dropped": [g.generation for g in dropped], "not_dropped": failed,
    }
    if as_json:
        _emit(outcome, True)
        return
    if previous is None:
        click.echo(f"generation {chosen.generation} ({chosen.model}) was already live")
    else:
        click.echo(f"generation {chosen.generation} ({chosen.model}) is live; {previous.generation} ({previous.model}) is retired")
    if check.lacking.count:
        click.echo(f"it lacks {check.lacking.count} file(s) the previous generation holds; run them again to write them:")
        for name, why in check.lacking.examples.items():
            click.echo(f"  {name}: {why}")
    for gone in dropped:
        click.echo(f"generation {gone.generation} ({gone.model}) was past its retention and is dropped")
    for generation, error in failed.items():
        click.echo(f"generation {generation} is past its retention but could not be dropped: {error}")


def _s3_client(settings: Settings) -> Any:
    from vectordb_assets.resources_from_settings import s3_resource

    return s3_resource(settings).get_client()


@main.command()
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("destination")
@click.option("--include", multiple=True, help="Glob of relative paths to upload (repeatable; default: all).")
@click.option("--exclude", multiple=True, help="Glob of relative paths to leave out (repeatable).")
@click.option("--tag", "tags", multiple=True, help="Object tag key=value (repeatable).")
@click.option("--multipart-threshold-mb", default=64, show_default=True, help="Larger files go multipart.")
@_json_option
def upload(folder: Path, destination: str, include: tuple[str, ...], exclude: tuple[str, ...], tags: tuple[str, ...],
           multipart_threshold_mb: int, as_json: bool) -> None:
    """Upload FOLDER's files to DESTINATION (s3://bucket/prefix); unchanged files are skipped.

    Exits with status 1 unless every file was uploaded or skipped."""
    from vectordb_assets.settings import Location
    from vectordb_assets.transfer.uploads import upload_folder

    settings = _settings()
    target = Location.parse(destination, base=Path.cwd())
    if target.scheme != "s3":
        raise click.ClickException(f"destination {destination!r} is not an s3:// location")
    summary = upload_folder(
        _s3_client(settings), folder, target.root, target.prefix, include=include, exclude=exclude,
        tags=_pairs(tags, "--tag"), multipart_threshold=multipart_threshold_mb << 20,
    )
    _emit(summary.to_dict(), as_json)
    if summary.status != "success":
        raise SystemExit(1)


@main.command()
@click.argument("uri")
@click.argument("destination")
@_json_option
def download(uri: str, destination: str, as_json: bool) -> None:
    """Download the object at URI (s3://bucket/key) to DESTINATION (a file, or a folder that gets
    the object's name; one ending in / is made if missing), streamed and verified against S3's
    checksum before it takes the name."""
    from vectordb_assets.settings import Location
    from vectordb_assets.transfer.downloads import DownloadVerificationError, download_object

    source = Location.parse(uri, base=Path.cwd()) if uri.startswith("s3://") else None
    if source is None or not source.prefix:
        raise click.ClickException(f"{uri!r} is not an s3:// URI of an object")
    if destination.endswith("/"):
        Path(destination).mkdir(parents=True, exist_ok=True)
    with _readable():
        try:
            summary = download_object(_s3_client(_settings()), source.root, source.prefix, Path(destination))
        except (DownloadVerificationError, NotADirectoryError) as error:
            raise click.ClickException(str(error)) from None
    _emit(summary.to_dict(), as_json)


@main.command()
@click.argument("key")
@click.option("--expires", default=None, type=click.IntRange(1, 7 * 24 * 3600), help="Seconds a presigned link lives.")
@click.option("--source", "in_source", is_flag=True, help="KEY is in the landing area, not the outputs.")
def url(key: str, expires: int | None, in_source: bool) -> None:
    """Print a link to KEY: an object of the outputs (validated/…, embeddings/…), of the landing area
    with --source, or any s3://bucket/key. Presigned on S3, file:// locally."""
    from vectordb_assets.validation.inspection import store_and_key
    from vectordb_assets.resources_from_settings import object_store

    settings = _settings()
    if expires:
        settings = settings.with_changes(link_expiry_seconds=expires)
    if key.startswith("s3://"):
        store, key = store_and_key(key, settings)
    else:
        store = object_store(settings.source if in_source else settings.output, settings)
    with _readable():
        store.head(key)
        click.echo(store.url(key))


@main.command()
@click.option("--to", "target", required=True, help="s3://bucket/prefix that becomes VECTORDB_SOURCE.")
@_json_option
def migrate(target: str, as_json: bool) -> None:
    """Copy the local landing folder (and the outputs beside it) to S3, verifying every copy."""
    from vectordb_assets.transfer.migration import files_to_copy, migrate as run_migration, migration_target

    settings = _settings()
    try:
        after = migration_target(settings, target)
        files = files_to_copy(settings)
        with click.progressbar(length=len(files), label="copying", file=sys.stderr) as bar:
            summaries = run_migration(settings, target, _s3_client(settings), on_file=lambda _: bar.update(1))
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    report = {name: summary.to_dict() for name, summary in summaries.items()}
    report["next"] = f"export VECTORDB_SOURCE={after.source} (outputs go to {after.output})"
    _emit(report, as_json)
    if any(summary.status != "success" for summary in summaries.values()):
        raise SystemExit(1)
