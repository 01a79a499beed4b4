"""Settings, read from SANDPOD_* environment variables (and a .env file when present).

One model per technology or concern, each the only place its defaults are declared; adapters and
services take the group they use. docs/reference/configuration.md is generated from these models
(`make docs-config`); a drift check keeps them equal, so every field needs a description.
"""

import tempfile
from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from sandpod.domain.limits import DEFAULT_POLICY, LimitPolicy, Limits


class Mode(StrEnum):
    EMBEDDED = "embedded"
    DISTRIBUTED = "distributed"


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class RunnerKind(StrEnum):
    LOCAL = "local"
    KUBERNETES = "kubernetes"


class KafkaSecurityProtocol(StrEnum):
    PLAINTEXT = "PLAINTEXT"
    SSL = "SSL"
    SASL_PLAINTEXT = "SASL_PLAINTEXT"
    SASL_SSL = "SASL_SSL"


class KafkaSaslMechanism(StrEnum):
    PLAIN = "PLAIN"
    SCRAM_SHA_256 = "SCRAM-SHA-256"
    SCRAM_SHA_512 = "SCRAM-SHA-512"


DEFAULT_TOOLCHAINS_DIR = Path.home() / ".cache" / "sandpod" / "toolchains"


class SettingsGroup(BaseSettings):
    """A settings model read from the environment; refuses keyword arguments it does not know."""

    model_config = SettingsConfigDict(
        env_prefix="SANDPOD_", env_file=".env", env_nested_delimiter="__", extra="ignore"
    )
    title: ClassVar[str]  # the heading of this group on the configuration page

    def __init__(self, **values: Any) -> None:
        unknown = sorted(name for name in values if name not in type(self).model_fields)
        if unknown:  # extra="ignore" (for .env files) would drop a misspelt override silently
            known = ", ".join(type(self).model_fields)
            raise TypeError(f"{type(self).__name__} has no {', '.join(unknown)} (it has {known})")
        super().__init__(**values)


class ExecutionSettings(SettingsGroup):
    """What a caller may submit: limits, input sizes, idempotency."""

    title: ClassVar[str] = "Executions"

    default_limits: Limits = Field(
        DEFAULT_POLICY.defaults, description="Limits applied when a caller sets none."
    )
    max_limits: Limits = Field(DEFAULT_POLICY.maxima, description="The most a caller may ask for.")
    max_script_bytes: int = Field(
        256 * 1024, description="Largest accepted script, in bytes (UTF-8)."
    )
    max_stdin_bytes: int = Field(
        1024 * 1024, description="Largest accepted stdin, in bytes (UTF-8)."
    )
    idempotency_ttl_seconds: int = Field(
        24 * 3600, description="How long an Idempotency-Key is remembered."
    )
    max_files: int = Field(32, ge=1, description="Most files one submission may carry.")
    max_files_bytes: int = Field(
        1024 * 1024, ge=1, description="Total size of a submission's files, decoded, in bytes."
    )
    max_args: int = Field(64, ge=0, description="Most command-line arguments one submission gives.")

    @property
    def limit_policy(self) -> LimitPolicy:
        return LimitPolicy(defaults=self.default_limits, maxima=self.max_limits)


class ApiSettings(SettingsGroup):
    """The HTTP API."""

    title: ClassVar[str] = "HTTP API"

    max_request_bytes: int = Field(
        2 * 1024 * 1024, description="Largest accepted HTTP request body."
    )
    sse_heartbeat_seconds: float = Field(15.0, description="Interval of SSE heartbeat comments.")
    max_wait_seconds: float = Field(
        30.0,
        ge=0,
        description="The longest `POST /executions?wait=SECONDS` holds a request open for the "
        "execution to end; a longer wait asked for is cut to this. 0 turns waiting off.",
    )
    max_batch_items: int = Field(
        20, ge=1, le=1000, description="Most submissions one `POST /executions/batch` may hold."
    )


