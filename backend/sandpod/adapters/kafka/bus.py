"""The EventBus port over Kafka: one lifecycle topic keyed by execution id, Avro payloads whose
schema lives in the registry, and a dead-letter topic."""

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Sequence

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from sandpod.adapters.kafka.codec import EventCodec
from sandpod.adapters.kafka.consumer import GroupConsumer
from sandpod.adapters.kafka.delivery import Record, Subscription, backoff
from sandpod.adapters.kafka.options import KafkaOptions, lifecycle_message_bytes
from sandpod.adapters.kafka.registry import ConfluentSchemaRegistry, SchemaRegistry
from sandpod.adapters.kafka.topics import (
    EVENT_TYPE_HEADER,
    dead_letter_topic,
    ensure_topics,
    lifecycle_topic,
    subject_for,
)
from sandpod.config import Settings
from sandpod.domain.events import Event, EventType
from sandpod.ports import EventHandler, ServiceUnavailableError

log = logging.getLogger(__name__)

_MAX_REASON = 4000  # a header, not a log: keep dead letters small


class KafkaEventBus:
    def __init__(self, options: KafkaOptions, *, registry: SchemaRegistry | None = None) -> None:
        self.options = options
        self.topic = lifecycle_topic(options.topic_prefix)
        self.subject = subject_for(options.subject_prefix, self.topic)
        self.dead_letter_topic = dead_letter_topic(options.topic_prefix)
        self._registry = registry or ConfluentSchemaRegistry(
            options.schema_registry_url, timeout_seconds=options.registry_timeout_seconds
        )
        self.codec = EventCodec(self._registry, self.subject)
        self._producer: AIOKafkaProducer | None = None
        self._admin: AIOKafkaAdminClient | None = None

    async def start(self) -> None:
        """Connect, create missing topics and register the schemas; one clear error if not."""
        options = self.options
        try:
            self._admin = AIOKafkaAdminClient(
                bootstrap_servers=options.bootstrap_servers,
                client_id=f"{options.client_id}-admin",
                request_timeout_ms=options.request_timeout_ms,
                **options.client_security(),
            )
            await self._admin.start()
            # A dead letter keeps the original record's bytes: both topics take the largest.
            sized = {"max.message.bytes": str(options.max_message_bytes)}
            await ensure_topics(
                self._admin,
                {self.topic: sized, self.dead_letter_topic: sized},
                partitions=options.partitions,
                replication_factor=options.replication_factor,
                timeout_ms=options.request_timeout_ms,
            )
            self._producer = AIOKafkaProducer(
                bootstrap_servers=options.bootstrap_servers,
                client_id=options.client_id,
                acks="all",
                enable_idempotence=True,
                max_request_size=options.max_message_bytes,
                request_timeout_ms=options.request_timeout_ms,
                **options.client_security(),
            )
            await self._producer.start()
            await self.codec.register()
        except KafkaError as error:
            await self._close_kafka()
            raise ServiceUnavailableError(
                f"Kafka at {options.bootstrap_servers} is unavailable: {_describe(error)}"
            ) from error
        except BaseException:
            await self._close_kafka()  # the registry client stays usable: start() may be retried
            raise

    async def close(self) -> None:
        """Flush and disconnect. Cancel the consume() tasks first: they dead-letter through us."""
        await self._close_kafka()
        await self._registry.close()

    async def _close_kafka(self) -> None:
        producer, admin = self._producer, self._admin
        self._producer = self._admin = None
        if producer is not None:
            try:
                await producer.stop()  # flushes what is still buffered
            except Exception:
                log.warning("closing the Kafka producer failed", exc_info=True)
        if admin is not None:
            try:
                await admin.close()
            except Exception:
                log.warning("closing the Kafka admin client failed", exc_info=True)

    async def publish(self, event: Event) -> None:
        producer = self._running_producer()
        value = await self.codec.encode(event)  # RegistryUnavailableError is a 503 already
        try:
            async with asyncio.timeout(self.options.publish_timeout_seconds):
                await producer.send_and_wait(
                    self.topic,
                    value=value,
                    key=event.execution_id.encode(),
                    headers=[(EVENT_TYPE_HEADER, event.type.value.encode())],
                )
        except (KafkaError, TimeoutError) as error:
            raise ServiceUnavailableError(
                f"cannot publish {event.type} to Kafka at {self.options.bootstrap_servers}: "
                f"{_describe(error)}"
            ) from error

    async def consume(
        self,
        group: str,
        types: Sequence[EventType],
        handler: EventHandler,
        *,
        concurrency: int = 1,
        broadcast: bool = False,
    ) -> None:
        self._running_producer()  # dead letters need it: fail now rather than at the first one
        group_id = f"{group}{self.options.group_suffix}"
        if broadcast:
            # A group of one per consumer: every instance sees every event from now on.
            group_id = f"{group_id}.{socket.gethostname()}.{os.getpid()}.{uuid.uuid4().hex[:8]}"
        subscription = Subscription(
            group_id=group_id,
            topic=self.topic,
            types=frozenset(types),
            handler=handler,
            concurrency=max(1, concurrency),
            offset_reset="latest" if broadcast else "earliest",
        )
        member = GroupConsumer(
            subscription, options=self.options, codec=self.codec, dead_letter=self._dead_letter
        )
        await member.run()

    async def ping(self) -> None:
        admin = self._admin
        if admin is None:
            raise ServiceUnavailableError("the Kafka event bus is not started")
        try:
            async with asyncio.timeout(self.options.ping_timeout_seconds):
                (topic,) = await admin.describe_topics([self.dead_letter_topic])
        except (KafkaError, TimeoutError) as error:
            raise ServiceUnavailableError(
                f"Kafka at {self.options.bootstrap_servers} is unavailable: {_describe(error)}"
            ) from error
        if topic.get("error_code"):
            raise ServiceUnavailableError(
                f"Kafka topic {self.dead_letter_topic} is unavailable "
                f"(error code {topic['error_code']})"
            )
        await self._registry.ping()

    async def _dead_letter(self, record: Record, reason: str, group_id: str, attempts: int) -> None:
        """Park the original bytes with the reason; retried until Kafka takes it (never lost)."""
        headers = [
            ("error", reason[:_MAX_REASON].encode()),
            ("original_topic", record.topic.encode()),
            ("original_partition", str(record.partition).encode()),
            ("original_offset", str(record.offset).encode()),
            ("group", group_id.encode()),
            ("attempts", str(attempts).encode()),
        ]
        failures = 0
        while True:
            try:
                producer = self._running_producer()
                async with asyncio.timeout(self.options.publish_timeout_seconds):
                    await producer.send_and_wait(
                        self.dead_letter_topic, value=record.value, key=record.key, headers=headers
                    )
                break
            except (KafkaError, TimeoutError, ServiceUnavailableError) as error:
                failures += 1
                log.warning("dead-lettering failed; retrying", extra={"error": _describe(error)})
                await asyncio.sleep(backoff(failures, 0.2, self.options.reconnect_max_seconds))
        log.error(
            "event dead-lettered",
            extra={
                "group": group_id,
                "topic": record.topic,
                "partition": record.partition,
                "offset": record.offset,
                "execution_id": record.key.decode(errors="replace") if record.key else None,
                "reason": reason,
            },
        )

    def _running_producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            raise ServiceUnavailableError("the Kafka event bus is not started")
        return self._producer


