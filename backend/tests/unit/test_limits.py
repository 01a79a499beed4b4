import pytest
from pydantic import ValidationError

from sandpod.domain.limits import DEFAULT_POLICY, LimitPolicy, LimitsExceededError, LimitsRequest


def test_no_request_gives_the_defaults() -> None:
    assert DEFAULT_POLICY.resolve(None) == DEFAULT_POLICY.defaults
    assert DEFAULT_POLICY.resolve(LimitsRequest()) == DEFAULT_POLICY.defaults


def test_caller_may_ask_for_less_or_up_to_the_maximum() -> None:
    most = DEFAULT_POLICY.maxima.memory_mb
    limits = DEFAULT_POLICY.resolve(LimitsRequest(wall_seconds=1.5, memory_mb=most))
    assert limits.wall_seconds == 1.5
    assert limits.memory_mb == most
    assert limits.cpu_seconds == DEFAULT_POLICY.defaults.cpu_seconds


def test_asking_for_more_than_the_maximum_names_every_violation() -> None:
    request = LimitsRequest(wall_seconds=10_000, processes=100_000)
    with pytest.raises(LimitsExceededError) as caught:
        DEFAULT_POLICY.resolve(request)
    assert set(caught.value.violations) == {"wall_seconds", "processes"}
    assert "wall_seconds=10000 (maximum 120)" in str(caught.value)


@pytest.mark.parametrize("field", ["wall_seconds", "memory_mb", "output_bytes"])
@pytest.mark.parametrize("value", [0, -1])
def test_zero_or_negative_limits_are_rejected(field: str, value: int) -> None:
    with pytest.raises(ValidationError):
        LimitsRequest.model_validate({field: value})


def test_unknown_limit_names_are_rejected() -> None:
    with pytest.raises(ValidationError, match="extra"):
        LimitsRequest.model_validate({"gpus": 1})


def test_policy_refuses_defaults_above_maxima() -> None:
    with pytest.raises(ValidationError, match="default memory_mb is above its maximum"):
        LimitPolicy(
            defaults=DEFAULT_POLICY.maxima.model_copy(update={"memory_mb": 99_999}),
            maxima=DEFAULT_POLICY.maxima,
        )