class OutputSettings(SettingsGroup):
    """Live output: the chunks `GET /executions/{id}/events` streams while an execution runs."""

    model_config = SettingsConfigDict(env_prefix="SANDPOD_OUTPUT_")
    title: ClassVar[str] = "Live output"

    chunk_chars: int = Field(
        8192, ge=64, le=65536, description="Most characters one `output` event carries."
    )
    flush_seconds: float = Field(
        0.05,
        ge=0,
        le=5,
        description="Output read within this interval after a write travels as one chunk "
        "(fewer, larger chunks from chatty programs).",
    )
    retention_seconds: int = Field(
        3600,
        ge=1,
        description="How long an execution's chunks are kept after its last write, for readers "
        "that resume with Last-Event-ID; afterwards the terminal status event alone carries "
        "the output.",
    )
    max_chunks: int = Field(
        100_000, ge=1, description="Most chunks kept per execution (the oldest are trimmed)."
    )
    end_wait_seconds: float = Field(
        5.0,
        ge=0,
        description="How long an event stream that saw the terminal status waits for the rest "
        "of the output before it sends that status.",
    )


class RateLimitSettings(SettingsGroup):
    """Fixed-window request budgets per user and per client IP."""

    model_config = SettingsConfigDict(env_prefix="SANDPOD_RATE_LIMIT_")
    title: ClassVar[str] = "Rate limits"

    window_seconds: int = Field(
        60, ge=1, description="Length of each rate-limit window (fixed windows)."
    )
    submit_per_user: int = Field(
        60, ge=0, description="Submissions and cancels per user per window (0: no limit)."
    )
    submit_per_ip: int = Field(
        120, ge=0, description="Submissions and cancels per client IP per window (0: no limit)."
    )
    read_per_user: int = Field(
        600, ge=0, description="Reads (get, list, stream, me) per user per window (0: no limit)."
    )
    read_per_ip: int = Field(
        1200, ge=0, description="Reads per client IP per window (0: no limit)."
    )
    auth_per_ip: int = Field(
        30, ge=0, description="Sign-in and registration attempts per client IP per window."
    )


class AuthSettings(SettingsGroup):
    """Accounts, tokens and sign-in rules."""

    title: ClassVar[str] = "Accounts and sign-in"

    auth_required: bool | None = Field(
        None,
        description="Require accounts. Unset: off in embedded mode bound to loopback (everyone "
        "acts as the local admin), on otherwise. Turning it off is refused unless embedded "
        "and bound to loopback.",
    )
    jwt_secret: SecretStr | None = Field(
        None,
        description="HS256 key that signs access tokens (at least 32 bytes). Required when "
        "authentication is on, except in development. Every API replica needs the same one.",
    )
    access_token_ttl_seconds: int = Field(
        1800, ge=60, le=86400, description="Lifetime of an access token (cookie and Bearer)."
    )
    admin_username: str = Field(
        "admin", description="Username of the admin account seeded on first start."
    )
    admin_password: SecretStr | None = Field(
        None,
        description="Password of the seeded admin (password policy applies). Unset: no admin "
        "is seeded. An existing account is never changed.",
    )
    registration_open: bool = Field(
        True, description="Anyone may register a user account (role user)."
    )
    login_max_failures: int = Field(
        5, ge=1, description="Wrong passwords within the failure window that lock an account."
    )
    login_failure_window_seconds: int = Field(
        900, ge=1, description="Window in which failed sign-ins are counted."
    )
    login_lockout_seconds: int = Field(
        900, ge=1, description="How long a locked account refuses every sign-in."
    )
    password_hash_time_cost: int = Field(3, ge=1, description="argon2id iterations.")
    password_hash_memory_kib: int = Field(
        65536, ge=1024, description="argon2id memory per hash, in KiB."
    )
    max_api_keys_per_user: int = Field(
        20, ge=1, description="Most active (unrevoked) API keys one account may hold."
    )


