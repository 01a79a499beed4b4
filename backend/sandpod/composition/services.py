"""The use cases every role builds the same way from settings and its ports."""

from datetime import timedelta

from sandpod.adapters.http.resolver import SystemResolver
from sandpod.adapters.http.webhooks import HttpxWebhookSender
from sandpod.api.schemas import ExecutionOut
from sandpod.config import Mode, RunnerKind, Settings
from sandpod.domain.callback_urls import CallbackPolicy
from sandpod.domain.execution import Execution
from sandpod.domain.limits import KUBERNETES_INPUT_MAX_BYTES
from sandpod.domain.runtimes import RuntimeRegistry
from sandpod.domain.submission import SubmissionCaps
from sandpod.domain.webhooks import RetryPolicy
from sandpod.observability import count_finished
from sandpod.ports import (
    EventBus,
    ExecutionStore,
    IdempotencyKeys,
    LiveUpdates,
    OutputFileStore,
    OutputLog,
    Sandbox,
    ScriptStore,
    UserStore,
)
from sandpod.services.attach import AttachHub
from sandpod.services.executions import ExecutionService, InputCaps
from sandpod.services.output import ChunkPolicy
from sandpod.services.results import ResultProcessor
from sandpod.services.retention import RetentionSweep
from sandpod.services.runner import RunnerService
from sandpod.services.scripts import ScriptService
from sandpod.services.webhooks import CallbackGuard, WebhookDispatcher, WebhookSecrets


def execution_service(
    settings: Settings,
    *,
    store: ExecutionStore,
    bus: EventBus,
    live: LiveUpdates,
    idempotency: IdempotencyKeys,
    runtimes: RuntimeRegistry,
    output: OutputLog | None = None,
    attach: AttachHub | None = None,
) -> ExecutionService:
    """`attach` only where the API shares its process with a local runner (embedded)."""
    return ExecutionService(
        store=store,
        bus=bus,
        live=live,
        idempotency=idempotency,
        runtimes=runtimes,
        limits=settings.executions.limit_policy,
        caps=input_caps(settings),
        idempotency_ttl_seconds=settings.executions.idempotency_ttl_seconds,
        callbacks=callback_guard(settings),
        output=output,
        end_wait_seconds=settings.output.end_wait_seconds,
        attach=attach,
    )


def callback_guard(settings: Settings) -> CallbackGuard:
    """The SSRF rule with the operator's allow-list, over the system's resolver."""
    return CallbackGuard(
        CallbackPolicy(settings.webhooks.allow),
        SystemResolver(timeout_seconds=settings.webhooks.timeout_seconds),
    )


def attach_hub(settings: Settings) -> AttachHub:
    return AttachHub(max_bytes=settings.executions.max_stdin_bytes)


def input_caps(settings: Settings) -> InputCaps:
    """What a submit may carry: the configured caps, and what the sandbox's carrier holds."""
    kubernetes = settings.mode is Mode.DISTRIBUTED and settings.runner is RunnerKind.KUBERNETES
    return InputCaps(
        max_script_bytes=settings.executions.max_script_bytes,
        max_stdin_bytes=settings.executions.max_stdin_bytes,
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
        queue_timeout_seconds=settings.workers.queue_timeout_seconds,
        republish_after_seconds=settings.workers.republish_after_seconds if republish else 0,
        on_finished=count_finished,
    )


def runner_service(
    settings: Settings,
    *,
    store: ExecutionStore,
    bus: EventBus,
    sandbox: Sandbox,
    files: OutputFileStore,
    output: OutputLog | None = None,
    attach: AttachHub | None = None,
) -> RunnerService:
    """The runner over `sandbox`; it runs the runtimes that sandbox has, keeps the files a run
    leaves in `files`, writes live output to `output` and takes interactive stdin from
    `attach`."""
    return RunnerService(
        store=store,
        bus=bus,
        sandbox=sandbox,
        runtimes=RuntimeRegistry(sandbox.runtimes()),
        files=files,
        output=output,
        chunks=ChunkPolicy(
            chunk_chars=settings.output.chunk_chars, flush_seconds=settings.output.flush_seconds
        ),
        attach=attach,
    )


def retention_sweep(
    settings: Settings, *, store: ExecutionStore, idempotency: IdempotencyKeys
) -> RetentionSweep:
    return RetentionSweep(
        store=store, idempotency=idempotency, retention_seconds=settings.workers.retention_seconds
    )


def webhook_body(execution: Execution) -> bytes:
    """A callback's body: the execution as `GET /api/v1/executions/{id}` returns it."""
    return ExecutionOut.of(execution).model_dump_json().encode()


def webhook_dispatcher(
    settings: Settings, *, store: ExecutionStore, users: UserStore, sender: HttpxWebhookSender
) -> WebhookDispatcher:
    config = settings.webhooks
    return WebhookDispatcher(
        store=store,
        secrets=WebhookSecrets(users),
        guard=callback_guard(settings),
        sender=sender,
        retry=RetryPolicy(
            max_attempts=config.max_attempts,
            base_delay=timedelta(seconds=config.retry_base_seconds),
            max_delay=timedelta(seconds=config.retry_max_seconds),
        ),
        # A try takes at most a lookup and a POST, each bounded by the timeout; past twice that
        # and a margin, its worker is taken for dead and the try is made again.
        lease=timedelta(seconds=2 * config.timeout_seconds + 5),
        render=webhook_body,
    )


def webhook_sender(settings: Settings) -> HttpxWebhookSender:
    return HttpxWebhookSender(timeout_seconds=settings.webhooks.timeout_seconds)
