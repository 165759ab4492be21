"""Training of deep risk models: early stopping, resumable checkpoints, folds of ``folds.parquet``.

One network predicts all requested mortality horizons at once (:mod:`.heads`). Training scans are
split by patient into a fitting part and an inner validation part (``inner_validation_fraction``)
whose loss decides early stopping; the weights of the best validation epoch from ``min_epochs``
on are kept. Optimiser: AdamW, linear warm-up then cosine decay of the learning rate
(:func:`learning_rate`); each epoch passes ``views_per_scan`` augmented views of every training
scan (a randomly drawn 2.5D stack, flips, quarter turns, intensity jitter).

Reproducibility: the weights are initialised from ``torch.manual_seed(seed)``, each epoch's
shuffling and augmentation from a generator seeded with ``(seed, epoch)``, and
``torch.set_num_threads(threads)`` is applied; CPU results are not bitwise identical across
thread counts (summation order), but close (the tests compare AUCs). After every epoch the state
(weights, optimiser, best weights, patience counter, history) is written to a checkpoint, and a
later call with the same checkpoint path resumes from it. On a GPU the forward pass runs under
float16 autocast with a gradient scaler (CPU runs stay float32).
"""

from __future__ import annotations

import copy
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ildrad.errors import InputError
from ildrad.models.deep.heads import CoxHead, HorizonHead, RiskModel, cox_loss, horizon_loss
from ildrad.models.deep.networks import build_backbone
from ildrad.models.settings import DeepSettings

__all__ = [
    "DeepData",
    "FitResult",
    "build_model",
    "embed",
    "fit",
    "inner_split",
    "learning_rate",
    "peak_learning_rate",
    "predict",
]

log = logging.getLogger(__name__)


@dataclass
class DeepData:
    """Inputs and labels of a set of scans (rows aligned)."""

    x: np.ndarray  #: (n, channels, ...) float32
    y: np.ndarray  #: (n, horizons) 0/1, NaN where not assessable
    time: np.ndarray  #: (n,) years of follow-up
    event: np.ndarray  #: (n,) death observed
    patient: np.ndarray  #: (n,) patient keys
    #: (n, views, channels, ...) training views (:func:`~ildrad.models.deep.inputs.lung_views`);
    #: None: ``x`` is the only view
    views: np.ndarray | None = None

    def subset(self, rows: np.ndarray) -> DeepData:
        views = None if self.views is None else self.views[rows]
        return DeepData(self.x[rows], self.y[rows], self.time[rows], self.event[rows], self.patient[rows], views)

    def training_batch(self, rows: np.ndarray, generator: torch.Generator) -> torch.Tensor:
        """Inputs of ``rows`` for one training step: one randomly drawn view per scan."""
        if self.views is None or self.views.shape[1] == 1:
            return torch.as_tensor(self.x[rows])
        pick = torch.randint(0, self.views.shape[1], (len(rows),), generator=generator).numpy()
        return torch.as_tensor(self.views[rows, pick])


@dataclass
class FitResult:
    """Outcome of :func:`fit`."""

    epochs_run: int
    best_epoch: int
    best_loss: float
    finished: bool  #: False when stopped by ``stop_after`` (the checkpoint allows resuming)
    history: list[dict] = field(default_factory=list)


def device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def build_model(settings: DeepSettings, n_horizons: int) -> RiskModel:
    """Backbone + head, weights drawn from ``settings.seed``."""
    torch.manual_seed(settings.seed)
    backbone = build_backbone(settings.arch, settings.dims, settings.norm)
    head_class = CoxHead if settings.head == "cox" else HorizonHead
    return RiskModel(backbone, head_class(backbone.features, n_horizons))


