"""Configuration section ``segment``: lung segmentation, zones and quantitative CT."""

from __future__ import annotations

from ildrad.settings_base import Section

__all__ = ["SegmentSettings"]


class SegmentSettings(Section):
    """Section ``segment`` of the configuration."""
