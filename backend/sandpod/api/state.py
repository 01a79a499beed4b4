"""What the API needs from the composition root; bootstrap fills it in."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sandpod.api.budgets import RateBudgets
from sandpod.domain.limits import LimitPolicy
from sandpod.domain.runtimes import RuntimeRegistry
from sandpod.ports import OutputFileStore, RateLimiter
from sandpod.services.accounts import AccountService
from sandpod.services.api_keys import ApiKeyService
from sandpod.services.executions import ExecutionService
from sandpod.services.scripts import ScriptService
from sandpod.services.webhooks import WebhookSecrets


@dataclass
class ApiState:
    executions: ExecutionService
    runtimes: RuntimeRegistry
    files: OutputFileStore
    limits: LimitPolicy
    rate_limiter: RateLimiter
    # None only when authentication is off (embedded mode on loopback): all act as local admin.
    accounts: AccountService | None
    scripts: ScriptService
    rate_budgets: RateBudgets
    secure_cookies: bool
    sse_heartbeat_seconds: float
    max_wait_seconds: float
    max_batch_items: int
    # None exactly when `accounts` is None.
    api_keys: ApiKeyService | None = None
    # None when this process keeps no user store (then there are no webhook secrets to show).
    webhook_secrets: WebhookSecrets | None = None
    # name -> coroutine that raises when that dependency is not ready
    readiness: dict[str, Callable[[], Awaitable[None]]] = field(default_factory=dict)
    # run once when the app starts (seeding the admin)
    startup: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