def inner_split(patients: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows (fit, validation) with ``fraction`` of the patients held out for validation."""
    unique = np.unique(patients)
    rng = np.random.default_rng(seed)
    held = set(rng.choice(unique, size=max(1, int(round(fraction * len(unique)))), replace=False).tolist())
    is_val = np.array([p in held for p in patients])
    return np.flatnonzero(~is_val), np.flatnonzero(is_val)


#: Peak AdamW learning rate per architecture when ``settings.learning_rate`` is None. The
#: reference Swin trains at a lower rate than the convolutional networks: on the texture test
#: cohort (64 training scans) it fell to a held-out AUC of 0.54 at 1e-3. The small Swin needs the
#: higher rate: at 3e-4 it memorised the training scans on one seed of four (held-out AUC 0.58),
#: at 1e-3 it reached 1.00 on seeds 0-3.
PEAK_LEARNING_RATES = {"resnet18": 2e-3, "densenet121": 2e-3, "swin": 3e-4,
                       "resnet18_small": 2e-3, "densenet121_small": 2e-3, "swin_small": 1e-3}


def peak_learning_rate(settings: DeepSettings) -> float:
    """``settings.learning_rate``, or the architecture's default of :data:`PEAK_LEARNING_RATES`."""
    return settings.learning_rate or PEAK_LEARNING_RATES[settings.arch]


def learning_rate(settings: DeepSettings, epoch: float) -> float:
    """Learning rate at fractional ``epoch``: linear warm-up over ``warmup_epochs`` to
    ``learning_rate``, then half-cosine decay to 0 at ``epochs`` (Loshchilov & Hutter 2017, SGDR;
    Goyal et al. 2017 for the warm-up). A function of the epoch alone, so resuming needs no state."""
    peak, warm = peak_learning_rate(settings), settings.warmup_epochs
    if epoch < warm:
        return peak * (epoch + 1e-3) / warm
    span = max(settings.epochs - warm, 1e-9)
    return peak * 0.5 * (1.0 + float(np.cos(np.pi * min((epoch - warm) / span, 1.0))))


def _augment(x: torch.Tensor, generator: torch.Generator, quarter_turns: bool) -> torch.Tensor:
    """Per scan: a random left-right flip, optionally a random in-plane quarter turn (the square
    axial plane; lung texture has no preferred orientation) and a +-5 % intensity scaling.
    (In-plane shifts are left out: the networks pool globally, and wrapped shifts slowed learning.)"""
    out = torch.empty_like(x)
    for i in range(x.shape[0]):
        scan = x[i].flip(-1) if torch.rand(1, generator=generator) < 0.5 else x[i]
        if quarter_turns:
            scan = torch.rot90(scan, int(torch.randint(0, 4, (1,), generator=generator)), dims=(-2, -1))
        out[i] = scan * (1.0 + 0.05 * (2 * torch.rand(1, generator=generator) - 1))
    return out


def _loss(model: RiskModel, x: torch.Tensor, data: DeepData, rows: np.ndarray, dev: torch.device) -> torch.Tensor:
    embedding = model.backbone(x)
    if isinstance(model.head, CoxHead):
        t = torch.as_tensor(data.time[rows], dtype=torch.float32, device=dev)
        e = torch.as_tensor(data.event[rows], dtype=torch.bool, device=dev)
        return cox_loss(model.head.score(embedding).float(), t, e)
    y = torch.as_tensor(data.y[rows], dtype=torch.float32, device=dev)
    return horizon_loss(model.head(embedding).float(), y)


def recalibrate_batch_norm(model: torch.nn.Module, x: np.ndarray, batch_size: int) -> None:
    """Re-estimate batch-norm running statistics as plain averages over ``x`` with the current
    weights ("precise BN", Wu & Johnson 2021, arXiv:2105.07576): with a few small batches the
    exponential running averages lag the weights and eval-mode outputs drift from training ones."""
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    dev = device()
    saved = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the batches below
    model.train()
    with torch.no_grad():
        for start in range(0, len(x), batch_size):
            batch = x[start : start + batch_size]
            if len(batch) >= 2:
                model(torch.as_tensor(batch, device=dev))
    for m, momentum in zip(norms, saved):
        m.momentum = momentum
    model.eval()


def _validation_loss(model: RiskModel, data: DeepData, batch_size: int, dev: torch.device) -> float:
    model.eval()
    with torch.no_grad():
        if isinstance(model.head, CoxHead):  # the partial likelihood needs the whole risk set
            x = torch.as_tensor(data.x, device=dev)
            return float(_loss(model, x, data, np.arange(len(data.x)), dev))
        total, count = 0.0, 0
        for start in range(0, len(data.x), batch_size):
            rows = np.arange(start, min(start + batch_size, len(data.x)))
            known = int(np.isfinite(data.y[rows]).sum())
            if known:
                total += float(_loss(model, torch.as_tensor(data.x[rows], device=dev), data, rows, dev)) * known
                count += known
        return total / count if count else float("nan")


def fit(
    model: RiskModel,
    train: DeepData,
    validation: DeepData,
    settings: DeepSettings,
    checkpoint: Path | None = None,
    stop_after: int | None = None,
) -> FitResult:
    """Train ``model`` in place with early stopping on ``validation``; resume from ``checkpoint``.

    ``stop_after`` ends the call after that many epochs of this call (to test resuming); the
    returned result then has ``finished=False``. On a normal end the best weights are loaded.
    """
    dev = device()
    model.to(dev)
    optimiser = torch.optim.AdamW(model.parameters(), lr=peak_learning_rate(settings),
                                  weight_decay=settings.weight_decay)
    amp = dev.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=amp)
    state = {"epoch": 0, "best_loss": float("inf"), "best_epoch": -1, "bad_epochs": 0, "history": [],
             "best_weights": copy.deepcopy(model.state_dict())}
    if checkpoint is not None and checkpoint.is_file():
        saved = torch.load(checkpoint, map_location=dev, weights_only=False)
        model.load_state_dict(saved["weights"])
        optimiser.load_state_dict(saved["optimiser"])
        state = saved["state"]
        log.info("resuming %s at epoch %d", checkpoint.name, state["epoch"])
    n = len(train.x)
    views = settings.views_per_scan if settings.augment else 1
    steps = max(1, -(-n * views // settings.batch_size))
    ran = 0
    while state["epoch"] < settings.epochs and state["bad_epochs"] < settings.patience:
        epoch = state["epoch"]
        generator = torch.Generator().manual_seed(settings.seed * 100_003 + epoch)
        order = torch.cat([torch.randperm(n, generator=generator) for _ in range(views)]).numpy()
        model.train()
        losses = []
        for step, start in enumerate(range(0, n * views, settings.batch_size)):
            rows = order[start : start + settings.batch_size]
            if len(rows) < 2 and n >= 2:  # batch norm needs two samples
                continue
            x = train.training_batch(rows, generator) if settings.augment else torch.as_tensor(train.x[rows])
            if settings.augment:
                x = _augment(x, generator, settings.augment_quarter_turns)
            for group in optimiser.param_groups:
                group["lr"] = learning_rate(settings, epoch + step / steps)
            optimiser.zero_grad(set_to_none=True)
            with torch.autocast(device_type="cuda", dtype=torch.float16, enabled=amp):
                loss = _loss(model, x.to(dev), train, rows, dev)
            scaler.scale(loss).backward()
            scaler.step(optimiser)
            scaler.update()
            losses.append(float(loss.detach()))
        recalibrate_batch_norm(model, train.x, settings.batch_size)
        val = _validation_loss(model, validation, settings.batch_size, dev)
        state["history"].append({"epoch": epoch, "train_loss": float(np.mean(losses)) if losses else float("nan"),
                                 "validation_loss": val})
        if epoch + 1 < min(settings.min_epochs, settings.epochs):
            pass  # too early to judge: a barely trained network can fit a small validation set by chance
        elif val < state["best_loss"] - 1e-6:
            state.update(best_loss=val, best_epoch=epoch, bad_epochs=0, best_weights=copy.deepcopy(model.state_dict()))
        else:
            state["bad_epochs"] += 1
        state["epoch"] = epoch + 1
        ran += 1
        if checkpoint is not None:
            checkpoint.parent.mkdir(parents=True, exist_ok=True)
            tmp = checkpoint.with_suffix(".tmp")
            torch.save({"weights": model.state_dict(), "optimiser": optimiser.state_dict(), "state": state}, tmp)
            tmp.replace(checkpoint)
        if stop_after is not None and ran >= stop_after and state["epoch"] < settings.epochs:
            return FitResult(state["epoch"], state["best_epoch"], state["best_loss"], False, state["history"])
    model.load_state_dict(state["best_weights"])
    return FitResult(state["epoch"], state["best_epoch"], state["best_loss"], True, state["history"])


def predict(model: RiskModel, x: np.ndarray, batch_size: int = 16) -> np.ndarray:
    """Risks (n, horizons) of inputs ``x``."""
    dev = device()
    model.to(dev).eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(x), batch_size):
            out.append(model(torch.as_tensor(x[start : start + batch_size], device=dev)).float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, 0))


