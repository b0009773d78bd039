"""Read a range-test curve: named points, a suggested learning rate, and when to refuse.

Pure NumPy/SciPy (no Keras, no TensorFlow), so any recorded curve can be analysed, also one
loaded from JSON. Input is the raw curve: ``lrs`` (positive, strictly increasing) and each
batch's own ``losses`` (a NaN/Inf ends the usable curve: the run diverged there).

How a curve is read (all in log10(lr), never against linear LR):

1. Normalise the losses by their range: ``z = (loss - median) / (max - min)``. Every later
   threshold is relative (a fraction of the descent, or a multiple of the batch-to-batch
   noise), so scaling or shifting the losses does not change the answer.
2. Divergence, on a short running median: the first LR where the loss has risen above its
   running minimum by half of the descent so far (or above its starting level by half its
   range, for a curve that never fell), or where it turned NaN/Inf.
3. Smooth the curve before the divergence: a running median over 5 batches (removes
   single-batch spikes), then a quadratic Savitzky-Golay filter one decade wide; the slope
   d loss / d log10(lr) comes from the same filter. Curves not evenly spaced in log(lr)
   (a linear ramp) are resampled onto an even log grid first.
4. Named points on the smoothed curve, with ``depth`` = starting level - lowest level:
   ``descent_start`` (the loss is a tenth of the way down, for the last time before the
   minimum), ``steepest`` (most negative slope), ``knee`` (nine tenths of the way down),
   ``minimum``, ``divergence``.
5. Suggest or refuse (`suggest`).

The suggestion rule was chosen with ``benchmarks/rule_search.py`` (brute-force grid search
on fifteen small Keras tasks, five finder seeds each) among steepest-slope, minimum/k,
divergence/k, level-crossing ("knee") rules, capped and combined forms, on regret against
the grid's best validation loss, on the same with each task left out of the calibration,
and on the spread over finder seeds; then checked on tasks added after it was frozen
(``benchmarks/README.md`` has the numbers):

    lr = sqrt(knee * (batches_per_decade / 72.7) * divergence) / 10**0.375

The knee tracks where training starts to work, the divergence where it stops being stable;
the best constant LR sat a factor 2.4 below their geometric mean on SGD and adaptive
optimizers alike, where either point alone was off by up to a decade in opposite directions
for the two kinds. Both are level crossings pinned by averages (the starting and lowest
loss), so they move far less between runs than the argmin of a noisy slope (steepest) or of
a flat valley (minimum). A ramp with more batches per decade trains more at each LR, so its
loss falls at smaller LRs: the knee is scaled to the density the rule was calibrated at
(800 batches from 1e-10 to 10); divergence hardly moves with the density.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.ndimage import median_filter
from scipy.signal import savgol_coeffs, savgol_filter

__all__ = [
    "POINT_LABELS",
    "CurvePoint",
    "Suggestion",
    "descent_start_point",
    "divergence_point",
    "knee_point",
    "loss_gradient",
    "minimum_point",
    "smooth_curve",
    "steepest_point",
    "suggest",
]

POINT_LABELS = {
    "descent_start": "descent starts",
    "steepest": "steepest descent",
    "knee": "knee (90 % down)",
    "minimum": "minimum",
    "divergence": "divergence",
}
"""Display names of the named points, in the order they appear along a curve."""
MIN_POINTS = 12
"""Fewer finite points than this cannot be read: the suggestion is refused."""
MIN_DESCENT_BATCHES = 3
"""A descent (start to minimum) over fewer batches than this is flagged unreliable."""
WINDOW_DECADES = 1.0
"""Width of the Savitzky-Golay window, in decades of learning rate."""
MIN_WINDOW = 7
"""The smoothing window never has fewer points than this (nor more than the curve)."""
POLYORDER = 2
SPIKE_WINDOW = 5
"""Running-median width (points) applied before the Savitzky-Golay filter."""
DIVERGENCE_WINDOW = 7
"""Running-median width (points) of the divergence test: short, as an explosion is brief."""
DIVERGENCE_RISE = 0.5
"""Diverged once the loss rises above its running minimum by this fraction of the descent."""
DESCENT_START_FRACTION = 0.1
"""``descent_start``: the loss is this fraction of the way down."""
KNEE_FRACTION = 0.9
"""``knee``: the loss is this fraction of the way down."""
DESCENT_NOISE = 5.0
"""A descent counts only when deeper than this many noise SDs of the smoothed loss."""
RELIABLE_NOISE = 10.0
"""A descent shallower than this many noise SDs gives a suggestion flagged unreliable."""
RISE_NOISE = 4.0
"""A rise counts as divergence only when larger than this many noise SDs of the running median."""
REFERENCE_BATCHES_PER_DECADE = 800 / 11
"""Ramp density the rule is calibrated at: 800 batches from 1e-10 to 10."""
MAX_DENSITY_FACTOR = 10.0
"""The knee's density correction is clipped to [1/10, 10]."""
BELOW_MEAN_DECADES = 0.375
"""The suggestion sits this many decades below the geometric mean of knee and divergence."""
MAX_LR_BELOW_DIVERGENCE_DECADES = 0.5
"""``max_lr`` sits this many decades below the divergence point."""


