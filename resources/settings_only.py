"""Resources configured by the settings alone: a run's config cannot change them.

Dagster lets a run's config override any field of a resource (from the Launchpad, the GraphQL
API or the code server's gRPC port), and Dagster OSS has no users. The URLs, hosts, roots,
buckets and secrets a resource holds must come from the settings, so every resource of the
platform refuses to start in a run whose config gives one of its fields another value than the
settings did. What a run may choose (batch size, namespace, date filter) is asset or op config.

Example::

    class Store(SettingsOnlyResource):
        root: str
"""

from __future__ import annotations

from typing import Any

import dagster as dg


class RunConfigRefused(PermissionError):
    """A run's config tried to change a resource that only the settings may configure."""


def changed_fields(context: dg.InitResourceContext) -> list[str]:
    """The `resources.<key>.config.<field>` paths a run's config sets to a value the settings did
    not give (a Launchpad scaffold that repeats the defaults changes nothing)."""
    run = context.run
    given: dict[str, Any] = ((run.run_config or {}).get("resources") or {}) if run else {}
    key = next((k for k, d in (context.all_resource_defs or {}).items() if d is context.resource_def), None)
    entry = given.get(key) if key else None
    if not entry:
        return []
    schema = context.resource_def.config_schema if context.resource_def else None
    defaults = schema.as_field().default_value if schema is not None and schema.as_field().default_provided else {}
    config = (entry or {}).get("config") or {}
    return sorted(f"resources.{key}.config.{name}" for name, value in config.items() if defaults.get(name) != value)


class SettingsOnlyResource(dg.ConfigurableResource):
    """A resource whose fields come from the settings; a run that sets one differently fails
    before the resource is used, naming the field."""

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        changed = changed_fields(context)
        if changed:
            raise RunConfigRefused(
                f"run config may not set {', '.join(changed)}: resources are configured by the settings"
                " (environment variables) only; a run chooses only its batch size, namespace and date filter"
            )