def embed(backbone: torch.nn.Module, x: np.ndarray, batch_size: int = 16) -> np.ndarray:
    """Backbone embeddings (n, features) of inputs ``x``."""
    dev = device()
    backbone.to(dev).eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(x), batch_size):
            out.append(backbone(torch.as_tensor(x[start : start + batch_size], device=dev)).float().cpu().numpy())
    return np.concatenate(out)


def horizons_of(targets: list[str]) -> list[float]:
    """Horizons (years) of target names ``mortality_<h>y``, checked to increase."""
    horizons = []
    for name in targets:
        if not (name.startswith("mortality_") and name.endswith("y")):
            raise InputError(f"deep models predict mortality_<years>y targets, not '{name}'")
        try:
            horizons.append(float(name[len("mortality_") : -1]))
        except ValueError as err:
            raise InputError(f"deep target '{name}': the horizon is not a number") from err
    if horizons != sorted(set(horizons)):
        raise InputError(f"deep targets must be distinct horizons in increasing order, got {targets}")
    return horizons


def write_history(path: Path, results: dict[str, FitResult]) -> None:
    path.write_text(json.dumps({k: {"best_epoch": r.best_epoch, "epochs_run": r.epochs_run,
                                    "history": r.history} for k, r in results.items()}, indent=1))


def labels(manifest: pd.DataFrame, targets: list[str]) -> pd.DataFrame:
    """One row per manifest scan: scan_key, patient_key, time, event, then one label column per target."""
    from ildrad.models.targets import mortality_target

    frame = None
    for name, horizon in zip(targets, horizons_of(targets)):
        target = mortality_target(manifest, horizon)
        if frame is None:
            frame = target.frame[["scan_key", "patient_key", "time", "event"]].copy()
        frame[name] = target.frame["y"].to_numpy()
    return frame
