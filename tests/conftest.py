"""Shared fixtures: the reference data beside the project, temporary folders, seeds."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

#: ``../shared/data`` beside the checkout unless ILDRAD_SHARED_DATA says otherwise.
SHARED_DATA = Path(os.environ.get("ILDRAD_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared reference data folder; tests using it skip with a reason when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared reference data not found at {SHARED_DATA} (set ILDRAD_SHARED_DATA)")
    return SHARED_DATA
