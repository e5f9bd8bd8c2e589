"""`deploy/`: every configuration validates against Dagster's own schemas (no cluster, container
engine or ECS runs here: the files are checked, not run)."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest
import yaml
from dagster._config import validate_config
from dagster._core.instance.config import dagster_instance_config
from dagster._core.workspace.config_schema import ensure_workspace_config

PROJECT = Path(__file__).resolve().parents[1]
DEPLOY = PROJECT / "deploy"


def camel_to_snake(value):
    """Helm values are camelCase; Dagster's configs are snake_case."""
    if isinstance(value, dict):
        return {re.sub(r"(?<!^)(?=[A-Z])", "_", k).lower(): camel_to_snake(v) for k, v in value.items()}
    if isinstance(value, list):
        return [camel_to_snake(v) for v in value]
    return value


def validate_class(entry: dict) -> None:
    """A `module`/`class`/`config` entry: the class imports and its config fits its schema."""
    klass = getattr(importlib.import_module(entry["module"]), entry["class"])
    result = validate_config(klass.config_type(), entry.get("config", {}))
    assert result.success, [e.message for e in result.errors]


def validate_instance(config: dict, folder: Path) -> dict:
    """The instance config as Dagster loads it from a DAGSTER_HOME, and each class entry in it."""
    (folder / "dagster.yaml").write_text(yaml.safe_dump(config))
    loaded, _ = dagster_instance_config(str(folder))
    for entry in loaded.values():
        if isinstance(entry, dict) and {"module", "class"} <= entry.keys():
            validate_class(entry)
    return loaded


def test_the_production_instance_validates(tmp_path: Path) -> None:
    config = yaml.safe_load((DEPLOY / "dagster.yaml").read_text())
    loaded = validate_instance(config, tmp_path)
    assert loaded["storage"]["postgres"]["postgres_db"]["password"] == {"env": "DAGSTER_PG_PASSWORD"}
    assert loaded["run_monitoring"]["enabled"] and loaded["run_retries"]["enabled"]
    assert loaded["run_retries"]["retry_on_asset_or_op_failure"] is False


def test_the_ecs_launcher_validates_with_the_production_instance(tmp_path: Path) -> None:
    config = {
        **yaml.safe_load((DEPLOY / "dagster.yaml").read_text()),
        **yaml.safe_load((DEPLOY / "ecs/run_launcher.yaml").read_text()),
    }
    assert validate_instance(config, tmp_path)["run_launcher"]["class"] == "EcsRunLauncher"


def test_a_wrong_key_is_refused(tmp_path: Path) -> None:
    config = yaml.safe_load((DEPLOY / "dagster.yaml").read_text())
    config["run_retries"]["max_retry"] = 2
    with pytest.raises(Exception, match="max_retry"):
        validate_instance(config, tmp_path)
    launcher = yaml.safe_load((DEPLOY / "ecs/run_launcher.yaml").read_text())["run_launcher"]
    launcher["config"]["run_resource"] = {}
    with pytest.raises(AssertionError, match="run_resource"):
        validate_class(launcher)


def test_the_helm_values_map_onto_dagsters_schemas(tmp_path: Path) -> None:
    values = yaml.safe_load((DEPLOY / "helm/values.yaml").read_text())
    launcher = camel_to_snake(values["runLauncher"]["config"]["k8sRunLauncher"])
    # The chart turns its list of secret references into the launcher's list of names.
    launcher["env_secrets"] = [secret["name"] for secret in launcher["env_secrets"]]
    validate_class(
        {
            "module": "dagster_k8s",
            "class": "K8sRunLauncher",
            "config": {
                **launcher,
                "service_account_name": "dagster",
                "instance_config_map": "dagster-instance",
                "dagster_home": "/opt/dagster/dagster_home",
            },
        }
    )
    daemon = values["dagsterDaemon"]
    validate_instance(
        {
            "concurrency": {"runs": camel_to_snake(daemon["runCoordinator"]["config"]["queuedRunCoordinator"])},
            "run_monitoring": camel_to_snake(daemon["runMonitoring"]),
            "run_retries": camel_to_snake(daemon["runRetries"]),
            "compute_logs": {
                "module": "dagster_aws.s3.compute_log_manager",
                "class": "S3ComputeLogManager",
                "config": camel_to_snake(values["computeLogManager"]["config"]["s3ComputeLogManager"]),
            },
        },
        tmp_path,
    )
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    assert deployment["dagsterApiGrpcArgs"] == ["-m", "vectordb_assets.definitions"]


