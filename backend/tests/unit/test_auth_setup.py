"""When authentication is on or off, and the settings that refuse to start."""

import logging
from typing import Any

import pytest

from sandpod.adapters.memory.users import InMemoryUserStore
from sandpod.composition.auth_setup import build_accounts
from sandpod.composition.errors import StartupError
from sandpod.config import AuthSettings, Environment, Mode, Settings

SECRET = "k" * 40


def settings_of(**values: Any) -> Settings:
    """Settings from process fields and AuthSettings fields, named flat as in the environment."""
    auth = {name: values.pop(name) for name in list(values) if name in AuthSettings.model_fields}
    cheap = {"password_hash_memory_kib": 1024, "password_hash_time_cost": 1}
    return Settings(auth=AuthSettings(**{**cheap, **auth}), **values)


def accounts(**values: Any) -> object:
    return build_accounts(settings_of(**values), InMemoryUserStore())


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost", "127.0.0.2"])
def test_auth_is_off_on_loopback_in_embedded_mode_and_says_so(
    host: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        assert accounts(host=host) is None
    assert "authentication is OFF" in caplog.text
    assert host in caplog.text


@pytest.mark.parametrize(
    "settings",
    [
        {"host": "0.0.0.0", "auth_required": False},
        {"host": "10.1.2.3", "auth_required": False},
        {"mode": Mode.DISTRIBUTED, "auth_required": False},
    ],
)
def test_no_auth_off_loopback_is_refused(settings: dict[str, object]) -> None:
    with pytest.raises(StartupError, match="refusing to run without authentication"):
        accounts(**settings)


@pytest.mark.parametrize(
    "settings",
    [{"host": "0.0.0.0"}, {"mode": Mode.DISTRIBUTED}, {"auth_required": True}],
)
def test_auth_on_needs_a_secret_outside_development(settings: dict[str, object]) -> None:
    with pytest.raises(StartupError, match="SANDPOD_JWT_SECRET is not set"):
        accounts(**settings)


def test_development_uses_a_random_secret(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        assert accounts(auth_required=True, environment=Environment.DEVELOPMENT) is not None
    assert "random per-process secret" in caplog.text


def test_a_short_secret_is_refused() -> None:
    with pytest.raises(StartupError, match="at least 32 bytes"):
        accounts(auth_required=True, jwt_secret="short")


def test_a_weak_admin_password_is_refused() -> None:
    with pytest.raises(StartupError, match=r"SANDPOD_ADMIN_PASSWORD.*at least 12 characters"):
        accounts(auth_required=True, jwt_secret=SECRET, admin_password="admin")


def test_auth_on_with_a_secret_builds_the_service() -> None:
    assert accounts(host="0.0.0.0", jwt_secret=SECRET) is not None
