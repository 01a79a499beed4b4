"""The isolation guard for a role that runs sandboxes: what the canary runs on and through."""

from sandpod.config import Settings
from sandpod.domain.limits import DEFAULT_POLICY
from sandpod.domain.runtimes import Runtime
from sandpod.ports import Sandbox
from sandpod.services.isolation import IsolationGuard

# Small, so the canary is cheap; the canary tries to exceed exactly these.
CANARY_LIMITS = DEFAULT_POLICY.defaults.model_copy(
    update={"wall_seconds": 30, "cpu_seconds": 10, "memory_mb": 64, "processes": 32}
)


def isolation_guard(settings: Settings, sandbox: Sandbox) -> IsolationGuard | None:
    """None when the canary is off (interval 0) or the sandbox has no Python to run it on."""
    if settings.workers.isolation_check_interval_seconds == 0:
        return None
    runtime = _canary_runtime(sandbox.runtimes())
    if runtime is None:
        return None
    return IsolationGuard(
        sandbox.probe,
        runtime=runtime,
        limits=CANARY_LIMITS,
        max_tasks=sandbox.process_budget(CANARY_LIMITS),
        interval_seconds=settings.workers.isolation_check_interval_seconds,
        accepted=frozenset(settings.workers.isolation_accept),
    )


def _canary_runtime(runtimes: list[Runtime]) -> Runtime | None:
    pythons = sorted((r for r in runtimes if r.language == "python"), key=lambda r: r.id)
    preferred = [r for r in pythons if r.id == "python:3.12"] or pythons
    return preferred[0] if preferred else None