# ------------------------------------------------------------------------ result types
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
            (or the last LR tried when the ramp never diverged), never below ``lr``.
        reliable: False when there is no number, or the number rests on a weak curve.
        reason: a plain sentence: why this number, or why none.
        points: the named points that were found (see `CurvePoint`).

    Always ``min_lr <= lr <= max_lr <= points["divergence"].lr`` when they are set.

    Example:

    >>> import numpy as np
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

    def to_dict(self) -> dict[str, Any]:
        return {
            "lr": self.lr,
            "min_lr": self.min_lr,
            "max_lr": self.max_lr,
            "reliable": self.reliable,
            "reason": self.reason,
            "points": {name: point.to_dict() for name, point in self.points.items()},
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
        )

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
        epochs_per_half_cycle: float = 4,
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


# ---------------------------------------------------------------------- input checks
def _check_inputs(lrs: Any, losses: Any) -> tuple[np.ndarray, np.ndarray]:
    lrs = np.asarray(lrs, dtype=np.float64)
    losses = np.asarray(losses, dtype=np.float64)
    if lrs.ndim != 1 or losses.ndim != 1:
        raise ValueError(
            f"lrs and losses must be 1-D arrays, got shapes {lrs.shape} and {losses.shape}; "
            "pass one value per batch."
        )
    if len(lrs) != len(losses):
        raise ValueError(
            f"lrs and losses must have the same length, got {len(lrs)} and {len(losses)}."
        )
    if len(lrs) and not (np.all(np.isfinite(lrs)) and np.all(lrs > 0)):
        raise ValueError("lrs must be finite and > 0: learning rates are read on a log scale.")
    if np.any(np.diff(lrs) <= 0):
        raise ValueError(
            "lrs must be strictly increasing (one LR per batch of an upward ramp); "
            "sort the curve by LR and drop repeated LRs."
        )
    return lrs, losses


def _finite_prefix(losses: np.ndarray) -> int:
    """Number of leading finite losses: a NaN/Inf means the run diverged there."""
    bad = np.flatnonzero(~np.isfinite(losses))
    return int(bad[0]) if len(bad) else len(losses)