class WorkerSettings(SettingsGroup):
    """The runner and the result processor (both roles, in either mode)."""

    title: ClassVar[str] = "Workers"

    # Sandbox runs wait on the kernel (cgroup moves, process start) as much as they compute, so
    # several per core keep the cores busy: 8 gave ~10% more throughput than 4 on 2 cores.
    max_concurrent_executions: int = Field(
        8, ge=1, description="Sandboxes one runner process runs at once."
    )
    stop_grace_seconds: float = Field(
        20.0,
        ge=0,
        description="On SIGTERM a runner takes no new work and lets the executions it is "
        "running finish for up to this long; the rest are stopped, and the event bus gives "
        "them to another runner. Keep it below the pod's termination grace period (30 s by "
        "default).",
    )
    sweep_interval_seconds: float = Field(
        15.0, description="How often the timeout sweep looks for stuck executions."
    )
    sweep_grace_seconds: float = Field(
        60.0, description="Extra time past the wall limit before an unfinished execution is failed."
    )
    queue_timeout_seconds: float = Field(
        900.0,
        gt=0,
        description="An execution that no runner has started this long after its submission "
        "is errored by the timeout sweep (no runner is up, or the backlog is too long). A "
        "started one has its wall limit plus `sweep_grace_seconds` from its start.",
    )
    republish_after_seconds: float = Field(
        30.0,
        ge=0,
        description="Distributed mode: the timeout sweep publishes the request of an execution "
        "still queued this long whose request never reached the event bus (a failed publish), "
        "once; a runner starts it only if it is still queued. 0 turns this off; embedded mode "
        "never republishes.",
    )
    retention_seconds: float = Field(
        30 * 24 * 3600,
        ge=0,
        description="Finished executions (with their results) are removed this long after "
        "they end, by a sweep in the result processor. 0 keeps them for good.",
    )
    retention_sweep_interval_seconds: float = Field(
        300.0, gt=0, description="How often the retention sweep looks for expired executions."
    )
    isolation_check_interval_seconds: float = Field(
        300,
        ge=0,
        description="How often the runner runs its isolation canary (it also runs one at "
        "start, before taking work); while the canary fails the runner takes no work and "
        "readiness names what is broken. 0 turns the canary off.",
    )
    isolation_accept: list[str] = Field(
        default_factory=list,
        description='Canary properties to run without, as a JSON list, e.g. ["pids_limit"] '
        "on a cluster whose kubelets have no podPidsLimit. Each is logged at every check.",
    )
    worker_health_port: int | None = Field(
        None,
        ge=0,
        le=65535,
        description="Serve /health/live and /health/ready on this port of 127.0.0.1 from a "
        "worker process (the runner's readiness includes its isolation canary). Unset: none.",
    )


class WebhookSettings(SettingsGroup):
    """Callbacks: where sandpod may POST an execution's end, and how it retries."""

    model_config = SettingsConfigDict(env_prefix="SANDPOD_WEBHOOK_")
    title: ClassVar[str] = "Webhooks"

    allow: list[str] = Field(
        default_factory=list,
        description="CIDRs or host names a callback_url may reach although they are not "
        'public (loopback, private, link-local...), as a JSON list, e.g. ["10.1.0.0/16", '
        '"hooks.internal"]. Everything else that is not a public address is refused.',
    )
    max_attempts: int = Field(
        8, ge=1, le=100, description="Tries of one delivery before it is dead-lettered."
    )
    retry_base_seconds: float = Field(
        10.0, gt=0, description="Wait before the first retry; each next one waits twice as long."
    )
    retry_max_seconds: float = Field(
        3600.0, gt=0, description="The longest wait between two tries."
    )
    timeout_seconds: float = Field(
        10.0, gt=0, le=300, description="Time one try may take (name lookup and the POST each)."
    )
    poll_interval_seconds: float = Field(
        5.0, gt=0, description="How often the webhook worker looks for deliveries due."
    )


