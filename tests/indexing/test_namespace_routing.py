"""Namespaces by key prefix: sensor runs, backfills and explicit runs put each file's vectors in
its namespace, and a file whose namespace changes moves, leaving nothing behind."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from tests.pipeline_harness import Pipeline
from vectordb_assets.indexing.ledger import VectorLedger, ledger_namespaces
from vectordb_assets.indexing.namespaces import NamespaceRoutes
from vectordb_assets.indexing.reconciliation import find_drift
from vectordb_assets.settings import Settings, SettingsError

ROUTES = "metabase/42/=v2,metabase/=questions"


def test_the_longest_matching_prefix_names_the_namespace() -> None:
    routes = NamespaceRoutes(default="main", routes={"metabase/": "questions", "metabase/42/": "v2"})
    assert [
        routes.for_key(k) for k in ("metabase/42/day.json", "metabase/7/day.json", "help/a.csv", "metabase42.csv")
    ] == [
        "v2",
        "questions",
        "main",
        "main",
    ]


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"VECTORDB_NAMESPACE_ROUTES": "metabase/42/"}, "'metabase/42/' is not prefix=namespace"),
        ({"VECTORDB_NAMESPACE_ROUTES": "metabase/=bad space"}, "namespace 'bad space' is not allowed"),
        ({"VECTORDB_NAMESPACE_ROUTES": "=v2"}, "has an empty prefix"),
        ({"VECTORDB_NAMESPACE": "../etc"}, "namespace '../etc' is not allowed"),
    ],
)
def test_bad_routes_are_refused_with_the_setting_named(home: Path, environ: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_env({"VECTORDB_HOME": str(home), **environ})


@pytest.fixture
def pipeline(home: Path, state_db, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DATABASE_URL", state_db.database_url)
    monkeypatch.setenv("VECTORDB_NAMESPACE", "main")
    monkeypatch.setenv("VECTORDB_NAMESPACE_ROUTES", ROUTES)
    with dg.instance_for_test() as instance:
        yield Pipeline(Settings.from_env(), instance, state_db)


@pytest.mark.usefixtures("models_dir")
def test_each_file_goes_to_its_routes_namespace_and_moves_when_told(pipeline: Pipeline) -> None:
    p = pipeline
    p.land("help/a.csv", "id,text\n1,reset a password\n2,change an email\n")
    p.land("metabase/42/day.json", '[{"id": "1", "text": "revenue by week"}]')
    p.land("metabase/7/day.json", '[{"id": "9", "text": "orders by country"}]')
    keys = ["help/a.csv", "metabase/42/day.json", "metabase/7/day.json"]
    indexed = p.run(*keys)["vector_index"]
    assert {key: indexed[key]["namespace"] for key in keys} == {
        "help/a.csv": "main",
        "metabase/42/day.json": "v2",
        "metabase/7/day.json": "questions",
    }
    assert p.index("main") == {"1": ("reset a password", "help/a.csv"), "2": ("change an email", "help/a.csv")}
    assert p.index("v2") == {"1": ("revenue by week", "metabase/42/day.json")}
    assert p.index("questions") == {"9": ("orders by country", "metabase/7/day.json")}

    # A run told to use another namespace moves the file there: its vectors leave the old one.
    moved = p.run("metabase/42/day.json", run_config={"ops": {"vector_index": {"config": {"namespace": "archive"}}}})
    assert moved["vector_index"]["namespace"] == "archive"
    assert moved["vector_index"]["moved_from_namespaces"] == ["v2"]
    assert p.index("v2") == {} and p.index("archive") == {"1": ("revenue by week", "metabase/42/day.json")}
    with p.state_db.connect() as conn:
        assert ledger_namespaces(conn, "documents") == ["archive", "main", "questions"]
    for namespace in ("archive", "main", "questions", "v2"):
        drift = find_drift(vector_store_of(p), VectorLedger(p.state_db, "documents", namespace), sample_size=100)
        assert (drift.missing, drift.orphans, drift.mismatched) == ([], [], []), namespace

    # A deleted file's vectors go from whichever namespace holds them.
    p.remove("metabase/42/day.json")
    gone = p.run("metabase/42/day.json")
    assert gone["vector_index"]["source_deleted"] is True
    assert p.index("archive") == {} and p.index("v2") == {}


def vector_store_of(p: Pipeline):
    from vectordb_assets.resources_from_settings import vector_store

    return vector_store(p.settings, p.state_db)
