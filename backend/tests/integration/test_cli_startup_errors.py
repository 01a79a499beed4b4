"""A misconfigured or unreachable dependency stops a process with one clear line, no traceback."""

import os
import subprocess
import sys

import pytest

from tests import isolation


def run_cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    settings = isolation.isolated_settings(unique=True)
    base = {
        **os.environ,
        "SANDPOD_MODE": "distributed",
        "SANDPOD_MONGO_DATABASE": settings.mongo.database,
        "SANDPOD_REDIS_PREFIX": settings.redis.prefix,
        "SANDPOD_KAFKA_TOPIC_PREFIX": settings.kafka.topic_prefix,
        "SANDPOD_SCHEMA_SUBJECT_PREFIX": settings.schema_registry.subject_prefix,
    }
    return subprocess.run(
        [sys.executable, "-m", "sandpod", *args],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], fragment: str) -> None:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr
    assert fragment in errors[0]


def test_unreachable_database() -> None:
    result = run_cli("worker", "results", SANDPOD_MONGO_URL="mongodb://127.0.0.1:1")
    assert_one_line_error(result, "cannot start the results (distributed mode): MongoDB at")


def test_pod_monitor_without_a_kubeconfig() -> None:
    result = run_cli(
        "worker", "pod-monitor", KUBECONFIG="/nonexistent/kubeconfig", HOME="/nonexistent"
    )
    assert_one_line_error(result, "cannot start the pod monitor")


def test_workers_need_distributed_mode() -> None:
    result = run_cli("worker", "runner", SANDPOD_MODE="embedded")
    assert_one_line_error(result, "only in distributed mode")


def test_api_with_an_unreachable_database() -> None:
    result = run_cli(
        "api", SANDPOD_MONGO_URL="mongodb://127.0.0.1:1", SANDPOD_ENVIRONMENT="development"
    )
    assert_one_line_error(result, "cannot start the api (distributed mode): MongoDB at")


def test_pod_monitor_needs_neither_database_nor_redis() -> None:
    """With both unreachable it gets as far as Kubernetes (here: no kubeconfig)."""
    result = run_cli(
        "worker",
        "pod-monitor",
        SANDPOD_MONGO_URL="mongodb://127.0.0.1:1",
        SANDPOD_REDIS_URL="redis://127.0.0.1:1/0",
        KUBECONFIG="/nonexistent/kubeconfig",
        HOME="/nonexistent",
    )
    assert_one_line_error(result, "cannot start the pod monitor: ")
    assert "MongoDB" not in result.stderr
    assert "Redis" not in result.stderr


def test_unknown_worker_names_the_known_ones() -> None:
    result = run_cli("worker", "mailer")
    assert_one_line_error(
        result, "unknown worker 'mailer' (known: runner, results, pod-monitor, webhooks)"
    )


@pytest.mark.parametrize("module", ["sandpod", "sandpod.entrypoints.cli"])
@pytest.mark.parametrize("command", ["login", "logout", "submit", "run", "api", "worker"])
def test_every_command_answers_under_python_dash_m(module: str, command: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", module, command, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "Usage:" in result.stdout
