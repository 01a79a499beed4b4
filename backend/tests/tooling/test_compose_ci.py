"""scripts/compose_ci.sh on the real docker-compose.yaml: each change it promises, and no other.

Runs the yq tool, so it is an integration test; both files are parsed and compared.
"""

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.tooling.pipeline import COMPOSE_FILE, make_ci_compose

BACKEND_SERVICES = ("backend", "runner", "pod-monitor", "result-processor", "webhooks")
CI_MONGO = "sandpod-test"  # compose_ci.sh's default CI_MONGO_USER and CI_MONGO_PASSWORD


@pytest.fixture(scope="module")
def dev() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return loaded


@pytest.fixture(scope="module")
def ci_text(tmp_path_factory: pytest.TempPathFactory) -> str:
    return make_ci_compose(
        tmp_path_factory.mktemp("compose") / "docker-compose.ci.yaml"
    ).read_text()


@pytest.fixture(scope="module")
def ci(ci_text: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(ci_text)
    return loaded


def env(compose: dict[str, Any], service: str) -> dict[str, str]:
    environment: dict[str, str] = compose["services"][service].get("environment", {})
    return environment


def test_the_dev_stack_uses_sasl_so_the_rewrite_has_something_to_remove(
    dev: dict[str, Any],
) -> None:
    assert "SASL_PLAINTEXT" in env(dev, "kafka")["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"]
    assert "java.security.auth.login.config" in env(dev, "zookeeper")["KAFKA_OPTS"]
    assert "sessionRequireClientSASLAuth=true" in env(dev, "zookeeper")["KAFKA_OPTS"]
    assert env(dev, "schema-registry")["SCHEMA_REGISTRY_KAFKASTORE_SECURITY_PROTOCOL"] == (
        "SASL_PLAINTEXT"
    )


def test_sasl_is_off_on_zookeeper(ci: dict[str, Any]) -> None:
    zookeeper = ci["services"]["zookeeper"]
    assert "KAFKA_OPTS" not in zookeeper["environment"]
    assert not [key for key in zookeeper["environment"] if "SASL" in key]
    assert "entrypoint" not in zookeeper, "the JAAS-writing entrypoint must be gone"
    assert "command" not in zookeeper


def test_sasl_is_off_on_kafka(ci: dict[str, Any]) -> None:
    kafka = ci["services"]["kafka"]
    environment = kafka["environment"]
    assert environment["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"] == (
        "INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT"
    )
    assert "KAFKA_OPTS" not in environment
    assert not [key for key in environment if "SASL" in key]
    assert "entrypoint" not in kafka
    assert "command" not in kafka
    assert "--command-config" not in kafka["healthcheck"]["test"]
    assert "localhost:29092" in kafka["healthcheck"]["test"]


def test_sasl_is_off_for_every_kafka_client(ci: dict[str, Any], ci_text: str) -> None:
    registry = env(ci, "schema-registry")
    assert registry["SCHEMA_REGISTRY_KAFKASTORE_SECURITY_PROTOCOL"] == "PLAINTEXT"
    for service in BACKEND_SERVICES:
        assert env(ci, service)["SANDPOD_KAFKA_SECURITY_PROTOCOL"] == "PLAINTEXT"
    assert "SASL" not in ci_text, "no SASL setting may survive anywhere in the CI file"


def test_writable_host_bind_mounts_are_removed(dev: dict[str, Any], ci: dict[str, Any]) -> None:
    def binds(compose: dict[str, Any]) -> set[str]:
        return {
            volume
            for service in compose["services"].values()
            for volume in service.get("volumes", [])
            if isinstance(volume, str) and volume.startswith(".")
        }

    writable = {volume for volume in binds(dev) if not volume.endswith(":ro")}
    assert {"./.data/mongo:/data/db", "./.data/redis:/data"} <= writable
    assert not writable & binds(ci)
    assert binds(ci) == {volume for volume in binds(dev) if volume.endswith(":ro")}
    for name in ("mongo", "redis"):
        assert "volumes" not in ci["services"][name], "an emptied volumes list is dropped"


def test_named_volumes_are_kept(dev: dict[str, Any], ci: dict[str, Any]) -> None:
    assert ci["volumes"] == dev["volumes"]
    assert ci["services"]["kafka"]["volumes"] == dev["services"]["kafka"]["volumes"]
    for service in BACKEND_SERVICES:
        assert ci["services"][service]["volumes"] == ["certs:/certs:ro"]


def test_test_credentials_are_injected_for_mongodb(ci: dict[str, Any]) -> None:
    mongo = env(ci, "mongo")
    assert mongo["MONGO_INITDB_ROOT_USERNAME"] == CI_MONGO
    assert mongo["MONGO_INITDB_ROOT_PASSWORD"] == CI_MONGO
    for service in BACKEND_SERVICES:
        assert env(ci, service)["SANDPOD_MONGO_URL"] == (
            f"mongodb://{CI_MONGO}:{CI_MONGO}@mongo:27017/?authSource=admin"
        )


def test_the_dev_file_reads_mongodb_credentials_from_the_environment(dev: dict[str, Any]) -> None:
    mongo = env(dev, "mongo")
    assert mongo["MONGO_INITDB_ROOT_PASSWORD"] == "${MONGO_ROOT_PASSWORD:-sandpod-dev}"
    assert "${MONGO_ROOT_PASSWORD:-sandpod-dev}" in env(dev, "backend")["SANDPOD_MONGO_URL"]


def test_opentelemetry_export_is_disabled(dev: dict[str, Any], ci: dict[str, Any]) -> None:
    for service in BACKEND_SERVICES:
        assert "SANDPOD_OTLP_ENDPOINT" in env(dev, service)
        environment = env(ci, service)
        assert "SANDPOD_OTLP_ENDPOINT" not in environment
        assert environment["OTEL_SDK_DISABLED"] == "true"
        assert environment["OTEL_TRACES_EXPORTER"] == "none"
        assert environment["OTEL_METRICS_EXPORTER"] == "none"


def test_nothing_else_changes(dev: dict[str, Any], ci: dict[str, Any]) -> None:
    """Same services, images, commands of the app, ports, dependencies and healthchecks."""
    assert list(ci["services"]) == list(dev["services"])
    for name, service in dev["services"].items():
        other = ci["services"][name]
        for key in ("image", "ports", "depends_on", "restart", "extra_hosts"):
            assert other.get(key) == service.get(key), f"{name}.{key}"
        if name not in ("zookeeper", "kafka"):
            assert other.get("command") == service.get("command"), f"{name}.command"
            assert other.get("healthcheck") == service.get("healthcheck"), f"{name}.healthcheck"
    untouched = {"SANDPOD_MODE", "SANDPOD_RUNNER", "SANDPOD_KAFKA_BOOTSTRAP_SERVERS", "KUBECONFIG"}
    for service in BACKEND_SERVICES:
        for key in untouched:
            assert env(ci, service)[key] == env(dev, service)[key]


def test_the_committed_ci_file_is_not_in_git() -> None:
    ignored = (Path(__file__).resolve().parents[3] / ".gitignore").read_text().splitlines()
    assert "docker-compose.ci.yaml" in ignored
