"""`vectordb estimate`, `generations` and `promote`: changing the embedding model, from its cost
to the switch of readers and back."""

from __future__ import annotations

from typing import Any

import click

from vectordb_assets.cli.common import emit, json_option, resources_of, settings_from_env
from vectordb_assets.settings import Settings


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
        return embedder(
            settings.with_changes(
                VECTORDB_EMBEDDER="local", VECTORDB_LOCAL_BACKEND=name or settings.local_model.backend
            )
        )
    openai_model, _, dimensions = name.partition("@")
    if kind == "openai" and openai_model in MODELS and (not dimensions or dimensions.isdigit()):
        return embedder(
            settings.with_changes(
                VECTORDB_EMBEDDER="openai",
                VECTORDB_OPENAI_MODEL=openai_model,
                VECTORDB_OPENAI_DIMENSIONS=int(dimensions) if dimensions else None,
            )
        )
    choices = ", ".join(["local", *(f"local:{b}" for b in LOCAL_BACKENDS), *(f"openai:{m}" for m in MODELS)])
    raise click.BadParameter(
        f"--model {model!r} is not a model this platform runs; choose from {choices}", param_hint="--model"
    )


def _registry(resources: Any) -> Any:
    from vectordb_assets.indexing.generations import GenerationRegistry

    return GenerationRegistry(resources.state_db, resources.vector_store.collection_name)


@click.command()
@click.option(
    "--model", default=None, help="local[:backend] or openai:<model>[@dimensions]; default: the configured model."
)
@json_option
def estimate(model: str | None, as_json: bool) -> None:
    """What embedding the current corpus with a model would take: texts, those already in the
    cache, tokens, requests, list price, and time at the configured rate limits."""
    from vectordb_assets.embedding.cache import EmbeddingCache
    from vectordb_assets.embedding.estimate import estimate as estimate_corpus
    from vectordb_assets.resources_from_settings import object_store

    settings = settings_from_env()
    target = _embedder_for(model, settings)
    limits = None
    if target.model_id.startswith("openai/"):
        limits = {
            "requests_per_minute": settings.openai.requests_per_minute,
            "tokens_per_minute": settings.openai.tokens_per_minute,
        }
    with resources_of(settings, only_search=True) as resources:
        cache = EmbeddingCache(resources.state_db, target.model_id)
        figures = estimate_corpus(object_store(settings.output, settings), target, cache.held, limits=limits)
    if as_json:
        emit(figures.to_dict(), True)
        return
    at_limits = (
        "-"
        if figures.minutes_at_limits is None
        else (
            f"{figures.minutes_at_limits:,.1f} min at {settings.openai.requests_per_minute:,} requests and "
            f"{settings.openai.tokens_per_minute:,} tokens per minute"
        )
    )
    for label, value in [
        ("model", figures.model),
        ("files", f"{figures.files:,}"),
        ("texts", f"{figures.texts:,} distinct"),
        ("in the cache", f"{figures.cached:,}"),
        ("to embed", f"{figures.to_embed:,}"),
        ("tokens", f"{figures.tokens:,}"),
        ("requests", f"{figures.requests:,}"),
        ("list price", f"US$ {figures.cost_usd:,.4f}"),
        ("time", at_limits),
    ]:
        click.echo(f"{label:<13} {value}")


@click.command()
@click.option(
    "--drop", "to_drop", default=None, metavar="GENERATION", help="Drop this generation now (not the live one)."
)
@json_option
def generations(to_drop: str | None, as_json: bool) -> None:
    """The collection's model generations: state, model, store collection, files and vectors, and
    when a retired one is dropped."""
    from vectordb_assets.indexing.generations import BUILDING, LIVE, RETIRED, generation_id
    from vectordb_assets.indexing.switch import drop

    settings = settings_from_env()
    with resources_of(settings, only_search=True) as resources:
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
        emit(rows, True)
        return
    if not rows:
        click.echo(f"collection {registry.collection!r} has no generations yet: nothing was indexed")
        return
    click.echo(
        f"{'generation':<10}  {'state':<8}  {'model':<48}  {'dim':>5}  {'files':>7}  {'vectors':>9}  store collection"
    )
    for row in rows:
        mark = " (configured)" if row["configured"] else ""
        extra = f"; lacks {row['files_lacking']} files" if "files_lacking" in row else ""
        extra += f"; dropped after {row['dropped_after']}" if "dropped_after" in row else ""
        click.echo(
            f"{row['generation']:<10}  {row['state']:<8}  {row['model']:<48}  {row['dimension']:>5}  {row.get('files', '-'):>7}  "
            f"{row.get('vectors', '-'):>9}  {row['store_collection']}{mark}{extra}"
        )


@click.command()
@click.option(
    "--generation",
    default=None,
    help="The generation to make live (an older one: a rollback); default: the configured model's.",
)
@click.option(
    "--force", is_flag=True, help="Promote a building generation although it lacks files or differs from its ledger."
)
@json_option
def promote(generation: str | None, force: bool, as_json: bool) -> None:
    """Point readers at a model generation, in one transaction: the configured one once it holds
    every file the live one holds (VECTORDB_AUTO_PROMOTE=false), or an older one (a rollback)."""
    from vectordb_assets.indexing.generations import BUILDING, GenerationError, generation_id
    from vectordb_assets.indexing.switch import drop_expired, readiness
    from vectordb_assets.indexing.switch import promote as promote_generation

    settings = settings_from_env()
    with resources_of(settings, only_search=True) as resources:
        registry, policy = _registry(resources), resources.generations
        try:
            chosen = registry.get(
                generation or generation_id(resources.embedder.model_id, resources.embedder.dimension)
            )
        except GenerationError as error:
            hint = "" if generation else " (run an ingest with the configured model first)"
            raise click.ClickException(f"{error}{hint}") from None
        store = policy.store_of(resources.vector_store, chosen)
        check = readiness(registry, chosen, store)
        if chosen.state == BUILDING and not check.ready and not force:
            raise click.ClickException(
                f"generation {chosen.generation} is not ready: {check.explain()}; --force promotes it anyway"
            )
        previous = promote_generation(registry, chosen, store)
        dropped, failed = drop_expired(registry, policy.retention, lambda g: policy.store_of(resources.vector_store, g))
    outcome = {
        "live": chosen.generation,
        "model": chosen.model,
        "store_collection": chosen.store_collection,
        "previous": previous.generation if previous else None,
        "files_lacking": check.lacking.count,
        "lacking": check.lacking.examples,
        "dropped": [g.generation for g in dropped],
        "not_dropped": failed,
    }
    if as_json:
        emit(outcome, True)
        return
    if previous is None:
        click.echo(f"generation {chosen.generation} ({chosen.model}) was already live")
    else:
        click.echo(
            f"generation {chosen.generation} ({chosen.model}) is live; {previous.generation} ({previous.model}) is retired"
        )
    if check.lacking.count:
        click.echo(
            f"it lacks {check.lacking.count} file(s) the previous generation holds; run them again to write them:"
        )
        for name, why in check.lacking.examples.items():
            click.echo(f"  {name}: {why}")
    for gone in dropped:
        click.echo(f"generation {gone.generation} ({gone.model}) was past its retention and is dropped")
    for generation, error in failed.items():
        click.echo(f"generation {generation} is past its retention but could not be dropped: {error}")


COMMANDS = [estimate, generations, promote]
