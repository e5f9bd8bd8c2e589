"""`vectordb estimate`: what embedding the corpus with a model would take — distinct texts, those
cached, tokens, requests, list price, time at the rate limits — and each embeddings partition's
own tokens and cost."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import pytest
from click.testing import CliRunner

from resources.openai_embedder import OpenAIEmbedder
from tests.pipeline_harness import Pipeline
from vectordb_assets.cli import main
from vectordb_assets.settings import Settings

TEXTS = {"a.csv": ["reset a password", "change the email address"], "b.csv": ["reset a password", "close an account"]}


@pytest.fixture
def pipeline(home: Path, state_db, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DATABASE_URL", state_db.database_url)
    with dg.instance_for_test() as instance:
        p = Pipeline(Settings.from_env(), instance, state_db)
        for minute, (key, texts) in enumerate(TEXTS.items()):
            p.land(key, "id,text\n" + "".join(f"{i},{t}\n" for i, t in enumerate(texts)), minute)
        yield p


def estimate_of(*args: str) -> dict:
    result = CliRunner().invoke(main, ["estimate", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.usefixtures("models_dir")
def test_the_configured_model_finds_everything_in_its_cache_and_another_model_nothing(pipeline: Pipeline) -> None:
    runs = pipeline.run("a.csv", "b.csv")["embeddings"]
    assert {key: runs[key]["tokens_embedded"] > 0 for key in TEXTS} == {"a.csv": True, "b.csv": True}
    assert runs["a.csv"]["estimated_cost_usd"] == runs["b.csv"]["estimated_cost_usd"] == 0.0  # the local model

    same = estimate_of()
    assert (same["files"], same["texts"], same["cached"], same["to_embed"], same["tokens"], same["cost_usd"]) == (
        2,
        3,
        3,
        0,
        0,
        0.0,
    )

    other = estimate_of("--model", "openai:text-embedding-3-large")
    distinct = ["reset a password", "change the email address", "close an account"]
    tokens = sum(OpenAIEmbedder(api_key="", model="text-embedding-3-large").count_tokens(distinct))
    assert other["model"] == "openai/text-embedding-3-large"
    assert (other["texts"], other["cached"], other["to_embed"], other["tokens"], other["requests"]) == (
        3,
        0,
        3,
        tokens,
        2,
    )
    assert other["cost_usd"] == pytest.approx(tokens / 1e6 * 0.13)
    assert other["minutes_at_limits"] == pytest.approx(max(2 / 3000, tokens / 1_000_000), abs=1e-3)

    table = CliRunner().invoke(main, ["estimate", "--model", "openai:text-embedding-3-large"])
    assert "to embed" in table.output and "US$" in table.output


def test_openai_partitions_record_their_tokens_and_cost(pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.fake_openai import FakeOpenAI

    server = FakeOpenAI()
    server.start()
    try:
        monkeypatch.setenv("VECTORDB_EMBEDDER", "openai")
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        monkeypatch.setenv("OPENAI_BASE_URL", server.url)
        runs = pipeline.run("a.csv", "b.csv", settings=Settings.from_env())["embeddings"]
    finally:
        server.stop()
    counted = OpenAIEmbedder(api_key="", model="text-embedding-3-small").count_tokens
    # "reset a password" is embedded once, for the first file; the second finds it in the cache.
    assert runs["a.csv"]["tokens_embedded"] == sum(counted(TEXTS["a.csv"]))
    assert runs["b.csv"]["tokens_embedded"] == sum(counted(["close an account"]))
    for key in TEXTS:
        assert runs[key]["estimated_cost_usd"] == pytest.approx(runs[key]["tokens_embedded"] / 1e6 * 0.02)


@pytest.mark.parametrize("model", ["openai:nothing-like-it", "mystery", "local:gpu"])
def test_an_unknown_model_is_named(home: Path, model: str) -> None:
    result = CliRunner().invoke(main, ["estimate", "--model", model])
    assert result.exit_code != 0 and f"--model {model!r}" in result.output and "Traceback" not in result.output
