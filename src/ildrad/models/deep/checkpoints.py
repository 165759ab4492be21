"""Loading local weight files into a network, with a report of what matched.

Accepted files (``torch.load``, CPU, never fetched): a plain ``state_dict``; a dict holding it
under ``state_dict``, ``model``, ``weights`` or ``net`` (MONAI bundles, ildrad checkpoints,
MedicalNet); keys prefixed by ``module.`` (DataParallel, MedicalNet) or by ``backbone.`` /
``body.`` (ildrad's own :class:`~ildrad.models.deep.heads.RiskModel` and pretraining files).
Each network parameter is *matched* (same name after prefix removal, same shape: loaded),
*mismatched* (same name, other shape: left as initialised) or *missing* (absent from the
file); file entries the network lacks are *unexpected*.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from ildrad.errors import InputError

__all__ = ["LoadReport", "load_weights", "read_state_dict"]

log = logging.getLogger(__name__)

_CONTAINER_KEYS = ("state_dict", "model", "weights", "net", "model_state_dict")
_PREFIXES = ("module.", "backbone.", "body.")


@dataclass
class LoadReport:
    """What :func:`load_weights` did, parameter names of the network."""

    matched: list[str] = field(default_factory=list)
    mismatched: list[tuple[str, tuple[int, ...], tuple[int, ...]]] = field(default_factory=list)  #: name, file, net
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = [f"matched {len(self.matched)}, mismatched {len(self.mismatched)}, "
                 f"missing {len(self.missing)}, unexpected {len(self.unexpected)}"]
        lines += [f"  mismatched {n}: file {a} vs network {b}" for n, a, b in self.mismatched[:20]]
        lines += [f"  missing {n}" for n in self.missing[:20]]
        return "\n".join(lines)


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """The tensors of a weight file (see the module docstring for the accepted layouts)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such weight file")
    try:
        data = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:  # noqa: BLE001 - any unreadable file is a bad input
        raise InputError(f"{path}: not a torch weight file ({err})") from err
    while isinstance(data, dict):
        inner = next((data[k] for k in _CONTAINER_KEYS if k in data and isinstance(data[k], dict)), None)
        if inner is None:
            break
        data = inner
    if isinstance(data, nn.Module):
        data = data.state_dict()
    if not isinstance(data, dict) or not any(isinstance(v, torch.Tensor) for v in data.values()):
        raise InputError(f"{path}: holds no state dict of tensors")
    return {k: v for k, v in data.items() if isinstance(v, torch.Tensor)}


def _strip(name: str) -> str:
    changed = True
    while changed:
        changed = False
        for prefix in _PREFIXES:
            if name.startswith(prefix):
                name, changed = name[len(prefix):], True
    return name


def load_weights(network: nn.Module, path: str | Path) -> LoadReport:
    """Load the matching tensors of ``path`` into ``network`` (a backbone); return the report.

    Raises :class:`InputError` when nothing matches (the file is for another network).
    """
    source = {_strip(k): v for k, v in read_state_dict(path).items()}
    own = network.state_dict()
    wanted = {_strip(k): k for k in own}
    report = LoadReport()
    update = {}
    for short, full in wanted.items():
        if short not in source:
            report.missing.append(full)
        elif tuple(source[short].shape) != tuple(own[full].shape):
            report.mismatched.append((full, tuple(source[short].shape), tuple(own[full].shape)))
        else:
            update[full] = source[short]
            report.matched.append(full)
    report.unexpected = sorted(set(source) - set(wanted))
    if not report.matched:
        raise InputError(f"{path}: no tensor matches the network by name and shape\n{report.summary()}")
    network.load_state_dict(update, strict=False)
    log.info("loaded %s: %s", Path(path).name, report.summary())
    return report
