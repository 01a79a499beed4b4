"""A broker restart under a running consumer: publish fails clearly while it is down, and once it
is back the same consumer (and one started during the outage) handles new events, no restart.

Runs its own throwaway broker (tests/fixtures/throwaway.py: scripts/services with another port
and data folder), never the shared one that other xdist workers use.
"""

import asyncio
import uuid

import pytest

from sandpod.adapters.kafka import KafkaEventBus
from sandpod.domain.events import Event, EventType, ExecutionStarted
from sandpod.ports import ServiceUnavailableError
from tests.fixtures.throwaway import ThrowawayBroker
from tests.kafka_support import fast_options, require_kafka_services
from tests.waiting import eventually

pytestmark = pytest.mark.slow


async def publish_until_accepted(bus: KafkaEventBus, event: Event) -> None:
    async def accepted() -> bool:
        await bus.publish(event)
        return True

    await eventually(
        accepted,
        timeout=90,
        interval=0.5,
        ignoring=(ServiceUnavailableError,),
        what="the broker to accept a publish",
    )


async def test_consumers_resume_after_the_broker_comes_back(
    kafka_broker: ThrowawayBroker,
) -> None:
    broker = kafka_broker
    options = fast_options(bootstrap_servers=broker.address, publish_timeout_seconds=2)
    require_kafka_services(broker.address, options.schema_registry_url)
    token = uuid.uuid4().hex[:12]
    before, after = f"ex_{token}_before", f"ex_{token}_after"
    running: list[str] = []
    late: list[str] = []

    async def record_running(event: Event) -> None:
        running.append(event.execution_id)

    async def record_late(event: Event) -> None:
        late.append(event.execution_id)

    bus = KafkaEventBus(options)
    await bus.start()
    consumers = [
        asyncio.create_task(bus.consume(f"running-{token}", [EventType.STARTED], record_running))
    ]
    try:
        await bus.publish(ExecutionStarted(execution_id=before, runner="r"))
        await eventually(lambda: running == [before], what="the event before the restart")

        await broker.services("down")
        with pytest.raises(ServiceUnavailableError, match=broker.address):
            await bus.publish(ExecutionStarted(execution_id=f"ex_{token}_lost", runner="r"))
        with pytest.raises(ServiceUnavailableError):
            await bus.ping()
        consumers.append(
            asyncio.create_task(bus.consume(f"late-{token}", [EventType.STARTED], record_late))
        )
        # A window with the broker down: consume() must ride it out, not return. (No event
        # marks "is retrying"; that they deliver after the restart is checked below.)
        await asyncio.sleep(1)
        assert not any(task.done() for task in consumers), "consume() gave up while Kafka was down"

        await broker.services("up")
        await publish_until_accepted(bus, ExecutionStarted(execution_id=after, runner="r"))

        await eventually(lambda: after in running, timeout=60, what="the running consumer")
        await eventually(lambda: after in late, timeout=60, what="the consumer started in the gap")
        await bus.ping()
    finally:
        for task in consumers:
            task.cancel()
        await asyncio.gather(*consumers, return_exceptions=True)
        await bus.close()
