"""Which namespace a landed file's vectors go to: routes from key prefixes, else a default.

Example::

    routes = NamespaceRoutes(default="main", routes={"metabase/42/": "v2"})
    routes.for_key("metabase/42/2026-11-01.json")  # "v2"
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from pydantic import Field, field_validator

from resources.settings_only import SettingsOnlyResource

NAMESPACE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


def check_namespace(name: str) -> str:
    """`name` if it is a namespace every store accepts the form of (1-64 letters, digits, _ and -)."""
    if not NAMESPACE.match(name):
        raise ValueError(
            f"namespace {name!r} is not allowed: use 1-64 letters, digits, _ and -, starting with a letter or digit"
        )
    return name


def check_route(prefix: str, namespace: str) -> None:
    """Refuse a route with an empty prefix, or to a namespace of another form."""
    if not prefix:
        raise ValueError(
            f"a route to namespace {namespace!r} has an empty prefix: VECTORDB_NAMESPACE names the namespace of every file"
        )
    check_namespace(namespace)


def parse_routes(pairs: Iterable[str]) -> dict[str, str]:
    """`prefix=namespace` pairs as routes, each checked."""
    routes = {}
    for pair in pairs:
        prefix, sep, namespace = pair.rpartition("=")
        if not sep:
            raise ValueError(f"{pair!r} is not prefix=namespace")
        check_route(prefix, namespace)
        routes[prefix] = namespace
    return routes


class NamespaceRoutes(SettingsOnlyResource):
    """The namespace of each file: that of the longest route whose prefix starts its key, else the default."""

    default: str = Field(default="default", description="Namespace of files no route names (VECTORDB_NAMESPACE).")
    routes: dict[str, str] = Field(
        default_factory=dict,
        description="Key prefix → namespace (VECTORDB_NAMESPACE_ROUTES); the longest matching prefix wins.",
    )

    @field_validator("default")
    @classmethod
    def _default(cls, value: str) -> str:
        return check_namespace(value)

    @field_validator("routes")
    @classmethod
    def _routes(cls, value: dict[str, str]) -> dict[str, str]:
        for prefix, namespace in value.items():
            check_route(prefix, namespace)
        return value

    def for_key(self, key: str) -> str:
        """The namespace of the file at `key`."""
        matching = [prefix for prefix in self.routes if key.startswith(prefix)]
        return self.routes[max(matching, key=len)] if matching else self.default
