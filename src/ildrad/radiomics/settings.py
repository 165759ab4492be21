"""Configuration section ``radiomics``: IBSI radiomics."""

from __future__ import annotations

from ildrad.settings_base import Section

__all__ = ["RadiomicsSettings"]


class RadiomicsSettings(Section):
    """Section ``radiomics`` of the configuration."""
