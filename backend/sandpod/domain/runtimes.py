"""The catalogue of languages and versions a program may run on.

The catalogue is data: sandpod/domain/catalogue.toml, shipped inside the package and validated
by these models when the module is imported (a malformed entry stops every process at startup).
A new runtime is a new entry there; docs/reference/runtimes.md is generated from it.
"""

import re
import tomllib
from importlib import resources
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sandpod.domain.errors import InvalidInputError
from sandpod.domain.limits import LimitPolicy, Limits, LimitsRequest

ID_PATTERN = r"^[a-z][a-z0-9+]*:[a-z0-9][a-z0-9.+-]*$"
# Placeholders a command may hold. A word that is exactly {sources} or {options} becomes zero or
# more words; the others are replaced inside a word.
WORD_PLACEHOLDERS = ("{sources}", "{options}")
PLACEHOLDERS = ("{file}", "{stem}", "{build}", "{toolchains}", "{memory_mb}")
_PLACEHOLDER = re.compile(r"\{[a-z]+\}")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CompileLimits(_Frozen):
    """Fixed limits of the compile phase (a caller cannot change them)."""

    wall_seconds: float = Field(gt=0)
    cpu_seconds: float = Field(gt=0)
    memory_mb: int = Field(gt=0)
    processes: int = Field(gt=0)


class CompileStep(_Frozen):
    command: tuple[str, ...] = Field(min_length=1)
    limits: CompileLimits
    # Compiler options a caller may add: each must match one of these patterns in full.
    # Anything that names a file or a program (-B, -fplugin=, @file, -o...) is never listed.
    allowed_options: tuple[str, ...] = ()

    @field_validator("allowed_options")
    @classmethod
    def _patterns_compile(cls, patterns: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in patterns:
            re.compile(pattern)
        return patterns

    def allows(self, option: str) -> bool:
        return any(re.fullmatch(pattern, option) for pattern in self.allowed_options)


class Toolchain(_Frozen):
    """How the local runner finds this runtime on a host (the Kubernetes runner uses `image`)."""

    programs: tuple[str, ...] = Field(min_length=1, description="Executables the phases run.")
    search: tuple[str, ...] = Field(
        (), description="Directories (globs, `~` and {toolchains} expanded) searched before PATH."
    )
    version_command: tuple[str, ...] = Field(min_length=1)
    version_pattern: str = Field(description="Regex; its first group is the installed version.")
    version: str = Field(description="The installed version must start with this.")
    paths: tuple[str, ...] = Field(
        (), description="More host paths bound read-only (configuration the toolchain reads)."
    )
    prepared: tuple[str, ...] = Field(
        (),
        description="Folders under the toolchains folder `make toolchains` builds (a package "
        "set, a compiled standard library); bound read-only, required.",
    )
    tmp_seed: dict[str, str] = Field(
        default_factory=dict,
        description="Folders copied into /tmp before the program starts (path under /tmp -> "
        "host folder, {toolchains} expanded), for tools that insist on a writable cache.",
    )


class RuntimeLimits(_Frozen):
    """This runtime's own defaults and maxima; unset fields take the server's."""

    defaults: LimitsRequest = LimitsRequest()
    maxima: LimitsRequest = LimitsRequest()

    def policy(self, server: LimitPolicy) -> LimitPolicy:
        """The server policy with this runtime's values, never above the server maxima."""
        maxima = {
            name: min(value, getattr(server.maxima, name))
            for name, value in self.maxima.model_dump(exclude_none=True).items()
        }
        most = server.maxima.model_copy(update=maxima)
        own = self.defaults.model_dump(exclude_none=True)
        defaults = {
            name: min(own.get(name, getattr(server.defaults, name)), getattr(most, name))
            for name in Limits.model_fields
        }
        return LimitPolicy(defaults=Limits(**defaults), maxima=most)


class Runtime(_Frozen):
    id: str = Field(pattern=ID_PATTERN)
    language: str
    version: str
    display_name: str
    file_name: str = Field(description="The source file name of the single-script form.")
    image: str = Field(description="Container image for the Kubernetes runner.")
    command: tuple[str, ...] = Field(min_length=1, description="Run command; see PLACEHOLDERS.")
    compile: CompileStep | None = None
    env: dict[str, str] = Field(default_factory=dict)
    toolchain: Toolchain
    limits: RuntimeLimits = RuntimeLimits()
    example: str
    example_stdin: str = ""
    example_stdout: str = Field(description="What the example prints for `example_stdin`.")

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.id != f"{self.language}:{self.version}":
            raise ValueError(f"id {self.id!r} must be language:version")
        if "/" in self.file_name or self.file_name.startswith("."):
            raise ValueError(f"{self.id}: file_name must be a plain file name")
        words = [*self.command, *(self.compile.command if self.compile else ())]
        for word in [*words, *self.env.values()]:
            for placeholder in _PLACEHOLDER.findall(word):
                if placeholder not in PLACEHOLDERS + WORD_PLACEHOLDERS:
                    raise ValueError(f"{self.id}: unknown placeholder {placeholder}")
        if self.command[0] not in self.toolchain.programs and not self.command[0].startswith(
            "{build}"
        ):
            raise ValueError(f"{self.id}: the run command must start with a toolchain program")
        return self


class Catalogue(_Frozen):
    runtime: tuple[Runtime, ...] = Field(min_length=1)

    @field_validator("runtime")
    @classmethod
    def _unique(cls, runtimes: tuple[Runtime, ...]) -> tuple[Runtime, ...]:
        ids = [runtime.id for runtime in runtimes]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"runtime ids listed twice: {', '.join(duplicates)}")
        return runtimes


