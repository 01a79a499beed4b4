"""The API role: the app for `sandpod api` (and `sandpod run`), and the state its routers use."""

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from fastapi import FastAPI

from sandpod.api.app import StateFactory, create_app
from sandpod.api.budgets import RateBudgets
from sandpod.api.state import ApiState
from sandpod.composition import connections
from sandpod.composition.auth_setup import admin_seeder, auth_enabled, build_accounts, is_loopback
from sandpod.composition.errors import StartupError
from sandpod.composition.opening import opening
from sandpod.composition.services import execution_service, script_service
from sandpod.config import Mode, Settings
from sandpod.domain.runtimes import CATALOGUE, RuntimeRegistry
from sandpod.ports import OutputFileStore, RateLimiter, UserStore
from sandpod.services.accounts import AccountService
from sandpod.services.api_keys import ApiKeyService
from sandpod.services.executions import ExecutionService
from sandpod.services.scripts import ScriptService
from sandpod.services.webhooks import WebhookSecrets

ReadinessChecks = dict[str, Callable[[], Awaitable[None]]]


def api_state(
    settings: Settings,
    *,
    executions: ExecutionService,
    scripts: ScriptService,
    runtimes: RuntimeRegistry,
    files: OutputFileStore,
    rate_limiter: RateLimiter,
    accounts: AccountService | None,
    readiness: ReadinessChecks,
    users: UserStore | None = None,
) -> ApiState:
    if auth_enabled(settings) and accounts is None:  # never fall back to the local admin
        raise StartupError("authentication is on but this process has no account service")
    api_keys = None
    if accounts is not None and users is not None:
        api_keys = ApiKeyService(users, max_active_per_user=settings.auth.max_api_keys_per_user)
    return ApiState(
        api_keys=api_keys,
        webhook_secrets=None if users is None else WebhookSecrets(users),
        executions=executions,
        runtimes=runtimes,
        files=files,
        limits=settings.executions.limit_policy,
        rate_limiter=rate_limiter,
        accounts=accounts,
        scripts=scripts,
        rate_budgets=RateBudgets.of(settings.rate_limits),
        secure_cookies=not is_loopback(settings.host),
        sse_heartbeat_seconds=settings.api.sse_heartbeat_seconds,
        max_wait_seconds=settings.api.max_wait_seconds,
        max_batch_items=settings.api.max_batch_items,
        readiness=readiness,
        startup=[] if accounts is None else [admin_seeder(settings, accounts)],
    )


@contextlib.asynccontextmanager
async def distributed_api(settings: Settings) -> AsyncIterator[ApiState]:
    """The API's state over MongoDB (one client), Redis and Kafka, open while in the block."""
    async with opening("api", settings) as stack:
        mongo = await connections.mongo_stores(settings, stack)
        accounts = build_accounts(settings, mongo.users)
        redis = await connections.redis(settings, stack)
        bus = await connections.kafka(settings, stack)
        runtimes = RuntimeRegistry(CATALOGUE, catalogue=CATALOGUE)
        state = api_state(
            settings,
            executions=execution_service(
                settings,
                store=mongo.executions,
                bus=bus,
                live=redis.live_updates,
                idempotency=redis.idempotency,
                runtimes=runtimes,
                output=redis.output_log,
            ),
            scripts=script_service(settings, store=mongo.scripts, runtimes=runtimes),
            runtimes=runtimes,
            files=mongo.executions.output_files,
            rate_limiter=redis.rate_limiter,
            accounts=accounts,
            users=mongo.users,
            readiness={"store": mongo.ping, "redis": redis.ping, "event_bus": bus.ping},
        )
    async with stack:
        yield state


def api_states(settings: Settings) -> StateFactory:
    """What the API of these settings opens for its lifetime: embedded or distributed."""
    if settings.mode is Mode.EMBEDDED:
        from sandpod.composition.embedded import build_embedded

        return build_embedded(settings).serving
    return lambda: distributed_api(settings)


def app_from_settings(settings: Settings) -> FastAPI:
    """The app of these settings; it connects when it starts (StartupError when it cannot)."""
    return create_app(api_states(settings), max_request_bytes=settings.api.max_request_bytes)
