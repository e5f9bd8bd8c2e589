"""Metabase: export a saved question as CSV, streamed to disk.

Authenticates with an API key (`x-api-key`) or a session from username and password
(`POST /api/session`). 401 and 403 fail at once; 429, 5xx, timeouts, dropped connections and
cut-off bodies are retried with backoff (honouring Retry-After).

Example::

    metabase = MetabaseResource(url="https://metabase.example.com", api_key=dg.EnvVar("METABASE_API_KEY"))
    metabase.export_csv(42, Path("/tmp/q42.csv"))
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import requests
from pydantic import Field, PrivateAttr

from resources.retry import RetryPolicy
from resources.settings_only import SettingsOnlyResource


class MetabaseAuthError(PermissionError):
    """Metabase refused the credentials (401/403); retrying cannot help."""


class MetabaseTransientError(IOError):
    """A failure worth retrying: rate limit, server error, timeout or a cut-off export."""

    def __init__(self, message: str, response: requests.Response | None = None):
        super().__init__(message)
        self.response = response  # its Retry-After, if any, is honoured by the retry policy


def metabase_transient(error: BaseException) -> bool:
    """429 and 5xx answers, and connections refused, reset or timed out."""
    return isinstance(error, (MetabaseTransientError, requests.ConnectionError, requests.Timeout))


class MetabaseResource(SettingsOnlyResource):
    """A Metabase instance; secrets come from the environment through `dg.EnvVar`."""

    url: str = Field(description="Base URL, e.g. https://metabase.example.com.")
    api_key: str | None = Field(default=None, repr=False, description="API key (sent as x-api-key).")
    username: str | None = Field(default=None, description="User for a session, when there is no API key.")
    password: str | None = Field(default=None, repr=False, description="Password for a session.")
    timeout_seconds: float = Field(default=300.0, description="Per-request timeout.")
    max_attempts: int = Field(default=5, description="Attempts per export before giving up.")

    _session_token: str | None = PrivateAttr(default=None)

    def _auth_headers(self, http: requests.Session) -> dict[str, str]:
        if self.api_key:
            return {"x-api-key": self.api_key}
        if not (self.username and self.password):
            raise MetabaseAuthError(f"{self.url}: set an API key, or a username and password")
        if self._session_token is None:
            response = http.post(
                f"{self.url.rstrip('/')}/api/session",
                json={"username": self.username, "password": self.password},
                timeout=self.timeout_seconds,
            )
            self._raise_for_status(response, "POST /api/session")
            self._session_token = response.json()["id"]
        return {"X-Metabase-Session": self._session_token}

    def _raise_for_status(self, response: requests.Response, what: str) -> None:
        if response.status_code in (401, 403):
            raise MetabaseAuthError(f"{self.url}: {what} refused ({response.status_code}): {response.text[:200]}")
        if response.status_code == 429 or response.status_code >= 500:
            raise MetabaseTransientError(f"{self.url}: {what} answered {response.status_code}", response)
        if response.status_code >= 400:
            raise requests.HTTPError(f"{self.url}: {what} answered {response.status_code}: {response.text[:200]}")

    def export_csv(self, question_id: int, dest: Path, parameters: list[dict[str, Any]] | None = None) -> int:
        """Write the question's results as CSV to `dest` (raw, unformatted values); returns bytes written."""
        policy = RetryPolicy(metabase_transient, attempts=self.max_attempts, service="Metabase")
        return policy.call(self._export_once, question_id, dest, parameters or [])

    def _export_once(self, question_id: int, dest: Path, parameters: list[dict[str, Any]]) -> int:
        what = f"POST /api/card/{question_id}/query/csv"
        with requests.Session() as http:
            try:
                response = http.post(
                    f"{self.url.rstrip('/')}/api/card/{question_id}/query/csv",
                    data={"parameters": json.dumps(parameters), "format_rows": "false"},
                    headers=self._auth_headers(http),
                    stream=True,
                    timeout=self.timeout_seconds,
                )
                self._raise_for_status(response, what)
                expected = response.headers.get("Content-Length")
                written = 0
                with open(dest, "wb") as handle:
                    for chunk in response.iter_content(chunk_size=1 << 20):
                        handle.write(chunk)
                        written += len(chunk)
            except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as error:
                raise MetabaseTransientError(f"{self.url}: {what} failed: {error}") from error
        if expected is not None and int(expected) != written:
            raise MetabaseTransientError(f"{self.url}: {what} was cut off after {written} of {expected} bytes")
        return written
