import re

import pytest
from pydantic import ValidationError

from sandpod.domain.limits import DEFAULT_POLICY, LimitPolicy
from sandpod.domain.runtimes import (
    CATALOGUE,
    RuntimeRegistry,
    UnavailableRuntimeError,
    UnknownRuntimeError,
    parse_catalogue,
    python,
    runtime,
)

REQUIRED = {
    "python:3.11",
    "python:3.12",
    "python:3.13",
    "python:3.12-data",
    "node:20",
    "typescript:5",
    "bash:5",
    "ruby:3",
    "c:gcc-12",
    "cpp:gcc-12",
    "go:1.26",
    "rust:1",
    "java:17",
    "java:25",
}

ENTRY = """
[[runtime]]
id = "lua:5.4"
language = "lua"
version = "5.4"
display_name = "Lua 5.4"
file_name = "main.lua"
image = "sandpod-runtime-lua:5.4"
command = ["lua5.4", "{file}"]
example = "print('hi')"
example_stdout = "hi\\n"
[runtime.toolchain]
programs = ["lua5.4"]
version_command = ["lua5.4", "-v"]
version_pattern = "Lua (\\\\S+)"
version = "5.4"
"""


def test_the_catalogue_file_holds_every_promised_runtime() -> None:
    assert {entry.id for entry in CATALOGUE} == REQUIRED
    compiled = {entry.id for entry in CATALOGUE if entry.compile is not None}
    assert compiled == {
        *("typescript:5", "c:gcc-12", "cpp:gcc-12", "go:1.26", "rust:1", "java:17", "java:25")
    }


def test_a_new_runtime_is_data() -> None:
    (lua,) = parse_catalogue(ENTRY)
    assert (lua.id, lua.command, lua.compile) == ("lua:5.4", ("lua5.4", "{file}"), None)


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (('id = "lua:5.4"', 'id = "lua:5.3"'), "must be language:version"),
        (('id = "lua:5.4"', 'id = "Lua 5"'), "String should match pattern"),
        (('command = ["lua5.4", "{file}"]', 'command = ["lua5.4", "{nope}"]'), "{nope}"),
        (('command = ["lua5.4", "{file}"]', 'command = ["sh", "{file}"]'), "toolchain program"),
        (('file_name = "main.lua"', 'file_name = "../main.lua"'), "plain file name"),
        (('version = "5.4"\ndisplay', 'version = "5.4"\nshell = 1\ndisplay'), "Extra inputs"),
    ],
)
def test_a_bad_entry_stops_startup_naming_what_is_wrong(
    change: tuple[str, str], complaint: str
) -> None:
    with pytest.raises(ValidationError, match=re.escape(complaint)):
        parse_catalogue(ENTRY.replace(*change, 1))


def test_an_id_listed_twice_is_refused() -> None:
    with pytest.raises(ValidationError, match=re.escape("listed twice: lua:5.4")):
        parse_catalogue(ENTRY + ENTRY)


def test_registry_tells_unknown_from_unavailable() -> None:
    registry = RuntimeRegistry([python("3.12")], catalogue=CATALOGUE)
    assert registry.get("python:3.12").version == "3.12"
    assert registry.ids() == ["python:3.12"]
    with pytest.raises(
        UnknownRuntimeError, match=r"unknown runtime 'cobol:85'; available: python:3.12"
    ):
        registry.get("cobol:85")
    with pytest.raises(UnavailableRuntimeError, match="'java:17' is in the catalogue but"):
        registry.get("java:17")
    listed = dict((entry.id, available) for entry, available in registry.catalogue())
    assert listed.keys() == REQUIRED
    assert [key for key, available in listed.items() if available] == ["python:3.12"]


def test_per_runtime_limits_override_the_server_and_stay_under_its_maxima() -> None:
    java = runtime("java:17").limits.policy(DEFAULT_POLICY)
    assert java.defaults.memory_mb == 512  # a JVM needs more than the server's 128
    assert java.defaults.wall_seconds == 15
    assert java.maxima == DEFAULT_POLICY.maxima
    tight = LimitPolicy(
        defaults=DEFAULT_POLICY.defaults.model_copy(update={"memory_mb": 64}),
        maxima=DEFAULT_POLICY.maxima.model_copy(update={"memory_mb": 256}),
    )
    capped = runtime("java:17").limits.policy(tight)
    assert (capped.defaults.memory_mb, capped.maxima.memory_mb) == (256, 256)
    assert runtime("bash:5").limits.policy(DEFAULT_POLICY) == DEFAULT_POLICY


def test_compiler_options_allow_list_refuses_paths_and_plugins() -> None:
    gcc = runtime("c:gcc-12").compile
    assert gcc is not None
    for good in ("-O0", "-O3", "-std=c11", "-Wall", "-Wno-unused-variable", "-DDEBUG=1", "-lm"):
        assert gcc.allows(good), good
    for bad in (
        "-fplugin=/tmp/x.so",
        "-B/tmp",
        "-specs=/tmp/s",
        "@/etc/shadow",
        "-o/tmp/x",
        "-Wl,-rpath,/tmp",
        "-wrapper",
        "-iquote/etc",
        "-include/etc/shadow",
        "-O0 -B/x",
    ):
        assert not gcc.allows(bad), bad


def test_python_runs_without_environment_or_user_site_and_unbuffered() -> None:
    entry = python("3.12")
    assert entry.command == ("python3.12", "-E", "-s", "-u", "{file}")
    assert entry.file_name == "main.py"
    assert "print(" in entry.example
