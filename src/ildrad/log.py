"""Logging set-up for the command line (library modules only create module loggers)."""

from __future__ import annotations

import logging

__all__ = ["configure_logging", "disable_progress", "progress_enabled"]

_state = {"progress": True}


def configure_logging(verbose: bool = False, quiet: bool = False) -> None:
    """Send ``ildrad`` log records to stderr through Rich; ``quiet`` also hides progress bars."""
    from rich.console import Console
    from rich.logging import RichHandler

    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    logger = logging.getLogger("ildrad")
    logger.handlers.clear()
    handler = RichHandler(console=Console(stderr=True), show_path=verbose, rich_tracebacks=verbose)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    _state["progress"] = not quiet


def progress_enabled() -> bool:
    """False when the user asked for ``--quiet``."""
    return _state["progress"]


def disable_progress() -> None:
    """No progress bars in this process (cohort workers: the client shows the run's progress)."""
    _state["progress"] = False
