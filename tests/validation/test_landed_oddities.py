"""Odd but honest files: exact repeats, semicolon CSVs, hostile text in previews and terminals,
files stamped in the future, namespaces chosen per run."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from tests.validation.test_validate import run
from vectordb_assets.assets.repair_job import RepairConfig
from vectordb_assets.assets.validated_parquet import landed_at, markdown_text
from vectordb_assets.assets.vector_index import VectorIndexConfig
from vectordb_assets.cli.common import printable


def test_an_exact_repeat_without_ids_is_kept_once_and_counted(tmp_path: Path) -> None:
    report, table = run(tmp_path, "a.jsonl", b'{"text": "A"}\n{"text": "A"}\n{"text": "B"}\n')
    assert (report.rows_read, report.rows_kept, report.rows_repeated, report.rows_rejected) == (3, 2, 1, 0)
    assert sorted(table.column("text").to_pylist()) == ["A", "B"]


def test_a_repeated_id_column_value_is_still_rejected(tmp_path: Path) -> None:
    report, _ = run(tmp_path, "a.jsonl", b'{"id": "1", "text": "A"}\n{"id": "1", "text": "other"}\n')
    assert report.rejected == {"duplicate id within the file": 1} and report.rows_repeated == 0


def test_a_semicolon_export_is_split_on_semicolons_and_says_so(tmp_path: Path) -> None:
    content = '\ufeffid;headline;section\r\n1;"Rates rise;\r\nmarkets fall";news\r\n2;Quiet day;sport\r\n'.encode()
    report, table = run(tmp_path, "export.csv", content)
    assert (report.delimiter, report.rows_kept, report.rows_rejected) == (";", 2, 0)
    assert json.loads(table.column("metadata")[0].as_py())["headline"] == "Rates rise;\r\nmarkets fall"
    report, _ = run(tmp_path, "plain.csv", b"id,text\n1,a; b\n")
    assert report.delimiter == ","


def test_landed_text_is_literal_in_a_markdown_cell() -> None:
    cell = markdown_text("[click](http://evil) ![x](http://evil/x.png) <img src=x> a|b\nc **bold**")
    assert cell == r"\[click\]\(http://evil\) \!\[x\]\(http://evil/x.png\) &lt;img src=x&gt; a\|b c \*\*bold\*\*"


def test_terminal_escapes_are_shown_not_sent() -> None:
    assert printable("doc\x1b]0;pwned\x07\x1b[2J") == "doc\\x1b]0;pwned\\x07\\x1b[2J"
    assert printable("café 日本") == "café 日本"


def test_a_file_stamped_in_the_future_landed_now() -> None:
    future = dt.datetime(2099, 1, 1, tzinfo=dt.UTC)
    assert landed_at(future) <= dt.datetime.now(dt.UTC)
    past = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    assert landed_at(past) == past


@pytest.mark.parametrize("config", [VectorIndexConfig, RepairConfig])
def test_a_runs_namespace_is_checked_like_the_settings(config: type) -> None:
    with pytest.raises(ValueError, match="namespace 'a/b' is not allowed"):
        config(namespace="a/b")
    assert config(namespace="team-a").namespace == "team-a"


def order_lines() -> bytes:
    """An export of order line items: `id` is the order's, repeated for each of its 3 items."""
    return (
        "id,item,text\n"
        + "".join(f"{order},{item},order {order} item {item}\n" for order in range(10) for item in range(3))
    ).encode()


def test_a_guessed_id_column_that_repeats_often_gives_way_to_derived_ids(tmp_path: Path) -> None:
    report, table = run(tmp_path, "orders.csv", order_lines())
    assert (report.rows_kept, report.rows_rejected, report.id_column) == (30, 0, None)
    assert report.id_fallback == (
        "the guessed id column 'id' repeats in 20 rows: ids derived from each row's content"
        " instead (set id_column to keep it)"
    )
    assert len(set(table.column("doc_id").to_pylist())) == 30
    assert json.loads(table.column("metadata")[0].as_py())["id"] == "0"


def test_a_configured_id_column_keeps_its_strictness(tmp_path: Path) -> None:
    from tests.validation.test_validate import options, run_with

    report, _ = run_with(tmp_path, "orders.csv", order_lines(), options(id_column="id"))
    assert report.rejected == {"duplicate id within the file": 20} and report.id_fallback is None