class LocalRunnerSettings(SettingsGroup):
    """The local sandbox runner: bubblewrap, cgroups and rlimits on this machine."""

    title: ClassVar[str] = "Local sandbox runner"

    sandbox_root: Path = Field(
        default_factory=lambda: Path(tempfile.gettempdir()) / "sandpod",
        description="Where the local runner keeps per-execution folders.",
    )
    cgroup_root: Path = Field(
        Path("/sys/fs/cgroup"), description="Mount point of the cgroup v1 hierarchies."
    )
    cgroup_parent: str = Field(
        "sandpod", description="Parent cgroup under each controller for sandboxes."
    )
    bwrap_path: str = Field("bwrap", description="The bubblewrap executable.")
    cgroup_favor_dynmods: bool = Field(
        True,
        description="On cgroup v1, mount a named hierarchy with `favordynmods` (Linux 6.1+) so "
        "each sandbox's move into its cgroup skips an RCU grace period (5-10 ms to ~0.3 ms); "
        "host-wide, forks and exits then pay a memory barrier more.",
    )
    toolchains_dir: Path = Field(
        DEFAULT_TOOLCHAINS_DIR,
        description="Where `make toolchains` prepares package sets and compiled standard "
        "libraries the local runner binds read-only (runtimes that need them are unavailable "
        "until then).",
    )
    warm_pool_size: int = Field(
        2,
        ge=0,
        le=32,
        description="Warm sandboxes kept idle per runtime in `warm_pool_runtimes`: started "
        "ahead (namespaces, cgroups, rlimits, seccomp, interpreter waiting), each used by one "
        "execution whose /tmp size and environment match the runtime's defaults; 0 turns the "
        "pool off.",
    )
    warm_pool_runtimes: list[str] = Field(
        default_factory=lambda: ["python:3.12"],
        description="Runtimes the warm pool serves (those with a loader: Python).",
    )
    warm_pool_memory_mb: int = Field(
        256, ge=0, description="Most memory the idle warm sandboxes may hold together."
    )
    output_files_max_count: int = Field(
        20, ge=0, description="Most files kept from a program's output folder (/tmp/out)."
    )
    output_files_max_bytes: int = Field(
        8 * 1024 * 1024, ge=0, description="Total bytes kept from a program's output folder."
    )


class KubernetesSettings(SettingsGroup):
    """The Kubernetes runner and the pod monitor."""

    model_config = SettingsConfigDict(env_prefix="SANDPOD_KUBERNETES_")
    title: ClassVar[str] = "Kubernetes"

    namespace: str = Field(
        "sandpod-executions", description="Namespace executor pods run in (never 'default')."
    )
    runtime_class: str | None = Field(
        None, description="Optional runtimeClassName (gVisor, Kata) for executor pods."
    )
    user_namespace: bool = Field(
        False,
        description="Run executor pods with `hostUsers: false`: each pod gets a user namespace "
        "of its own, so its users map to an unprivileged host range. Needs nodes with "
        "containerd 2+ and runc 1.2+ (Kubernetes 1.33+ enables it by default); the local "
        "cluster has them.",
    )
    max_pod_pids: int = Field(
        1024,
        ge=16,
        description="The process budget every executor pod must be held to: the isolation "
        "canary fails when a pod can start more (a kubelet without podPidsLimit).",
    )
    warm_pool_size: int = Field(
        0,
        ge=0,
        le=64,
        description="Warm pods kept idle per runtime in `warm_pool_runtimes` by each runner: "
        "started ahead with the runtime's default limits and waiting for their job on stdin "
        "(sent through the API server's attach), each used by one execution that fits them; "
        "0 turns the pool off. Idle pods hold their resource requests on the nodes.",
    )
    warm_pool_runtimes: list[str] = Field(
        default_factory=lambda: ["python:3.12"],
        description="Runtimes the warm pod pool serves (any runtime with a pod image).",
    )
    warm_pool_idle_seconds: int = Field(
        300,
        ge=10,
        description="How long a warm pod may wait for a job before it is replaced; warm pods "
        "nobody holds (a runner that died) are deleted a minute after that.",
    )


class MongoSettings(SettingsGroup):
    """MongoDB (or FerretDB): executions and users in distributed mode."""

    model_config = SettingsConfigDict(env_prefix="SANDPOD_MONGO_")
    title: ClassVar[str] = "MongoDB"

    url: SecretStr = Field(
        SecretStr("mongodb://127.0.0.1:27018"), description="MongoDB connection URL."
    )
    database: str = Field("sandpod", description="MongoDB database name.")


class RedisSettings(SettingsGroup):
    """Redis: rate limits, idempotency keys and live updates in distributed mode."""

    model_config = SettingsConfigDict(env_prefix="SANDPOD_REDIS_")
    title: ClassVar[str] = "Redis"

    url: SecretStr = Field(
        SecretStr("redis://127.0.0.1:16379/0"), description="Redis connection URL."
    )
    prefix: str = Field("sandpod:", description="Prefix of every Redis key and channel.")


