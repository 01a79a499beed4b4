"""A callback: where an execution's end is POSTed, and how its delivery stands.

The delivery lives on the execution it reports, so its state is read where the execution is
(`GET /executions/{id}`), and each change is one single-document write guarded by `attempts`.
"""

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

# The one event a callback reports (the `Sandpod-Event` header).
FINISHED_EVENT = "execution.finished"
# Longest `last_error` kept: a receiver's answer is not ours to store in full.
MAX_ERROR_CHARS = 500


def new_delivery_id() -> str:
    return f"dlv_{secrets.token_hex(12)}"


class WebhookState(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD_LETTERED = "dead_lettered"


@dataclass(frozen=True)
class RetryPolicy:
    """`max_attempts` tries in all; the n-th retry waits base * 2**(n-1), at most `max_delay`."""

    max_attempts: int
    base_delay: timedelta
    max_delay: timedelta

    def delay(self, attempts: int) -> timedelta:
        """The wait after the `attempts`-th failed try."""
        wait: timedelta = self.base_delay * 2 ** max(0, attempts - 1)
        return min(wait, self.max_delay)


class WebhookDelivery(BaseModel):
    model_config = ConfigDict(frozen=True)

    url: str = Field(description="Where the execution is POSTed when it ends.")
    delivery_id: str = Field(
        default_factory=new_delivery_id,
        description="Sent as `Sandpod-Delivery`; the same on every try of this delivery.",
    )
    state: WebhookState = Field(WebhookState.PENDING, description="How the delivery stands.")
    attempts: int = Field(0, description="Tries so far (a try that is under way counts).")
    last_error: str | None = Field(None, description="Why the last try failed.")
    next_attempt_at: datetime | None = Field(
        None,
        description="When the next try is due; while a try runs, when it is taken for lost "
        "(a worker that died mid-try) and made again.",
    )
    delivered_at: datetime | None = Field(None, description="When the receiver accepted it.")

    def is_due(self, at: datetime) -> bool:
        return self.state is WebhookState.PENDING and (
            self.next_attempt_at is None or self.next_attempt_at <= at
        )

    def claimed(self, at: datetime, lease: timedelta) -> "WebhookDelivery":
        """This delivery with one more try under way, given up for lost after `lease`."""
        return self.model_copy(
            update={"attempts": self.attempts + 1, "next_attempt_at": at + lease}
        )

    def succeeded(self, at: datetime) -> "WebhookDelivery":
        return self.model_copy(
            update={
                "state": WebhookState.DELIVERED,
                "delivered_at": at,
                "next_attempt_at": None,
                "last_error": None,
            }
        )

    def failed(self, error: str, at: datetime, policy: RetryPolicy) -> "WebhookDelivery":
        """After a failed try: due again after the backoff, or dead-lettered after the last."""
        error = error[:MAX_ERROR_CHARS]
        if self.attempts >= policy.max_attempts:
            return self.model_copy(
                update={
                    "state": WebhookState.DEAD_LETTERED,
                    "last_error": error,
                    "next_attempt_at": None,
                }
            )
        return self.model_copy(
            update={"last_error": error, "next_attempt_at": at + policy.delay(self.attempts)}
        )
