"""Generate docs/reference/configuration.md from sandpod.config.Settings.

    cd backend && uv run python ../scripts/gen_config_docs.py           # write the page
    cd backend && uv run python ../scripts/gen_config_docs.py --check   # exit 1 when it is stale

`make docs-config` runs the first; a unit test (tests/tooling/test_docs_drift.py) compares the
committed page with `render()`. Every field of Settings and of its groups needs a description: a
field without one stops the generator.
"""

import argparse
import difflib
import enum
import sys
import tempfile
import types
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from sandpod.config import GROUPS, Settings

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "docs" / "reference" / "configuration.md"
COMMAND = "make docs-config"

SIMPLE_TYPES: dict[type, str] = {
    bool: "boolean",
    int: "integer",
    float: "number",
    str: "string",
    Path: "path",
    SecretStr: "string (secret)",
}


class MissingDescriptionError(ValueError):
    pass


def _cell(text: str) -> str:
    """Make text safe inside a Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    return f"`{text}`" if text else '`""` (empty)'


def type_name(annotation: Any) -> str:
    """A reader's name for a field type: `embedded` | `distributed`, integer, object..."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        members = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        name = " or ".join(type_name(arg) for arg in members)
        return f"{name}, optional" if len(members) < len(typing.get_args(annotation)) else name
    if isinstance(annotation, type):
        if issubclass(annotation, enum.Enum):
            return " \\| ".join(f"`{member.value}`" for member in annotation)
        if issubclass(annotation, BaseModel):
            return f"object ([{annotation.__name__}](#{annotation.__name__.lower()}))"
        for kind, name in SIMPLE_TYPES.items():
            if issubclass(annotation, kind):
                return name
    return _cell(str(annotation))


BOUNDS = (("ge", "≥"), ("gt", ">"), ("le", "≤"), ("lt", "<"))


def bounds_text(field: FieldInfo) -> str:
    """The field's numeric bounds (pydantic's ge/gt/le/lt), as in `, ≥ 60, ≤ 86400`."""
    parts = [
        f"{sign} {getattr(item, name):g}"
        for item in field.metadata
        for name, sign in BOUNDS
        if isinstance(getattr(item, name, None), int | float)
    ]
    return "".join(f", {part}" for part in parts)


def _human_bytes(value: int) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if value >= size and value % size == 0:
            return f"{value // size} {unit}"
    return f"{value} B"


def _portable(path: str) -> str:
    """Write machine-specific folders the same way on every machine."""
    temp, home = tempfile.gettempdir(), str(Path.home())
    if path == temp or path.startswith(temp + "/"):
        return "$TMPDIR" + path[len(temp) :]
    if path == home or path.startswith(home + "/"):
        return "~" + path[len(home) :]
    return path


def default_text(name: str, value: Any) -> str:
    """A default as it would be written in the environment variable."""
    if value is None:
        return "unset"
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, bool):
        return _code(str(value).lower())
    if isinstance(value, float):
        return _code(f"{value:g}")
    if isinstance(value, int):
        text = _code(str(value))
        return f"{text} ({_human_bytes(value)})" if name.endswith("_bytes") else text
    if isinstance(value, Path):
        return _code(_portable(str(value)))
    if isinstance(value, BaseModel):
        return f"see [{type(value).__name__}](#{type(value).__name__.lower()})"
    return _code(_cell(str(value)))


def field_default(field: FieldInfo) -> Any:
    default = field.get_default(call_default_factory=True)
    return None if default is PydanticUndefined else default


def description(owner: str, name: str, field: FieldInfo) -> str:
    if not field.description:
        raise MissingDescriptionError(
            f"{owner}.{name} has no description: add Field(..., description=...) to it"
        )
    return _cell(field.description)


def _table(
    model: type[BaseModel],
    prefix: str,
    fields: list[tuple[str, FieldInfo]],
    models: dict[str, tuple[type[BaseModel], list[tuple[str, BaseModel]]]],
) -> list[str]:
    """One row per field, noting the nested models (Limits) their own sections must describe."""
    lines = [
        "| Environment variable | Type | Default | Description |",
        "| --- | --- | --- | --- |",
    ]
    for name, field in fields:
        default = field_default(field)  # the declared default, whatever the environment says
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            entry = models.setdefault(annotation.__name__, (annotation, []))
            entry[1].append((f"{prefix}{name.upper()}", default))
        lines.append(
            f"| `{prefix}{name.upper()}` | {type_name(annotation)}{bounds_text(field)} | "
            f"{default_text(name, default)} | {description(model.__name__, name, field)} |"
        )
    return lines


