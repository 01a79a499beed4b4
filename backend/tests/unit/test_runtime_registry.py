import pytest

from sandpod.domain.runtimes import CATALOGUE, RuntimeRegistry, UnknownRuntimeError, python


def test_registry_finds_runtimes_by_id() -> None:
    registry = RuntimeRegistry(CATALOGUE)
    assert registry.get("python:3.12").version == "3.12"
    assert "python:3.13" in registry
    assert registry.ids() == ["python:3.11", "python:3.12", "python:3.13"]


def test_unknown_runtime_error_lists_the_available_ones() -> None:
    registry = RuntimeRegistry([python("3.12")])
    with pytest.raises(
        UnknownRuntimeError, match=r"unknown runtime 'ruby:3'; available: python:3.12"
    ):
        registry.get("ruby:3")


def test_python_runtime_runs_isolated_and_unbuffered() -> None:
    runtime = python("3.12")
    assert runtime.command == ("python3.12", "-I", "-u", "{file}")
    assert runtime.file_name == "main.py"
    assert "print(" in runtime.example
