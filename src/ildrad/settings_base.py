"""Base class of every configuration section: frozen, typed, unknown keys rejected."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["Section"]


class Section(BaseModel):
    """A configuration section. Unknown keys are errors; values are validated on load."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)
