"""Tiny synthetic cohorts for the deep-model tests (inputs built from phantoms, cached by pytest)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from deep_cases import disease_cohort_arrays, texture_cohort_arrays

from ildrad.models.deep.inputs import lung_input
from ildrad.models.deep.training import DeepData, build_model, fit, inner_split
from ildrad.models.settings import DeepSettings
from ildrad.synth.phantom import PhantomSpec, make_chest_ct

CACHE_VERSION = "deep-v5"


def _cached(request, name: str, build):
    folder = request.config.cache.mkdir(f"{CACHE_VERSION}-{name}")
    path = folder / "data.npz"
    if path.is_file():
        return dict(np.load(path))
    data = build()
    np.savez(path, **data)
    return data


@pytest.fixture(scope="session")
def texture_cohort(request) -> dict[str, np.ndarray]:
    """:func:`deep_cases.texture_cohort_arrays`: 96 scans, honeycombing (1) vs ground glass (0) at equal
    mean density."""
    return _cached(request, "texture", texture_cohort_arrays)


N_DISEASE_TRAIN = 64  #: disease scans 0-63 train (51 fit + 13 inner validation), 64-79 are held out


@pytest.fixture(scope="session")
def disease_cohort(request) -> dict[str, np.ndarray]:
    """:func:`deep_cases.disease_cohort_arrays`: 80 scans, honeycombing (1) vs disease-free lungs (0)."""
    return _cached(request, "disease", disease_cohort_arrays)


@pytest.fixture(scope="session")
def disease_models(disease_cohort):
    """``get(arch)``: the network of ``arch`` trained at the configuration defaults on the first
    :data:`N_DISEASE_TRAIN` scans of the disease cohort (once per session)."""
    return _models_per_arch(disease_cohort, N_DISEASE_TRAIN)


@pytest.fixture(scope="session")
def extent_cohort(request) -> dict[str, np.ndarray]:
    """24 scans with ILD extents spread over 0-0.5 (default pattern mix), 2.5D inputs and truth."""

    def build():
        settings = DeepSettings(dims="2.5d")
        extents = np.linspace(0.0, 0.5, 24)
        xs, truth = [], []
        for i, extent in enumerate(extents):
            scan = make_chest_ct(PhantomSpec(size="tiny", ild_extent=float(extent)), seed=300 + i)
            xs.append(lung_input(scan.ct.array, scan.truth["lungs"].array, scan.ct.grid.spacing, settings))
            truth.append(scan.numbers["ild_extent"])
        return {"x": np.stack(xs), "extent": np.array(truth)}

    return _cached(request, "extent", build)


#: Texture scans 0-63 train (51 fit + 13 inner validation), 64-95 are held out. With 16 fitting
#: scans the small Swin stayed near chance on most seeds (held-out AUC 0.44-0.75 over seeds 0-3);
#: transformers need more data than convolutional networks.
N_TRAIN = 64


def cohort_data(cohort, rows) -> DeepData:
    y = cohort["y"][rows]
    return DeepData(cohort["x"][rows], y[:, None], np.full(len(rows), 2.0), y.astype(bool),
                    np.array([f"p{i}" for i in rows]), cohort["views"][rows])


def train_on_first(cohort, n_train: int, settings: DeepSettings):
    """A model fitted on the first ``n_train`` scans of ``cohort`` (inner validation for early stopping)."""
    train = cohort_data(cohort, np.arange(n_train))
    fit_rows, val_rows = inner_split(train.patient, 0.2, 0)
    model = build_model(settings, 1)
    fit(model, train.subset(fit_rows), train.subset(val_rows), settings)
    return model


@pytest.fixture(scope="session")
def texture_models(texture_cohort):
    """``get(arch)``: the network of ``arch`` trained at the configuration defaults on the first
    :data:`N_TRAIN` texture scans (once per session)."""
    return _models_per_arch(texture_cohort, N_TRAIN)


def _models_per_arch(cohort, n_train: int):
    """``get(arch)``: :func:`train_on_first` at the defaults of ``arch``, one thread, memoised."""
    trained = {}

    def get(arch: str):
        if arch not in trained:
            torch.set_num_threads(1)
            trained[arch] = train_on_first(cohort, n_train, DeepSettings(arch=arch, dims="2.5d"))
        return trained[arch]

    return get
