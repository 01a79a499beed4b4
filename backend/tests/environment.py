"""Skipping a test for something this machine lacks, except where CI must have it.

CI (.ci/run sets CI=true) installs bubblewrap, cgroups, chromium, shellcheck, the venv's tools and
the pinned Go tools: there a missing one is a broken CI set-up, so the test fails instead of
quietly skipping.
"""

import os
from typing import NoReturn

import pytest


def unavailable(reason: str) -> NoReturn:
    """Skip with `reason` (which should say how to install what is missing); fail under CI."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI installs it, so this is a failure there)")
    pytest.skip(reason)
