"""The catalogue of languages and versions a script may run on."""

from pydantic import BaseModel, ConfigDict

from sandpod.domain.errors import InvalidInputError

PYTHON_EXAMPLE = """\
import platform
import sys

name = sys.stdin.read().strip() or "world"
print(f"Hello, {name}, from Python {platform.python_version()}!")
"""


class Runtime(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    language: str
    version: str
    file_name: str
    image: str  # container image for the Kubernetes runner
    command: tuple[str, ...]  # argv inside the sandbox; "{file}" is the script path
    example: str


class UnknownRuntimeError(InvalidInputError):
    def __init__(self, runtime_id: str, known: list[str]) -> None:
        super().__init__(f"unknown runtime {runtime_id!r}; available: {', '.join(known) or 'none'}")
        self.runtime_id = runtime_id


def python(version: str) -> Runtime:
    return Runtime(
        id=f"python:{version}",
        language="python",
        version=version,
        file_name="main.py",
        image=f"sandpod-runtime-python:{version}",
        # -I: isolated mode (no user site, no PYTHON* env); -u: unbuffered so output survives kills
        command=(f"python{version}", "-I", "-u", "{file}"),
        example=PYTHON_EXAMPLE,
    )


CATALOGUE: tuple[Runtime, ...] = (python("3.11"), python("3.12"), python("3.13"))


class RuntimeRegistry:
    def __init__(self, runtimes: tuple[Runtime, ...] | list[Runtime]) -> None:
        self._by_id = {runtime.id: runtime for runtime in runtimes}

    def get(self, runtime_id: str) -> Runtime:
        try:
            return self._by_id[runtime_id]
        except KeyError:
            raise UnknownRuntimeError(runtime_id, self.ids()) from None

    def ids(self) -> list[str]:
        return sorted(self._by_id)

    def all(self) -> list[Runtime]:
        return [self._by_id[runtime_id] for runtime_id in self.ids()]

    def __contains__(self, runtime_id: object) -> bool:
        return runtime_id in self._by_id
