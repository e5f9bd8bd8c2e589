"""The OpenAI embedder through the real SDK against a local server that speaks the API."""

from __future__ import annotations

import numpy as np
import openai
import pyarrow.parquet as pq
import pytest

from resources.batching import pack
from resources.openai_embedder import OpenAIEmbedder
from resources.rate_limit import RateLimiter
from resources.retry import TransientServiceError
from tests.fake_openai import FakeOpenAI, vector_for


class FakeClock:
    """Time that passes only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def server() -> FakeOpenAI:
    fake = FakeOpenAI()
    fake.start()
    yield fake
    fake.stop()


def make(server: FakeOpenAI, clock: FakeClock | None = None, **kwargs) -> OpenAIEmbedder:
    embedder = OpenAIEmbedder(api_key="sk-test", base_url=server.url, **kwargs)
    clock = clock or FakeClock()
    embedder._sleep = clock.sleep
    embedder._limiter = RateLimiter(
        embedder.requests_per_minute, embedder.tokens_per_minute, clock=clock, sleep=clock.sleep
    )
    return embedder


def test_vectors_come_back_in_input_order(server: FakeOpenAI) -> None:
    vectors = make(server).embed(["alpha", "beta"])
    assert vectors.shape == (2, 1536)
    np.testing.assert_allclose(vectors[1], vector_for("beta", 1536), rtol=1e-6)


def test_v3_models_take_a_dimensions_parameter(server: FakeOpenAI) -> None:
    embedder = make(server, model="text-embedding-3-large", dimensions=256)
    assert embedder.embed(["x"]).shape == (1, 256)
    assert server.requests[0]["body"]["dimensions"] == 256 and embedder.model_id == "openai/text-embedding-3-large@256"
    with pytest.raises(ValueError, match="needs a v3 model"):
        make(server, model="text-embedding-ada-002", dimensions=256).embed(["x"])


def test_requests_carry_as_many_inputs_as_allowed(server: FakeOpenAI) -> None:
    texts = [f"short text number {i}" for i in range(5000)]
    make(server, dimensions=8).embed(texts)
    assert sorted(r["inputs"] for r in server.requests) == [904, 2048, 2048]


def test_requests_stay_under_the_token_limit(server: FakeOpenAI) -> None:
    long_text = "word " * 8000  # 8,000 tokens each
    embedder = make(server)
    embedder.embed([f"{i} {long_text}" for i in range(80)])
    tokens = [r["tokens"] for r in server.requests]
    assert all(t <= 300_000 for t in tokens) and len(tokens) == 3
    assert embedder.usage()["tokens"] == sum(tokens)


def test_packing_keeps_both_limits() -> None:
    batches = pack([100_000, 150_000, 60_000, 1, 1], max_items=2, max_size=300_000)
    assert [list(b) for b in batches] == [[0, 1], [2, 3], [4]]


def test_an_input_over_the_model_limit_is_never_sent(server: FakeOpenAI) -> None:
    with pytest.raises(ValueError, match="input 1 has 9001 tokens; text-embedding-3-small takes at most 8191"):
        make(server).embed(["fine", "word " * 9000])
    assert server.requests == []


def test_the_rate_limiter_paces_requests_on_a_fake_clock(server: FakeOpenAI) -> None:
    clock = FakeClock()
    embedder = make(server, clock, requests_per_minute=2, tokens_per_minute=1_000_000)
    for i in range(4):
        embedder.embed([f"request {i}"])
    # Two requests fit the first minute's budget; each further one waits for a refill (30 s each).
    assert clock.sleeps == [pytest.approx(30.0), pytest.approx(30.0)]
    assert embedder.usage()["rate_limit_wait_seconds"] == pytest.approx(60.0)


def test_tokens_per_minute_are_paced_too(server: FakeOpenAI) -> None:
    clock = FakeClock()
    embedder = make(server, clock, requests_per_minute=1000, tokens_per_minute=1000)
    embedder.embed(["word " * 600])
    embedder.embed(["word " * 600])
    assert sum(clock.sleeps) == pytest.approx(60 * (1200 - 1000) / 1000, rel=0.05)


def test_429_is_retried_after_the_retry_after_delay(server: FakeOpenAI) -> None:
    clock = FakeClock()
    server.faults = ["429", "500"]
    embedder = make(server, clock)
    assert embedder.embed(["x"]).shape == (1, 1536)
    assert len(server.requests) == 3
    assert clock.sleeps[0] == 2.0  # Retry-After
    assert embedder.usage()["retries"] == 2


def test_a_hung_request_times_out_and_is_retried(server: FakeOpenAI) -> None:
    server.faults = ["hang"]
    server.hang_seconds = 2.0
    embedder = make(server, timeout_seconds=0.5)
    assert embedder.embed(["x"]).shape == (1, 1536)
    assert [r["fault"] for r in server.requests] == ["hang", None]


def test_a_400_fails_at_once_with_the_apis_message(server: FakeOpenAI) -> None:
    server.faults = ["400"]
    with pytest.raises(openai.BadRequestError, match=r"'\$.input' is invalid"):
        make(server).embed(["x"])
    assert len(server.requests) == 1


def test_retries_stop_at_the_configured_maximum(server: FakeOpenAI) -> None:
    server.faults = ["500"] * 5
    with pytest.raises(TransientServiceError, match="OpenAI is unavailable") as raised:
        make(server, max_attempts=3).embed(["x"])
    assert isinstance(raised.value.__cause__, openai.InternalServerError)
    assert len(server.requests) == 3


def test_a_run_that_fails_half_way_resumes_with_only_the_missing_texts(server: FakeOpenAI, state_db, tmp_path) -> None:
    from vectordb_assets.embedding.cache import EmbeddingCache
    from vectordb_assets.embedding.stage import embed_file
    from vectordb_assets.validation.validate import validate_file

    raw = tmp_path / "a.csv"
    raw.write_text("id,text\n" + "".join(f"{i},text number {i}\n" for i in range(6)))
    validate_file(raw, "a.csv", "e", tmp_path / "v.parquet")
    embedder = make(server, dimensions=8)
    cache = EmbeddingCache(state_db, embedder.model_id)
    server.faults = ["", "400"]
    with pytest.raises(openai.BadRequestError):
        embed_file(tmp_path / "v.parquet", tmp_path / "out.parquet", "a.csv", embedder, cache, batch_rows=2)
    assert [r["inputs"] for r in server.requests] == [2, 2]
    stats = embed_file(tmp_path / "v.parquet", tmp_path / "out.parquet", "a.csv", embedder, cache, batch_rows=2)
    assert (stats.cache_hits, stats.texts_embedded) == (2, 4)
    assert [r["inputs"] for r in server.requests[2:]] == [2, 2]


@pytest.mark.parametrize("concurrency", [1, 3])
def test_requests_go_out_a_few_at_a_time_and_vectors_keep_their_order(server: FakeOpenAI, concurrency: int) -> None:
    server.delay_seconds = 0.3
    texts = [f"short text number {i}" for i in range(7000)]  # four requests
    vectors = make(server, dimensions=8, concurrency=concurrency).embed(texts)
    assert server.in_flight.most == concurrency and len(server.requests) == 4
    for i in (0, 2047, 2048, 4500, 6999):
        np.testing.assert_allclose(vectors[i], vector_for(texts[i], 8), rtol=1e-6)


def test_concurrent_requests_share_the_rate_limiter(server: FakeOpenAI) -> None:
    clock = FakeClock()
    embedder = make(server, clock, requests_per_minute=2, dimensions=8, concurrency=4)
    embedder.embed([f"text {i}" for i in range(4 * 2048)])  # four requests at once
    # As one at a time: two fit the first minute's budget, each further one waits 30 s.
    assert sorted(clock.sleeps) == [pytest.approx(30.0), pytest.approx(30.0)]
    assert embedder.usage()["requests"] == 4 and embedder.usage()["rate_limit_wait_seconds"] == pytest.approx(60.0)


def test_one_files_batches_share_a_call_so_its_requests_go_out_together(server: FakeOpenAI, state_db, tmp_path) -> None:
    from vectordb_assets.embedding.cache import EmbeddingCache
    from vectordb_assets.embedding.stage import embed_file, rows_per_call
    from vectordb_assets.validation.validate import validate_file

    texts = [f"row {i} of a long file" for i in range(4100)]
    raw = tmp_path / "a.csv"
    raw.write_text("id,text\n" + "".join(f"{i},{t}\n" for i, t in enumerate(texts)))
    validate_file(raw, "a.csv", "e", tmp_path / "v.parquet")
    server.delay_seconds = 0.3
    embedder = make(server, dimensions=8, concurrency=2)
    cache = EmbeddingCache(state_db, embedder.model_id)
    stats = embed_file(
        tmp_path / "v.parquet",
        tmp_path / "out.parquet",
        "a.csv",
        embedder,
        cache,
        batch_rows=rows_per_call(embedder, 2048),
    )
    # Two batches of 2,048 rows in one call (two requests at once), then the last 4 rows.
    assert stats.embed_calls == 2 and sorted(r["inputs"] for r in server.requests) == [4, 2048, 2048]
    assert server.in_flight.most == 2
    written = pq.read_table(tmp_path / "out.parquet").column("embedding").to_pylist()
    np.testing.assert_allclose(np.array(written), np.stack([vector_for(t, 8) for t in texts]), rtol=1e-6)
