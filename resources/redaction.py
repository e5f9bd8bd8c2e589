"""Secrets taken out of any text before it is logged, printed or stored.

A connection string's password (`scheme://user:password@host`) becomes `***`, and so does any
value of the secret environment variables, raw or percent-decoded, wherever it appears: a
driver's error may echo part of a malformed URL.

Example::

    redact("connection to postgresql://app:s3cret@db/x failed")  # '... postgresql://app:***@db/x ...'
"""

from __future__ import annotations

import os
import re
from urllib.parse import unquote, urlsplit

SECRET_VARIABLES = (
    "DATABASE_URL",
    "OPENAI_API_KEY",
    "PINECONE_API_KEY",
    "METABASE_API_KEY",
    "METABASE_PASSWORD",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
)
# user:password@ in a URL: the password is everything up to the last @ before the path.
_URL_CREDENTIALS = re.compile(
    r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<password>[^\s]*)@(?=[^@\s]*(?:[/?\s]|$))"
)
REDACTED = "***"


def secret_values() -> set[str]:
    """The secrets this process holds in its environment (and a connection string's password)."""
    values = set()
    for name in SECRET_VARIABLES:
        value = os.environ.get(name)
        if not value:
            continue
        values.add(value)
        if name == "DATABASE_URL":
            values.update(_url_password(value))
    return {v for v in values if len(v) >= 4}


def _url_password(url: str) -> set[str]:
    netloc = url.split("://", 1)[-1].rsplit("@", 1)
    if len(netloc) < 2 or ":" not in netloc[0]:
        return set()
    password = netloc[0].split(":", 1)[1]
    return {password, unquote(password)}


def redact(text: str) -> str:
    """`text` with every secret replaced by ***."""
    text = _URL_CREDENTIALS.sub(lambda m: f"{m['scheme']}{m['user']}:{REDACTED}@", text)
    for value in sorted(secret_values(), key=len, reverse=True):
        text = text.replace(value, REDACTED)
    return text


def url_problem(url: str) -> str | None:
    """Why a PostgreSQL URL cannot be used as it is, in words that never repeat it."""
    if not url.startswith(("postgresql://", "postgres://")):
        return "it must start with postgresql:// (or postgres://)"
    rest = url.split("://", 1)[1]
    authority = re.split(r"[/?]", rest, maxsplit=1)[0]
    if rest.count("@") > 1 or "@" in rest[len(authority) :]:
        return "its user or password holds an unencoded '@' or '/': percent-encode them (%40, %2F)"
    credentials = authority.rsplit("@", 1)[0] if "@" in authority else ""
    if re.search(r"%(?![0-9A-Fa-f]{2})", credentials):
        return "its user or password holds a '%' that starts no %XX escape: percent-encode it as %25"
    try:
        urlsplit(url).port  # noqa: B018 (reading the port is what checks it)
    except ValueError:
        return "its port is not a number (a ':' in the user name must be percent-encoded as %3A)"
    return None
