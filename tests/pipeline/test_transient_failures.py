"""A database restart during a run: a session cut in the middle of a write fails the step, which
is retried with backoff (the file is not quarantined); pooled sessions cut while idle are
replaced unseen; the run ends with every row indexed once."""

from __future__ import annotations

import socket
import threading
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import dagster as dg
import pytest

from tests.fake_openai import FakeOpenAI
from tests.pipeline_harness import Pipeline
from vectordb_assets.settings import Settings


class RestartingDatabase:
    """A TCP proxy in front of PostgreSQL that plays a restart the first time a client sends
    `restart_on` (a piece of SQL): every open session is cut, that one included, and connections
    are closed at once for `downtime` seconds, as a restarting server does."""

    def __init__(
        self, socket_path: str, restart_on: bytes = b"insert into vectordb_sync_attempts", downtime: float = 3.0
    ):
        self.socket_path = socket_path
        self.restart_on = restart_on
        self.restarted = False
        self.downtime = downtime
        self.accepted = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.is_down = False
        self.refused = 0
        self.sessions: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def down(self) -> None:
        self.is_down = True
        for sock in self.sessions:
            try:  # wakes the pipes blocked on it, and ends the server's side as a restart does
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        self.sessions.clear()

    def up(self) -> None:
        self.is_down = False

    def _accept(self) -> None:
        while True:
            client, _ = self.listener.accept()
            self.accepted += 1
            if self.is_down:
                self.refused += 1
                client.close()
                continue
            server = socket.socket(socket.AF_UNIX)
            server.connect(self.socket_path)
            self.sessions += [client, server]
            for source, sink, watched in ((client, server, True), (server, client, False)):
                threading.Thread(target=self._pipe, args=(source, sink, watched), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, watched: bool) -> None:
        try:
            while data := source.recv(65536):
                if watched and not self.restarted and self.restart_on in data:
                    self.restarted = True
                    self.down()
                    threading.Timer(self.downtime, self.up).start()
                    return
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                sock.close()


def proxied(url: str) -> tuple[RestartingDatabase, str]:
    """A proxy in front of the embedded server at `url` (a socket folder in `host=`), and the
    URL that reaches the same database through it."""
    parts = urlsplit(url)
    query = dict(pair.split("=", 1) for pair in parts.query.split("&"))
    proxy = RestartingDatabase(f"{query.pop('host')}/.s.PGSQL.{query.pop('port', '5432')}")
    rest = "&".join(f"{k}={v}" for k, v in query.items())
    return proxy, urlunsplit((parts.scheme, f"postgres@127.0.0.1:{proxy.port}", parts.path, rest, ""))


@pytest.mark.usefixtures("models_dir")
def test_a_database_restart_mid_run_is_retried_not_quarantined(
    home: Path, state_db, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy, url = proxied(state_db.database_url)
    monkeypatch.setenv("DATABASE_URL", url)
    with dg.instance_for_test() as instance:
        p = Pipeline(Settings.from_env(), instance, state_db)
        # The database restarts as the index stage starts its first write, and is back 3 s later.
        p.land("a.csv", "id,text\n" + "".join(f"{i},row {i}\n" for i in range(50)))
        p.run("a.csv")
        restarts = instance.all_logs(p.last_run_id, of_type=dg.DagsterEventType.STEP_RESTARTED)
    assert proxy.restarted and restarts
    assert not (Path(p.settings.output.root) / "quarantine").exists()
    assert sorted(p.index(), key=int) == [str(i) for i in range(50)]


def openai_pipeline(instance: dg.DagsterInstance, state_db, url: str, monkeypatch: pytest.MonkeyPatch) -> Pipeline:
    for name, value in {
        "DATABASE_URL": state_db.database_url,
        "VECTORDB_EMBEDDER": "openai",
        "OPENAI_API_KEY": "sk-test",
        "OPENAI_BASE_URL": url,
        "VECTORDB_OPENAI_DIMENSIONS": "8",
    }.items():
        monkeypatch.setenv(name, value)
    return Pipeline(Settings.from_env(), instance, state_db)


def test_an_openai_outage_longer_than_the_retries_quarantines_no_file(
    home: Path, state_db, openai_server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    openai_server.faults = ["503"] * 100  # every attempt of both files' requests
    with dg.instance_for_test() as instance:
        p = openai_pipeline(instance, state_db, openai_server.url, monkeypatch)
        p.land("a.csv", "id,text\n1,one\n")
        p.land("b.csv", "id,text\n2,two\n")
        during = p.run("a.csv", "b.csv")["embeddings"]
        assert {key: (m["status"], m["transient"]) for key, m in during.items()} == {
            "a.csv": ("failed", True),
            "b.csv": ("failed", True),
        }
        assert "OpenAI is unavailable" in during["a.csv"]["error"]
        assert not (Path(p.settings.output.root) / "quarantine").exists()
        openai_server.faults = []
        p.run("a.csv", "b.csv")
    assert sorted(p.index()) == ["1", "2"]


def test_a_refused_openai_key_fails_the_run_and_blames_no_file(
    home: Path, state_db, openai_server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    openai_server.faults = ["401"] * 10
    with dg.instance_for_test() as instance:
        p = openai_pipeline(instance, state_db, openai_server.url, monkeypatch)
        p.land("a.csv", "id,text\n1,one\n")
        p.land("b.csv", "id,text\n2,two\n")
        with pytest.raises(dg.Failure, match="OpenAI refuses the configured settings"):
            p.run("a.csv", "b.csv")
    assert not (Path(p.settings.output.root) / "quarantine").exists()
    assert len(openai_server.requests) == 1


def test_an_unusable_models_folder_fails_the_run_and_blames_no_file(
    home: Path, state_db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "models-is-a-file"
    blocker.write_text("")
    monkeypatch.setenv("VECTORDB_MODELS_DIR", str(blocker))
    monkeypatch.setenv("DATABASE_URL", state_db.database_url)
    with dg.instance_for_test() as instance:
        p = Pipeline(Settings.from_env(), instance, state_db)
        p.land("a.csv", "id,text\n1,one\n")
        p.land("b.csv", "id,text\n2,two\n")
        with pytest.raises(dg.Failure, match=f"the local model refuses .*export folder {blocker}"):
            p.run("a.csv", "b.csv")
    assert not (Path(p.settings.output.root) / "quarantine").exists()
