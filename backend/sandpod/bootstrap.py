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
from sandpod.adapters.memory.users import InMemoryUserStore
from sandpod.api.app import create_app
from sandpod.api.budgets import Budget, RateBudgets
from sandpod.api.state import ApiState
from sandpod.auth_setup import (
    AuthSetupError,
    admin_seeder,
    auth_enabled,
    build_accounts,
    is_loopback,
)
from sandpod.config import Mode, RunnerKind, Settings
from sandpod.domain.runtimes import CATALOGUE, RuntimeRegistry
from sandpod.observability import InstrumentedSandbox, count_finished
from sandpod.ports import (
    EventBus,
    ExecutionStore,
    IdempotencyKeys,
    LiveUpdates,
    RateLimiter,
    SandboxLauncher,
    SandboxRunner,
    ServiceUnavailableError,
    UserStore,
)
from sandpod.services.accounts import AccountService
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
    users: UserStore | None = None
    # None when authentication is off, or in processes that serve no API (workers)
    accounts: AccountService | None = None
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    readiness_checks: dict[str, Callable[[], Awaitable[None]]] = field(default_factory=dict)

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


def build_account_service(settings: Settings, users: UserStore) -> AccountService | None:
    """The account service for an API process; None when authentication is off."""
    try:
        return build_accounts(settings, users)
    except (AuthSetupError, ValueError) as error:
        raise StartupError(str(error)) from error


def build_embedded(settings: Settings, sandbox: SandboxRunner | None = None) -> Container:
    users = InMemoryUserStore()
    accounts = build_account_service(settings, users)  # fails before any sandbox work
    sandbox = InstrumentedSandbox(sandbox or build_local_sandbox(settings))
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
        users=users,
        accounts=accounts,
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
    users: UserStore | None = None,
    accounts: AccountService | None = None,
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
        store=store,
        live=live,
        bus=bus,
        sweep_grace_seconds=settings.sweep_grace_seconds,
        republish_after_seconds=settings.republish_after_seconds,
        on_finished=count_finished,
    )
    container = Container(
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
        users=users,
        accounts=accounts,
    )
    if sandbox is not None:
        container.closers.append(_closer(sandbox))
    return container


async def build(settings: Settings) -> Container:
    """The container for an API process in the configured mode."""
    if settings.mode is Mode.EMBEDDED:
        return build_embedded(settings)
    return await build_distributed(settings, role="api")


async def build_distributed(settings: Settings, *, role: str) -> Container:
    """Connect to MongoDB, Redis and Kafka; one clear StartupError when one is unreachable.

    `role` is "api" or a worker name: only the API needs accounts, only the runner a sandbox.
    """
    from sandpod.adapters.kafka import connect_kafka
    from sandpod.adapters.mongo import connect_mongo
    from sandpod.adapters.mongo.users import connect_users
    from sandpod.adapters.redis import connect_redis

    closers: list[Callable[[], Awaitable[None]]] = []
    try:
        store = await connect_mongo(settings)
        closers.append(store.close)
        redis = await connect_redis(settings)
        closers.append(redis.close)
        bus = await connect_kafka(settings)
        closers.append(bus.close)
        users: UserStore | None = None
        accounts: AccountService | None = None
        if role == "api":
            mongo_users = await connect_users(settings)
            closers.append(mongo_users.close)
            users = mongo_users
            accounts = build_account_service(settings, mongo_users)
        sandbox = await _worker_sandbox(settings) if role == "runner" else None
    except (ServiceUnavailableError, OSError, RuntimeError, ValueError) as error:
        for close in reversed(closers):
            with contextlib.suppress(Exception):
                await close()
        raise StartupError(f"cannot start the {role} ({settings.mode} mode): {error}") from error
    runtimes = RuntimeRegistry(sandbox.runtimes() if sandbox is not None else CATALOGUE)
    container = _assemble(
        settings,
        store=store,
        bus=bus,
        live=redis.live_updates,
        idempotency=redis.idempotency,
        rate_limiter=redis.rate_limiter,
        runtimes=runtimes,
        sandbox=sandbox,
        users=users,
        accounts=accounts,
    )
    container.closers.extend(closers)
    container.readiness_checks["redis"] = redis.ping
    return container


