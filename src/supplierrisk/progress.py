"""Progress of long steps: bars with an ETA on a terminal, plain periodic lines elsewhere, nothing when quiet.

Library code marks a long loop with ``task(name, total)`` and calls the step it
yields after each unit (a fold, a stage). The command line chooses how that is
shown with ``reporting``; without one in force (tests, the service) nothing is.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any, TextIO

Step = Callable[..., None]


class Reporter:
    """Shows nothing (the default, and ``--quiet``)."""

    def begin(self, name: str, total: int | None) -> None:
        """A task starts."""

    def advance(self, name: str, done: int, total: int | None, detail: str) -> None:
        """A task reached ``done`` of ``total`` units; ``detail`` says what comes next."""

    def end(self, name: str, done: int, total: int | None, stopped: bool) -> None:
        """A task ended: done, or ``stopped`` by an error."""

    def close(self) -> None:
        """Nothing more will be shown."""


_current: ContextVar[Reporter | None] = ContextVar("supplierrisk_progress", default=None)
_SILENT = Reporter()


def _eta(started: float, done: int, total: int | None) -> str:
    elapsed = time.monotonic() - started
    if not total or done <= 0:
        return f"{elapsed:.0f} s elapsed"
    left = elapsed / done * (total - done)
    return f"{100 * done / total:.0f}%, {elapsed:.0f} s elapsed, about {left:.0f} s left"


class PlainReporter(Reporter):
    """Lines for logs (cron, CI): at the start, at most every ``interval`` seconds, and at the end."""

    def __init__(self, stream: TextIO, interval: float = 10.0) -> None:
        self.stream = stream
        self.interval = interval
        self._started: dict[str, float] = {}
        self._shown: dict[str, float] = {}

    def _say(self, text: str) -> None:
        self.stream.write(f"progress: {text}\n")
        self.stream.flush()

    def begin(self, name: str, total: int | None) -> None:
        """Say the task and its size."""
        self._started[name] = self._shown[name] = time.monotonic()
        self._say(f"{name}: started" + (f" (0/{total})" if total else ""))

    def advance(self, name: str, done: int, total: int | None, detail: str) -> None:
        """Say where it is, unless it was said less than ``interval`` seconds ago."""
        if time.monotonic() - self._shown.get(name, 0.0) < self.interval:
            return
        self._shown[name] = time.monotonic()
        counted = f"{done}/{total}" if total else str(done)
        self._say(
            f"{name}: {counted} ({_eta(self._started[name], done, total)})" + (f" {detail}" if detail else "")
        )

    def end(self, name: str, done: int, total: int | None, stopped: bool) -> None:
        """Say how long it took (or where it stopped)."""
        elapsed = time.monotonic() - self._started.pop(name, time.monotonic())
        counted = f"{done}/{total}" if total else str(done)
        if stopped:
            self._say(f"{name}: stopped at {counted} after {elapsed:.1f} s")
        else:
            self._say(f"{name}: done {counted} in {elapsed:.1f} s")


class RichReporter(Reporter):
    """rich progress bars with elapsed time and ETA, on stderr.

    The bars are drawn while a task runs and stop with the outermost one, so a
    command's own output after it prints on clean lines.
    """

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._tasks: dict[str, Any] = {}
        self.bars: Any = None

    def _start(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.bars = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[detail]}"),
            console=Console(file=self.stream),
        )
        self.bars.start()

    def begin(self, name: str, total: int | None) -> None:
        """Add a bar (drawing starts with the first)."""
        if not self._tasks:
            self._start()
        self._tasks[name] = self.bars.add_task(name, total=total, detail="")

    def advance(self, name: str, done: int, total: int | None, detail: str) -> None:
        """Move the bar."""
        self.bars.update(self._tasks[name], completed=done, detail=detail)

    def end(self, name: str, done: int, total: int | None, stopped: bool) -> None:
        """Leave the bar where it ended; stop drawing after the outermost task."""
        self.bars.update(self._tasks.pop(name), completed=done, detail="stopped" if stopped else "")
        if not self._tasks:
            self.close()

    def close(self) -> None:
        """Stop drawing."""
        if self.bars is not None:
            self.bars.stop()
            self.bars = None


@contextlib.contextmanager
def task(name: str, total: int | None = None) -> Iterator[Step]:
    """Report a long step: call the yielded ``step(n=1, detail="")`` after each unit."""
    reporter = _current.get() or _SILENT
    done = 0
    reporter.begin(name, total)

    def step(n: int = 1, detail: str = "") -> None:
        nonlocal done
        done += n
        reporter.advance(name, done, total, detail)

    try:
        yield step
    except BaseException:
        reporter.end(name, done, total, stopped=True)
        raise
    reporter.end(name, done, total, stopped=False)


@contextlib.contextmanager
def reporting(
    quiet: bool = False, stream: TextIO | None = None, interval: float = 10.0
) -> Iterator[Reporter]:
    """Show the tasks run inside the block: bars on a terminal, plain lines otherwise, none when ``quiet``.

    Plain lines come at most every ``interval`` seconds per task, besides its start and end.
    """
    out = stream if stream is not None else sys.stderr
    if quiet:
        reporter = Reporter()
    elif out.isatty():
        reporter = RichReporter(out)
    else:
        reporter = PlainReporter(out, interval)
    token = _current.set(reporter)
    try:
        yield reporter
    finally:
        _current.reset(token)
        reporter.close()
