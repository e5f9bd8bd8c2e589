"""API keys: made, listed and revoked by `vectordb api-keys`, kept hashed in the state database.

A key reads `vdb_<key id>_<secret>`. Only the SHA-256 of the secret is stored (the secret is 256
random bits, so a slow hash would add nothing); a request's key is found by its id and its hash
compared in constant time. The key itself is shown once, when it is made, and never logged.

Example::

    keys = ApiKeys(state_db)
    made = keys.create("crm-sync", ["ingest", "read"])
    keys.authenticate(made.secret).name  # "crm-sync"
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from psycopg.rows import dict_row

from resources.state_db import StateDatabase

SCOPES = ("ingest", "read", "search", "admin")
PREFIX = "vdb"
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
KEY = re.compile(rf"^{PREFIX}_([0-9a-f]{{12}})_([A-Za-z0-9_-]{{43}})$")


class ApiKeyError(ValueError):
    """A key request that cannot be done: a bad name or scope, a name taken, no such key."""


@dataclass(frozen=True)
class ApiKey:
    """A key as listed: never its secret."""

    key_id: str
    name: str
    scopes: tuple[str, ...]
    requests_per_minute: int | None
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None

    def allows(self, scope: str) -> bool:
        return scope in self.scopes or "admin" in self.scopes


@dataclass(frozen=True)
class MadeKey:
    key: ApiKey
    secret: str  # the whole key, shown once


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiKeys:
    """The keys of the state database `state_db`."""

    def __init__(self, state_db: StateDatabase):
        self.state_db = state_db

    def _rows(self, where: str, *params: object) -> list[ApiKey]:
        with self.state_db.connect() as conn:
            rows = conn.cursor(row_factory=dict_row).execute(
                "select key_id, name, scopes, requests_per_minute, created_at, last_used_at, revoked_at"
                f" from vectordb_api_keys where {where} order by created_at",
                params,
            )
            return [ApiKey(**{**row, "scopes": tuple(row["scopes"])}) for row in rows]

    def create(self, name: str, scopes: list[str], requests_per_minute: int | None = None) -> MadeKey:
        """A new key named `name` (letters, digits, `.`, `_`, `-`) with `scopes`."""
        if not NAME.match(name):
            raise ApiKeyError(
                f"key name {name!r}: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
            )
        unknown = sorted(set(scopes) - set(SCOPES))
        if not scopes or unknown:
            raise ApiKeyError(f"scopes {', '.join(unknown) or '(none)'}: choose among {', '.join(SCOPES)}")
        if requests_per_minute is not None and requests_per_minute < 1:
            raise ApiKeyError("requests per minute must be at least 1")
        key_id, token = secrets.token_hex(6), secrets.token_urlsafe(32)
        secret = f"{PREFIX}_{key_id}_{token}"
        with self.state_db.connect() as conn:
            taken = conn.execute(
                "select 1 from vectordb_api_keys where name = %s and revoked_at is null", (name,)
            ).fetchone()
            if taken:
                raise ApiKeyError(f"a key named {name!r} exists: revoke it first, or choose another name")
            conn.execute(
                "insert into vectordb_api_keys (key_id, name, secret_hash, scopes, requests_per_minute)"
                " values (%s, %s, %s, %s, %s)",
                (key_id, name, _digest(token), sorted(set(scopes), key=SCOPES.index), requests_per_minute),
            )
        (key,) = self._rows("key_id = %s", key_id)
        return MadeKey(key, secret)

    def list(self, include_revoked: bool = False) -> list[ApiKey]:
        return self._rows("true" if include_revoked else "revoked_at is null")

    def revoke(self, name: str) -> ApiKey:
        """Revoke the live key named `name`: from the next request on it is refused."""
        with self.state_db.connect() as conn:
            row = conn.execute(
                "update vectordb_api_keys set revoked_at = now() where name = %s and revoked_at is null returning key_id",
                (name,),
            ).fetchone()
        if row is None:
            raise ApiKeyError(f"no live key named {name!r} (`vectordb api-keys list`)")
        (key,) = self._rows("key_id = %s", row[0])
        return key

    def authenticate(self, presented: str) -> ApiKey | None:
        """The live key `presented` is, or None; its last use recorded (at most once a minute)."""
        match = KEY.match(presented or "")
        if match is None:
            return None
        key_id, token = match.groups()
        with self.state_db.connect() as conn:
            row = conn.execute(
                "select secret_hash from vectordb_api_keys where key_id = %s and revoked_at is null", (key_id,)
            ).fetchone()
            if row is None or not hmac.compare_digest(row[0], _digest(token)):
                return None
            conn.execute(
                "update vectordb_api_keys set last_used_at = now() where key_id = %s"
                " and (last_used_at is null or last_used_at < now() - interval '1 minute')",
                (key_id,),
            )
        (key,) = self._rows("key_id = %s", key_id)
        return key
