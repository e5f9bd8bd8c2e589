"""Real services for the tests: an embedded PostgreSQL with pgvector, moto's S3 server, the model."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import boto3
import psycopg
import pytest
from dagster_aws.s3 import S3Resource

from resources.embedders import LocalEmbedder
from resources.state_db import StateDatabase, embedded_server_uri
from tests.fake_openai import FakeOpenAI


def pytest_configure(config: pytest.Config) -> None:
    """A private base folder per session (unless --basetemp names one), so that another pytest on
    the machine never cleans up this one's embedded PostgreSQL; earlier sessions' folders are
    removed after a day."""
    if config.option.basetemp:
        return
    parent = Path(tempfile.gettempdir())
    for old in parent.glob("vectordb-tests-*"):
        if old.stat().st_uid == os.getuid() and old.stat().st_mtime < time.time() - 86_400:
            shutil.rmtree(old, ignore_errors=True)
    config.option.basetemp = tempfile.mkdtemp(prefix="vectordb-tests-", dir=parent)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def pg_server_uri(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One embedded PostgreSQL for the whole session."""
    return embedded_server_uri(tmp_path_factory.mktemp("pgserver") / "data")


@pytest.fixture
def make_state_db(pg_server_uri: str) -> Iterator[Callable[[], StateDatabase]]:
    """Makes fresh databases on the session's server; all are dropped after the test."""
    names: list[str] = []

    def make() -> StateDatabase:
        name = f"test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(pg_server_uri, autocommit=True) as conn:
            conn.execute(f'create database "{name}"')
        names.append(name)
        return StateDatabase(database_url=pg_server_uri.replace("/postgres?", f"/{name}?"))

    yield make
    with psycopg.connect(pg_server_uri, autocommit=True) as conn:
        for name in names:
            conn.execute(f'drop database "{name}" with (force)')


@pytest.fixture
def state_db(make_state_db: Callable[[], StateDatabase]) -> StateDatabase:
    """A fresh database on the session's server, dropped after the test."""
    return make_state_db()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that needs the local model is an integration test, as one that starts processes
    (marked in its module)."""
    for item in items:
        if "models_dir" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(autouse=True)
def no_model_unless_requested(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A test that did not ask for `models_dir` cannot load the model: its VECTORDB_MODELS_DIR
    is a file, so an export fails naming it (and the fast tier never needs torch)."""
    if "models_dir" in request.fixturenames:
        return
    blocker = tmp_path_factory.getbasetemp() / "models_dir-fixture-not-requested"
    blocker.touch()
    monkeypatch.setenv("VECTORDB_MODELS_DIR", str(blocker))


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The local model's exports, made once for the session and used by the tests that ask for
    them and the processes they start (VECTORDB_MODELS_DIR), as a deployment shares them."""
    folder = tmp_path_factory.mktemp("models")
    for backend in ("openvino", "onnx-int8"):
        LocalEmbedder(backend=backend, export_dir=str(folder)).load()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("VECTORDB_MODELS_DIR", str(folder))
        yield folder


@pytest.fixture(scope="session")
def embedder(models_dir: Path) -> LocalEmbedder:
    return LocalEmbedder(export_dir=str(models_dir))


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto's S3 (and S3 Vectors) HTTP server on a free loopback port."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Credentials and region for boto3's default chain, as a deployment would set them."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def s3_bucket(moto_endpoint: str, aws_env: None) -> str:
    """A new empty bucket on the moto server."""
    name = f"bucket-{uuid.uuid4().hex[:10]}"
    boto3.client("s3", endpoint_url=moto_endpoint).create_bucket(Bucket=name)
    return name


@pytest.fixture
def s3_resource(moto_endpoint: str, aws_env: None) -> S3Resource:
    return S3Resource(endpoint_url=moto_endpoint, region_name="us-east-1")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty VECTORDB_HOME with no other platform setting in the environment."""
    for name in ("VECTORDB_SOURCE", "VECTORDB_OUTPUT", "DATABASE_URL", "VECTORDB_COLLECTION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("VECTORDB_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture
def openai_server() -> Iterator[FakeOpenAI]:
    """A local server speaking OpenAI's embeddings API, with faults to inject."""
    fake = FakeOpenAI()
    fake.start()
    yield fake
    fake.stop()
