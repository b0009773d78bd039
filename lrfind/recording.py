"""`Recording`: the points of one range test as they come in, the stop rule, and the
`LRFinderResult` they make (NumPy only; `LRRangeTest` reads the points from Keras).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from lrfind._defaults import STOP_DESCENT_FRACTION
from lrfind.curve_points import collapse_accumulation, keep_one_point_per_lr
from lrfind.result import LRFinderResult, SmoothedLoss, smooth_losses

PointHook = Callable[[int, float, float, float], None]
"""``on_point(points so far, lr, loss, smoothed loss)``, called after each recorded point."""


class Recording:
    """One run's points: each batch's LR, its own loss and weight, the smoothed loss (the
    bias-corrected moving average with ``beta``), and the validation losses beside them.

    `add` records a point and applies the stop rule; `result` shapes the points into the
    curve (one point per applied update, one per LR) as an `LRFinderResult`.

    >>> recording = Recording(beta=0.0, stop_factor=4.0)
    >>> [recording.add(lr, loss) for lr, loss in [(1e-3, 2.0), (1e-2, 1.0), (1e-1, 9.0)]]
    [False, False, True]
    >>> recording.stop_reason, len(recording)
    ('diverged', 3)
    """

    def __init__(self, beta: float, stop_factor: float | None,
                 on_point: PointHook | None = None) -> None:
        self.beta = beta
        self.stop_factor = stop_factor
        self.on_point = on_point
        self.lrs: list[float] = []
        self.losses: list[float] = []
        self.weights: list[float] = []
        self.smoothed: list[float] = []
        self.ema = SmoothedLoss(beta)
        self.best = math.inf
        self.stop_reason = "completed"
        self.non_finite_lr: float | None = None
        self.val_indices: list[int] = []
        self.val_losses: list[float] = []

    def __len__(self) -> int:
        return len(self.losses)

    def add(self, lr: float, loss: float, weight: float = 1.0) -> bool:
        """Add one point; True when it ends the run (NaN/Inf, or divergence)."""
        if not math.isfinite(loss):
            self.non_finite_lr = lr
            self.stop_reason = "non_finite"
            return True
        smoothed = self.ema.update(loss)
        self.lrs.append(lr)
        self.losses.append(loss)
        self.weights.append(weight)
        self.smoothed.append(smoothed)
        self.best = min(self.best, smoothed)
        if self.on_point is not None:
            self.on_point(len(self.losses), lr, loss, smoothed)
        if self.diverged(smoothed):
            self.stop_reason = "diverged"
            return True
        return False

    def diverged(self, smoothed: float) -> bool:
        """The stop rule: the smoothed loss has risen by ``(stop_factor - 1) * |best|``
        above its best and by `STOP_DESCENT_FRACTION` of its descent so far (a loss that
        fell near zero is not "diverged" by a small rise of its noise floor)."""
        if self.stop_factor is None or len(self.losses) < 2:
            return False
        rise = smoothed - self.best
        descent = self.smoothed[0] - self.best
        return rise > (self.stop_factor - 1.0) * abs(self.best) and (
            rise > STOP_DESCENT_FRACTION * descent
        )

    def add_validation(self, loss: float) -> None:
        """The validation loss, evaluated after the latest point."""
        self.val_indices.append(len(self.losses) - 1)
        self.val_losses.append(loss)

    def result(
        self,
        settings: dict[str, Any],
        *,
        batches_per_update: int = 1,
        validation: dict[str, Any] | None = None,
        notes: dict[str, Any] | None = None,
    ) -> LRFinderResult:
        """The curve as an `LRFinderResult` with ``settings``, to which this adds how the
        points were shaped, then ``validation`` (the subset's settings; None: the run had no
        validation data), the LR of a NaN/Inf loss, and the ``notes``."""
        settings = dict(settings)
        lrs, losses = np.array(self.lrs), np.array(self.losses)
        smoothed = np.array(self.smoothed)
        val_indices = np.array(self.val_indices, dtype=np.int64)
        if batches_per_update > 1:  # one point per applied update: its batches' mean loss
            lrs, losses, val_indices = collapse_accumulation(
                lrs, losses, val_indices, batches_per_update
            )
            smoothed = smooth_losses(losses, self.beta)
            settings.update(gradient_accumulation_steps=batches_per_update, points="updates")
        lrs, losses, val_indices, skipped = keep_one_point_per_lr(lrs, losses, val_indices)
        if skipped:
            smoothed = smooth_losses(losses, self.beta)
            settings["skipped_steps"] = skipped
        if validation is not None:
            settings.update(validation)
        if self.stop_reason == "non_finite" and self.non_finite_lr is not None:
            settings["non_finite_lr"] = self.non_finite_lr
        settings.update(notes or {})
        keep = val_indices < len(losses)
        validated = validation is not None
        return LRFinderResult(
            lrs=lrs,
            losses=losses,
            smoothed_losses=smoothed,
            settings=settings,
            stop_reason=self.stop_reason,
            val_indices=val_indices[keep] if validated else None,
            val_losses=np.array(self.val_losses)[keep] if validated else None,
        )
