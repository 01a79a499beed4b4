"""Rate-limit budgets: how many requests of a kind per user and per client IP per window."""

from dataclasses import dataclass

from sandpod.config import RateLimitSettings


@dataclass(frozen=True)
class Budget:
    per_user: int  # 0: no per-user limit
    per_ip: int  # 0: no per-IP limit
    window_seconds: int


@dataclass(frozen=True)
class RateBudgets:
    submit: Budget
    read: Budget
    auth: Budget

    @classmethod
    def of(cls, settings: RateLimitSettings) -> "RateBudgets":
        window = settings.window_seconds
        return cls(
            submit=Budget(settings.submit_per_user, settings.submit_per_ip, window),
            read=Budget(settings.read_per_user, settings.read_per_ip, window),
            auth=Budget(0, settings.auth_per_ip, window),
        )
