"""Configuration section ``run``: cohort runs (workers, scheduler, store)."""

from __future__ import annotations

from ildrad.settings_base import Section

__all__ = ["RunSettings"]


class RunSettings(Section):
    """Section ``run`` of the configuration."""
