"""Topic and subject names, and creating the topics at startup."""

import logging
from collections.abc import Iterable

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from sandpod.domain.events import EventType

log = logging.getLogger(__name__)

DEAD_LETTER = "dead-letter"
_TOPIC_ALREADY_EXISTS = 36  # Kafka protocol error code


class TopicCreationError(RuntimeError):
    pass


def topic_for(prefix: str, event_type: EventType) -> str:
    return f"{prefix}{event_type.value}"


def dead_letter_topic(prefix: str) -> str:
    return f"{prefix}{DEAD_LETTER}"


def subject_for(subject_prefix: str, topic: str) -> str:
    """Confluent's TopicNameStrategy for message values, behind our prefix."""
    return f"{subject_prefix}{topic}-value"


async def ensure_topics(
    admin: AIOKafkaAdminClient,
    names: Iterable[str],
    *,
    partitions: int,
    replication_factor: int,
    timeout_ms: int,
) -> list[str]:
    """Create the topics that are missing; return the ones created. Safe to race with others."""
    existing = set(await admin.list_topics())
    missing = sorted(set(names) - existing)
    if not missing:
        return []
    response = await admin.create_topics(
        [NewTopic(name, partitions, replication_factor) for name in missing], timeout_ms=timeout_ms
    )
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