async def _worker_sandbox(settings: Settings) -> SandboxRunner | SandboxLauncher:
    if settings.runner is RunnerKind.KUBERNETES:
        from sandpod.adapters.kubernetes import build_kubernetes_launcher

        launcher = build_kubernetes_launcher(settings)
        await launcher.prepare()
        return launcher
    return InstrumentedSandbox(build_local_sandbox(settings))


def _closer(sandbox: SandboxRunner | SandboxLauncher) -> Callable[[], Awaitable[None]]:
    async def closing() -> None:
        if isinstance(sandbox, SandboxLauncher):
            await sandbox.close()
        else:
            sandbox.close()

    return closing


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
    settings = container.settings
    try:
        required = auth_enabled(settings)
    except AuthSetupError as error:
        raise StartupError(str(error)) from error
    accounts = container.accounts
    if required and accounts is None:  # never fall back to the local admin by accident
        raise StartupError("authentication is on but this container has no account service")
    readiness: dict[str, Callable[[], Awaitable[None]]] = {
        "store": container.store.ping,
        "event_bus": container.bus.ping,
        **container.readiness_checks,
    }
    if accounts is not None and container.users is not None:
        readiness["users"] = container.users.ping
    return ApiState(
        executions=container.executions,
        runtimes=container.runtimes,
        limits=settings.limit_policy,
        rate_limiter=container.rate_limiter,
        accounts=accounts,
        rate_budgets=_rate_budgets(settings),
        secure_cookies=not is_loopback(settings.host),
        sse_heartbeat_seconds=settings.sse_heartbeat_seconds,
        readiness=readiness,
        startup=[] if accounts is None else [admin_seeder(settings, accounts)],
    )


def _rate_budgets(settings: Settings) -> RateBudgets:
    window = settings.rate_limit_window_seconds
    return RateBudgets(
        submit=Budget(
            settings.rate_limit_submit_per_user, settings.rate_limit_submit_per_ip, window
        ),
        read=Budget(settings.rate_limit_read_per_user, settings.rate_limit_read_per_ip, window),
        auth=Budget(0, settings.rate_limit_auth_per_ip, window),
    )


def app_from_container(container: Container, *, run_workers: bool) -> FastAPI:
    """An app over an existing container (tests build the container themselves)."""

    @contextlib.asynccontextmanager
    async def state() -> AsyncIterator[ApiState]:
        try:
            if run_workers:
                async with embedded_workers(container):
                    yield api_state(container)
            else:
                yield api_state(container)
        finally:
            await container.aclose()

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
    container = await build_distributed(settings, role=name)
    if name == "runner":
        work = run_runner(
            container.bus,
            container.runner_service(),
            concurrency=settings.max_concurrent_executions,
        )
    elif name == "results":
        work = run_results(
            container.bus, container.results, sweep_interval_seconds=settings.sweep_interval_seconds
        )
    elif name == "pod-monitor":
        work = _pod_monitor(settings, container)
    else:
        await container.aclose()
        raise StartupError(f"unknown worker {name!r}")
    return container, work


async def _pod_monitor(settings: Settings, container: Container) -> None:
    from sandpod.adapters.kubernetes import (
        KubernetesConfigError,
        UnsafeNamespaceError,
        run_pod_monitor,
    )

    stop = asyncio.Event()  # the worker task is cancelled on SIGTERM; this never fires
    try:
        await run_pod_monitor(settings, container.bus.publish, stop)
    except (KubernetesConfigError, UnsafeNamespaceError) as error:
        raise StartupError(f"cannot start the pod monitor: {error}") from error
