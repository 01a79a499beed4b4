"""The test tree organises itself: the folder is the marker, and nothing in a folder escapes it."""

from pathlib import Path

import pytest

from tests.conftest import FOLDER_MARKERS, TESTS


def test_this_test_is_marked_by_its_folder(request: pytest.FixtureRequest) -> None:
    assert request.node.get_closest_marker("tooling") is not None
    assert {mark.name for mark in request.node.iter_markers()} & FOLDER_MARKERS == {"tooling"}


def test_every_test_folder_has_its_marker_registered() -> None:
    folders = {
        path.name for path in TESTS.iterdir() if path.is_dir() and any(path.glob("test_*.py"))
    }
    assert folders == FOLDER_MARKERS


def test_a_test_skips_only_through_environment_unavailable() -> None:
    """tests/environment.unavailable skips, or fails under CI; nothing else may skip."""
    allowed = {TESTS / "environment.py", Path(__file__).resolve()}
    found = [
        f"{path.relative_to(TESTS)}:{number}"
        for path in sorted(TESTS.rglob("*.py"))
        if path not in allowed
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if any(word in line for word in ("pytest.skip(", "mark.skip", "importorskip", "skipif"))
        and not line.lstrip().startswith("#")
    ]
    assert not found, found
