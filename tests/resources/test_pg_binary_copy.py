"""The binary COPY encoder, read back by the embedded PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pyarrow as pa
import pytest

from resources.pg_binary_copy import copy_binary, jsonb_column, text_column, timestamptz_column, vector_column

AWKWARD = ["plain", "", None, "tab\there, newline\nthere", 'quote " and \\ backslash', "日本語 ✓", "x" * 70_000]


def test_every_field_type_reads_back_as_written(state_db) -> None:
    rows = len(AWKWARD)
    vectors = np.random.default_rng(3).standard_normal((rows, 5)).astype(np.float32)
    metadata = [f'{{"n": {i}, "s": "é\\n"}}' for i in range(rows)]
    landed = datetime(2026, 11, 23, 14, 5, 6, 789012, tzinfo=timezone(timedelta(hours=2)))
    with state_db.connect() as conn:
        conn.execute("create table t (k text, c text, v vector(5), m jsonb, at timestamptz, nothing text)")
        columns = [
            text_column(pa.array(AWKWARD)),
            text_column("same"),
            vector_column(vectors),
            jsonb_column(pa.chunked_array([metadata[:2], metadata[2:]])),
            timestamptz_column(landed),
            text_column(None),
        ]
        # Blocks of 3 rows: the COPY is sent in several pieces, the last one short.
        copy_binary(conn, "copy t from stdin with (format binary)", rows, columns, block_rows=3)
        got = conn.execute("select k, c, v, m, at, nothing from t").fetchall()
    assert [r[0] for r in got] == AWKWARD
    assert {r[1] for r in got} == {"same"}
    np.testing.assert_array_equal(np.stack([r[2].to_numpy() for r in got]), vectors)
    assert [r[3] for r in got] == [{"n": i, "s": "é\n"} for i in range(rows)]
    assert {r[4] for r in got} == {landed}
    assert {r[5] for r in got} == {None}


def test_a_naive_timestamp_is_refused() -> None:
    with pytest.raises(ValueError, match="has no time zone"):
        timestamptz_column(datetime(2026, 1, 1))


def test_a_wrong_field_count_is_reported_by_the_server(state_db) -> None:
    with state_db.connect() as conn:
        conn.execute("create table t (a text, b text)")
        with pytest.raises(Exception, match="row field count"):
            copy_binary(conn, "copy t from stdin with (format binary)", 1, [text_column(pa.array(["x"]))])
