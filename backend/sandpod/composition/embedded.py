"""The embedded role: API, local runner and result processing in one process, nothing external."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from fastapi import FastAPI

from sandpod.adapters.http.webhooks import HttpxWebhookSender
from sandpod.adapters.memory.event_bus import InMemoryEventBus
from sandpod.adapters.memory.idempotency import InMemoryIdempotencyKeys
from sandpod.adapters.memory.live_updates import InMemoryLiveUpdates
from sandpod.adapters.memory.output_files import InMemoryOutputFiles
from sandpod.adapters.memory.output_log import InMemoryOutputLog
from sandpod.adapters.memory.rate_limiter import InMemoryRateLimiter
from sandpod.adapters.memory.scripts import InMemoryScriptStore
from sandpod.adapters.memory.store import InMemoryExecutionStore
from sandpod.adapters.memory.users import InMemoryUserStore
from sandpod.api.app import create_app
from sandpod.api.state import ApiState
from sandpod.composition import connections
from sandpod.composition.api import api_state
from sandpod.composition.auth_setup import build_accounts
from sandpod.composition.isolation import isolation_guard
from sandpod.composition.services import (
    attach_hub,
    execution_service,
    result_processor,
    retention_sweep,
    runner_service,
    script_service,
    webhook_dispatcher,
    webhook_sender,
)
from sandpod.config import Settings
from sandpod.domain.runtimes import CATALOGUE, RuntimeRegistry
from sandpod.observability import InstrumentedSandbox
from sandpod.ports import EventBus, Sandbox
from sandpod.services.accounts import AccountService
from sandpod.services.isolation import IsolationGuard
from sandpod.services.results import ResultProcessor
from sandpod.services.retention import RetentionSweep
from sandpod.services.runner import RunnerService
from sandpod.services.webhooks import WebhookDispatcher
from sandpod.workers.results import run_results
from sandpod.workers.retention import run_retention
from sandpod.workers.runner import run_runner
from sandpod.workers.webhooks import run_webhooks


@dataclass
class Embedded:
    settings: Settings
    state: ApiState
    bus: EventBus
    sandbox: Sandbox
    runner: RunnerService
    results: ResultProcessor
    retention: RetentionSweep
    webhooks: WebhookDispatcher
    webhook_sender: HttpxWebhookSender
    guard: IsolationGuard | None = None

    @property
    def runtimes(self) -> RuntimeRegistry:
        return self.state.runtimes

    @property
    def accounts(self) -> AccountService | None:
        return self.state.accounts

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[ApiState]:
        """The API's state with the runner and the result processor running beside it."""
        async with self.api_only():
            tasks = [
                asyncio.create_task(
                    run_runner(
                        self.bus,
                        self.runner,
                        concurrency=self.settings.workers.max_concurrent_executions,
                        gate=self.guard.wait_until_safe if self.guard else None,
                    ),
                    name="runner",
                ),
                asyncio.create_task(
                    run_results(
                        self.bus,
                        self.results,
                        sweep_interval_seconds=self.settings.workers.sweep_interval_seconds,
                    ),
                    name="results",
                ),
                asyncio.create_task(
                    run_retention(
                        self.retention,
                        interval_seconds=self.settings.workers.retention_sweep_interval_seconds,
                    ),
                    name="retention",
                ),
                asyncio.create_task(
                    run_webhooks(
                        self.bus,
                        self.webhooks,
                        poll_interval_seconds=self.settings.webhooks.poll_interval_seconds,
                    ),
                    name="webhooks",
                ),
            ]
            if self.guard is not None:
                tasks.append(asyncio.create_task(self.guard.run(), name="isolation-canary"))
            try:
                yield self.state
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                await self.webhook_sender.aclose()

    @contextlib.asynccontextmanager
    async def api_only(self) -> AsyncIterator[ApiState]:
        """The API's state with no worker running (submits stay queued)."""
        try:
            yield self.state
        finally:
            await self.sandbox.close()

    def app(self, *, run_workers: bool = True) -> FastAPI:
        return create_app(
            self.serving if run_workers else self.api_only,
            max_request_bytes=self.settings.api.max_request_bytes,
        )


def build_embedded(settings: Settings, sandbox: Sandbox | None = None) -> Embedded:
    """Every port in memory; `sandbox` replaces the local runner (tests pass a fake)."""
    users = InMemoryUserStore()
    accounts = build_accounts(settings, users)  # fails before any sandbox work
    runner = InstrumentedSandbox(sandbox) if sandbox else connections.local_sandbox(settings)
    runtimes = RuntimeRegistry(runner.runtimes(), catalogue=CATALOGUE)
    files = InMemoryOutputFiles()
    store = InMemoryExecutionStore()
    bus = InMemoryEventBus()
    live = InMemoryLiveUpdates()
    output = InMemoryOutputLog(retention_seconds=settings.output.retention_seconds)
    attach = attach_hub(settings)
    # A sandbox handed in by a test is not checked: the canary proves the real local runner.
    guard = None if sandbox else isolation_guard(settings, runner)
    readiness: dict[str, Callable[[], Awaitable[None]]] = {
        "store": store.ping,
        "event_bus": bus.ping,
    }
    if guard is not None:
        readiness["isolation"] = guard.ready
    idempotency = InMemoryIdempotencyKeys()
    sender = webhook_sender(settings)
    state = api_state(
        settings,
        executions=execution_service(
            settings,
            store=store,
            bus=bus,
            live=live,
            idempotency=idempotency,
            runtimes=runtimes,
            output=output,
            attach=attach,
        ),
        scripts=script_service(settings, store=InMemoryScriptStore(), runtimes=runtimes),
        runtimes=runtimes,
        files=files,
        rate_limiter=InMemoryRateLimiter(),
        accounts=accounts,
        users=users,
        readiness=readiness,
    )
    return Embedded(
        settings=settings,
        state=state,
        bus=bus,
        sandbox=runner,
        runner=runner_service(
            settings,
            store=store,
            bus=bus,
            sandbox=runner,
            files=files,
            output=output,
            attach=attach,
        ),
        results=result_processor(settings, store=store, live=live, bus=bus, republish=False),
        retention=retention_sweep(settings, store=store, idempotency=idempotency),
        webhooks=webhook_dispatcher(settings, store=store, users=users, sender=sender),
        webhook_sender=sender,
        guard=guard,
    )


def embedded_app(
    settings: Settings, sandbox: Sandbox | None = None, *, run_workers: bool = True
) -> FastAPI:
    return build_embedded(settings, sandbox).app(run_workers=run_workers)
