"""The use cases every role builds the same way from settings and its ports."""

from sandpod.config import Mode, RunnerKind, Settings
from sandpod.domain.limits import KUBERNETES_INPUT_MAX_BYTES
from sandpod.domain.runtimes import RuntimeRegistry
from sandpod.domain.submission import SubmissionCaps
from sandpod.observability import count_finished
from sandpod.ports import (
    EventBus,
    ExecutionStore,
    IdempotencyKeys,
    LiveUpdates,
    OutputFileStore,
    Sandbox,
    ScriptStore,
)
from sandpod.services.executions import ExecutionService, InputCaps
from sandpod.services.results import ResultProcessor
from sandpod.services.retention import RetentionSweep
from sandpod.services.runner import RunnerService
from sandpod.services.scripts import ScriptService


def execution_service(
    settings: Settings,
    *,
    store: ExecutionStore,
    bus: EventBus,
    live: LiveUpdates,
    idempotency: IdempotencyKeys,
    runtimes: RuntimeRegistry,
) -> ExecutionService:
    return ExecutionService(
        store=store,
        bus=bus,
        live=live,
        idempotency=idempotency,
        runtimes=runtimes,
        limits=settings.executions.limit_policy,
        caps=input_caps(settings),
    )


def input_caps(settings: Settings) -> InputCaps:
    """What a submit may carry: the configured caps, and what the sandbox's carrier holds."""
    kubernetes = settings.mode is Mode.DISTRIBUTED and settings.runner is RunnerKind.KUBERNETES
    return InputCaps(
        max_script_bytes=settings.executions.max_script_bytes,
        max_stdin_bytes=settings.executions.max_stdin_bytes,
        idempotency_ttl_seconds=settings.executions.idempotency_ttl_seconds,
        max_input_bytes=KUBERNETES_INPUT_MAX_BYTES if kubernetes else None,
        program=SubmissionCaps(
            max_files=settings.executions.max_files,
            max_files_bytes=settings.executions.max_files_bytes,
            max_args=settings.executions.max_args,
        ),
    )


def script_service(
    settings: Settings, *, store: ScriptStore, runtimes: RuntimeRegistry
) -> ScriptService:
    """Saved scripts, checked against the runtimes and size caps a submission meets."""
    return ScriptService(store=store, runtimes=runtimes, caps=input_caps(settings))


def result_processor(
    settings: Settings,
    *,
    store: ExecutionStore,
    live: LiveUpdates,
    bus: EventBus,
    republish: bool,
) -> ResultProcessor:
    """With `republish`, the sweep publishes requests that never reached the bus; embedded
    mode needs none of that: a publish to its in-process bus cannot be lost."""
    return ResultProcessor(
        store=store,
        live=live,
        bus=bus,
        sweep_grace_seconds=settings.workers.sweep_grace_seconds,
        republish_after_seconds=settings.workers.republish_after_seconds if republish else 0,
        on_finished=count_finished,
    )


def runner_service(
    *, store: ExecutionStore, bus: EventBus, sandbox: Sandbox, files: OutputFileStore
) -> RunnerService:
    """The runner over `sandbox`; it runs the runtimes that sandbox has."""
    return RunnerService(
        store=store,
        bus=bus,
        sandbox=sandbox,
        runtimes=RuntimeRegistry(sandbox.runtimes()),
        files=files,
    )


def retention_sweep(
    settings: Settings, *, store: ExecutionStore, idempotency: IdempotencyKeys
) -> RetentionSweep:
    return RetentionSweep(
        store=store, idempotency=idempotency, retention_seconds=settings.workers.retention_seconds
    )
