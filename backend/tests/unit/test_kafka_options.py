"""Kafka security settings: SANDPOD_KAFKA_* to KafkaOptions to the aiokafka clients' arguments."""

import ssl
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from pydantic import SecretStr

from sandpod.adapters.kafka import KafkaOptions, options_from_settings
from sandpod.config import (
    KafkaSaslMechanism,
    KafkaSecurityProtocol,
    KafkaSettings,
    Settings,
    variables,
)

COMPOSE = Path(__file__).resolve().parents[3] / "docker-compose.yaml"
SASL_ENV = {
    "SANDPOD_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
    "SANDPOD_KAFKA_SASL_MECHANISM": "PLAIN",
    "SANDPOD_KAFKA_SASL_USERNAME": "sandpod",
    "SANDPOD_KAFKA_SASL_PASSWORD": "s3cret-passw0rd",
}


def options(**changes: Any) -> KafkaOptions:
    """The default settings' options with some fields changed (validated again)."""
    return replace(options_from_settings(Settings()), **changes)


def test_plaintext_by_default() -> None:
    plain = options_from_settings(Settings())
    assert plain.security_protocol == "PLAINTEXT"
    assert plain.client_security() == {"security_protocol": "PLAINTEXT"}


def test_the_compose_environment_maps_to_sasl_client_arguments(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in SASL_ENV.items():
        monkeypatch.setenv(name, value)
    settings = Settings()
    assert settings.kafka.security_protocol is KafkaSecurityProtocol.SASL_PLAINTEXT
    assert settings.kafka.sasl_mechanism is KafkaSaslMechanism.PLAIN
    assert "s3cret" not in repr(settings)

    options = options_from_settings(settings)

    assert options.client_security() == {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "PLAIN",
        "sasl_plain_username": "sandpod",
        "sasl_plain_password": "s3cret-passw0rd",
    }
    assert "s3cret" not in repr(options)


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_sasl_ssl_verifies_the_brokers_against_the_system_cas(mechanism: str) -> None:
    settings = Settings(
        kafka=KafkaSettings(
            security_protocol=KafkaSecurityProtocol.SASL_SSL,
            sasl_mechanism=KafkaSaslMechanism(mechanism),
            sasl_username="u",
            sasl_password=SecretStr("p"),
        )
    )
    arguments = options_from_settings(settings).client_security()

    context = arguments.pop("ssl_context")
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode is ssl.CERT_REQUIRED
    assert context.check_hostname
    assert arguments == {
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": mechanism,
        "sasl_plain_username": "u",
        "sasl_plain_password": "p",
    }


def test_ssl_without_sasl_sends_no_credentials() -> None:
    arguments = options(security_protocol="SSL", sasl_username="ignored").client_security()
    assert set(arguments) == {"security_protocol", "ssl_context"}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"sasl_username": "sandpod"}, "needs a SASL username and password"),
        ({"sasl_password": SecretStr("p")}, "needs a SASL username and password"),
        ({}, "SANDPOD_KAFKA_SASL_USERNAME, SANDPOD_KAFKA_SASL_PASSWORD"),
    ],
)
def test_sasl_without_credentials_is_a_clear_error(overrides: dict[str, Any], message: str) -> None:
    # The builders turn this ValueError into their one-line StartupError.
    settings = Settings(
        kafka=KafkaSettings(security_protocol=KafkaSecurityProtocol.SASL_SSL, **overrides)
    )
    with pytest.raises(ValueError, match=message):
        options_from_settings(settings)


def test_unknown_names_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown Kafka security protocol 'TLS'"):
        options(security_protocol="TLS")
    with pytest.raises(ValueError, match="unknown Kafka SASL mechanism 'GSSAPI'"):
        options(
            security_protocol="SASL_PLAINTEXT",
            sasl_mechanism="GSSAPI",
            sasl_username="u",
            sasl_password="p",
        )


@pytest.mark.parametrize("client", [AIOKafkaProducer, AIOKafkaConsumer, AIOKafkaAdminClient])
def test_every_aiokafka_client_accepts_the_arguments(client: type[Any]) -> None:
    sasl = options(
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username="u",
        sasl_password="p",
    )
    accepted = client.__init__.__code__.co_varnames
    assert set(sasl.client_security()) <= set(accepted)


def test_every_backend_variable_in_compose_is_a_setting() -> None:
    compose = yaml.safe_load(COMPOSE.read_text())
    names = {name for name in compose["x-backend"]["environment"] if name.startswith("SANDPOD_")}
    assert {"SANDPOD_KAFKA_SECURITY_PROTOCOL", "SANDPOD_KAFKA_SASL_PASSWORD"} <= names
    assert names <= set(variables()), names - set(variables())
