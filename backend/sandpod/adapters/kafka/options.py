"""Tunables of the Kafka event bus. Defaults suit production; tests shorten the waits."""

from dataclasses import dataclass


@dataclass(frozen=True)
class KafkaOptions:
    bootstrap_servers: str = "127.0.0.1:19092"
    topic_prefix: str = "sandpod."
    group_suffix: str = ""
    schema_registry_url: str = "http://127.0.0.1:18081/apis/ccompat/v7"
    subject_prefix: str = "sandpod."
    client_id: str = "sandpod"

    partitions: int = 3
    replication_factor: int = 1

    # Handler failures: retried with exponential backoff, then dead-lettered.
    max_attempts: int = 5
    retry_base_seconds: float = 0.2
    retry_max_seconds: float = 5.0
    # Outages (Kafka, registry, a handler's ServiceUnavailableError) are waited out, never
    # dead-lettered; the wait between tries grows up to this.
    reconnect_max_seconds: float = 5.0

    publish_timeout_seconds: float = 10.0
    ping_timeout_seconds: float = 3.0
    request_timeout_ms: int = 10_000
    registry_timeout_seconds: float = 5.0

    session_timeout_ms: int = 10_000
    heartbeat_interval_ms: int = 1_000
    # Upper bound on one batch's handling (a sandbox run), past which Kafka reassigns its
    # partitions; above the longest allowed wall time.
    max_poll_interval_ms: int = 300_000
    # How long a revoked consumer lets its batch in flight finish (and commit) before the
    # rebalance goes on without it.
    revoke_wait_seconds: float = 10.0
    # How long the broker holds an empty fetch; data that arrives answers it at once.
    fetch_max_wait_ms: int = 500
