"""Model folders (DESIGN.md): ``model.json`` + ``oof.parquet`` (+ ``estimator.joblib``).

``model.json`` holds the kind, target, task, horizon, the ordered feature list, the config hash,
library versions, the folds' digest and a summary of the training cohort. A saved model
refuses data lacking any of its features (:class:`MissingFeaturesError` naming them). The
estimator file is a joblib pickle: load model folders only from sources you trust.
"""

from __future__ import annotations

import hashlib
import json
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ildrad import __version__
from ildrad.errors import InputError

__all__ = [
    "ESTIMATOR_FILE",
    "MODEL_FILE",
    "OOF_FILE",
    "MissingFeaturesError",
    "ModelFolder",
    "folds_digest",
    "library_versions",
    "load_model_folder",
    "require_features",
    "save_model_folder",
]

MODEL_FILE = "model.json"
OOF_FILE = "oof.parquet"
ESTIMATOR_FILE = "estimator.joblib"


class MissingFeaturesError(InputError):
    """Data given to a saved model lack some of the features it was trained on."""


def library_versions() -> dict[str, str]:
    """Versions of ildrad and the libraries whose behaviour a saved model depends on."""
    import sklearn
    import sksurv

    return {
        "ildrad": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "scikit-learn": sklearn.__version__,
        "scikit-survival": sksurv.__version__,
    }


def folds_digest(folds: pd.DataFrame) -> str:
    """A 16-hex-digit digest of a folds table (which split a model's out-of-fold risks came from)."""
    ordered = folds.sort_values(["repeat", "patient_key"])[["patient_key", "repeat", "fold"]]
    return hashlib.sha256(ordered.to_csv(index=False).encode()).hexdigest()[:16]


@dataclass
class ModelFolder:
    """A loaded model folder."""

    path: Path
    info: dict[str, Any]
    oof: pd.DataFrame

    @property
    def name(self) -> str:
        return self.info.get("name") or Path(self.path).name

    def estimator(self) -> Any:
        """The final fitted pipeline (``None`` for models saved without one, e.g. deep models)."""
        path = self.path / ESTIMATOR_FILE
        if not path.is_file():
            return None
        import joblib

        return joblib.load(path)


def save_model_folder(
    out: str | Path, info: dict[str, Any], oof: pd.DataFrame, estimator: Any | None
) -> Path:
    """Write ``model.json``, ``oof.parquet`` and (when given) ``estimator.joblib`` into ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    info = {**info, "versions": library_versions()}
    (out / MODEL_FILE).write_text(json.dumps(info, indent=2, sort_keys=True, default=_json_default))
    oof.to_parquet(out / OOF_FILE, index=False)
    if estimator is not None:
        import joblib

        joblib.dump(estimator, out / ESTIMATOR_FILE)
    return out


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def load_model_folder(path: str | Path) -> ModelFolder:
    """Read a model folder (an :class:`InputError` naming the folder when incomplete)."""
    path = Path(path)
    for name in (MODEL_FILE, OOF_FILE):
        if not (path / name).is_file():
            raise InputError(f"{path}: not a model folder (no {name})")
    try:
        info = json.loads((path / MODEL_FILE).read_text())
    except json.JSONDecodeError as err:
        raise InputError(f"{path / MODEL_FILE}: not valid JSON ({err})") from err
    for key in ("kind", "target", "features"):
        if key not in info:
            raise InputError(f"{path / MODEL_FILE}: lacks '{key}'")
    oof = pd.read_parquet(path / OOF_FILE)
    missing = [
        c
        for c in ("scan_key", "patient_key", "target", "repeat", "fold", "y", "risk")
        if c not in oof.columns
    ]
    if missing:
        raise InputError(f"{path / OOF_FILE}: lacks column(s) {missing}")
    return ModelFolder(path, info, oof)


def require_features(info: dict[str, Any], table: pd.DataFrame, where: str = "the data") -> None:
    """Raise :class:`MissingFeaturesError` when ``table`` lacks any feature of the model."""
    missing = [c for c in info["features"] if c not in table.columns]
    if missing:
        shown = ", ".join(missing[:10]) + (
            f" and {len(missing) - 10} more" if len(missing) > 10 else ""
        )
        raise MissingFeaturesError(
            f"{where} lack {len(missing)} feature(s) of model "
            f"'{info.get('name', info['kind'])}': {shown}"
        )
