"""Metabase questions as daily partitions, through a local server that speaks Metabase's API."""

from __future__ import annotations

import csv
from pathlib import Path

import dagster as dg
import pytest

from resources.metabase import MetabaseAuthError, MetabaseResource
from resources.retry import TransientServiceError
from tests.fake_metabase import API_KEY, PASSWORD, TOKEN, USER, FakeMetabase
from vectordb_assets.definitions import build_definitions
from vectordb_assets.settings import Settings, SettingsError

EXPORT = (
    "id,title,created_at\n"
    "1,Invoice overdue,2026-11-01T09:00:00Z\n"
    "2,Refund issued,2026-11-01T17:30:00Z\n"
    "3,Plan upgraded,2026-11-03T08:00:00Z\n"
)


@pytest.fixture
def metabase() -> FakeMetabase:
    server = FakeMetabase(csv_by_card={42: EXPORT})
    server.start()
    yield server
    server.stop()


def test_api_key_export_streams_the_csv(metabase: FakeMetabase, tmp_path: Path) -> None:
    client = MetabaseResource(url=metabase.url, api_key=API_KEY)
    size = client.export_csv(42, tmp_path / "out.csv")
    assert (tmp_path / "out.csv").read_text() == EXPORT and size == len(EXPORT)
    assert metabase.requests[0]["form"]["format_rows"] == "false"


def test_a_session_is_opened_from_username_and_password(metabase: FakeMetabase, tmp_path: Path) -> None:
    MetabaseResource(url=metabase.url, username=USER, password=PASSWORD).export_csv(42, tmp_path / "out.csv")
    assert metabase.requests[0]["headers"]["X-Metabase-Session"] == TOKEN


def test_401_fails_at_once(metabase: FakeMetabase, tmp_path: Path) -> None:
    with pytest.raises(MetabaseAuthError, match=r"POST /api/card/42/query/csv refused \(401\)"):
        MetabaseResource(url=metabase.url, api_key="wrong").export_csv(42, tmp_path / "out.csv")
    assert len(metabase.requests) == 1


def test_429_500_and_a_cut_off_body_are_retried(metabase: FakeMetabase, tmp_path: Path) -> None:
    metabase.faults = ["429", "truncate", "500"]
    MetabaseResource(url=metabase.url, api_key=API_KEY, max_attempts=4).export_csv(42, tmp_path / "out.csv")
    assert (tmp_path / "out.csv").read_text() == EXPORT
    assert len(metabase.requests) == 4


def test_a_cut_off_body_is_never_landed(metabase: FakeMetabase, tmp_path: Path) -> None:
    metabase.faults = ["truncate"] * 3
    with pytest.raises(TransientServiceError, match="Metabase is unavailable.*(cut off|failed)"):
        MetabaseResource(url=metabase.url, api_key=API_KEY, max_attempts=3).export_csv(42, tmp_path / "out.csv")


def test_a_backfill_over_three_days_lands_each_days_rows(
    metabase: FakeMetabase, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VECTORDB_METABASE_URL", metabase.url)
    monkeypatch.setenv("METABASE_API_KEY", API_KEY)
    monkeypatch.setenv("VECTORDB_METABASE_QUESTIONS", "42:created_at:2026-10-30:report_date")
    settings = Settings.from_env()
    defs = build_definitions(settings)
    job = defs.resolve_job_def("metabase_question_42_daily")
    landing = Path(settings.source.root)
    with dg.instance_for_test() as instance:
        rows = {}
        for day in ("2026-11-01", "2026-11-02", "2026-11-03"):
            result = job.execute_in_process(instance=instance, partition_key=day)
            assert result.success
            (event,) = result.get_asset_materialization_events()
            rows[day] = event.materialization.metadata["rows"].value
    assert rows == {"2026-11-01": 2, "2026-11-02": 0, "2026-11-03": 1}
    assert (landing / "metabase/42/2026-11-01.csv").read_text().count("\n") == 3
    assert not (landing / "metabase/42/2026-11-02.csv").exists()
    assert metabase.requests[0]["form"]["parameters"] == (
        '[{"type": "date/single", "target": ["variable", ["template-tag", "report_date"]], "value": "2026-11-01"}]'
    )
    schedule = defs.resolve_schedule_def("metabase_question_42_daily_schedule")
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING


@pytest.mark.parametrize(
    ("spec", "exports"),
    [("42:created_at:2026-10-30", 1), ("42:created_at:2026-10-30:report_date", 3)],
    ids=["no date parameter", "a date parameter"],
)
def test_a_backfill_run_over_a_range_downloads_an_unparameterised_question_once(
    metabase: FakeMetabase, home: Path, monkeypatch: pytest.MonkeyPatch, spec: str, exports: int
) -> None:
    monkeypatch.setenv("VECTORDB_METABASE_URL", metabase.url)
    monkeypatch.setenv("METABASE_API_KEY", API_KEY)
    monkeypatch.setenv("VECTORDB_METABASE_QUESTIONS", spec)
    settings = Settings.from_env()
    asset = build_definitions(settings).resolve_assets_def("metabase_question_42")
    assert asset.backfill_policy == dg.BackfillPolicy.single_run()  # a backfill is one run over its range
    job = build_definitions(settings).resolve_job_def("metabase_question_42_daily")
    with dg.instance_for_test() as instance:
        result = job.execute_in_process(
            instance=instance,
            tags={
                "dagster/asset_partition_range_start": "2026-11-01",
                "dagster/asset_partition_range_end": "2026-11-03",
            },
        )
        assert result.success
        rows = {
            e.partition: e.materialization.metadata["rows"].value for e in result.get_asset_materialization_events()
        }
    assert rows == {"2026-11-01": 2, "2026-11-02": 0, "2026-11-03": 1}
    assert len([r for r in metabase.requests if "card" in r]) == exports
    landing = Path(settings.source.root)
    exported = list(csv.reader(EXPORT.splitlines()))
    assert list(csv.reader((landing / "metabase/42/2026-11-01.csv").open())) == [exported[0], *exported[1:3]]
    assert list(csv.reader((landing / "metabase/42/2026-11-03.csv").open())) == [exported[0], exported[3]]
    assert not (landing / "metabase/42/2026-11-02.csv").exists()


def test_bad_question_settings_are_named(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VECTORDB_METABASE_URL", "http://metabase")
    monkeypatch.setenv("VECTORDB_METABASE_QUESTIONS", "42:created_at")
    with pytest.raises(SettingsError, match="entry '42:created_at' is not question_id:date_column:start_date"):
        Settings.from_env()
