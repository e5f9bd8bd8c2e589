"""A local HTTP server speaking Pinecone's API (the data plane, and the control plane's index
create/describe/list/delete), enforcing its limits, with 429s and a delay on writes on demand.
An index created through it gets a data plane (a server) of its own."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlparse

import numpy as np

from tests.local_http import InFlight, LocalServer, QuietHandler

MAX_VECTORS, MAX_BODY, MAX_METADATA, MAX_DELETE, PAGE = 1000, 2 * 1000 * 1000, 40 * 1024, 1000, 100


def _matches(metadata: dict, condition: dict) -> bool:
    if "$and" in condition:
        return all(_matches(metadata, c) for c in condition["$and"])
    return all(_holds(metadata.get(k), operator) for k, operator in condition.items())


def _holds(value: object, operator: dict) -> bool:
    """Pinecone's typed comparison: the text "129" is not the number 129."""
    if "$eq" in operator:
        return value == operator["$eq"]
    if "$in" in operator:
        return value in operator["$in"]
    raise ValueError(f"operator {operator} is not supported here")


@dataclass
class FakePinecone:
    """An index of `dimension` (data plane) and the indexes the control plane knows, by name;
    `faults` ('429', '503') are consumed one per POST."""

    dimension: int = 3
    indexes: dict[str, dict] = field(default_factory=dict)
    namespaces: dict[str, dict[str, tuple[list[float], dict]]] = field(default_factory=dict)
    faults: list[str] = field(default_factory=list)
    requests: list[dict] = field(default_factory=list)
    url: str = ""
    delay_seconds: float = 0.0  # each data-plane write waits this long before its answer
    in_flight: InFlight = field(default_factory=InFlight)
    planes: dict[str, FakePinecone] = field(default_factory=dict)  # created indexes' own data planes

    def start(self) -> None:
        server = self

        class Handler(QuietHandler):
            def _error(self, status: int, message: str) -> None:
                self.send_json(status, {"code": status, "message": message})

            def index_model(self, name: str) -> dict:
                plane = server.planes.get(name)
                return {**server.indexes[name], "host": plane.url if plane else server.url}

            def do_DELETE(self) -> None:
                name = urlparse(self.path).path.removeprefix("/indexes/")
                server.requests.append({"path": self.path, "method": "DELETE"})
                if name not in server.indexes:
                    return self.send_json(
                        404, {"error": {"code": "NOT_FOUND", "message": f"Resource {name} not found"}, "status": 404}
                    )
                del server.indexes[name]
                server.planes.pop(name).stop()
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self) -> None:
                url = urlparse(self.path)
                if url.path == "/indexes":
                    server.requests.append({"path": url.path, "method": "GET"})
                    return self.send_json(200, {"indexes": [self.index_model(name) for name in server.indexes]})
                if url.path.startswith("/indexes/"):
                    name = url.path.removeprefix("/indexes/")
                    server.requests.append({"path": url.path, "method": "GET"})
                    if name not in server.indexes:
                        return self.send_json(
                            404,
                            {"error": {"code": "NOT_FOUND", "message": f"Resource {name} not found"}, "status": 404},
                        )
                    return self.send_json(200, self.index_model(name))
                query = parse_qs(url.query)
                namespace = query.get("namespace", [""])[0]
                vectors = server.namespaces.get(namespace, {})
                server.requests.append({"path": url.path})
                if url.path == "/vectors/list":
                    ids = sorted(vectors)
                    start = int(query.get("paginationToken", ["0"])[0])
                    body = {"vectors": [{"id": i} for i in ids[start : start + PAGE]], "namespace": namespace}
                    if start + PAGE < len(ids):
                        body["pagination"] = {"next": str(start + PAGE)}
                    return self.send_json(200, body)
                found = {
                    i: {"id": i, "values": vectors[i][0], "metadata": vectors[i][1]}
                    for i in query.get("ids", [])
                    if i in vectors
                }
                self.send_json(200, {"vectors": found, "namespace": namespace})

            def do_POST(self) -> None:
                with server.in_flight.request():
                    if self.path in ("/vectors/upsert", "/vectors/delete"):
                        time.sleep(server.delay_seconds)
                    self.answer()

            def answer(self) -> None:
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                body = json.loads(raw or b"{}")
                fault = server.faults.pop(0) if server.faults else None
                server.requests.append({"path": self.path, "bytes": len(raw), "body": body, "fault": fault})
                if fault in ("429", "503"):
                    return self._error(int(fault), "Too Many Requests" if fault == "429" else "Service Unavailable")
                if self.path == "/indexes":
                    name, vectors = body["name"], body["schema"]["fields"]["_values"]
                    if name in server.indexes:
                        return self._error(409, f"Resource {name} already exists")
                    server.indexes[name] = {
                        "name": name,
                        "status": {"ready": True, "state": "Ready"},
                        "schema": body["schema"],
                        "deployment": body["deployment"],
                        "deletion_protection": body.get("deletion_protection", "disabled"),
                    }
                    plane = server.planes[name] = FakePinecone(dimension=vectors["dimension"])
                    plane.start()
                    return self.send_json(201, self.index_model(name))
                namespace = body.get("namespace", "")
                store = server.namespaces.setdefault(namespace, {})
                if self.path == "/vectors/upsert":
                    if len(raw) > MAX_BODY or len(body["vectors"]) > MAX_VECTORS:
                        return self._error(400, "request too large")
                    for vector in body["vectors"]:
                        if len(vector["values"]) != server.dimension:
                            return self._error(
                                400,
                                f"Vector dimension {len(vector['values'])} does not match the dimension of the index {server.dimension}",
                            )
                        if len(json.dumps(vector.get("metadata", {})).encode()) > MAX_METADATA:
                            return self._error(
                                400, f"Metadata size exceeds the limit of 40960 bytes per vector ({vector['id']})"
                            )
                    for vector in body["vectors"]:
                        store[vector["id"]] = (vector["values"], vector.get("metadata", {}))
                    return self.send_json(200, {"upsertedCount": len(body["vectors"])})
                if self.path == "/vectors/delete":
                    if len(body.get("ids", [])) > MAX_DELETE:
                        return self._error(400, "too many ids")
                    if body.get("deleteAll"):
                        store.clear()
                    for vid in body.get("ids", []):
                        store.pop(vid, None)
                    return self.send_json(200, {})
                if self.path == "/query":
                    query = np.asarray(body["vector"], dtype=np.float64)
                    scored = []
                    for vid, (values, metadata) in store.items():
                        if body.get("filter") and not _matches(metadata, body["filter"]):
                            continue
                        v = np.asarray(values, dtype=np.float64)
                        scored.append((float(v @ query / (np.linalg.norm(v) * np.linalg.norm(query))), vid, metadata))
                    scored.sort(reverse=True)
                    matches = [
                        {"id": vid, "score": score, "metadata": meta} for score, vid, meta in scored[: body["topK"]]
                    ]
                    return self.send_json(200, {"matches": matches, "namespace": namespace})
                if self.path == "/describe_index_stats":
                    namespaces = {ns: {"vectorCount": len(v)} for ns, v in server.namespaces.items() if v}
                    return self.send_json(
                        200,
                        {
                            "namespaces": namespaces,
                            "dimension": server.dimension,
                            "totalVectorCount": sum(len(v) for v in server.namespaces.values()),
                        },
                    )
                self._error(404, f"no route {self.path}")

        self.server = LocalServer(Handler)
        self.url = self.server.url

    def stop(self) -> None:
        for plane in self.planes.values():
            plane.stop()
        self.server.stop()
