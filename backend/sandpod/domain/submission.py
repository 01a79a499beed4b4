"""The rules a program's files, entrypoint, arguments and compiler options must follow.

Each failure is a FieldError naming the field (the API answers 422 with it), raised before
anything is stored.
"""

from dataclasses import dataclass
from pathlib import PurePosixPath

from sandpod.domain.files import FieldError, SourceFile, check_file_name
from sandpod.domain.runtimes import Runtime

MAX_ARG_LENGTH = 4096


@dataclass(frozen=True)
class SubmissionCaps:
    max_files: int
    max_files_bytes: int
    max_args: int


@dataclass(frozen=True)
class Program:
    """A checked program: what ExecutionSpec keeps."""

    script: str
    files: tuple[SourceFile, ...]
    entrypoint: str | None
    args: tuple[str, ...]
    compiler_options: tuple[str, ...]

    def input_bytes(self) -> int:
        """What a sandbox receives besides stdin: the files (or the script) and the arguments."""
        sources = (
            sum(len(item.data()) for item in self.files)
            if self.files
            else len(self.script.encode())
        )
        return sources + sum(len(arg.encode()) for arg in self.args)


def _check_files(files: list[SourceFile], caps: SubmissionCaps) -> None:
    if len(files) > caps.max_files:
        raise FieldError("files", f"{len(files)} files; the most accepted is {caps.max_files}")
    total = 0
    seen: set[str] = set()
    for index, item in enumerate(files):
        name = check_file_name(item.name, f"files.{index}.name")
        if name.casefold() in seen:
            raise FieldError(f"files.{index}.name", f"{name!r} is given twice")
        seen.add(name.casefold())
        try:
            total += len(item.data())
        except ValueError as error:
            raise FieldError(f"files.{index}.content", str(error)) from error
    if total > caps.max_files_bytes:
        raise FieldError(
            "files", f"the files hold {total} bytes; the most accepted is {caps.max_files_bytes}"
        )
    names = sorted(seen)
    for name in names:  # "a" and "a/b" cannot both exist
        if any(other.startswith(name + "/") for other in names):
            raise FieldError("files", f"{name!r} is both a file and a folder")


def _entrypoint(files: list[SourceFile], entrypoint: str | None, runtime: Runtime) -> str:
    names = [item.name for item in files]
    if entrypoint is None:
        if runtime.file_name in names:
            return runtime.file_name
        if len(names) == 1:
            return names[0]
        raise FieldError(
            "entrypoint",
            f"say which file runs: none is called {runtime.file_name} and there are several",
        )
    if entrypoint not in names:
        raise FieldError("entrypoint", f"{entrypoint!r} is not one of the files")
    return entrypoint


def check_program(
    runtime: Runtime,
    *,
    script: str | None,
    files: list[SourceFile] | None,
    entrypoint: str | None,
    args: list[str],
    compiler_options: list[str],
    caps: SubmissionCaps,
) -> Program:
    if (script is None) == (files is None):
        raise FieldError("script", "send either `script` or `files` (not both, not neither)")
    if files is not None:
        if not files:
            raise FieldError("files", "at least one file is needed")
        _check_files(files, caps)
        entry = _entrypoint(files, entrypoint, runtime)
        entry_file = next(item for item in files if item.name == entry)
        text = entry_file.data().decode("utf-8", errors="replace")
    else:
        assert script is not None
        if entrypoint is not None:
            raise FieldError("entrypoint", "an entrypoint names one of `files`; none were sent")
        if not script.strip():
            raise FieldError("script", "script is empty")
        entry, text = runtime.file_name, script
    suffix = PurePosixPath(runtime.file_name).suffix
    if PurePosixPath(entry).suffix != suffix:
        raise FieldError("entrypoint", f"{runtime.id} runs a {suffix} file, not {entry!r}")
    if len(args) > caps.max_args:
        raise FieldError("args", f"{len(args)} arguments; the most accepted is {caps.max_args}")
    for index, arg in enumerate(args):
        if "\0" in arg or len(arg) > MAX_ARG_LENGTH:
            raise FieldError(
                f"args.{index}", f"an argument has no NUL and at most {MAX_ARG_LENGTH} characters"
            )
    if compiler_options:
        step = runtime.compile
        if step is None:
            raise FieldError("compiler_options", f"{runtime.id} has no compile step")
        for index, option in enumerate(compiler_options):
            if not step.allows(option):
                raise FieldError(
                    f"compiler_options.{index}",
                    f"{option!r} is not an allowed option for {runtime.id} "
                    "(GET /api/v1/runtimes lists the allowed patterns)",
                )
    return Program(
        script=text,
        files=tuple(files or ()),
        entrypoint=entry if files is not None else None,
        args=tuple(args),
        compiler_options=tuple(compiler_options),
    )
