"""A misconfigured or unreachable dependency stops a process with one clear line, no traceback."""

import os
import subprocess
import sys

import pytest

from tests import isolation

pytestmark = pytest.mark.integration


def run_cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    settings = isolation.isolated_settings(unique=True)
    base = {
        **os.environ,
        "SANDPOD_MODE": "distributed",
        "SANDPOD_MONGO_DATABASE": settings.mongo_database,
        "SANDPOD_REDIS_PREFIX": settings.redis_prefix,
        "SANDPOD_KAFKA_TOPIC_PREFIX": settings.kafka_topic_prefix,
        "SANDPOD_SCHEMA_SUBJECT_PREFIX": settings.schema_subject_prefix,
    }
    return subprocess.run(
        [sys.executable, "-m", "sandpod.cli", *args],
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
