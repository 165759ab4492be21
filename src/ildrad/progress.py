"""Rich progress bars for long loops (hidden with ``--quiet``)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

from ildrad.log import progress_enabled

__all__ = ["track"]

T = TypeVar("T")


def track(items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
    """Iterate over ``items`` with a progress bar on stderr (done, rate, ETA)."""
    if not progress_enabled():
        yield from items
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=False) as progress:
        task = progress.add_task(description, total=total if total is not None else _len(items))
        for item in items:
            yield item
            progress.advance(task)


def _len(items: Iterable[object]) -> int | None:
    try:
        return len(items)  # type: ignore[arg-type]
    except TypeError:
        return None


class RunProgress:
    """Progress of a batch: done, failed, rate (per hour) and ETA; silent with ``--quiet``."""

    def __init__(self, total: int, unit: str) -> None:
        self.total, self.unit = total, unit
        self.done = self.failed = 0
        self._progress = None
        self._task = None

    def __enter__(self) -> RunProgress:
        if progress_enabled():
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._progress = Progress(
                TextColumn("{task.description}"), BarColumn(),
                TextColumn("{task.fields[done]} done, {task.fields[failed]} failed of {task.total}"),
                TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TimeRemainingColumn(),
                console=Console(stderr=True),
            )
            self._progress.__enter__()
            self._task = self._progress.add_task(self.unit, total=self.total, done=0, failed=0, rate="")
        return self

    def advance(self, succeeded: bool) -> None:
        """Count one finished item."""
        self.done += succeeded
        self.failed += not succeeded
        if self._progress is not None:
            task = self._progress.tasks[0]
            elapsed = task.elapsed or 0.0
            finished = self.done + self.failed
            rate = f"{3600.0 * finished / elapsed:.0f} {self.unit}/h" if elapsed > 0 else ""
            self._progress.update(self._task, advance=1, done=self.done, failed=self.failed, rate=rate)

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.__exit__(*exc)