def test_the_workspace_and_the_image_match_the_project() -> None:
    workspace = yaml.safe_load((DEPLOY / "workspace.yaml").read_text())
    ensure_workspace_config(workspace, str(DEPLOY))
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    ci = (PROJECT / ".ci/run").read_text()
    torch = re.search(r"pip install (torch==[\d.]+)", ci).group(1)
    lock = (DEPLOY / "requirements.lock").read_text()
    assert f"\n{torch} \\\n    --hash=sha256:" in lock and torch in (PROJECT / "README.md").read_text()
    assert all(re.match(r"[a-z0-9._-]+==[^ ]+ \\$", line) for line in lock.splitlines() if line and line[0].isalpha())
    installs = dockerfile.index("pip install --no-cache-dir --require-hashes -r requirements.lock")
    assert installs < dockerfile.index('pip install --no-cache-dir --no-deps ".[deploy]"')
    assert "USER vectordb" in dockerfile and not re.search(r"(?i)(api_key|password|secret)\s*=", dockerfile)
    assert "vectordb_assets.definitions" in dockerfile


def test_the_lock_pins_every_dependency_within_pyprojects_ranges() -> None:
    import tomllib

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    project = tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"]
    pinned = {
        canonicalize_name(name): version
        for name, version in re.findall(
            r"^([A-Za-z0-9._-]+)==([^ ]+) \\$", (DEPLOY / "requirements.lock").read_text(), re.M
        )
    }
    wanted = [Requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["deploy"]]
    stale = {
        str(r): pinned.get(canonicalize_name(r.name))
        for r in wanted
        if pinned.get(canonicalize_name(r.name)) is None
        or not r.specifier.contains(pinned[canonicalize_name(r.name)], prereleases=True)
    }
    assert stale == {}, "deploy/requirements.lock is stale: regenerate it (docs: Security)"


def test_the_api_deployment_runs_the_api_command_of_the_code_locations_image() -> None:
    from click.testing import CliRunner

    from vectordb_assets.api.app import create_app
    from vectordb_assets.cli import main
    from vectordb_assets.settings import Settings

    values = yaml.safe_load((DEPLOY / "helm/values.yaml").read_text())
    manifests = {(m["kind"], m["metadata"]["name"]): m for m in values["extraManifests"]}
    (container,) = manifests[("Deployment", "vectordb-api")]["spec"]["template"]["spec"]["containers"]
    (code_location,) = values["dagster-user-deployments"]["deployments"]
    assert container["image"] == f"{code_location['image']['repository']}:{code_location['image']['tag']}"
    command = container["command"]
    assert command[:2] == ["vectordb", "api"]
    parsed = main.get_command(None, "api").make_context("api", command[2:])  # the options exist
    assert (parsed.params["host"], parsed.params["port"]) == ("0.0.0.0", container["ports"][0]["containerPort"])
    assert CliRunner().invoke(main, ["api", "--help"]).exit_code == 0
    routes = create_app(Settings.from_env({})).openapi()["paths"]
    assert (
        container["readinessProbe"]["httpGet"]["path"] in routes
        and container["livenessProbe"]["httpGet"]["path"] in routes
    )
    assert {"name": "VECTORDB_DAGSTER_URL", "value": "http://dagster-dagster-webserver:80"} in container["env"]
    service = manifests[("Service", "vectordb-api")]["spec"]["ports"][0]
    backend = manifests[("Ingress", "vectordb-api")]["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert service["targetPort"] == 8080 and backend == {"name": "vectordb-api", "port": {"number": service["port"]}}
