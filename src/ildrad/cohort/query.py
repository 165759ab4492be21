"""SQL over a workspace with DuckDB: views ``scans``, ``features`` and ``failures``.

``scans`` is the manifest; ``features`` one row per finished scan of the latest result set (keys,
features, flags, provenance); ``failures`` the failed scans with their stage and error.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ildrad.cohort.manifest import read_manifest
from ildrad.cohort.store import load_failures, load_features
from ildrad.errors import InputError

__all__ = ["query_workspace"]


def query_workspace(workspace: str | Path, sql: str, result_set: str | None = None) -> pd.DataFrame:
    """Run ``sql`` against the workspace's views and return the result."""
    import duckdb

    workspace = Path(workspace)
    connection = duckdb.connect()
    try:
        scans = read_manifest(workspace)
        features = load_features(workspace, result_set)
        failures = load_failures(workspace, result_set)
        connection.register("scans", scans)
        connection.register("features", features)
        connection.register("failures", failures)
        try:
            return connection.execute(sql).df()
        except duckdb.Error as err:
            raise InputError(f"query failed: {err}") from err
    finally:
        connection.close()
