"""Configuration section ``pet``: SUV conversion and PET metrics."""

from __future__ import annotations

from ildrad.settings_base import Section

__all__ = ["PetSettings"]


class PetSettings(Section):
    """Section ``pet`` of the configuration."""
