"""The docs site: the pages generated from the code are current, and the site builds strictly
(every page in the navigation, no broken link)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from docs.generate import GENERATED, PAGES, PAGES_DIR

MKDOCS = str(Path(sys.executable).with_name("mkdocs"))


@pytest.mark.parametrize("path", sorted(GENERATED), ids=lambda path: path.name)
def test_a_generated_file_is_current(path: Path) -> None:
    assert path.read_text() == GENERATED[path](), f"{path} is stale: run .venv/bin/python docs/generate.py"


def test_the_settings_reference_has_a_row_per_setting_with_its_default() -> None:
    page = PAGES["reference/settings.md"]()
    assert "| `VECTORDB_MAX_PAGES` | `5000` | The most pages a PDF may have. |" in page
    assert "| `DATABASE_URL` | unset |" in page


@pytest.mark.integration  # a subprocess
def test_the_site_builds_strictly(tmp_path: Path) -> None:
    built = subprocess.run(
        [MKDOCS, "build", "--strict", "-f", str(PAGES_DIR.parent / "mkdocs.yml"), "-d", str(tmp_path / "site")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    assert (tmp_path / "site" / "reference" / "settings" / "index.html").exists()
