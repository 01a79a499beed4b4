"""The test tree organises itself: a test's marker is the folder it lives in.

tests/unit -> unit, tests/contract -> contract, and so on (pyproject.toml lists the markers), so
no module sets one by hand; one that sets a folder marker other than its folder's is refused, so a
marker can never disagree with its folder again. The shared fixtures come from one plugin
package, tests/fixtures.
"""

from pathlib import Path

import pytest

pytest_plugins = [
    "tests.fixtures.adapters",
    "tests.fixtures.apps",
    "tests.fixtures.sandbox",
    "tests.fixtures.throwaway",
    "tests.cluster",
]

TESTS = Path(__file__).resolve().parent
FOLDER_MARKERS = frozenset(
    {"unit", "contract", "integration", "e2e", "security", "tooling", "teardown"}
)


def folder_of(path: Path) -> str:
    return path.resolve().relative_to(TESTS).parts[0]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        folder = folder_of(item.path)
        if folder not in FOLDER_MARKERS:
            raise pytest.UsageError(
                f"{item.nodeid}: tests live in one of {sorted(FOLDER_MARKERS)}, not {folder!r}"
            )
        marks = getattr(getattr(item, "module", None), "pytestmark", [])
        marks = marks if isinstance(marks, list) else [marks]
        wrong = sorted(({mark.name for mark in marks} & FOLDER_MARKERS) - {folder})
        if wrong:
            raise pytest.UsageError(
                f"{item.path}: marked {', '.join(wrong)} by hand but lives in tests/{folder}; "
                "the marker comes from the folder"
            )
        item.add_marker(folder)
