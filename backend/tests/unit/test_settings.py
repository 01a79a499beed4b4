"""Settings come in groups, keep every SANDPOD_* name they had, and refuse misspelt overrides."""

from pathlib import Path

import pytest
from pydantic import ValidationError

from sandpod.config import MongoSettings, Settings, variables

# Every variable sandpod read before its settings were grouped (deployments set these).
VARIABLES_BEFORE_GROUPING = {
    "SANDPOD_ACCESS_TOKEN_TTL_SECONDS",
    "SANDPOD_ADMIN_PASSWORD",
    "SANDPOD_ADMIN_USERNAME",
    "SANDPOD_AUTH_REQUIRED",
    "SANDPOD_BWRAP_PATH",
    "SANDPOD_CGROUP_PARENT",
    "SANDPOD_CGROUP_ROOT",
    "SANDPOD_DEFAULT_LIMITS",
    "SANDPOD_ENVIRONMENT",
    "SANDPOD_HOST",
    "SANDPOD_IDEMPOTENCY_TTL_SECONDS",
    "SANDPOD_JWT_SECRET",
    "SANDPOD_KAFKA_BOOTSTRAP_SERVERS",
    "SANDPOD_KAFKA_GROUP_SUFFIX",
    "SANDPOD_KAFKA_SASL_MECHANISM",
    "SANDPOD_KAFKA_SASL_PASSWORD",
    "SANDPOD_KAFKA_SASL_USERNAME",
    "SANDPOD_KAFKA_SECURITY_PROTOCOL",
    "SANDPOD_KAFKA_TOPIC_PREFIX",
    "SANDPOD_KUBERNETES_NAMESPACE",
    "SANDPOD_KUBERNETES_RUNTIME_CLASS",
    "SANDPOD_LOGIN_FAILURE_WINDOW_SECONDS",
    "SANDPOD_LOGIN_LOCKOUT_SECONDS",
    "SANDPOD_LOGIN_MAX_FAILURES",
    "SANDPOD_LOG_JSON",
    "SANDPOD_LOG_LEVEL",
    "SANDPOD_MAX_CONCURRENT_EXECUTIONS",
    "SANDPOD_MAX_LIMITS",
    "SANDPOD_MAX_REQUEST_BYTES",
    "SANDPOD_MAX_SCRIPT_BYTES",
    "SANDPOD_MAX_STDIN_BYTES",
    "SANDPOD_MODE",
    "SANDPOD_MONGO_DATABASE",
    "SANDPOD_MONGO_URL",
    "SANDPOD_OTLP_ENDPOINT",
    "SANDPOD_PASSWORD_HASH_MEMORY_KIB",
    "SANDPOD_PASSWORD_HASH_TIME_COST",
    "SANDPOD_PORT",
    "SANDPOD_RATE_LIMIT_AUTH_PER_IP",
    "SANDPOD_RATE_LIMIT_READ_PER_IP",
    "SANDPOD_RATE_LIMIT_READ_PER_USER",
    "SANDPOD_RATE_LIMIT_SUBMIT_PER_IP",
    "SANDPOD_RATE_LIMIT_SUBMIT_PER_USER",
    "SANDPOD_RATE_LIMIT_WINDOW_SECONDS",
    "SANDPOD_REDIS_PREFIX",
    "SANDPOD_REDIS_URL",
    "SANDPOD_REGISTRATION_OPEN",
    "SANDPOD_REPUBLISH_AFTER_SECONDS",
    "SANDPOD_RUNNER",
    "SANDPOD_SANDBOX_ROOT",
    "SANDPOD_SCHEMA_REGISTRY_URL",
    "SANDPOD_SCHEMA_SUBJECT_PREFIX",
    "SANDPOD_SSE_HEARTBEAT_SECONDS",
    "SANDPOD_SWEEP_GRACE_SECONDS",
    "SANDPOD_SWEEP_INTERVAL_SECONDS",
}


def test_every_variable_name_is_still_read() -> None:
    missing = VARIABLES_BEFORE_GROUPING - set(variables())
    assert not missing, missing


def test_each_group_reads_its_own_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SANDPOD_MONGO_DATABASE", "from-env")
    monkeypatch.setenv("SANDPOD_RATE_LIMIT_READ_PER_IP", "7")
    monkeypatch.setenv("SANDPOD_SCHEMA_REGISTRY_URL", "http://registry:1")
    monkeypatch.setenv("SANDPOD_KUBERNETES_NAMESPACE", "jobs")
    monkeypatch.setenv("SANDPOD_DEFAULT_LIMITS__WALL_SECONDS", "3")
    for field in ("CPU_SECONDS", "MEMORY_MB", "PROCESSES", "OUTPUT_BYTES", "FILE_SIZE_MB"):
        monkeypatch.setenv(f"SANDPOD_DEFAULT_LIMITS__{field}", "9")
    monkeypatch.setenv("SANDPOD_DEFAULT_LIMITS__TMP_MB", "9")
    settings = Settings()
    assert settings.mongo.database == "from-env"
    assert settings.rate_limits.read_per_ip == 7
    assert settings.schema_registry.registry_url == "http://registry:1"
    assert settings.kubernetes.namespace == "jobs"
    assert settings.executions.default_limits.wall_seconds == 3


def test_a_dotenv_file_feeds_the_groups(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("SANDPOD_REDIS_PREFIX=dotenv:\nSANDPOD_PORT=9000\n")
    monkeypatch.chdir(tmp_path)
    settings = Settings()
    assert (settings.redis.prefix, settings.port) == ("dotenv:", 9000)


def test_a_misspelt_override_is_refused_not_ignored() -> None:
    with pytest.raises(TypeError, match="Settings has no mongo_url"):
        Settings(mongo_url="mongodb://x")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="MongoSettings has no mongo_url"):
        MongoSettings(mongo_url="mongodb://x")  # type: ignore[call-arg]


def test_bad_values_name_the_field(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SANDPOD_RATE_LIMIT_WINDOW_SECONDS", "0")
    with pytest.raises(ValidationError, match="window_seconds"):
        Settings()
