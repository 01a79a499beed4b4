"""Kafka adapter: the event bus over Kafka topics with Avro payloads and a Schema Registry."""

from sandpod.adapters.kafka.bus import KafkaEventBus, connect_kafka, options_from_settings
from sandpod.adapters.kafka.options import KafkaOptions

__all__ = ["KafkaEventBus", "KafkaOptions", "connect_kafka", "options_from_settings"]
