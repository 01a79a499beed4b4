"""Topic and subject names, and creating the topics at startup.

Two topics: the lifecycle topic carries every event of every execution, keyed by execution id, so
one execution's events share a partition and Kafka keeps them in order; the dead-letter topic
holds what could not be handled. Each lifecycle record names its event type in a header, so a
consumer skips the types it does not want without decoding them.
"""

import logging
from collections.abc import Mapping

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

log = logging.getLogger(__name__)

LIFECYCLE = "execution-lifecycle"
DEAD_LETTER = "dead-letter"
EVENT_TYPE_HEADER = "event-type"
_TOPIC_ALREADY_EXISTS = 36  # Kafka protocol error code


class TopicCreationError(RuntimeError):
    pass


def lifecycle_topic(prefix: str) -> str:
    return f"{prefix}{LIFECYCLE}"


def dead_letter_topic(prefix: str) -> str:
    return f"{prefix}{DEAD_LETTER}"


def subject_for(subject_prefix: str, topic: str) -> str:
    """Confluent's TopicNameStrategy for message values, behind our prefix."""
    return f"{subject_prefix}{topic}-value"


async def ensure_topics(
    admin: AIOKafkaAdminClient,
    configs: Mapping[str, Mapping[str, str]],
    *,
    partitions: int,
    replication_factor: int,
    timeout_ms: int,
) -> list[str]:
    """Create the topics (name -> topic configs) that are missing; return the ones created.
    Safe to race with others."""
    existing = set(await admin.list_topics())
    missing = sorted(set(configs) - existing)
    if not missing:
        return []
    new_topics = [
        NewTopic(name, partitions, replication_factor, topic_configs=dict(configs[name]))
        for name in missing
    ]
    response = await admin.create_topics(new_topics, timeout_ms=timeout_ms)
    failures = [
        f"{name}: error {code} {message or ''}".strip()
        for name, code, message in _topic_errors(response)
        if code not in (0, _TOPIC_ALREADY_EXISTS)
    ]
    if failures:
        raise TopicCreationError("could not create Kafka topics: " + "; ".join(failures))
    log.info("created Kafka topics", extra={"topics": missing})
    return missing


def _topic_errors(response: object) -> list[tuple[str, int, str | None]]:
    # CreateTopicsResponse v0 has (name, code); v1+ adds the message.
    rows: list[tuple[str, int, str | None]] = []
    for row in getattr(response, "topic_errors", []):
        name, code, *rest = row
        rows.append((str(name), int(code), str(rest[0]) if rest and rest[0] else None))
    return rows
