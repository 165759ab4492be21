"""Configuration section ``io``: reading scans."""

from __future__ import annotations

from ildrad.settings_base import Section

__all__ = ["IoSettings"]


class IoSettings(Section):
    """Section ``io`` of the configuration."""
