"""What the ``lrfind`` command shows on stderr while it works: the progress bar, and what
keeps TensorFlow's native start-up noise and Keras's warnings off the terminal (``--debug``
shows them).

Rich is imported when a console is made, not with this module.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

# TensorFlow's start-up lines that say nothing to a user of a CPU machine; they are written
# by C++ straight to file descriptor 2 while TensorFlow loads and first touches a device.
NATIVE_NOISE = re.compile(
    r"absl::InitializeLog|cudart_stub|cuda_platform|cuInit|Unable to register cu(DNN|FFT|BLAS)"
    r"|oneDNN custom operations|TF-TRT Warning|optimized to use available CPU instructions"
    r"|rebuild TensorFlow with the appropriate compiler flags|computation_placer"
)


@contextmanager
def keras_warnings_held_back(*, enabled: bool) -> Iterator[None]:
    """Silence Python warnings (Keras's "Skipping variable loading for optimizer ...") and
    the absl and TensorFlow loggers below ERROR for the block."""
    if not enabled:
        yield
        return
    loggers = [logging.getLogger(name) for name in ("absl", "tensorflow", "keras")]
    levels = [logger.level for logger in loggers]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for logger in loggers:
            logger.setLevel(logging.ERROR)
        try:
            yield
        finally:
            for logger, level in zip(loggers, levels, strict=True):
                logger.setLevel(level)


@contextmanager
def native_noise_held_back(
    err: Console, *, enabled: bool, replay: bool = True
) -> Iterator[Console]:
    """Hold back TensorFlow's native start-up noise on stderr; everything else is shown after
    (unless ``replay`` is False: ``--quiet``).

    Redirects file descriptor 2 to a temporary file for the block, then replays its lines
    that do not match `NATIVE_NOISE`. Yields the console to show progress on meanwhile.
    """
    if not enabled:
        yield err
        return
    from rich.console import Console

    try:
        python_stderr_is_fd2 = sys.stderr.fileno() == 2
    except (AttributeError, OSError, ValueError):  # a replaced sys.stderr (tests, notebooks)
        python_stderr_is_fd2 = False
    sys.stderr.flush()
    try:
        saved_fd = os.dup(2)
    except OSError:  # no stderr at all: nothing to hold back
        yield err
        return
    with tempfile.TemporaryFile() as capture, open(
        os.dup(saved_fd), "w", encoding="utf-8", errors="replace"
    ) as original:
        os.dup2(capture.fileno(), 2)
        try:
            yield Console(file=original, highlight=False) if python_stderr_is_fd2 else err
        finally:
            sys.stderr.flush()
            os.dup2(saved_fd, 2)
            os.close(saved_fd)
            capture.seek(0)
            lines = capture.read().decode("utf-8", errors="replace").splitlines()
            kept = [line for line in lines if line.strip() and not NATIVE_NOISE.search(line)]
            if kept and replay:
                sys.stderr.write("\n".join(kept) + "\n")
                sys.stderr.flush()


class ProgressBar:
    """A Rich progress bar on stderr: batch, LR, smoothed loss, elapsed time and ETA; then,
    when trials run, one line of them (trial, LR, held-out loss).

    Use it as a context manager around the run and pass `on_point` to
    ``LRFinder.find(on_point=...)`` (and `on_trial` to ``LRFinderResult.verify``). Nothing
    is shown until the first point arrives, so a run refused while its data is checked
    prints no bar.

    >>> import io
    >>> from rich.console import Console
    >>> with ProgressBar(Console(file=io.StringIO()), total=10, enabled=True) as bar:
    ...     bar.on_point(1, 1e-5, 2.5, 2.5)
    >>> bar.bar.tasks[0].completed, bar.bar.tasks[0].fields
    (1, {'lr': '1.00e-05', 'loss': '2.5'})
    """

    def __init__(self, err: Console, total: int, *, enabled: bool) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.total = total
        self.enabled = enabled
        self.started = False
        self.bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("lr {task.fields[lr]}"),
            TextColumn("loss {task.fields[loss]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=err,
            disable=not enabled,
        )
        self.task = self.bar.add_task("range test", total=total, lr="-", loss="-")
        self.trials_task: int | None = None
        self._trained: dict[float, int] = {}

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.started:
            self.bar.stop()

    def _start(self) -> None:
        if not self.started:
            self.started = True
            self.bar.start()

    def on_point(self, points: int, lr: float, loss: float, smoothed: float) -> None:
        """Show the range test's latest point (the hook of ``LRFinder.find(on_point=)``)."""
        self._start()
        self.bar.update(self.task, description="range test", completed=min(points, self.total),
                        lr=f"{lr:.2e}", loss=f"{smoothed:.4g}")

    def finish(self, batches: int, stop_reason: str) -> None:
        self._start()
        self.bar.update(self.task, description=f"done ({stop_reason})", completed=batches,
                        total=batches)

    def start_trials(self, budget: int) -> None:
        """Add the trials' line: ``budget`` batches in all."""
        self._start()
        self.trials_task = self.bar.add_task("trials", total=budget, lr="-", loss="-")

    def on_trial(self, rung: int, lr: float, batches: int, loss: float) -> None:
        """Show a finished trial rung (the hook of ``LRFinderResult.verify(on_trial=)``)."""
        if self.trials_task is None:
            return
        advance = batches - self._trained.get(lr, 0)
        self._trained[lr] = batches
        self.bar.update(self.trials_task, advance=advance, lr=f"{lr:.2e}", loss=f"{loss:.4g}",
                        description=f"trials, rung {rung + 1}")

    def finish_trials(self, trained: int) -> None:
        if self.trials_task is not None:
            self.bar.update(self.trials_task, description="trials done", completed=trained,
                            total=trained)
