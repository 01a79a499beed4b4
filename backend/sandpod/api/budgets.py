"""Rate-limit budgets: how many requests of a kind per user and per client IP per window."""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Budget:
    per_user: int  # 0: no per-user limit
    per_ip: int  # 0: no per-IP limit
    window_seconds: int = 60


@dataclass(frozen=True)
class RateBudgets:
    submit: Budget = field(default_factory=lambda: Budget(per_user=60, per_ip=120))
    read: Budget = field(default_factory=lambda: Budget(per_user=600, per_ip=1200))
    auth: Budget = field(default_factory=lambda: Budget(per_user=0, per_ip=30))