class KafkaSettings(SettingsGroup):
    """Kafka: the event bus of distributed mode."""

    model_config = SettingsConfigDict(env_prefix="SANDPOD_KAFKA_")
    title: ClassVar[str] = "Kafka"

    bootstrap_servers: str = Field(
        "127.0.0.1:19092", description="Kafka bootstrap servers, comma separated."
    )
    security_protocol: KafkaSecurityProtocol = Field(
        KafkaSecurityProtocol.PLAINTEXT,
        description="How clients reach the Kafka brokers. SSL and SASL_SSL verify the brokers' "
        "certificates against the system's CA certificates; SASL_PLAINTEXT and SASL_SSL sign in "
        "with the SASL username and password.",
    )
    sasl_mechanism: KafkaSaslMechanism = Field(
        KafkaSaslMechanism.PLAIN,
        description="SASL mechanism for the SASL_* security protocols.",
    )
    sasl_username: str | None = Field(
        None, description="Kafka SASL username; required by the SASL_* security protocols."
    )
    sasl_password: SecretStr | None = Field(
        None, description="Kafka SASL password; required by the SASL_* security protocols."
    )
    topic_prefix: str = Field("sandpod.", description="Prefix of every Kafka topic.")
    group_suffix: str = Field(
        "", description="Suffix appended to consumer group names (test isolation)."
    )


class SchemaRegistrySettings(SettingsGroup):
    """The Confluent-compatible Schema Registry that holds the events' Avro schemas."""

    model_config = SettingsConfigDict(env_prefix="SANDPOD_SCHEMA_")
    title: ClassVar[str] = "Schema Registry"

    registry_url: str = Field(
        "http://127.0.0.1:18081/apis/ccompat/v7",
        description="Confluent-compatible Schema Registry URL.",
    )
    subject_prefix: str = Field("sandpod.", description="Prefix of every Schema Registry subject.")


class Settings(SettingsGroup):
    """The process: its mode, address, logs and telemetry, and one model per group below."""

    title: ClassVar[str] = "Process"

    mode: Mode = Field(
        Mode.EMBEDDED, description="embedded: one process; distributed: Kafka, MongoDB, Redis."
    )
    runner: RunnerKind = Field(
        RunnerKind.LOCAL, description="Sandbox runner used by the runner worker."
    )
    environment: Environment = Field(
        Environment.PRODUCTION,
        description="development allows a random per-process token secret when "
        "SANDPOD_JWT_SECRET is unset; production refuses to start without one.",
    )
    host: str = Field("127.0.0.1", description="Address the API binds to.")
    port: int = Field(8000, description="Port the API binds to.")
    log_level: str = Field("INFO", description="Log level (DEBUG, INFO, WARNING, ERROR).")
    log_json: bool = Field(False, description="Write logs as JSON lines (one object per line).")
    otlp_endpoint: str | None = Field(
        None, description="OTLP/HTTP endpoint for traces and metrics; export is off when unset."
    )

    executions: ExecutionSettings = Field(default_factory=ExecutionSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    output: OutputSettings = Field(default_factory=OutputSettings)
    rate_limits: RateLimitSettings = Field(default_factory=RateLimitSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    workers: WorkerSettings = Field(default_factory=WorkerSettings)
    webhooks: WebhookSettings = Field(default_factory=WebhookSettings)
    local_runner: LocalRunnerSettings = Field(default_factory=LocalRunnerSettings)
    kubernetes: KubernetesSettings = Field(default_factory=KubernetesSettings)
    mongo: MongoSettings = Field(default_factory=MongoSettings)
    redis: RedisSettings = Field(default_factory=RedisSettings)
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    schema_registry: SchemaRegistrySettings = Field(default_factory=SchemaRegistrySettings)


# Settings' field name -> the group model it holds.
GROUPS: dict[str, type[SettingsGroup]] = {
    name: field.annotation
    for name, field in Settings.model_fields.items()
    if isinstance(field.annotation, type) and issubclass(field.annotation, SettingsGroup)
}


def variables() -> dict[str, tuple[type[SettingsGroup], str]]:
    """Every environment variable a setting is read from -> (its model, its field)."""
    found: dict[str, tuple[type[SettingsGroup], str]] = {}
    models: list[type[SettingsGroup]] = [Settings, *GROUPS.values()]
    for model in models:
        prefix = str(model.model_config.get("env_prefix", ""))
        for name in model.model_fields:
            if name not in GROUPS or model is not Settings:
                found[f"{prefix}{name}".upper()] = (model, name)
    return found
