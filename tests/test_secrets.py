"""Secrets are never echoed: not by the settings' errors, a resource's repr, a driver's error or the CLI."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from resources.openai_embedder import OpenAIEmbedder
from resources.pinecone_store import PineconeStore
from resources.redaction import redact
from resources.state_db import StateDatabase
from vectordb_assets.cli import main
from vectordb_assets.settings import Settings, SettingsError

PASSWORDS = {"%": "Xq7%zz9", "@": "Xq7@zz9", "/": "Xq7/zz9"}


@pytest.mark.parametrize("mark", sorted(PASSWORDS))
def test_a_database_url_with_an_unencoded_character_is_refused_without_echoing_it(mark: str) -> None:
    password = PASSWORDS[mark]
    with pytest.raises(SettingsError, match="DATABASE_URL is not a usable PostgreSQL URL: .*percent-encode") as raised:
        Settings.from_env({"DATABASE_URL": f"postgresql://app:{password}@db.internal:5432/state"})
    assert password not in str(raised.value) and "zz9" not in str(raised.value)


def test_encoded_and_colon_passwords_are_accepted() -> None:
    for password in ("Xq7%25zz9", "Xq7%40zz9", "Xq7%2Fzz9", "Xq7:zz9"):
        settings = Settings.from_env({"DATABASE_URL": f"postgresql://app:{password}@db.internal:5432/state"})
        assert settings.database.database_url.get_secret_value().endswith("/state")


def test_the_cli_names_the_problem_and_not_the_url(monkeypatch: pytest.MonkeyPatch, home) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://app:Xq7@zz9@db.internal/state")
    result = CliRunner().invoke(main, ["search", "anything"])
    assert result.exit_code != 0 and "DATABASE_URL" in result.output
    assert "zz9" not in result.output and "Traceback" not in result.output


def test_reprs_hold_no_secret() -> None:
    resources = [
        StateDatabase(database_url="postgresql://app:Xq7zz9@db/state"),
        OpenAIEmbedder(api_key="sk-Xq7zz9"),
        PineconeStore(api_key="pc-Xq7zz9", index_name="documents"),
    ]
    for resource in resources:
        assert "Xq7zz9" not in repr(resource) and "Xq7zz9" not in str(resource)


def test_redaction_takes_out_url_passwords_and_the_environments_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-live-Xq7zz9")
    monkeypatch.setenv("DATABASE_URL", "postgresql://app:p%40ss-Xq7@db/state")
    text = redact('connect to postgresql://app:p@ss@db/x failed; key sk-live-Xq7zz9; password "p@ss-Xq7" refused')
    assert text == 'connect to postgresql://app:***@db/x failed; key ***; password "***" refused'
