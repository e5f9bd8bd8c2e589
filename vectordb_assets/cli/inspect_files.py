"""`vectordb inspect`: a local file or folder, or an s3:// object or prefix, looked at without
running the pipeline."""

from __future__ import annotations

import json

import click

from vectordb_assets.cli.common import emit, json_option, readable, settings_from_env


@click.group()
def inspect() -> None:
    """Look at a local file or folder, or an s3:// object or prefix."""


@inspect.command("list")
@click.argument("uri")
@click.option("--suffix", default=None, help="Only names ending so, such as .parquet (any case).")
@click.option("--max-keys", default=None, type=click.IntRange(1), help="List at most this many files.")
@json_option
def inspect_list(uri: str, suffix: str | None, max_keys: int | None, as_json: bool) -> None:
    """Files under a folder or prefix, with size (MB) and modification time; exits with status 1
    when nothing is there."""
    from vectordb_assets.inspection import list_files

    with readable():
        files = list_files(uri, settings_from_env(), suffix, max_keys)
    emit(files, as_json, [(f"{f['size_mb']:>10.3f} MB", f["last_modified"], f["key"]) for f in files])


@inspect.command("metadata")
@click.argument("uri")
@json_option
def inspect_metadata(uri: str, as_json: bool) -> None:
    """Rows, columns, and for Parquet row groups, writer and format version."""
    from vectordb_assets.inspection import file_metadata

    with readable():
        emit(file_metadata(uri, settings_from_env()), as_json)


@inspect.command("validate")
@click.argument("uri")
@click.option("--required-columns", default="", help="Comma-separated columns the file must have.")
@click.option("--max-rejected-ratio", default=0.0, show_default=True, help="Share of rejected rows still valid.")
@json_option
def inspect_validate(uri: str, required_columns: str, max_rejected_ratio: float, as_json: bool) -> None:
    """The validation report; exits with status 1 when the file is not valid."""
    from vectordb_assets.inspection import validation_report

    required = [c.strip() for c in required_columns.split(",") if c.strip()]
    with readable():
        valid, report = validation_report(uri, settings_from_env(), required, max_rejected_ratio)
    emit(report, as_json)
    if not valid:
        raise SystemExit(1)


@inspect.command("sample")
@click.argument("uri")
@click.argument("count", default=5, type=click.IntRange(1, 10_000))
@json_option
def inspect_sample(uri: str, count: int, as_json: bool) -> None:
    """The first COUNT rows as they are in the file."""
    from vectordb_assets.inspection import sample_rows

    with readable():
        rows = sample_rows(uri, settings_from_env(), count)
    emit(rows, as_json, [(json.dumps(r, ensure_ascii=False, default=str),) for r in rows])


@inspect.command("ids")
@click.argument("uri")
@click.option("--id-column", default=None, help="Id column; default: detected.")
@click.option("--all", "every_id", is_flag=True, help="Stream every id instead, one JSON object per line.")
@json_option
def inspect_ids(uri: str, id_column: str | None, every_id: bool, as_json: bool) -> None:
    """The id column, total and unique ids, and repeated ones; with --all, every row's id."""
    from vectordb_assets.inspection import all_ids, id_summary

    with readable():
        if every_id:
            for item in all_ids(uri, settings_from_env(), id_column):
                click.echo(json.dumps(item, ensure_ascii=False, default=str))
            return
        emit(id_summary(uri, settings_from_env(), id_column), as_json)


COMMANDS = [inspect]
