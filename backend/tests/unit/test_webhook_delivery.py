"""A delivery's state: tries claimed with a lease, exponential backoff, the dead letter."""

from datetime import UTC, datetime, timedelta

from sandpod.domain.webhooks import RetryPolicy, WebhookDelivery, WebhookState

AT = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
POLICY = RetryPolicy(
    max_attempts=4, base_delay=timedelta(seconds=10), max_delay=timedelta(seconds=25)
)


def test_the_backoff_doubles_up_to_its_cap() -> None:
    waits = [POLICY.delay(attempts).total_seconds() for attempts in (1, 2, 3, 4)]
    assert waits == [10, 20, 25, 25]


def test_a_failing_delivery_is_retried_then_dead_lettered_keeping_its_id() -> None:
    hook = WebhookDelivery(url="https://example.com/h")
    assert hook.is_due(AT)
    for attempt in range(1, 5):
        hook = hook.claimed(AT, timedelta(seconds=30))
        assert not hook.is_due(AT)  # a try under way is not due until its lease ends
        assert hook.is_due(AT + timedelta(seconds=30))
        first_id = hook.delivery_id
        hook = hook.failed(f"answered 500 #{attempt}", AT, POLICY)
        assert hook.attempts == attempt
        assert hook.delivery_id == first_id
    assert hook.state is WebhookState.DEAD_LETTERED
    assert hook.last_error == "answered 500 #4"
    assert not hook.is_due(AT + timedelta(days=1))


def test_a_success_ends_the_delivery() -> None:
    hook = WebhookDelivery(url="https://example.com/h").claimed(AT, timedelta(seconds=30))
    hook = hook.failed("timed out", AT, POLICY).claimed(AT, timedelta(seconds=30))
    done = hook.succeeded(AT)
    assert (done.state, done.attempts, done.last_error, done.delivered_at) == (
        WebhookState.DELIVERED,
        2,
        None,
        AT,
    )
    assert not done.is_due(AT + timedelta(days=1))


def test_a_long_error_is_cut() -> None:
    hook = WebhookDelivery(url="https://example.com/h").claimed(AT, timedelta(seconds=1))
    assert len(hook.failed("x" * 10_000, AT, POLICY).last_error or "") == 500
