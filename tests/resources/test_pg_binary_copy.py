"""The binary COPY encoder, read back by the embedded PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pyarrow as pa
import pytest

from resources.pg_binary_copy import copy_binary, jsonb_field, text_field, timestamptz_field, vector_field

AWKWARD = ["plain", "", None, "tab\there, newline\nthere", 'quote " and \\ backslash', "日本語 ✓", "x" * 70_000]


def test_every_field_type_reads_back_as_written(state_db) -> None:
    rows = len(AWKWARD)
    vectors = np.random.default_rng(3).standard_normal((rows, 5)).astype(np.float32)
    metadata = [f'{{"n": {i}, "s": "é\\n"}}' for i in range(rows)]
    landed = datetime(2026, 11, 23, 14, 5, 6, 789012, tzinfo=timezone(timedelta(hours=2)))
    with state_db.connect() as conn:
        conn.execute(
            "create table t (k text, c text, v vector(5), m jsonb, at timestamptz, nothing text)"
        )
        fields = [text_field(pa.array(AWKWARD)), text_field("same"), vector_field(vectors),
                  jsonb_field(pa.array(metadata)), timestamptz_field(landed), text_field(None)]
        # Two batches in one COPY, split unevenly.
        copy_binary(conn, "copy t from stdin with (format binary)",
                    [[[p.slice(0, 3) if isinstance(p, pa.Array) else p for p in f] for f in fields],
                     [[p.slice(3) if isinstance(p, pa.Array) else p for p in f] for f in fields]])
        got = conn.execute("select k, c, v, m, at, nothing from t").fetchall()
    assert [r[0] for r in got] == AWKWARD
    assert {r[1] for r in got} == {"same"}
    np.testing.assert_array_equal(np.stack([r[2].to_numpy() for r in got]), vectors)
    assert [r[3] for r in got] == [{"n": i, "s": "é\n"} for i in range(rows)]
    assert {r[4] for r in got} == {landed}
    assert {r[5] for r in got} == {None}


def test_a_naive_timestamp_is_refused() -> None:
    with pytest.raises(ValueError, match="has no time zone"):
        timestamptz_field(datetime(2026, 1, 1))


def test_a_wrong_field_count_is_reported_by_the_server(state_db) -> None:
    with state_db.connect() as conn:
        conn.execute("create table t (a text, b text)")
        with pytest.raises(Exception, match="row field count"):
            copy_binary(conn, "copy t from stdin with (format binary)", [[text_field(pa.array(["x"]))]])