def _normalise(losses: np.ndarray) -> tuple[np.ndarray, float, float]:
    """(z, ref, scale) with ``losses = ref + scale * z``; |z| <= 1, scale 0 for a flat curve.

    Order statistics only, so scaling the losses by a power of two or shifting them by an
    exactly representable amount gives bit-identical ``z``.
    """
    ordered = np.sort(losses)
    ref, low, high = ordered[len(ordered) // 2], ordered[0], ordered[-1]
    scale = high - low
    if scale == 0:
        return np.zeros_like(losses), float(ref), 0.0
    if not math.isfinite(scale):  # |losses| near the float64 limit: divide first
        big = max(abs(low), abs(high))
        z = (losses / big - ref / big) / (high / big - low / big)
        return z, float(ref), float(scale)
    return (losses - ref) / scale, float(ref), float(scale)


# ------------------------------------------------------------------------- smoothing
@dataclass(frozen=True)
class _Curve:
    """The finite prefix of a curve on an even log10(lr) grid, normalised, plus its noise."""

    log_lrs: np.ndarray  # input log10(lr) of the finite prefix
    grid: np.ndarray  # the even log10(lr) grid the work is done on (log_lrs when even)
    z: np.ndarray  # normalised raw losses on the grid
    step: float  # grid spacing in decades
    window: int  # Savitzky-Golay window in points
    noise: float  # SD of one batch's loss around the trend, in z units


def _window(n: int, points_per_decade: float, window_decades: float) -> int:
    window = max(MIN_WINDOW, round(window_decades * points_per_decade))
    window = min(window, n if n % 2 else n - 1)
    return window if window % 2 else window - 1


def _even_curve(log_lrs: np.ndarray, z: np.ndarray, window_decades: float) -> _Curve:
    n = len(log_lrs)
    steps = np.diff(log_lrs)
    even = n < 3 or np.ptp(steps) <= 1e-3 * float(np.mean(steps))
    grid = log_lrs if even else np.linspace(log_lrs[0], log_lrs[-1], n)
    values = z if even else np.interp(grid, log_lrs, z)
    step = (grid[-1] - grid[0]) / (n - 1) if n > 1 else 1.0
    window = _window(n, 1.0 / step, window_decades)
    # batch-to-batch noise: robust SD of first differences (a slow trend barely moves it)
    diffs = np.diff(values)
    noise = 1.4826 * float(np.median(np.abs(diffs - np.median(diffs)))) / math.sqrt(2.0)
    return _Curve(log_lrs, grid, values, step, window, noise)


def _savgol(curve: _Curve, end: int | None, deriv: int = 0) -> np.ndarray:
    """Despiked and Savitzky-Golay-smoothed z (or its slope) over grid points ``[0, end)``
    (the whole curve when ``end`` is None)."""
    end = len(curve.z) if end is None else end
    values = curve.z[:end]
    window = min(curve.window, end if end % 2 else end - 1)
    if window <= POLYORDER:
        return np.full(end, float(np.median(values))) if deriv == 0 else np.zeros(end)
    despiked = median_filter(values, size=min(SPIKE_WINDOW, window), mode="nearest")
    return savgol_filter(despiked, window, POLYORDER, deriv=deriv, delta=curve.step, mode="interp")


def _smoothed_noise(curve: _Curve) -> float:
    """SD of the noise left in the smoothed curve (white-noise approximation)."""
    return curve.noise * float(np.linalg.norm(savgol_coeffs(curve.window, POLYORDER)))


def _to_input_index(curve: _Curve, grid_index: int) -> int:
    """Index into the input arrays of the recorded LR nearest a grid point."""
    if curve.grid is curve.log_lrs:
        return int(grid_index)
    return int(np.argmin(np.abs(curve.log_lrs - curve.grid[grid_index])))


def _on_inputs(curve: _Curve, values: np.ndarray, fill: float) -> np.ndarray:
    """Grid values (possibly fewer than the grid) at the input LRs; ``fill`` beyond them."""
    grid = curve.grid[: len(values)]
    out = np.interp(curve.log_lrs, grid, values)
    out[curve.log_lrs > grid[-1] + 1e-12] = fill
    return out


def smooth_curve(
    lrs: Any, losses: Any, *, window_decades: float = WINDOW_DECADES
) -> np.ndarray:
    """The smoothed loss at each recorded LR, in the units of ``losses``.

    Running median over 5 batches, then a quadratic Savitzky-Golay filter about
    ``window_decades`` wide, in log10(lr). Smoothing stops at the divergence point (so the
    explosion does not leak backwards): later points, and points after a NaN/Inf loss, are
    NaN. A curve that diverges from the start is smoothed whole.

    >>> lrs = np.geomspace(1e-4, 1, 50)
    >>> np.allclose(smooth_curve(lrs, 3.0 - np.log10(lrs)), 3.0 - np.log10(lrs))
    True
    """
    reading = _read(lrs, losses, window_decades)
    out = np.full(reading.n_input, np.nan)
    if reading.curve is None:
        if reading.n_finite and reading.scale == 0:
            out[: reading.n_finite] = reading.ref
        return out
    smooth = reading.smooth if reading.smooth is not None else _savgol(reading.curve, None)
    smooth = _on_inputs(reading.curve, smooth, np.nan)
    out[: reading.n_finite] = reading.ref + reading.scale * smooth
    return out


def loss_gradient(
    lrs: Any, losses: Any, *, window_decades: float = WINDOW_DECADES
) -> np.ndarray:
    """d(smoothed loss) / d log10(lr) at each recorded LR (NaN where `smooth_curve` is).

    >>> lrs = np.geomspace(1e-4, 1, 50)
    >>> np.allclose(loss_gradient(lrs, 3.0 - 2.0 * np.log10(lrs)), -2.0)
    True
    """
    reading = _read(lrs, losses, window_decades)
    out = np.full(reading.n_input, np.nan)
    if reading.curve is None:
        if reading.n_finite and reading.scale == 0:
            out[: reading.n_finite] = 0.0
        return out
    slope = reading.slope if reading.slope is not None else _savgol(reading.curve, None, deriv=1)
    out[: reading.n_finite] = reading.scale * _on_inputs(reading.curve, slope, np.nan)
    return out


# ------------------------------------------------------------------------ the reading
@dataclass
class _Reading:
    """Everything found on one curve (indices are on the even grid)."""

    n_input: int
    n_finite: int
    ref: float = math.nan
    scale: float = 0.0
    curve: _Curve | None = None
    smooth: np.ndarray | None = None  # smoothed z up to the divergence
    slope: np.ndarray | None = None
    start_level: float = math.nan
    divergence: int | None = None  # grid index; n_finite when a NaN/Inf ended the curve
    minimum: int | None = None
    steepest: int | None = None
    knee: int | None = None
    descent_start: int | None = None
    depth: float = 0.0
    problem: str | None = None  # why no suggestion at all
    points: dict[str, CurvePoint] = field(default_factory=dict)


def _find_divergence(curve: _Curve, start: float) -> int | None:
    """First grid index where the loss has clearly diverged, on a short running median.

    After a real descent (a quarter of the curve's whole descent, and beyond the noise): the
    loss has risen above its running minimum by half of the descent so far. Before one: it
    has risen above its starting level by half of its whole range (it goes up from the start).
    """
    rough = median_filter(curve.z, size=min(DIVERGENCE_WINDOW, curve.window), mode="nearest")
    running_min = np.minimum.accumulate(rough)
    drop = start - running_min
    rise = rough - running_min
    rough_noise = 1.2533 * curve.noise / math.sqrt(DIVERGENCE_WINDOW)  # SD of a running median
    whole_descent = start - float(running_min[-1])
    descended = drop > max(whole_descent / 4, DESCENT_NOISE * rough_noise)
    after_descent = descended & (rise > DIVERGENCE_RISE * drop) & (rise > RISE_NOISE * rough_noise)
    at_once = ~descended & (rough - start > DIVERGENCE_RISE * float(np.ptp(rough)))
    hits = np.flatnonzero(after_descent | at_once)
    return int(hits[0]) if len(hits) else None


def _read(lrs: Any, losses: Any, window_decades: float = WINDOW_DECADES) -> _Reading:
    lrs, losses = _check_inputs(lrs, losses)
    n = _finite_prefix(losses)
    reading = _Reading(len(losses), n)
    if n < MIN_POINTS:
        where = (
            f"the loss turned non-finite after {n} points"
            if n < len(losses)
            else f"the curve has only {n} points"
        )
        reading.problem = (
            f"Too short to read: {where}; a curve needs at least {MIN_POINTS} "
            "(run more steps, or start the ramp at a lower LR)."
        )
        return reading
    z, reading.ref, reading.scale = _normalise(losses[:n])
    if reading.scale == 0:
        reading.problem = "The loss is constant: the model did not respond to any LR tried."
        return reading
    curve = _even_curve(np.log10(lrs[:n]), z, window_decades)
    reading.curve = curve
    start = float(np.median(curve.z[: curve.window]))
    reading.start_level = start

    div = _find_divergence(curve, start)
    end = n if div is None else div
    reading.divergence = div if div is not None else (n if n < len(losses) else None)
    if end < MIN_WINDOW:
        reading.problem = (
            "The loss rose from the very first batches: the ramp starts above any LR "
            "that trains; start it lower."
        )
        return reading
    smooth = _savgol(curve, end)
    reading.smooth, reading.slope = smooth, _savgol(curve, end, deriv=1)
    i_min = int(np.argmin(smooth))
    depth = start - float(smooth[i_min])
    reading.minimum, reading.depth = i_min, depth
    # the running median cannot ring below a kink as a polynomial fit can
    median_depth = start - float(np.min(median_filter(curve.z[:end], curve.window, mode="nearest")))
    if not (depth > DESCENT_NOISE * _smoothed_noise(curve) and median_depth > 0):
        if min(depth, median_depth) <= 0:
            reading.problem = "The loss never falls below its starting level at any LR tried."
        elif reading.divergence is not None and end < n // 2:
            reading.problem = (
                "The loss never fell clearly before it diverged: the ramp starts too high "
                "or the model cannot train at any LR tried."
            )
        else:
            reading.problem = (
                "No clear descent: the loss falls by less than its batch-to-batch noise "
                "allows to tell (a flat or pure-noise curve); try more steps or a larger batch."
            )
        reading.points = {}
        return reading

    # the descent: from the last time the loss was near its starting level to the minimum
    near_start = np.flatnonzero(smooth[:i_min] >= start - DESCENT_START_FRACTION * depth)
    first = int(near_start[-1]) + 1 if len(near_start) else 0
    reading.descent_start = first
    i_steep = first + int(np.argmin(reading.slope[first : i_min + 1]))
    reading.steepest = i_steep if reading.slope[i_steep] < 0 else None
    reading.knee = _way_down(reading, KNEE_FRACTION)
    _name_points(reading, lrs)
    return reading


def _way_down(reading: _Reading, fraction: float) -> int:
    """First grid index where the smoothed loss is ``fraction`` of the way down."""
    assert reading.smooth is not None and reading.minimum is not None
    level = reading.start_level - fraction * reading.depth
    down = np.flatnonzero(reading.smooth[: reading.minimum + 1] <= level)
    return int(down[0]) if len(down) else reading.minimum


def _point(
    reading: _Reading, lrs: np.ndarray, name: str, grid_index: int, reason: str
) -> CurvePoint:
    curve, smooth = reading.curve, reading.smooth
    assert curve is not None and smooth is not None
    index = _to_input_index(curve, grid_index)
    loss = reading.ref + reading.scale * float(smooth[min(grid_index, len(smooth) - 1)])
    return CurvePoint(name, float(lrs[index]), loss, index, reason)


def _knee_reason(fraction: float) -> str:
    return f"The smoothed loss has come {fraction:.0%} of the way down here."


def _name_points(reading: _Reading, lrs: np.ndarray) -> None:
    found = {
        "descent_start": (
            reading.descent_start,
            "The smoothed loss first falls clearly below its starting level here.",
        ),
        "steepest": (reading.steepest, "The smoothed loss falls fastest against log(lr) here."),
        "knee": (reading.knee, _knee_reason(KNEE_FRACTION)),
        "minimum": (reading.minimum, "The smoothed loss is lowest here, before divergence."),
    }
    for name, (grid_index, reason) in found.items():
        if grid_index is not None:
            reading.points[name] = _point(reading, lrs, name, grid_index, reason)
    div = reading.divergence
    if div is None:
        return
    if div >= reading.n_finite:  # the recorded loss turned NaN/Inf
        assert reading.smooth is not None
        index = reading.n_finite
        last_loss = reading.ref + reading.scale * float(reading.smooth[-1])
        reading.points["divergence"] = CurvePoint(
            "divergence", float(lrs[index]), last_loss, index,
            "The loss turned NaN or infinite at this LR.",
        )
    else:
        reading.points["divergence"] = _point(
            reading, lrs, "divergence", div,
            "The loss has risen clearly above its minimum here: training diverges.",
        )


# --------------------------------------------------------------------- named points
def steepest_point(
    lrs: Any, losses: Any, *, window_decades: float = WINDOW_DECADES
) -> CurvePoint | None:
    """Where the smoothed loss falls fastest against log10(lr), before its minimum.

    None when the curve has no clear descent.
    """
    return _read(lrs, losses, window_decades).points.get("steepest")


def minimum_point(
    lrs: Any, losses: Any, *, window_decades: float = WINDOW_DECADES
) -> CurvePoint | None:
    """The lowest smoothed loss before divergence (None without a clear descent)."""
    return _read(lrs, losses, window_decades).points.get("minimum")


def divergence_point(
    lrs: Any, losses: Any, *, window_decades: float = WINDOW_DECADES
) -> CurvePoint | None:
    """The first LR where the loss has clearly risen above its running minimum (by half the
    descent so far and beyond the noise) or turned NaN/Inf; None if it never did."""
    return _read(lrs, losses, window_decades).points.get("divergence")


def knee_point(
    lrs: Any,
    losses: Any,
    *,
    fraction: float = KNEE_FRACTION,
    window_decades: float = WINDOW_DECADES,
) -> CurvePoint | None:
    """The first LR where the smoothed loss has come ``fraction`` of the way down from its
    starting level to its minimum (None without a clear descent).

    >>> lrs = np.geomspace(1e-6, 1.0, 601)
    >>> losses = np.clip(-0.5 * np.log10(lrs) - 1.0, 0.0, 1.0)  # 1 -> 0 from 1e-2 to 1e-4
    >>> round(float(np.log10(knee_point(lrs, losses, fraction=0.5).lr)), 1)
    -3.0
    """
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}; 0.9 is lrfind's knee.")
    reading = _read(lrs, losses, window_decades)
    if reading.problem is not None or reading.smooth is None or reading.minimum is None:
        return None
    if fraction == KNEE_FRACTION:
        return reading.points.get("knee")
    lrs = np.asarray(lrs, dtype=np.float64)
    return _point(reading, lrs, "knee", _way_down(reading, fraction), _knee_reason(fraction))