def render() -> str:
    """The whole page, from Settings, its groups and the models their fields use."""
    config = Settings.model_config
    prefix = str(config.get("env_prefix", ""))
    nested = config.get("env_nested_delimiter") or "__"
    env_file = config.get("env_file")
    models: dict[str, tuple[type[BaseModel], list[tuple[str, BaseModel]]]] = {}

    lines = [
        "<!-- Generated by scripts/gen_config_docs.py from sandpod.config.Settings. Do not edit",
        f"     by hand: change Settings and run `{COMMAND}` (a unit test checks they agree). -->",
        "",
        "# Configuration",
        "",
        f"sandpod reads its settings from environment variables named `{prefix}<SETTING>`"
        + (f" and from a `{env_file}` file in the working folder, if any" if env_file else "")
        + ". Environment variables win over the file; the defaults below are what a process uses"
        " when neither sets a value. `sandpod run` also takes `--host` and `--port`.",
        "",
        "The settings come in groups, one model each in `sandpod/config.py`; a group is the only"
        " place its defaults are written, and each part of sandpod takes the groups it uses.",
        "",
        f"## {Settings.title}",
        "",
        _cell(Settings.__doc__ or "").strip(),
        "",
    ]
    own = [(name, field) for name, field in Settings.model_fields.items() if name not in GROUPS]
    lines += _table(Settings, prefix, own, models)

    for group_name, group in GROUPS.items():
        group_prefix = str(group.model_config.get("env_prefix", ""))
        fields = list(group.model_fields.items())
        lines += [
            "",
            f"## {group.title}",
            "",
            f"{_cell(group.__doc__ or '').strip()} (`settings.{group_name}`)",
            "",
        ]
        lines += _table(group, group_prefix, fields, models)

    for model_name, (model, uses) in models.items():
        lines += [
            "",
            f"## {model_name}",
            "",
            f"{_cell(model.__doc__ or '').strip()} Settings of this type: "
            + ", ".join(f"`{variable}`" for variable, _ in uses)
            + ".",
            "",
            f"Set one as a JSON object with every field (`{uses[0][0]}="
            f"'{{\"{next(iter(model.model_fields))}\": ..., ...}}'`), or field by field with"
            f" `{prefix}<SETTING>{nested}<FIELD>`; either way every field must be given, since"
            " values given in the environment replace the whole default object.",
            "",
            "| Field | Type | "
            + " | ".join(f"`{variable.removeprefix(prefix).lower()}`" for variable, _ in uses)
            + " | Description |",
            "| --- | --- | " + " | ".join("---" for _ in uses) + " | --- |",
        ]
        for field_name, field in model.model_fields.items():
            values = " | ".join(
                default_text(field_name, getattr(value, field_name)) for _, value in uses
            )
            lines.append(
                f"| `{field_name}` (`{nested}{field_name.upper()}`) | "
                f"{type_name(field.annotation)}{bounds_text(field)} | {values} | "
                f"{description(model_name, field_name, field)} |"
            )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--check", action="store_true", help="do not write; exit 1 when the page is stale"
    )
    parser.add_argument("--output", type=Path, default=OUTPUT, help="page to write or check")
    args = parser.parse_args(argv)
    try:
        wanted = render()
    except MissingDescriptionError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    output: Path = args.output
    if args.check:
        current = output.read_text() if output.exists() else ""
        if current == wanted:
            return 0
        diff = difflib.unified_diff(
            current.splitlines(keepends=True),
            wanted.splitlines(keepends=True),
            f"{output} (committed)",
            f"{output} (from Settings)",
        )
        sys.stderr.writelines(diff)
        print(
            f"{output} is out of date with sandpod.config.Settings: run `{COMMAND}`",
            file=sys.stderr,
        )
        return 1
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(wanted)
    print(f"wrote {output.relative_to(ROOT) if output.is_relative_to(ROOT) else output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
