"""A corpus of strange real-world files landed beside good ones, driven through the real landing
sensor, the runs it requests and the sensor that re-runs failed files on their own."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import dagster as dg
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from resources.object_store import LocalObjectStore
from sensors.isolation_sensor import build_isolation_sensor
from sensors.landing_sensor import build_landing_sensor
from tests.pipeline_harness import Pipeline
from tests.sensors.ticks import tick as sensor_tick
from vectordb_assets.assets.jobs import ingest_files
from vectordb_assets.definitions import build_definitions
from vectordb_assets.settings import Settings

LONG_NAME = "scraper-output-" + "x" * 230 + ".csv"


def parquet_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return sink.getvalue().to_pybytes()


def vectors(rows: list[list[float]]) -> pa.Array:
    return pa.FixedSizeListArray.from_arrays(pa.array(np.asarray(rows, np.float32).reshape(-1)), len(rows[0]))


# Files whose every row is indexed: name → (content, ids expected in the index).
GOOD = {
    "good/articles.csv": (b"id,text\ng1,reset a password\ng2,export invoices\n", {"g1", "g2"}),
    "good/reviews.jsonl": (b'{"id": "g3", "text": "great shoes"}\n{"id": "g4", "text": "tight hood"}\n', {"g3", "g4"}),
    "good/catalog.parquet": (parquet_bytes(pa.table({"id": ["g5", "g6"], "text": ["tent", "socks"]})), {"g5", "g6"}),
    "odd/bom-header.csv": ("\ufeffid,text\nb1,byte order mark\nb2,still found\n".encode(), {"b1", "b2"}),
    "odd/mixed-ids.json": (b'[{"id": 1, "text": "one"}, {"id": "two", "text": "two"}]', {"1", "two"}),
    "odd/bigint.jsonl": (b'{"id": "n1", "text": "big", "n": 123456789012345678901234567890}\n', {"n1"}),
    "odd/crlf.csv": (b"id,text\r\nw1,windows line ends\r\n", {"w1"}),
    "odd/latin1.csv": (b"id,text\nl1,caf\xe9 au lait\n", {"l1"}),
    "odd/control-chars.jsonl": (b'{"id": "c1", "text": "bell\\u0007 and tab\\t"}\n', {"c1"}),
    "odd/emoji.jsonl": ('{"id": "e1", "text": "zero\u200bwidth \U0001f600"}\n'.encode(), {"e1"}),
    "odd/wrapped.json": (b'{"count": 1, "items": [{"id": "o1", "text": "scraper wrapper"}]}', {"o1"}),
    "odd/names with spaces; and $ signs.csv": (b"id,text\ns1,shell characters in the name\n", {"s1"}),
    f"odd/{LONG_NAME}": (b"id,text\nlong1,a name too long for the output path\n", {"long1"}),
    "odd/dup-ids.csv": (b"id,text\nd1,first\nd1,again\nd2,x\nd3,y\nd4,z\nd5,w\n", {"d1", "d2", "d3", "d4", "d5"}),
}

# Files that fail as a whole, or fail a check: each must have an outcome naming it.
BAD = {
    "bad/dup-columns.csv": b"id,text,text\n1,a,b\n",
    "bad/deep.json": b"[" + b'{"a":' * 5000 + b"1" + b"}" * 5000 + b"]",
    "bad/deep-list.jsonl": b'{"id": "1", "text": "x", "l": ' + b"[" * 10000 + b"]" * 10000 + b"}\n",
    "bad/truncated.parquet": b"PAR1\x15\x04\x15\x10\x15\x14L\x15\x04\x15\x00\x12\x00\x00",
    "bad/garbage.csv": bytes(range(256)) * 8,
    "bad/broken.json": b'[{"id": "1", "text": "a"}, {"id": ',
    "bad/bomb.csv.gz": gzip.compress(b"id,text\n1," + b"z" * 3_000_000 + b"\n"),
    "bad/header-only.csv": b"id,text\n",
    "bad/empty.csv": b"",
    "bad/report.xlsx": b"PK\x03\x04 not a supported format",
    "bad/array-line.jsonl": b'{"id": "1", "text": "ok"}\n[1, 2]\n',
    "bad/scalar.json": b"42",
    "bad/not-gzip.jsonl.gz": b'{"id": "1", "text": "not compressed"}\n',
    "bad/object-without-array.json": b'{"id": "1", "text": "a lone object"}',
    "bad/unterminated-quote.csv": b'id,text\nq1,fine\nq2,"open quote\nq3,swallowed\n',
    "bad/binary-text.parquet": parquet_bytes(
        pa.table(
            {
                "id": pa.array([b"p1", b"p2"], pa.binary()),
                "text": pa.array([b"\xff\xfe", b"\xfe\xff"], pa.binary()),
            }
        )
    ),
    "bad/nan-vectors.parquet": parquet_bytes(pa.table({"id": ["v1"], "embedding": vectors([[float("nan")] * 384])})),
    "bad/wrong-dimension.parquet": parquet_bytes(pa.table({"id": ["v2"], "embedding": vectors([[0.1, 0.2, 0.3]])})),
    "bad/empty-texts.csv": b"id,text\nt1,\nt2,\nt3,kept\n",
    "bad/only-ids.csv": b"id\n1\n2\n",
    "bad/ragged.csv": b"id,text\nr1,a,extra\nr2\nr3,ok\n",
    "bad/huge-field.csv": b"id,text\nh1," + b"y" * 200_000 + b"\n",
    "bad/missing-ids.jsonl": b'{"id": null, "text": "a"}\n{"text": "b"}\n',
    "bad/html.csv": b"<!DOCTYPE html><html><body>\x00login required</body></html>",
    "bad/utf16.csv": "id,text\nu1,wide\n".encode("utf-16"),
    "bad/jsonl-syntax.jsonl": b'{"id": "1", "text": "a"}\n{"id": "2", "text": }\n',
    "bad/nested-array-json.json": b'[[{"id": "1"}]]',
    "bad/json-trailing-garbage.json": b'[{"id": "1", "text": "a"}] trailing',
    "bad/id-is-object.jsonl": b'{"id": {"nested": 1}, "text": ""}\n{"id": {"nested": 2}, "text": ""}\n',
    "bad/dup-parquet-columns.parquet": parquet_bytes(
        pa.Table.from_arrays([pa.array(["1"]), pa.array(["a"]), pa.array(["b"])], names=["id", "text", "text"])
    ),
}


@pytest.fixture
def pipeline(home: Path, state_db, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DATABASE_URL", state_db.database_url)
    with dg.instance_for_test() as instance:
        yield Pipeline(Settings.from_env(), instance, state_db)


def land(p: Pipeline, files: dict[str, bytes]) -> None:
    for key, content in files.items():
        path = p.landing / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


@pytest.mark.usefixtures("models_dir")
def test_strange_files_never_stop_their_neighbours(pipeline: Pipeline) -> None:
    p = pipeline
    assert len(BAD) >= 30
    land(p, {key: content for key, (content, _) in GOOD.items()})
    land(p, BAD)
    defs = build_definitions(p.settings)
    job = defs.resolve_job_def("ingest_files")
    landing = build_landing_sensor(
        ingest_files, minimum_interval_seconds=30, max_partitions_per_run=100, excluded_prefix=None
    )
    store = LocalObjectStore(root=p.settings.source.root)
    tick = sensor_tick(landing, p.instance, {"source_store": store, "state_db": p.state_db}, None)
    (add,) = tick.dynamic_partitions_requests
    assert set(add.partition_keys) == set(GOOD) | set(BAD)
    results = [
        job.execute_in_process(instance=p.instance, tags=request.tags, partition_key=request.partition_key)
        for request in tick.run_requests
    ]
    assert len(results) == 1 and all(r.success for r in results)  # one batch run, not stopped by any file

    assert set(p.index()) == set().union(*(ids for _, ids in GOOD.values()))
    assert p.index()["1"][0] == "one" and p.index()["n1"][0] == "big"

    # Every bad file has an outcome naming it: a failed partition with a quarantine report.
    validated = {
        e.partition: {k: v.value for k, v in e.materialization.metadata.items()}
        for e in results[0].get_asset_materialization_events()
        if e.asset_key.path == ["validated_parquet"]
    }
    failed = {key for key, m in validated.items() if m.get("status") == "failed"}
    assert failed == set(BAD)
    store_root = Path(p.settings.output.root)
    for key in BAD:
        assert validated[key]["error"].startswith(key), validated[key]
        report = json.loads((store_root / "quarantine" / f"{key}.report.json").read_text())
        assert report["source_key"] == key and report["stage"] == "validated_parquet" and report["error_class"]
    assert (
        "nested more than 64 levels" in validated["bad/deep.json"]["error"] and validated["bad/deep.json"]["line"] == 1
    )
    assert "column names repeat: 'text'" in validated["bad/dup-columns.csv"]["error"]
    quote = json.loads((store_root / "quarantine/bad/unterminated-quote.csv.report.json").read_text())
    assert "rejected_ratio" in quote["error"]
    assert validated["odd/dup-ids.csv"]["rejected_by_reason"] == {"duplicate id within the file": 1}

    # The failed files are re-run one per run, where each fails on its own.
    isolation = build_isolation_sensor(ingest_files)
    run = p.instance.get_run_by_id(results[0].run_id)
    context = dg.build_run_status_sensor_context(
        sensor_name="failed_files_sensor",
        dagster_event=results[0].get_run_success_event(),
        dagster_instance=p.instance,
        dagster_run=run,
    )
    requests = isolation(context)
    assert {r.partition_key for r in requests} == set(BAD)
    single = next(r for r in requests if r.partition_key == "bad/deep.json")
    outcome = job.execute_in_process(
        instance=p.instance, partition_key=single.partition_key, tags=single.tags, raise_on_error=False
    )
    assert not outcome.success
    failure = next(e for e in outcome.all_events if e.event_type_value == "STEP_FAILURE")
    assert "bad/deep.json: line 1: nested more than 64 levels deep" in failure.step_failure_data.error.message


@pytest.mark.usefixtures("models_dir")
def test_links_loops_fifos_and_outside_files_are_skipped_and_good_files_flow(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    p = pipeline
    land(p, {"good.csv": b"id,text\n1,one\n"})
    secret = tmp_path / "outside-secret.csv"
    secret.write_text("id,text\nsecret,do not index\n")
    (p.landing / "outside.csv").symlink_to(secret)
    (p.landing / "dangling.csv").symlink_to(p.landing / "missing.csv")
    (p.landing / "loop-a.csv").symlink_to(p.landing / "loop-b.csv")
    (p.landing / "loop-b.csv").symlink_to(p.landing / "loop-a.csv")
    os.mkfifo(p.landing / "pipe.csv")
    landing = build_landing_sensor(
        ingest_files, minimum_interval_seconds=30, max_partitions_per_run=100, excluded_prefix=None
    )
    store = LocalObjectStore(root=p.settings.source.root)
    skipped: dict[str, str] = {}
    assert [o.key for o in store.list_objects(on_skip=skipped.__setitem__)] == ["good.csv"]
    assert skipped == {
        "dangling.csv": "a link to nothing (dangling)",
        "loop-a.csv": "a link loop",
        "loop-b.csv": "a link loop",
        "outside.csv": "a link to a file outside the landing folder",
        "pipe.csv": "not a regular file (a FIFO, device or socket)",
    }
    tick = sensor_tick(landing, p.instance, {"source_store": store, "state_db": p.state_db}, None)
    (add,) = tick.dynamic_partitions_requests
    assert list(add.partition_keys) == ["good.csv"]
    p.run("good.csv")
    assert set(p.index()) == {"1"}
    with pytest.raises(ValueError, match="outside the store"):
        store.head("outside.csv")
