"""Inputs and results are sized to what carries them: a submit that no carrier could take is
refused at once with a clear 413, and the largest result a sandbox may return fits one lifecycle
record (issue 12, defect 1)."""

import pytest

from sandpod.adapters.kafka.codec import EventCodec
from sandpod.adapters.kafka.options import lifecycle_message_bytes
from sandpod.adapters.kubernetes.manifests import config_map_data
from sandpod.adapters.memory.event_bus import InMemoryEventBus
from sandpod.adapters.memory.idempotency import InMemoryIdempotencyKeys
from sandpod.adapters.memory.live_updates import InMemoryLiveUpdates
from sandpod.adapters.memory.store import InMemoryExecutionStore
from sandpod.composition.services import input_caps
from sandpod.config import Mode, RunnerKind, Settings
from sandpod.domain.events import ExecutionFinished
from sandpod.domain.limits import DEFAULT_POLICY, KUBERNETES_INPUT_MAX_BYTES
from sandpod.domain.principals import Principal
from sandpod.domain.result import EndReason, Result
from sandpod.domain.runtimes import CATALOGUE, RuntimeRegistry, python
from sandpod.domain.status import ExecutionStatus
from sandpod.ports import SandboxJob
from sandpod.services.errors import InputTooLargeError
from sandpod.services.executions import ExecutionService, SubmitCommand
from tests.unit.test_avro_schemas import MemoryRegistry

KUBERNETES = Settings(mode=Mode.DISTRIBUTED, runner=RunnerKind.KUBERNETES)


def service(settings: Settings, store: InMemoryExecutionStore) -> ExecutionService:
    return ExecutionService(
        store=store,
        bus=InMemoryEventBus(),
        live=InMemoryLiveUpdates(),
        idempotency=InMemoryIdempotencyKeys(),
        runtimes=RuntimeRegistry(CATALOGUE),
        limits=DEFAULT_POLICY,
        caps=input_caps(settings),
        idempotency_ttl_seconds=settings.executions.idempotency_ttl_seconds,
    )


def at_the_caps(settings: Settings) -> SubmitCommand:
    return SubmitCommand(
        "python:3.12",
        "#" * settings.executions.max_script_bytes,
        "x" * settings.executions.max_stdin_bytes,
    )


async def test_with_the_kubernetes_runner_more_than_a_config_map_holds_is_refused_at_submit() -> (
    None
):
    store = InMemoryExecutionStore()
    command = at_the_caps(KUBERNETES)  # each within its own cap, together too much

    with pytest.raises(InputTooLargeError) as refused:
        await service(KUBERNETES, store).submit(Principal("alice"), command)

    total = KUBERNETES.executions.max_script_bytes + KUBERNETES.executions.max_stdin_bytes
    assert str(refused.value) == (
        f"script (or files), args and stdin together is {total} bytes; "
        f"the most accepted is {KUBERNETES_INPUT_MAX_BYTES} bytes"
    )
    assert await store.count(ExecutionStatus.QUEUED) == 0, "nothing stored, nothing queued"


async def test_inputs_at_the_kubernetes_cap_fit_the_launchers_config_map() -> None:
    script = "#" * KUBERNETES.executions.max_script_bytes
    stdin = "x" * (KUBERNETES_INPUT_MAX_BYTES - len(script))
    store = InMemoryExecutionStore()
    execution, _ = await service(KUBERNETES, store).submit(
        Principal("alice"), SubmitCommand("python:3.12", script, stdin)
    )

    job = SandboxJob(
        execution_id=execution.id,
        runtime=python("3.12"),
        script=execution.spec.script,
        stdin=execution.spec.stdin,
        limits=execution.spec.limits,
    )
    assert set(config_map_data(job).values()) == {script, stdin}


@pytest.mark.parametrize(
    "settings",
    [Settings(), Settings(mode=Mode.DISTRIBUTED, runner=RunnerKind.LOCAL)],
    ids=["embedded", "distributed-local"],
)
async def test_other_runners_take_each_input_up_to_its_own_cap(settings: Settings) -> None:
    store = InMemoryExecutionStore()
    execution, created = await service(settings, store).submit(
        Principal("alice"), at_the_caps(settings)
    )
    assert created
    assert await store.get(execution.id) == execution


async def test_a_result_at_the_output_cap_fits_one_lifecycle_record() -> None:
    cap = 4096
    # The worst case: every captured byte invalid UTF-8, each read back as U+FFFD (3 bytes).
    result = Result(
        end_reason=EndReason.OUTPUT_LIMIT, stdout="\ufffd" * cap, stderr="\ufffd" * cap, message="m"
    )
    event = ExecutionFinished(execution_id="ex_" + "f" * 40, result=result)

    message = await EventCodec(MemoryRegistry(), "s").encode(event)

    assert len(message) <= lifecycle_message_bytes(cap)
