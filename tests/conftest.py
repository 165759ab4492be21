"""Shared fixtures: the reference data beside the project, temporary folders, seeds."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
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


#: Environment variables that set the thread count of numba, OpenMP and the BLAS libraries.
THREAD_VARIABLES = ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


@pytest.fixture
def outputs_by_thread_count() -> Callable[..., list[str]]:
    """``run(script, counts=("1", "2"))``: the standard output of ``python -c script`` run once
    with every thread count of ``counts`` (all thread variables set), for determinism tests."""

    def run(script: str, counts: tuple[str, ...] = ("1", "2")) -> list[str]:
        outputs = []
        for threads in counts:
            env = {**os.environ, **dict.fromkeys(THREAD_VARIABLES, threads)}
            done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                                  text=True, check=True)
            outputs.append(done.stdout)
        return outputs

    return run
