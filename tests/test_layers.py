"""No module imports from a layer above its own: resources at the bottom, then the stages' logic,
the settings, the assets, the sensors, the code location and the services, and the entry points
(CLI, HTTP API) at the top. Within a layer, modules may import each other."""

from __future__ import annotations

import ast
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
LAYERS = [
    ("resources",),
    (
        "vectordb_assets.landing",
        "vectordb_assets.validation",
        "vectordb_assets.embedding",
        "vectordb_assets.indexing",
        "vectordb_assets.transfer",
    ),
    ("vectordb_assets.settings", "vectordb_assets.resources_from_settings"),
    ("vectordb_assets.assets",),
    ("sensors",),
    ("vectordb_assets.definitions", "vectordb_assets.runs_api", "vectordb_assets.inspection"),
    ("vectordb_assets.cli", "vectordb_assets.api"),
]


def layer(module: str) -> int | None:
    for number, packages in enumerate(LAYERS):
        if any(module == package or module.startswith(f"{package}.") for package in packages):
            return number
    return None


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every absolute import in the file, those made inside functions too."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
    return found


def upward_imports() -> list[str]:
    found = []
    for top in ("resources", "vectordb_assets", "sensors"):
        for path in sorted((PROJECT / top).rglob("*.py")):
            module = ".".join(path.relative_to(PROJECT).with_suffix("").parts).removesuffix(".__init__")
            if module == "vectordb_assets":
                continue  # the package's empty face
            own = layer(module)
            assert own is not None, f"{module} is in no layer: add it to LAYERS"
            for line, target in imports(path):
                theirs = layer(target)
                if theirs is not None and theirs > own:
                    found.append(f"{module}:{line} imports {target} (layer {theirs} above {own})")
    return found


def test_no_module_imports_from_a_layer_above() -> None:
    assert upward_imports() == []


def test_the_check_sees_an_upward_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from vectordb_assets.cli import main\n")
    assert imports(module) == [(2, "vectordb_assets.cli")] and layer("vectordb_assets.cli") > layer("resources")
