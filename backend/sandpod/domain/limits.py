"""Resource limits: server defaults, server maxima, and what a caller may ask for."""

from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sandpod.domain.errors import InvalidInputError

MIB = 1024 * 1024

# The API server refuses a ConfigMap whose data (keys and values) exceeds 1 MiB. The Kubernetes
# launcher hands a pod its script and stdin in one, so with that runner they share this much,
# less room for the two key names.
CONFIG_MAP_MAX_BYTES = MIB
KUBERNETES_INPUT_MAX_BYTES = CONFIG_MAP_MAX_BYTES - 256


class Limits(BaseModel):
    """Hard limits for one execution. Every field is enforced by every runner."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    wall_seconds: float = Field(gt=0, description="Wall-clock time before the sandbox is killed.")
    cpu_seconds: float = Field(gt=0, description="CPU time (all processes) before SIGKILL.")
    memory_mb: int = Field(gt=0, description="Memory (RSS + page cache) ceiling in MiB.")
    processes: int = Field(gt=0, description="Maximum number of live processes and threads.")
    output_bytes: int = Field(gt=0, description="Bytes kept from stdout and from stderr, each.")
    file_size_mb: int = Field(gt=0, description="Largest file the script may write, in MiB.")
    tmp_mb: int = Field(gt=0, description="Size of the writable /tmp, in MiB.")


class LimitsRequest(BaseModel):
    """What a caller asks for; unset fields take the server default."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    wall_seconds: float | None = Field(default=None, gt=0)
    cpu_seconds: float | None = Field(default=None, gt=0)
    memory_mb: int | None = Field(default=None, gt=0)
    processes: int | None = Field(default=None, gt=0)
    output_bytes: int | None = Field(default=None, gt=0)
    file_size_mb: int | None = Field(default=None, gt=0)
    tmp_mb: int | None = Field(default=None, gt=0)


class LimitsExceededError(InvalidInputError):
    def __init__(self, violations: dict[str, tuple[float, float]]) -> None:
        self.violations = violations
        parts = [
            f"{name}={asked:g} (maximum {most:g})" for name, (asked, most) in violations.items()
        ]
        super().__init__("requested limits exceed the server maxima: " + ", ".join(parts))


class LimitPolicy(BaseModel):
    """Server defaults and maxima. Defaults never exceed maxima."""

    model_config = ConfigDict(frozen=True)

    defaults: Limits
    maxima: Limits

    @model_validator(mode="after")
    def _defaults_within_maxima(self) -> Self:
        for name in Limits.model_fields:
            if getattr(self.defaults, name) > getattr(self.maxima, name):
                raise ValueError(f"default {name} is above its maximum")
        return self

    def resolve(self, request: LimitsRequest | None) -> Limits:
        """Fill unset fields with defaults; refuse anything above the maxima."""
        if request is None:
            return self.defaults
        asked = request.model_dump(exclude_none=True)
        violations = {
            name: (value, getattr(self.maxima, name))
            for name, value in asked.items()
            if value > getattr(self.maxima, name)
        }
        if violations:
            raise LimitsExceededError(violations)
        return self.defaults.model_copy(update=asked)


DEFAULT_POLICY = LimitPolicy(
    defaults=Limits(
        wall_seconds=10,
        cpu_seconds=5,
        memory_mb=128,
        processes=32,
        output_bytes=1 * MIB,
        file_size_mb=16,
        tmp_mb=32,
    ),
    maxima=Limits(
        wall_seconds=120,
        cpu_seconds=60,
        memory_mb=1024,
        processes=256,
        output_bytes=8 * MIB,
        file_size_mb=256,
        tmp_mb=512,
    ),
)