def options_from_settings(settings: Settings) -> KafkaOptions:
    """The bus options of these settings; ValueError when the security settings are incomplete."""
    password = settings.kafka.sasl_password
    return KafkaOptions(
        bootstrap_servers=settings.kafka.bootstrap_servers,
        security_protocol=settings.kafka.security_protocol.value,
        sasl_mechanism=settings.kafka.sasl_mechanism.value,
        sasl_username=settings.kafka.sasl_username,
        sasl_password=None if password is None else password.get_secret_value(),
        topic_prefix=settings.kafka.topic_prefix,
        group_suffix=settings.kafka.group_suffix,
        schema_registry_url=settings.schema_registry.registry_url,
        subject_prefix=settings.schema_registry.subject_prefix,
        max_message_bytes=lifecycle_message_bytes(settings.executions.max_limits.output_bytes),
    )


async def connect_kafka(
    settings: Settings, *, options: KafkaOptions | None = None
) -> KafkaEventBus:
    """A started bus. Raises ServiceUnavailableError when Kafka or the registry is unreachable,
    IncompatibleSchemaError when the registry refuses an event schema."""
    bus = KafkaEventBus(options or options_from_settings(settings))
    await bus.start()
    return bus


def _describe(error: BaseException) -> str:
    if isinstance(error, TimeoutError):
        return "timed out"
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
