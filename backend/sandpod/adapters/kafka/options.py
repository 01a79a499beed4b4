"""Tunables of the Kafka event bus. Defaults suit production; tests shorten the waits.

Where to connect (servers, security, prefixes) has no default here: it comes from KafkaSettings
and SchemaRegistrySettings (options_from_settings), the one place those defaults live.
"""

import ssl
from dataclasses import dataclass, field
from typing import Any

SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


_UTF8_REPLACEMENT_GROWTH = 3  # a captured byte that is not UTF-8 becomes U+FFFD: 3 bytes
_RECORD_HEADROOM = 64 * 1024  # the rest of a result, the envelope, headers, batch framing


def lifecycle_message_bytes(max_output_bytes: int) -> int:
    """The largest lifecycle record: a finished event whose stdout and stderr are each at the
    output cap, decoded as UTF-8 at its worst. The producer's request size and the topic's
    max.message.bytes are both set to this, so a result the sandbox may return always fits."""
    return 2 * _UTF8_REPLACEMENT_GROWTH * max_output_bytes + _RECORD_HEADROOM


@dataclass(frozen=True, kw_only=True)
class KafkaOptions:
    bootstrap_servers: str
    # How clients reach the brokers (aiokafka's names). SSL and SASL_SSL verify the brokers'
    # certificates against the system's CAs; SASL_* sign in with the username and password.
    security_protocol: str
    sasl_mechanism: str
    sasl_username: str | None
    sasl_password: str | None = field(repr=False)
    topic_prefix: str
    group_suffix: str
    schema_registry_url: str
    subject_prefix: str
    # The largest record the lifecycle topic and the producer take (lifecycle_message_bytes).
    max_message_bytes: int
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

    # An API request waits this long for Kafka before answering 503.
    publish_timeout_seconds: float = 5.0
    ping_timeout_seconds: float = 3.0
    request_timeout_ms: int = 10_000
    registry_timeout_seconds: float = 5.0

    session_timeout_ms: int = 10_000
    heartbeat_interval_ms: int = 1_000
    # Upper bound on how long a consumer may stop fetching (every handler slot busy and its
    # prefetch queue full), past which Kafka reassigns its partitions; above the longest allowed
    # wall time (a sandbox run).
    max_poll_interval_ms: int = 300_000
    # How long a revoked consumer lets the handlers of its revoked partitions finish (and
    # commit) before the rebalance goes on without them.
    revoke_wait_seconds: float = 10.0
    # How long the broker holds an empty fetch; data that arrives answers it at once.
    fetch_max_wait_ms: int = 500
    # Handled records are committed at most this often: each commit is a request to the group
    # coordinator and a record per partition in __consumer_offsets, so under load one commit
    # covers many records. A crash redelivers at most this much more (handlers are idempotent).
    commit_interval_seconds: float = 0.2

    def __post_init__(self) -> None:
        if self.security_protocol not in SECURITY_PROTOCOLS:
            raise ValueError(
                f"unknown Kafka security protocol {self.security_protocol!r} "
                f"(known: {', '.join(SECURITY_PROTOCOLS)})"
            )
        if not self.uses_sasl:
            return
        if self.sasl_mechanism not in SASL_MECHANISMS:
            raise ValueError(
                f"unknown Kafka SASL mechanism {self.sasl_mechanism!r} "
                f"(known: {', '.join(SASL_MECHANISMS)})"
            )
        if not self.sasl_username or self.sasl_password is None:
            raise ValueError(
                f"Kafka security protocol {self.security_protocol} needs a SASL username and "
                "password (SANDPOD_KAFKA_SASL_USERNAME, SANDPOD_KAFKA_SASL_PASSWORD)"
            )

    @property
    def uses_sasl(self) -> bool:
        return self.security_protocol.startswith("SASL_")

    def client_security(self) -> dict[str, Any]:
        """Keyword arguments for every aiokafka client: producer, consumer and admin."""
        kwargs: dict[str, Any] = {"security_protocol": self.security_protocol}
        if self.security_protocol in ("SSL", "SASL_SSL"):
            kwargs["ssl_context"] = ssl.create_default_context()  # system CAs, hostname checked
        if self.uses_sasl:
            kwargs["sasl_mechanism"] = self.sasl_mechanism
            kwargs["sasl_plain_username"] = self.sasl_username
            kwargs["sasl_plain_password"] = self.sasl_password
        return kwargs
