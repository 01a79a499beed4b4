"""The composition root: settings in, wired services out. Only entry points import this."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI

from sandpod.adapters.memory.event_bus import InMemoryEventBus
from sandpod.adapters.memory.idempotency import InMemoryIdempotencyKeys
from sandpod.adapters.memory.live_updates import InMemoryLiveUpdates
from sandpod.adapters.memory.rate_limiter import InMemoryRateLimiter
from sandpod.adapters.memory.store import InMemoryExecutionStore
from sandpod.api.app import create_app
from sandpod.api.state import ApiState
from sandpod.config import Mode, Settings
from sandpod.domain.runtimes import RuntimeRegistry
from sandpod.ports import (
    EventBus,
    ExecutionStore,
    IdempotencyKeys,
    LiveUpdates,
    RateLimiter,
    SandboxLauncher,
    SandboxRunner,
)
from sandpod.services.executions import ExecutionService, InputCaps
from sandpod.services.results import ResultProcessor
from sandpod.services.runner import RunnerService
from sandpod.workers.results import run_results
from sandpod.workers.runner import run_runner

log = logging.getLogger(__name__)


class StartupError(RuntimeError):
    """Configuration or environment problem, reported as one line instead of a traceback."""


@dataclass
class Container:
    settings: Settings
    store: ExecutionStore
    bus: EventBus
    live: LiveUpdates
    idempotency: IdempotencyKeys
    rate_limiter: RateLimiter
    runtimes: RuntimeRegistry
    executions: ExecutionService
    results: ResultProcessor
    sandbox: SandboxRunner | SandboxLauncher | None = None
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    def runner_service(self) -> RunnerService:
        if self.sandbox is None:
            raise StartupError("this process has no sandbox runner configured")
        return RunnerService(
            store=self.store, bus=self.bus, sandbox=self.sandbox, runtimes=self.runtimes
        )

    async def aclose(self) -> None:
        for close in reversed(self.closers):
            with contextlib.suppress(Exception):
                await close()


def build_local_sandbox(settings: Settings) -> SandboxRunner:
    from sandpod.adapters.sandbox import build_local_runner

    try:
        return build_local_runner(settings)
    except (OSError, RuntimeError) as error:
        raise StartupError(str(error)) from error


def build_embedded(settings: Settings, sandbox: SandboxRunner | None = None) -> Container:
    sandbox = sandbox or build_local_sandbox(settings)
    runtimes = RuntimeRegistry(sandbox.runtimes())
    store = InMemoryExecutionStore()
    bus = InMemoryEventBus()
    live = InMemoryLiveUpdates()
    return _assemble(
        settings,
        store=store,
        bus=bus,
        live=live,
        idempotency=InMemoryIdempotencyKeys(),
        rate_limiter=InMemoryRateLimiter(),
        runtimes=runtimes,
        sandbox=sandbox,
    )


def _assemble(
    settings: Settings,
    *,
    store: ExecutionStore,
    bus: EventBus,
    live: LiveUpdates,
    idempotency: IdempotencyKeys,
    rate_limiter: RateLimiter,
    runtimes: RuntimeRegistry,
    sandbox: SandboxRunner | SandboxLauncher | None,
) -> Container:
    executions = ExecutionService(
        store=store,
        bus=bus,
        live=live,
        idempotency=idempotency,
        runtimes=runtimes,
        limits=settings.limit_policy,
        caps=InputCaps(
            max_script_bytes=settings.max_script_bytes,
            max_stdin_bytes=settings.max_stdin_bytes,
            idempotency_ttl_seconds=settings.idempotency_ttl_seconds,
        ),
    )
    results = ResultProcessor(
        store=store, live=live, sweep_grace_seconds=settings.sweep_grace_seconds
    )
    return Container(
        settings=settings,
        store=store,
        bus=bus,
        live=live,
        idempotency=idempotency,
        rate_limiter=rate_limiter,
        runtimes=runtimes,
        executions=executions,
        results=results,
        sandbox=sandbox,
    )


async def build(settings: Settings) -> Container:
    """The container for an API process in the configured mode."""
    if settings.mode is Mode.EMBEDDED:
        return build_embedded(settings)
    raise StartupError("distributed mode is not available yet")


@contextlib.asynccontextmanager
async def embedded_workers(container: Container) -> AsyncIterator[None]:
    """Run the runner and result processor inside this process (embedded mode)."""
    settings = container.settings
    tasks = [
        asyncio.create_task(
            run_runner(
                container.bus,
                container.runner_service(),
                concurrency=settings.max_concurrent_executions,
            ),
            name="runner",
        ),
        asyncio.create_task(
            run_results(
                container.bus,
                container.results,
                sweep_interval_seconds=settings.sweep_interval_seconds,
            ),
            name="results",
        ),
    ]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def api_state(container: Container) -> ApiState:
    return ApiState(
        executions=container.executions,
        runtimes=container.runtimes,
        limits=container.settings.limit_policy,
        rate_limiter=container.rate_limiter,
        sse_heartbeat_seconds=container.settings.sse_heartbeat_seconds,
        readiness={"store": container.store.ping, "event_bus": container.bus.ping},
    )


def app_from_container(container: Container, *, run_workers: bool) -> FastAPI:
    """An app over an existing container (tests build the container themselves)."""

    @contextlib.asynccontextmanager
    async def state() -> AsyncIterator[ApiState]:
        if run_workers:
            async with embedded_workers(container):
                yield api_state(container)
        else:
            yield api_state(container)

    return create_app(state, max_request_bytes=container.settings.max_request_bytes)


def app_from_settings(settings: Settings) -> FastAPI:
    """The app for `sandpod run` / `sandpod api`: builds its container at startup."""

    @contextlib.asynccontextmanager
    async def state() -> AsyncIterator[ApiState]:
        container = await build(settings)
        try:
            if settings.mode is Mode.EMBEDDED:
                async with embedded_workers(container):
                    yield api_state(container)
            else:
                yield api_state(container)
        finally:
            await container.aclose()

    return create_app(state, max_request_bytes=settings.max_request_bytes)


async def build_worker(
    name: str, settings: Settings
) -> tuple[Container, Coroutine[Any, Any, None]]:
    """The container and the coroutine of one worker process (distributed mode)."""
    if settings.mode is not Mode.DISTRIBUTED:
        raise StartupError(
            "workers run as separate processes only in distributed mode "
            "(set SANDPOD_MODE=distributed); embedded mode runs them inside `sandpod run`"
        )
    raise StartupError("distributed mode is not available yet")
