"""Configuration sections ``models`` (radiomics/clinical/survival models) and ``deep`` (CNNs)."""

from __future__ import annotations

from ildrad.settings_base import Section

__all__ = ["DeepSettings", "ModelsSettings"]


class ModelsSettings(Section):
    """Section ``models`` of the configuration."""


class DeepSettings(Section):
    """Section ``deep`` of the configuration."""