def descent_start_point(
    lrs: Any, losses: Any, *, window_decades: float = WINDOW_DECADES
) -> CurvePoint | None:
    """Where the smoothed loss first falls a tenth of the descent below its starting level."""
    return _read(lrs, losses, window_decades).points.get("descent_start")


# ------------------------------------------------------------------------ suggestion
def _refusal(reason: str, points: dict[str, CurvePoint]) -> Suggestion:
    return Suggestion(None, None, None, False, reason, points)


def _batches_per_decade(curve: _Curve, grid_index: int) -> float:
    """Recorded points per decade of LR around a grid point (constant for an exponential ramp)."""
    near = np.abs(curve.log_lrs - curve.grid[grid_index]) <= 0.5
    steps = np.diff(curve.log_lrs[near])
    return 1.0 / float(np.median(steps)) if len(steps) else 1.0


def suggest(lrs: Any, losses: Any, *, window_decades: float = WINDOW_DECADES) -> Suggestion:
    """Suggest a constant learning rate, and cyclical bounds, from a range-test curve.

    ``lr = sqrt(knee * density_factor * divergence) / 10**0.375``, within the recorded LRs:
    the geometric mean of the knee (the LR where the smoothed loss has come 90 % of the way
    down, scaled to a ramp of 800 batches over 1e-10..10) and the divergence point (the last
    LR tried when the loss never diverged), divided by 2.4. The module docstring says why;
    ``benchmarks/README.md`` has the measurements. ``min_lr`` is where the descent starts
    (Smith's base_lr), ``max_lr`` half a decade below divergence; always
    ``min_lr <= lr <= max_lr <= divergence``.

    Refuses (``lr=None``, with the reason) when the curve is too short, constant, never
    falls, falls less than its noise allows to tell (flat or pure noise) or rises from the
    start. Flags ``reliable=False`` when the descent is weak against the noise, when the
    loss was still falling at the end of the ramp, or when it diverged right at the start.

    >>> lrs = np.geomspace(1e-10, 10, 800)
    >>> x = np.log10(lrs / 1e-3)
    >>> losses = 0.3 + 2.0 / (1.0 + np.exp(3.0 * (x + 0.5))) + 0.3 * np.exp(4.0 * (x - 0.7))
    >>> s = suggest(lrs, losses)
    >>> round(s.lr, 5), s.reliable, s.min_lr < s.lr < s.max_lr
    (0.00139, True, True)
    >>> suggest(lrs, np.ones(800)).reason
    'The loss is constant: the model did not respond to any LR tried.'
    """
    reading = _read(lrs, losses, window_decades)
    points = reading.points
    if reading.problem is not None:
        return _refusal(reading.problem, points)
    curve, smooth = reading.curve, reading.smooth
    assert curve is not None and smooth is not None and reading.knee is not None
    lrs = np.asarray(lrs, dtype=np.float64)
    knee = points["knee"]
    divergence = points.get("divergence")
    top = divergence.lr if divergence is not None else float(lrs[-1])
    density = _batches_per_decade(curve, reading.knee)
    factor = float(np.clip(
        density / REFERENCE_BATCHES_PER_DECADE, 1 / MAX_DENSITY_FACTOR, MAX_DENSITY_FACTOR
    ))
    mean = math.sqrt(knee.lr * factor * top)
    max_lr = top / 10**MAX_LR_BELOW_DIVERGENCE_DECADES
    lr = float(np.clip(mean / 10**BELOW_MEAN_DECADES, lrs[0], min(top, lrs[-1])))
    max_lr = float(np.clip(max_lr, lr, top))
    start = points.get("descent_start")
    min_lr = min(start.lr, lr) if start is not None else lr

    reliable = True
    reason = (
        f"{lr:.3g}: 2.4x below the geometric mean of where the loss has come "
        f"{KNEE_FRACTION:.0%} of the way down ({knee.lr:.3g}"
        + ("" if abs(factor - 1) < 0.05 else f", x{factor:.2g} for a ramp of {density:.0f} "
           "batches per decade")
        + ") and "
        + (f"where it diverges ({top:.3g})." if divergence else f"the end of the ramp ({top:.3g}).")
    )
    if reading.depth < RELIABLE_NOISE * _smoothed_noise(curve):
        reliable = False
        reason += " Unreliable: the descent is weak against the batch-to-batch noise."
    if divergence is None and reading.minimum >= len(smooth) - curve.window // 2:
        reliable = False
        reason += " Unreliable: the loss was still falling at the end of the ramp; raise end_lr."
    descent_batches = points["minimum"].index - start.index if start is not None else 0
    if descent_batches < MIN_DESCENT_BATCHES:
        reliable = False
        reason += (
            f" Unreliable: the descent spans only {descent_batches} batches, too coarse to "
            "place an LR; run more steps or a narrower range."
        )
    if not math.isclose(lr, mean / 10**BELOW_MEAN_DECADES, rel_tol=1e-9):
        reliable = False
        reason += " Unreliable: the rule points outside the LRs tried; widen the ramp."
    return Suggestion(lr, min_lr, max_lr, reliable, reason, points)
