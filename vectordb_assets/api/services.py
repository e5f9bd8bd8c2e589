"""What the API's routes share: the settings and the objects made from them, once per process."""

from __future__ import annotations

import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
from typing import Any

from resources.object_store import ObjectStore
from resources.state_db import StateDatabase
from vectordb_assets.api.keys import ApiKeys
from vectordb_assets.api.rate_limits import KeyRateLimits
from vectordb_assets.api.tasks import TaskStore
from vectordb_assets.runs_api import FINISHED, RunsApi
from vectordb_assets.settings import Settings

FINISHED_RUNS_KEPT = 10_000


class Services:
    """The settings' state database, keys, tasks, webserver, landing store and search resources."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.rate_limits = KeyRateLimits(settings.api.requests_per_minute)
        self._finished: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._finished_lock = threading.Lock()
        self._local = threading.local()

    def run_states(self, run_ids: list[str]) -> dict[str, dict[str, Any]]:
        """Each run's state from the webserver, asked for at once; a finished run's state never
        changes, so the last `FINISHED_RUNS_KEPT` of them are kept and not asked for again."""
        with self._finished_lock:
            known = {run_id: self._finished[run_id] for run_id in run_ids if run_id in self._finished}
        missing = [run_id for run_id in dict.fromkeys(run_ids) if run_id not in known]
        with ThreadPoolExecutor(max_workers=min(8, len(missing) or 1)) as pool:
            asked = dict(zip(missing, pool.map(lambda run_id: self.runs.status(run_id), missing)))
        with self._finished_lock:
            for run_id, state in asked.items():
                if state["status"] in FINISHED:
                    self._finished[run_id] = state
            while len(self._finished) > FINISHED_RUNS_KEPT:
                self._finished.popitem(last=False)
        return {**known, **asked}

    @cached_property
    def state_db(self) -> StateDatabase:
        return self.search.state_db

    @cached_property
    def keys(self) -> ApiKeys:
        return ApiKeys(self.state_db)

    @cached_property
    def tasks(self) -> TaskStore:
        return TaskStore(self.state_db)

    @property
    def runs(self) -> RunsApi:
        """This thread's client of the webserver (a GraphQL client serves one request at a time)."""
        client = getattr(self._local, "runs", None)
        if client is None:
            settings = self.settings
            client = RunsApi(
                settings.dagster.url, settings.dagster.location, timeout=30, headers=settings.dagster_header_values
            )
            self._local.runs = client
        return client

    @cached_property
    def landing(self) -> ObjectStore:
        from vectordb_assets.resources_from_settings import object_store

        return object_store(self.settings.source, self.settings)

    @cached_property
    def search(self) -> Any:
        """The state database, embedder, vector store and generation policy (the secrets read
        from the environment into memory, as for `vectordb search`)."""
        from vectordb_assets.resources_from_settings import search_objects

        return search_objects(self.settings)
