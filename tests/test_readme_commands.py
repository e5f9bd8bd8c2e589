"""Every `vectordb` command the README and the docs pages show runs as written in a fresh folder after `vectordb
seed` and one ingest run (S3 on moto's server), without a traceback or library noise; and the
errors a user can fix print one line."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import boto3
import dagster as dg
import pytest

from tests.pipeline_harness import Pipeline
from vectordb_assets.settings import Settings

pytestmark = [
    pytest.mark.integration,
    pytest.mark.usefixtures("models_dir"),
]  # runs the README's and the docs' commands

PROJECT = Path(__file__).resolve().parents[1]
PAGES = [PROJECT / "README.md", *sorted((PROJECT / "docs" / "pages").rglob("*.md"))]
VECTORDB = str(Path(sys.executable).with_name("vectordb"))
# `dev` starts a server (`dg check defs` and the workspace test load the same code); `ingest`,
# `status` and `runs` talk to one (tests/test_ingest_commands.py runs them against the real webserver);
# `api` serves the HTTP API (tests/api/test_api.py starts it and runs the docs' curl examples).
NOT_RUN_HERE = {"dev", "ingest", "status", "runs", "api"}
NOISE = ("Traceback", "it/s]", "Warning:", "Loading weights")


def readme_commands() -> list[str]:
    """The `vectordb` commands of the README and the docs: console lines (`$ ...`, with
    continuations) and inline code, in the order they appear, once each."""
    lines = [line for page in PAGES for line in page.read_text().splitlines()]
    commands: list[str] = []
    for number, line in enumerate(lines):
        if line.startswith("$ .venv/bin/vectordb "):
            command, following = line[2:], number
            while command.rstrip().endswith("\\"):
                following += 1
                command = command.rstrip()[:-1] + " " + lines[following].strip()
            commands.append(command)
        commands += re.findall(r"`(\.venv/bin/vectordb [^`]+)`", line)
    runnable = [c for c in commands if shlex.split(c, comments=True)[1] not in NOT_RUN_HERE]
    return list(dict.fromkeys(runnable))


def run(command: str, folder: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    argv = shlex.split(command, comments=True)
    return subprocess.run([VECTORDB, *argv[1:]], cwd=folder, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture
def fresh_folder(
    tmp_path: Path, state_db, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, dict[str, str]]:
    """A folder after the quick start: samples seeded and indexed; S3 buckets the examples name."""
    for name in [n for n in os.environ if n.startswith("VECTORDB_")]:
        monkeypatch.delenv(name)
    aws = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
    env = {**os.environ, **aws, "DATABASE_URL": state_db.database_url, "VECTORDB_S3_ENDPOINT_URL": moto_endpoint}
    seeded = run(".venv/bin/vectordb seed", tmp_path, env)
    assert seeded.returncode == 0, seeded.stderr
    s3 = boto3.client(
        "s3",
        endpoint_url=moto_endpoint,
        **{k.lower(): v for k, v in aws.items() if k != "AWS_DEFAULT_REGION"},
        region_name="us-east-1",
    )
    for bucket in ("landing", "landing-bucket", "bucket"):
        s3.create_bucket(Bucket=bucket)
    s3.upload_file(str(tmp_path / ".vectordb/landing/help_center/articles.csv"), "landing", "exports/articles.csv")
    (tmp_path / "scrape-output/debug").mkdir(parents=True)
    (tmp_path / "scrape-output/page-1.json").write_text('[{"id": "p1", "text": "first page"}]')
    (tmp_path / "scrape-output/debug/trace.json").write_text("{}")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with dg.instance_for_test() as instance:
        p = Pipeline(Settings.from_env(cwd=tmp_path), instance, state_db)
        p.run("help_center/articles.csv", "catalog/products.parquet", "reviews/2026-11-01.jsonl")
    return tmp_path, env


def test_every_readme_command_runs_as_written(fresh_folder: tuple[Path, dict[str, str]]) -> None:
    folder, env = fresh_folder
    commands = readme_commands()
    assert len(commands) >= 10 and any(" upload " in c for c in commands) and any(" migrate " in c for c in commands)
    outputs = {}
    for command in commands:
        done = run(command, folder, env)
        assert done.returncode == 0, f"{command}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
        assert not [n for n in NOISE if n in done.stdout + done.stderr], f"{command}\n{done.stderr[-2000:]}"
        outputs[command] = done.stdout
    assert "kb-001" in next(out for c, out in outputs.items() if "reset my password" in c)
    assert "sku-101" in next(out for c, out in outputs.items() if "price=189" in c)
    assert '"key": "help_center/articles.csv"' in next(out for c, out in outputs.items() if "inspect validate" in c)


@pytest.mark.parametrize(
    "args, env, message",
    [
        (
            ["inspect", "list", "s3://landing/exports/"],
            {
                "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
                "AWS_CONFIG_FILE": "/nonexistent",
                "AWS_EC2_METADATA_DISABLED": "true",
            },
            "Error: no AWS credentials: set AWS_ACCESS_KEY_ID",
        ),
        (
            ["inspect", "list", "s3://landing/exports/"],
            {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y", "VECTORDB_S3_ENDPOINT_URL": "http://127.0.0.1:9"},
            'Error: S3: Could not connect to the endpoint URL: "http://127.0.0.1:9/landing',
        ),
        (
            ["search", "hello"],
            {"DATABASE_URL": "postgresql://nobody@127.0.0.1:9/db"},
            "Error: the database cannot be reached: connection failed",
        ),
        (
            ["inspect", "ids", "{folder}/a.csv", "--id-column", "sku"],
            {},
            "Error: a.csv: no id column sku among ['id', 'text'] (use --id-column)",
        ),
    ],
)
def test_errors_a_user_can_fix_print_one_line(
    tmp_path: Path, args: list[str], env: dict[str, str], message: str
) -> None:
    (tmp_path / "a.csv").write_text("id,text\n1,one\n")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "VECTORDB_", "DATABASE_URL"))}
    done = subprocess.run(
        [VECTORDB, *(a.format(folder=tmp_path) for a in args)],
        cwd=tmp_path,
        env={**clean, "VECTORDB_HOME": str(tmp_path / "home"), **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [done.stderr.strip()] and done.stderr.startswith(message), done.stderr
