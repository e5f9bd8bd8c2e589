"""A local HTTP server speaking the Metabase endpoints the platform uses, with faults on demand."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from urllib.parse import parse_qs

from tests.local_http import LocalServer, QuietHandler

API_KEY = "mb-key"
USER, PASSWORD, TOKEN = "analyst@example.com", "s3cret", "session-token"


@dataclass
class FakeMetabase:
    """Serves `csv_by_card`; `faults` is consumed one per export request: 429, 500, 401 or 'truncate'."""

    csv_by_card: dict[int, str] = field(default_factory=dict)
    faults: list[str] = field(default_factory=list)
    requests: list[dict] = field(default_factory=list)
    url: str = ""

    def start(self) -> None:
        server = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.path == "/api/session":
                    creds = json.loads(raw)
                    if (creds.get("username"), creds.get("password")) != (USER, PASSWORD):
                        return self.send(401, b'{"errors": {"password": "did not match"}}')
                    return self.send(200, json.dumps({"id": TOKEN}).encode())
                card = int(self.path.split("/")[3])
                form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
                server.requests.append({"card": card, "form": form, "headers": dict(self.headers)})
                authorised = self.headers.get("x-api-key") == API_KEY or self.headers.get("X-Metabase-Session") == TOKEN
                fault = server.faults.pop(0) if server.faults else None
                if not authorised or fault == "401":
                    return self.send(401, b"Unauthenticated")
                if fault == "429":
                    return self.send(429, b"slow down", {"Retry-After": "0"})
                if fault == "500":
                    return self.send(500, b"boom")
                body = server.csv_by_card[card].encode()
                if fault == "truncate":
                    self.send(200, body[: len(body) // 2], {"Content-Type": "text/csv"}, length=len(body))
                    self.close_connection = True
                    return
                self.send(200, body, {"Content-Type": "text/csv"})

        self.server = LocalServer(Handler)
        self.url = self.server.url

    def stop(self) -> None:
        self.server.stop()