def parse_catalogue(text: str) -> tuple[Runtime, ...]:
    """The runtimes of a catalogue file (TOML); pydantic's ValidationError names a bad field."""
    return Catalogue.model_validate(tomllib.loads(text)).runtime


CATALOGUE_FILE = "catalogue.toml"
CATALOGUE: tuple[Runtime, ...] = parse_catalogue(
    resources.files(__package__).joinpath(CATALOGUE_FILE).read_text(encoding="utf-8")
)


class UnknownRuntimeError(InvalidInputError):
    def __init__(self, runtime_id: str, known: list[str]) -> None:
        super().__init__(f"unknown runtime {runtime_id!r}; available: {', '.join(known) or 'none'}")
        self.runtime_id = runtime_id


class UnavailableRuntimeError(InvalidInputError):
    def __init__(self, runtime_id: str, known: list[str]) -> None:
        super().__init__(
            f"runtime {runtime_id!r} is in the catalogue but this deployment cannot run it; "
            f"available: {', '.join(known) or 'none'}"
        )
        self.runtime_id = runtime_id


def runtime(runtime_id: str) -> Runtime:
    """The catalogue entry with this id."""
    for entry in CATALOGUE:
        if entry.id == runtime_id:
            return entry
    raise UnknownRuntimeError(runtime_id, [entry.id for entry in CATALOGUE])


def python(version: str) -> Runtime:
    return runtime(f"python:{version}")


PYTHON_EXAMPLE = python("3.12").example


class RuntimeRegistry:
    """The catalogue as one deployment sees it: every entry, and the ones it can run."""

    def __init__(
        self,
        runtimes: tuple[Runtime, ...] | list[Runtime],
        *,
        catalogue: tuple[Runtime, ...] | list[Runtime] | None = None,
    ) -> None:
        self._available = {entry.id: entry for entry in runtimes}
        listed = runtimes if catalogue is None else catalogue
        self._all = {entry.id: entry for entry in [*listed, *runtimes]}

    def get(self, runtime_id: str) -> Runtime:
        """An available runtime; UnknownRuntimeError or UnavailableRuntimeError otherwise."""
        if runtime_id in self._available:
            return self._available[runtime_id]
        if runtime_id in self._all:
            raise UnavailableRuntimeError(runtime_id, self.ids())
        raise UnknownRuntimeError(runtime_id, self.ids())

    def ids(self) -> list[str]:
        return sorted(self._available)

    def all(self) -> list[Runtime]:
        return [self._available[runtime_id] for runtime_id in self.ids()]

    def catalogue(self) -> list[tuple[Runtime, bool]]:
        """Every catalogue entry and whether this deployment can run it."""
        return [(self._all[key], key in self._available) for key in sorted(self._all)]

    def __contains__(self, runtime_id: object) -> bool:
        return runtime_id in self._available
