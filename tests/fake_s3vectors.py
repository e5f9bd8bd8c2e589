"""S3 Vectors on a local HTTP server: moto answers every operation it implements, and this server,
standing in front of it, answers QueryVectors from the vectors moto holds (exact nearest
neighbours, S3 Vectors' filter operators), with 429s, 5xx and a delay on demand, and applies
ListIndexes' `prefix`, which moto ignores."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field

import boto3
import numpy as np

from tests.local_http import LocalServer, QuietHandler


def _holds(value: object, operator: dict) -> bool:
    ((name, operand),) = operator.items()
    if name == "$eq":
        return value == operand
    if name == "$ne":
        return value != operand
    if name == "$in":
        return value in operand
    if name == "$nin":
        return value not in operand
    if name == "$exists":
        return (value is not None) == operand
    raise ValueError(f"operator {name} is not supported here")


def matches(metadata: dict, condition: dict) -> bool:
    """Whether `metadata` passes an S3 Vectors filter ($and, $or, and field operators)."""
    if "$and" in condition:
        return all(matches(metadata, c) for c in condition["$and"])
    if "$or" in condition:
        return any(matches(metadata, c) for c in condition["$or"])
    return all(
        _holds(metadata.get(name), operator if isinstance(operator, dict) else {"$eq": operator})
        for name, operator in condition.items()
    )


@dataclass
class FakeS3Vectors:
    """The server in front of moto at `moto_endpoint`; `faults` (HTTP statuses) are consumed one
    per QueryVectors request, each after `delay_seconds`."""

    moto_endpoint: str
    faults: list[int] = field(default_factory=list)
    delay_seconds: float = 0.0
    queries: list[dict] = field(default_factory=list)
    url: str = ""
    _server: LocalServer | None = None

    def _moto(self):
        return boto3.client("s3vectors", endpoint_url=self.moto_endpoint, region_name="us-east-1")

    def query(self, request: dict) -> tuple[int, dict]:
        """The answer of QueryVectors to `request`, from what moto holds."""
        moto = self._moto()
        where = {"vectorBucketName": request["vectorBucketName"], "indexName": request["indexName"]}
        try:
            index = moto.get_index(**where)["index"]
        except moto.exceptions.NotFoundException as error:
            return 404, {"__type": "NotFoundException", "message": str(error)}
        query = np.asarray(request["queryVector"]["float32"], np.float32)
        if query.shape != (index["dimension"],):
            return 400, {
                "__type": "ValidationException",
                "message": f"Query vector dimension {query.size} does not match index dimension {index['dimension']}",
            }
        pages = moto.get_paginator("list_vectors").paginate(**where, returnData=True, returnMetadata=True)
        stored = [v for page in pages for v in page.get("vectors", [])]
        stored = [v for v in stored if matches(v.get("metadata") or {}, request.get("filter") or {})]
        if not stored:
            return 200, {"vectors": [], "distanceMetric": index["distanceMetric"]}
        vectors = np.asarray([v["data"]["float32"] for v in stored], np.float32)
        if index["distanceMetric"] == "cosine":
            norms = np.linalg.norm(vectors, axis=1) * np.linalg.norm(query)
            distances = 1 - vectors @ query / norms
        else:
            distances = np.linalg.norm(vectors - query, axis=1)
        nearest = np.argsort(distances, kind="stable")[: request["topK"]]
        return 200, {
            "vectors": [
                {
                    "key": stored[i]["key"],
                    **({"distance": float(distances[i])} if request.get("returnDistance") else {}),
                    **({"metadata": stored[i].get("metadata")} if request.get("returnMetadata") else {}),
                }
                for i in nearest
            ],
            "distanceMetric": index["distanceMetric"],
        }

    def start(self) -> FakeS3Vectors:
        server = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path != "/QueryVectors":
                    return self._forward("POST", body)
                request = json.loads(body)
                server.queries.append(request)
                time.sleep(server.delay_seconds)
                if server.faults:
                    status = server.faults.pop(0)
                    kind = "TooManyRequestsException" if status == 429 else "ServiceUnavailableException"
                    return self.send_json(status, {"__type": kind, "message": "injected"}, {"x-amzn-ErrorType": kind})
                status, answer = server.query(request)
                headers = {"x-amzn-ErrorType": answer["__type"]} if "__type" in answer else {}
                self.send_json(status, answer, headers)

            def do_GET(self) -> None:
                self._forward("GET", None)

            def do_DELETE(self) -> None:
                self._forward("DELETE", None)

            def _forward(self, method: str, body: bytes | None) -> None:
                """Pass the request to moto as it came, and moto's answer back."""
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                request = urllib.request.Request(
                    server.moto_endpoint + self.path, data=body, method=method, headers=headers
                )
                try:
                    with urllib.request.urlopen(request) as response:
                        status, answer, answer_headers = response.status, response.read(), response.headers
                except urllib.error.HTTPError as error:
                    status, answer, answer_headers = error.code, error.read(), error.headers
                if self.path == "/ListIndexes" and status == 200 and body:
                    answer = self._only_prefixed(json.loads(body).get("prefix") or "", answer)
                passed = {
                    k: v
                    for k, v in answer_headers.items()
                    if k.lower() not in ("content-length", "transfer-encoding", "connection", "server", "date")
                }
                self.send(status, answer, passed)

            @staticmethod
            def _only_prefixed(prefix: str, answer: bytes) -> bytes:
                """ListIndexes as the service answers it: only names that start with `prefix` (moto
                ignores the parameter)."""
                listed = json.loads(answer)
                listed["indexes"] = [i for i in listed.get("indexes", []) if i["indexName"].startswith(prefix)]
                return json.dumps(listed).encode()

        self._server = LocalServer(Handler)
        self.url = self._server.url
        return self

    def stop(self) -> None:
        self._server.stop()
