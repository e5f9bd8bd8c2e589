"""`vectordb ingest/status/runs` through an authenticating proxy: VECTORDB_DAGSTER_HEADERS go
with every request to the webserver, and are never shown."""

from __future__ import annotations

import json

import pytest

from tests.local_http import LocalServer, QuietHandler
from vectordb_assets.runs_api import RunsApi, RunsApiError
from vectordb_assets.settings import Settings, SettingsError

TOKEN = "Bearer tok-Xq7zz9"


@pytest.fixture
def proxy() -> LocalServer:
    """A proxy in front of a webserver: 401 without the token, a GraphQL answer with it."""

    class Handler(QuietHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            if self.headers.get("Authorization") != TOKEN:
                return self.send(401, b"Unauthorized")
            self.send_json(200, {"data": {"version": "1.13.27"}})

    server = LocalServer(Handler)
    yield server
    server.stop()


def test_the_settings_headers_reach_the_webserver(proxy: LocalServer) -> None:
    settings = Settings.from_env({"VECTORDB_DAGSTER_HEADERS": json.dumps({"Authorization": TOKEN})})
    api = RunsApi(proxy.url, headers=settings.dagster_header_values)
    assert api._query("query { version }") == {"version": "1.13.27"}
    with pytest.raises(RunsApiError, match="401"):
        RunsApi(proxy.url)._query("query { version }")


def test_headers_that_are_not_a_json_object_are_refused_without_echoing_them() -> None:
    with pytest.raises(SettingsError, match="VECTORDB_DAGSTER_HEADERS must be a JSON object of strings") as raised:
        Settings.from_env({"VECTORDB_DAGSTER_HEADERS": "Authorization: Bearer tok-Xq7zz9"})
    assert "Xq7zz9" not in str(raised.value)
