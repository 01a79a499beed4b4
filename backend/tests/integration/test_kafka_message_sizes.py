"""What the Kafka bus carries: a submit at the input caps is queued, and a finished event whose
result holds stdout and stderr at the output cap reaches its consumer (issue 12, defect 1: such
inputs were stored, then refused by the producer's 1 MiB request limit and resent for ever)."""

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from sandpod.adapters.kafka import KafkaEventBus
from sandpod.adapters.memory.idempotency import InMemoryIdempotencyKeys
from sandpod.adapters.memory.live_updates import InMemoryLiveUpdates
from sandpod.adapters.memory.store import InMemoryExecutionStore
from sandpod.composition.services import input_caps
from sandpod.config import Settings
from sandpod.domain.events import Event, EventType, ExecutionFinished
from sandpod.domain.limits import DEFAULT_POLICY
from sandpod.domain.principals import Principal
from sandpod.domain.result import EndReason, Result
from sandpod.domain.runtimes import CATALOGUE, RuntimeRegistry
from sandpod.domain.status import ExecutionStatus
from sandpod.services.executions import ExecutionService, SubmitCommand
from tests.kafka_support import fast_options, started_bus
from tests.waiting import eventually

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def bus() -> AsyncIterator[KafkaEventBus]:
    async with started_bus(fast_options()) as started:
        yield started


async def received(bus: KafkaEventBus, event_type: EventType, execution_id: str) -> Event:
    """Consume until the event of this execution arrives."""
    found: list[Event] = []

    async def handler(event: Event) -> None:
        if event.execution_id == execution_id:
            found.append(event)

    group = f"sizes-{uuid.uuid4().hex[:12]}"
    consumer = asyncio.create_task(bus.consume(group, [event_type], handler))
    try:
        await eventually(lambda: bool(found), what=f"the {event_type} event of {execution_id}")
    finally:
        consumer.cancel()
        await asyncio.gather(consumer, return_exceptions=True)
    return found[0]


async def test_a_submit_at_the_input_caps_is_queued(bus: KafkaEventBus) -> None:
    settings = Settings()
    store = InMemoryExecutionStore()
    service = ExecutionService(
        store=store,
        bus=bus,
        live=InMemoryLiveUpdates(),
        idempotency=InMemoryIdempotencyKeys(),
        runtimes=RuntimeRegistry(CATALOGUE),
        limits=DEFAULT_POLICY,
        caps=input_caps(settings),
        idempotency_ttl_seconds=settings.executions.idempotency_ttl_seconds,
    )
    script = "#" * settings.executions.max_script_bytes
    stdin = "x" * settings.executions.max_stdin_bytes

    execution, created = await service.submit(
        Principal("alice"), SubmitCommand("python:3.12", script, stdin)
    )

    assert created
    request = await received(bus, EventType.REQUESTED, execution.id)
    assert request.execution_id == execution.id
    stored = await store.get(execution.id)
    assert stored is not None
    assert stored.status is ExecutionStatus.QUEUED
    assert (stored.spec.script, stored.spec.stdin) == (script, stdin)


async def test_a_result_with_outputs_at_their_cap_reaches_the_result_processor(
    bus: KafkaEventBus,
) -> None:
    cap = Settings().executions.default_limits.output_bytes
    result = Result(end_reason=EndReason.OUTPUT_LIMIT, stdout="o" * cap, stderr="e" * cap)
    execution_id = f"ex_{uuid.uuid4().hex[:12]}"

    await bus.publish(ExecutionFinished(execution_id=execution_id, result=result))

    finished = await received(bus, EventType.FINISHED, execution_id)
    assert isinstance(finished, ExecutionFinished)
    assert finished.result == result
