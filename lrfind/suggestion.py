"""What a range-test curve supports: named points, the suggestion, and schedules from it.

`CurvePoint` and `Suggestion` are plain data (JSON round trip included); `lrfind.analysis`
produces them. The schedule factories (`Suggestion.cyclic`, `.one_cycle`, `.decay`) import
Keras only when called, so this module, and a plot of a saved result, need neither Keras
nor SciPy.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from lrfind._defaults import CYCLE_EPOCHS_PER_HALF, MAX_RELIABLE_SPREAD

__all__ = ["POINT_LABELS", "CurvePoint", "Suggestion", "combine"]

POINT_LABELS = {
    "descent_start": "descent starts",
    "steepest": "steepest descent",
    "knee": "knee (90 % down)",
    "minimum": "minimum",
    "smoothed_minimum": "smoothed minimum",
    "divergence": "divergence",
}
"""Display names of the named points, in the order they appear along a curve."""


@dataclass(frozen=True)
class CurvePoint:
    """A named point of the curve.

    Attributes:
        name: "descent_start", "steepest", "knee", "minimum" or "divergence".
        lr: the learning rate there (one of the recorded LRs).
        loss: the smoothed loss there, in the units of the input losses.
        index: index into the input arrays.
        reason: one plain sentence saying what the point is.
    """

    name: str
    lr: float
    loss: float
    index: int
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "lr": self.lr,
            "loss": self.loss if math.isfinite(self.loss) else None,
            "index": self.index,
            "reason": self.reason,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CurvePoint:
        loss = d.get("loss")
        return cls(
            name=str(d["name"]),
            lr=float(d["lr"]),
            loss=math.nan if loss is None else float(loss),
            index=int(d["index"]),
            reason=str(d.get("reason", "")),
        )


@dataclass(frozen=True)
class Suggestion:
    """What a range-test curve supports.

    Attributes:
        lr: the recommended constant learning rate, or None when the curve supports none.
        min_lr: base LR for cyclical schedules: where the loss starts falling (Smith's rule),
            never above ``lr``.
        max_lr: peak LR for cyclical schedules: half a decade below the divergence point
            (or below its stand-in when the ramp never diverged: `lrfind.rule.NO_DIVERGENCE`),
            never below ``lr``.
        reliable: False when there is no number, or the number rests on a weak curve.
        reason: a plain sentence: why this number, or why none.
        points: the named points that were found (see `CurvePoint`).
        basis: what the number rests on: "descent" (the curve's descent and divergence),
            "divergence" (a curve that moved only just before it diverged: the LR is read
            off the divergence alone), "trials" (measured by `LRFinderResult.verify`), or
            "none" (refused).
        interval: with repeated range tests, the (lowest, highest) LR the repeats
            suggested; ``lr`` is their median (in log).

    Always ``min_lr <= lr <= max_lr <= points["divergence"].lr`` when they are set.

    Example:

    >>> import numpy as np
    >>> from lrfind.analysis import suggest
    >>> lrs = np.geomspace(1e-6, 10, 200)
    >>> losses = 1.0 / (1.0 + (lrs / 1e-3) ** 2) + (lrs / 0.3) ** 3
    >>> s = suggest(lrs, losses)
    >>> s.reliable, s.min_lr < s.lr < s.max_lr
    (True, True)
    >>> Suggestion.from_dict(s.to_dict()) == s
    True
    """

    lr: float | None
    min_lr: float | None
    max_lr: float | None
    reliable: bool
    reason: str
    points: dict[str, CurvePoint] = field(default_factory=dict)
    basis: str = "descent"
    interval: tuple[float, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "lr": self.lr,
            "min_lr": self.min_lr,
            "max_lr": self.max_lr,
            "reliable": self.reliable,
            "reason": self.reason,
            "points": {name: point.to_dict() for name, point in self.points.items()},
            "basis": self.basis,
            "interval": None if self.interval is None else list(self.interval),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Suggestion:
        def opt(key: str) -> float | None:
            value = d.get(key)
            return None if value is None else float(value)

        return cls(
            lr=opt("lr"),
            min_lr=opt("min_lr"),
            max_lr=opt("max_lr"),
            reliable=bool(d["reliable"]),
            reason=str(d["reason"]),
            points={k: CurvePoint.from_dict(v) for k, v in d.get("points", {}).items()},
            basis=str(d.get("basis", "descent" if d.get("lr") is not None else "none")),
            interval=None if d.get("interval") is None else (
                float(d["interval"][0]), float(d["interval"][1])),
        )

    @property
    def spread_decades(self) -> float | None:
        """Width of `interval` in decades (None without repeats)."""
        if self.interval is None:
            return None
        return math.log10(self.interval[1] / self.interval[0])

    # Schedules seeded from the suggestion. lrfind.schedules (Keras) is imported only when
    # one is asked for, so this module stays free of Keras.
    def _require(self, *names: str) -> None:
        missing = [name for name in names if getattr(self, name) is None]
        if missing:
            raise ValueError(
                f"this curve supports no {', '.join(missing)} ({self.reason}); "
                "run the range test again (see the reason), or pass the bounds yourself."
            )

    def cyclic(
        self,
        steps_per_epoch: int,
        mode: str = "triangular",
        *,
        epochs_per_half_cycle: float = CYCLE_EPOCHS_PER_HALF,
        gamma: float = 1.0,
    ) -> Any:
        """A `lrfind.CyclicLR` between the bounds: ``base_lr=min_lr``, ``max_lr=max_lr``.

        ``step_size`` is ``epochs_per_half_cycle * steps_per_epoch`` (Smith: 2–8 epochs).

        >>> s = Suggestion(1e-3, 1e-4, 1e-2, True, "example")
        >>> s.cyclic(steps_per_epoch=100).get_config()["step_size"]
        400
        """
        from lrfind.schedules import CyclicLR

        self._require("min_lr", "max_lr")
        if steps_per_epoch <= 0:
            raise ValueError(f"steps_per_epoch must be positive, got {steps_per_epoch}.")
        if epochs_per_half_cycle <= 0:
            raise ValueError(
                f"epochs_per_half_cycle must be positive, got {epochs_per_half_cycle}; Smith "
                "recommends 2-8."
            )
        return CyclicLR(
            base_lr=self.min_lr,
            max_lr=self.max_lr,
            step_size=max(1, round(epochs_per_half_cycle * steps_per_epoch)),
            mode=mode,
            gamma=gamma,
        )

    def one_cycle(self, total_steps: int, **kwargs: Any) -> Any:
        """A `lrfind.OneCycleLR` peaking at ``max_lr`` and starting at ``min_lr``.

        ``div_factor = max_lr / min_lr``; other arguments go to `OneCycleLR`.

        >>> s = Suggestion(1e-3, 1e-4, 1e-2, True, "example")
        >>> round(s.one_cycle(total_steps=1000).get_config()["div_factor"], 6)
        100.0
        """
        from lrfind.schedules import OneCycleLR

        self._require("min_lr", "max_lr")
        kwargs.setdefault("div_factor", self.max_lr / self.min_lr)
        return OneCycleLR(max_lr=self.max_lr, total_steps=total_steps, **kwargs)

    def decay(self, kind: str, **kwargs: Any) -> Any:
        """A decay schedule (`lrfind.decay_schedule`) starting at the suggested LR.

        >>> s = Suggestion(1e-3, 1e-4, 1e-2, True, "example")
        >>> type(s.decay("cosine", total_steps=1000)).__name__
        'CosineDecay'
        """
        from lrfind.schedules import decay_schedule

        self._require("lr")
        return decay_schedule(kind, self.lr, **kwargs)


def combine(suggestions: list[Suggestion],
            pooled: Callable[[], Suggestion | None] | None = None) -> Suggestion:
    """One suggestion from those of repeated range tests: the median (in log) of the LRs
    and of the bounds, the repeats' range as ``interval``, the points of the repeat
    nearest the median. When most repeats refused, ``pooled`` (if given) is asked for the
    suggestion of their mean curve, whose noise is lower by the root of their number; it
    is refused only when that supports none either.

    >>> a, b, c = (Suggestion(lr, lr / 10, lr * 10, True, "r") for lr in (1e-3, 2e-3, 8e-3))
    >>> s = combine([a, b, c])
    >>> s.lr, s.interval, round(s.spread_decades, 2)
    (0.002, (0.001, 0.008), 0.9)
    """
    if len(suggestions) == 1:
        return suggestions[0]
    given = [s for s in suggestions if s.lr is not None]
    if len(given) * 2 <= len(suggestions):
        refused = next(s for s in suggestions if s.lr is None)
        why = (f"{len(suggestions) - len(given)} of {len(suggestions)} repeats support no "
               f"suggestion: {refused.reason}")
        mean_curve = pooled() if pooled is not None else None
        if mean_curve is None or mean_curve.lr is None:
            return Suggestion(None, None, None, False, why, refused.points, basis="none")
        lrs = [s.lr for s in given] + [mean_curve.lr]  # type: ignore[list-item]
        return replace(mean_curve, reason=f"{why} Read off their mean curve instead: "
                       f"{mean_curve.reason}", interval=(min(lrs), max(lrs)))

    def median(values: list[float]) -> float:
        ordered, middle = sorted(values), len(values) // 2
        if len(ordered) % 2:
            return ordered[middle]
        return math.sqrt(ordered[middle - 1] * ordered[middle])

    lr = median([s.lr for s in given])  # type: ignore[misc]
    nearest = min(given, key=lambda s: abs(math.log10(s.lr / lr)))  # type: ignore[operator]
    low = min(s.lr for s in given)  # type: ignore[type-var]
    high = max(s.lr for s in given)  # type: ignore[type-var]
    min_lr = min(median([s.min_lr for s in given if s.min_lr]), lr)
    max_lr = max(median([s.max_lr for s in given if s.max_lr]), lr)
    reliable = sum(s.reliable for s in given) * 2 > len(suggestions)
    spread = math.log10(high / low)
    reason = (f"{lr:.3g}: the median of {len(given)} repeats ({low:.3g} to {high:.3g}, "
              f"{spread:.2f} decades apart). The one nearest the median: {nearest.reason}")
    if spread > MAX_RELIABLE_SPREAD:
        reliable = False
        reason += (f" Unreliable: the repeats disagree by more than {MAX_RELIABLE_SPREAD:g} "
                   "decades; run more repeats or more steps.")
    return Suggestion(lr, min_lr, max_lr, reliable, reason, nearest.points,
                      basis=nearest.basis, interval=(low, high))
