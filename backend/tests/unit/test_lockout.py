"""The lockout rule: N wrong passwords within the window lock the account for a while."""

from datetime import UTC, datetime, timedelta

from sandpod.domain.users import LockoutPolicy, User

T0 = datetime(2026, 1, 1, tzinfo=UTC)
POLICY = LockoutPolicy(max_failures=3, window=timedelta(minutes=15), lock=timedelta(minutes=15))


def fail(user: User, *minutes: float) -> User:
    for minute in minutes:
        user = user.after_failure(T0 + timedelta(minutes=minute), POLICY)
    return user


def test_n_failures_within_the_window_lock_for_the_lock_time() -> None:
    user = fail(User(username="ada", password_hash="x"), 0, 1)
    assert not user.is_locked(T0 + timedelta(minutes=1))
    user = fail(user, 2)
    assert user.is_locked(T0 + timedelta(minutes=2))
    assert user.is_locked(T0 + timedelta(minutes=16, seconds=59))
    assert not user.is_locked(T0 + timedelta(minutes=17))


def test_failures_outside_the_window_start_a_new_count() -> None:
    user = fail(User(username="ada", password_hash="x"), 0, 1, 20)
    assert user.failed_logins == 1
    assert not user.is_locked(T0 + timedelta(minutes=20))


def test_failures_during_a_lock_do_not_extend_it() -> None:
    locked = fail(User(username="ada", password_hash="x"), 0, 1, 2)
    assert fail(locked, 10, 11, 12) == locked


def test_success_clears_the_count() -> None:
    user = fail(User(username="ada", password_hash="x"), 0, 1).after_success()
    assert (user.failed_logins, user.first_failure_at, user.locked_until) == (0, None, None)
