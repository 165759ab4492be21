"""Configuration section ``report``: reports and exports."""

from __future__ import annotations

from ildrad.settings_base import Section

__all__ = ["ReportSettings"]


class ReportSettings(Section):
    """Section ``report`` of the configuration."""
