"""Read a range-test curve: named points, a suggested learning rate, and when to refuse.

Pure NumPy/SciPy (no Keras, no TensorFlow), so any recorded curve can be analysed, also one
loaded from JSON. Input is the raw curve: ``lrs`` (positive, strictly increasing) and each
batch's own ``losses`` (a NaN/Inf ends the usable curve: the run diverged there).

How a curve is read (in log10(lr), on losses normalised by their range, so scaling or
shifting the losses changes nothing), grounded in the curve's own noise:

1. The *level* of the loss is its running median over `LEVEL_DECADES` of LR; the *noise*
   is the robust local scale of the batches around it, and the level's own scatter that
   noise over the root of the window (inflated for correlated batches).
2. The *start* is the level over the first `START_DECADES`. The loss has *measurably
   fallen* where the level stays below the start by more than `DESCENT_Z` times the noise,
   sustained over `SUSTAIN_DECADES`; a fall that is not sustained, or sits in the starting
   noise, is no descent.
3. *Divergence* is a sustained rise of the level above its running minimum, by more than
   `RISE_Z` times the noise and `RISE_FRACTION` of the descent so far (for a curve that
   never fell: where it first rises above its start by more than that noise); or a NaN/Inf
   loss; or, when nothing else is found, the point where the run stopped as diverged.
   Growing scatter alone moves the median little, so it is not divergence.
4. Named points on the level before the divergence: ``descent_start`` (a tenth of the way
   down), ``steepest`` (fastest fall against log10(lr), on a Savitzky-Golay smoothing),
   ``knee`` (nine tenths of the way down), ``minimum``, ``divergence``; and, on the raw
   batches, ``smoothed_minimum``: where their bias-corrected moving average (the smoothing
   a range test records, and fastai's) is lowest. That average lags the loss by about 50
   batches, so its minimum sits later than the level's, nearer the divergence.
5. Suggest or refuse (`suggest`): the rule and the way it was chosen are in its docstring.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lrfind.result import smooth_losses
from lrfind.smoothing import (
    EvenCurve,
    check_inputs,
    even_curve,
    finite_prefix,
    normalise,
    on_inputs,
    rolling_scale,
    running_median,
    smooth,
    sustained,
    to_input_index,
)
from lrfind.suggestion import POINT_LABELS, CurvePoint, Suggestion

__all__ = [
    "POINT_LABELS",
    "CurvePoint",
    "CurveReading",
    "Suggestion",
    "descent_start_point",
    "divergence_point",
    "knee_point",
    "loss_gradient",
    "minimum_point",
    "pool_curves",
    "read_curve",
    "smooth_curve",
    "steepest_point",
    "suggest",
]

MIN_POINTS = 12
"""Fewer finite points than this cannot be read: the suggestion is refused."""
LEVEL_DECADES, MIN_LEVEL_POINTS = 0.15, 9
"""The level: a running median over this much LR (and at least this many batches)."""
NOISE_DECADES, MIN_NOISE_POINTS = 0.5, 15
"""The noise: robust scale of the batches around the level, over this window."""
CORRELATION = 2.0
"""Neighbouring batches share their samples' quirks (the same samples come round each
epoch): the level's scatter is taken as this many times the independent-batch value."""
START_DECADES = 0.5
"""The starting level: the level over the first half decade (at most a quarter of it)."""
SMOOTH_DECADES = 0.5
"""Savitzky-Golay window of the smoothed curve and its slope (for plots and `steepest`)."""
SUSTAIN_DECADES, MIN_SUSTAIN_POINTS = 0.1, 3
"""A fall or a rise counts when it holds over this much LR (or to the end of the run)."""
DESCENT_Z = 5.0
"""The loss has measurably fallen when its level is this many noise units below the start."""
RISE_Z = 5.0
"""A rise is divergence only when this many noise units above the running minimum..."""
RISE_FRACTION = 0.5
"""... and above it by this fraction of the descent so far."""
RISE_AGAINST_LOCAL_NOISE = False
"""Whether a rise is measured against the local scatter of the level and of its running
minimum (True) or against the noise of a difference from the start (False)."""
ONSET_Z = 1.0
"""A curve that never fell and then rose diverges where the rise set off: the last point
before it where the level was within this many noise units of the start."""
DESCENT_START_FRACTION = 0.1
"""``descent_start``: the loss is this fraction of the way down."""
KNEE_FRACTION = 0.9
"""``knee``: the loss is this fraction of the way down."""
SMOOTHED_BETA = 0.98
"""``smoothed_minimum``: the moving average's factor (lrfind's recorded smoothing, fastai's)."""
SMOOTHED_SKIP_FRACTION, SMOOTHED_SKIP_END = 0.1, 5
"""``smoothed_minimum`` is looked for past this fraction of the finite batches and before
the last few, the window fastai's ``lr_find`` reads (its average starts on the first
batches alone)."""

# ----------------------------------------------------------------------- the reading
@dataclass
class CurveReading:
    """Everything `read_curve` found on one curve; `suggest` and the point functions take it.

    Reading a curve is the costly part; read it once and pass the reading on, e.g.
    ``suggest(read_curve(lrs, losses))``. ``points`` holds the named points found,
    ``problem`` why the curve supports no suggestion (None when it does). Grid indices and
    levels are on the even log10(lr) grid, in normalised units.
    """

    lrs: np.ndarray
    n_input: int
    n_finite: int
    ref: float = math.nan
    scale: float = 0.0
    curve: EvenCurve | None = None
    level: np.ndarray | None = None
    noise: np.ndarray | None = None  # scatter of the level (one standard deviation)
    local_noise: np.ndarray | None = None  # the same without the start's own scatter
    start_level: float = math.nan
    smooth: np.ndarray | None = None  # smoothed level up to the divergence
    slope: np.ndarray | None = None
    divergence: int | None = None  # grid index; n_finite when a NaN/Inf ended the curve
    divergence_kind: str | None = None  # "rise", "non_finite" or "stopped"
    measurable: bool = False
    first_fall: int | None = None  # where the loss first fell measurably
    descent_start: int | None = None
    steepest: int | None = None
    knee: int | None = None
    minimum: int | None = None
    smoothed_minimum: int | None = None  # an input index (the raw batches), not a grid one
    smoothed_minimum_loss: float = math.nan  # the moving average there, in the loss's units
    depth: float = 0.0
    depth_z: float = 0.0  # depth in noise units
    problem: str | None = None
    points: dict[str, CurvePoint] = field(default_factory=dict)

    def lr_at(self, grid_index: int) -> float:
        """The LR of a grid point (the end of the curve for the NaN/Inf index)."""
        assert self.curve is not None
        if grid_index >= self.n_finite:
            return float(self.lrs[min(grid_index, len(self.lrs) - 1)])
        return float(10 ** self.curve.grid[grid_index])


def read_curve(
    lrs: Any, losses: Any = None, *, stopped: bool = False
) -> CurveReading:
    """Read a range-test curve once: its level, noise, named points and any problem.

    ``stopped`` says the run ended because its loss diverged (``stop_reason ==
    "diverged"``): when the reading finds no divergence itself, it is placed there.

    >>> lrs = np.geomspace(1e-6, 1.0, 300)
    >>> losses = 1.0 / (1.0 + (lrs / 1e-3) ** 2) + (lrs / 0.1) ** 3
    >>> reading = read_curve(lrs, losses)
    >>> reading.problem is None, sorted(reading.points)
    (True, ['descent_start', 'divergence', 'knee', 'minimum', 'smoothed_minimum', 'steepest'])
    >>> suggest(reading) == suggest(lrs, losses)
    True
    """
    if isinstance(lrs, CurveReading):
        return lrs
    lrs, losses = check_inputs(lrs, losses)
    n = finite_prefix(losses)
    reading = CurveReading(lrs, len(losses), n)
    if n < MIN_POINTS:
        where = (f"the loss turned non-finite after {n} points" if n < len(losses)
                 else f"the curve has only {n} points")
        reading.problem = (f"Too short to read: {where}; a curve needs at least {MIN_POINTS} "
                           "(run more steps, or start the ramp at a lower LR).")
        return reading
    z, reading.ref, reading.scale = normalise(losses[:n])
    if reading.scale == 0:
        reading.problem = "The loss is constant: the model did not respond to any LR tried."
        return reading
    curve = reading.curve = even_curve(np.log10(lrs[:n]), z)
    _level_and_noise(reading, curve)
    _divergence(reading, curve, non_finite=n < len(losses), stopped=stopped)
    _descent(reading, curve)
    _smoothed_minimum(reading, losses[:n])
    _name_points(reading)
    return reading


def _smoothed_minimum(reading: CurveReading, losses: np.ndarray) -> None:
    """Where the bias-corrected moving average of the finite ``losses`` is lowest, in
    `SMOOTHED_SKIP_FRACTION`'s window (none when the window is too short to read)."""
    n = len(losses)
    first, end = int(SMOOTHED_SKIP_FRACTION * n), n - SMOOTHED_SKIP_END
    if end - first < MIN_LEVEL_POINTS:
        return
    average = smooth_losses(losses, SMOOTHED_BETA)
    index = first + int(np.argmin(average[first:end]))
    reading.smoothed_minimum, reading.smoothed_minimum_loss = index, float(average[index])


def _level_and_noise(reading: CurveReading, curve: EvenCurve) -> None:
    k_level = curve.points(LEVEL_DECADES, MIN_LEVEL_POINTS)
    level = running_median(curve.z, k_level)
    k_start = max(MIN_LEVEL_POINTS, min(round(START_DECADES * curve.points_per_decade),
                                        len(level) // 4))
    reading.level, reading.start_level = level, float(np.median(level[:k_start]))
    reading._k_start, reading._k_level = k_start, k_level  # type: ignore[attr-defined]
    reading.noise = _noise(reading, curve, len(level))


def _noise(reading: CurveReading, curve: EvenCurve, end: int) -> np.ndarray:
    """The scatter of a difference between the level and the start, over ``[0, end)``."""
    level, k_level = reading.level, reading._k_level  # type: ignore[attr-defined]
    assert level is not None
    k_start = reading._k_start  # type: ignore[attr-defined]
    scatter = rolling_scale(curve.z[:end] - level[:end],
                            curve.points(NOISE_DECADES, MIN_NOISE_POINTS, end))
    scatter = np.maximum(scatter, 1e-9 + 1e-3 * float(np.median(scatter)))
    noise = CORRELATION * 1.2533 * scatter / math.sqrt(k_level)  # SD of a running median
    if end == len(level):
        reading.local_noise = noise
    start_noise = max(float(np.median(noise[:k_start])), 1.4826 * float(
        np.median(np.abs(level[:k_start] - reading.start_level))))
    return np.hypot(noise, start_noise)


def _span(curve: EvenCurve) -> int:
    return max(MIN_SUSTAIN_POINTS, round(SUSTAIN_DECADES * curve.points_per_decade))


def _fallen(reading: CurveReading, curve: EvenCurve) -> np.ndarray:
    """Where the level has measurably (and lastingly) fallen below the start."""
    assert reading.level is not None and reading.noise is not None
    below = reading.level < reading.start_level - DESCENT_Z * reading.noise
    # the start window is what the fall is measured against: a dip inside it is noise
    below[: reading._k_start] = False  # type: ignore[attr-defined]
    return sustained(below, _span(curve))


def _for_minima(reading: CurveReading) -> np.ndarray:
    """The level as minima are taken on it: never below the start inside the start window.
    A dip there is noise, not a descent (`_fallen` ignores it too): one outlying first
    batch, which the running median's held edge repeats over half its window, would
    otherwise be the minimum that every later level is measured against."""
    assert reading.level is not None
    k_start = reading._k_start  # type: ignore[attr-defined]
    floored = reading.level.copy()
    floored[:k_start] = np.maximum(floored[:k_start], reading.start_level)
    return floored


def _divergence(reading: CurveReading, curve: EvenCurve, *, non_finite: bool,
                stopped: bool) -> None:
    level, noise, start = reading.level, reading.noise, reading.start_level
    assert level is not None and noise is not None
    floored = _for_minima(reading)
    running_min = np.minimum.accumulate(floored)
    drop = np.maximum(start - running_min, 0.0)
    descended = np.maximum.accumulate(_fallen(reading, curve))
    rise = level - running_min
    if RISE_AGAINST_LOCAL_NOISE:  # the level and its running minimum, each with its own
        local = reading.local_noise  # scatter; the start's plays no part in a rise
        rise_noise = np.hypot(local, local[_running_argmin(floored)])
    else:
        rise_noise = noise
    after = descended & (rise > np.maximum(RISE_Z * rise_noise, RISE_FRACTION * drop))
    at_once = ~descended & (level - start > RISE_Z * noise)
    hits = np.flatnonzero(sustained(after | at_once, _span(curve)))
    hits = hits[hits >= min(reading._k_start, len(level) - 1)]  # type: ignore[attr-defined]
    if len(hits):
        first = int(hits[0])
        if not descended[first]:  # never fell: back to where the rise set off
            calm = np.flatnonzero(level[:first] - start <= ONSET_Z * noise[:first])
            first = int(calm[-1]) + 1 if len(calm) else first
        reading.divergence, reading.divergence_kind = first, "rise"
    elif non_finite:
        reading.divergence, reading.divergence_kind = reading.n_finite, "non_finite"
    elif stopped:
        reading.divergence, reading.divergence_kind = len(level) - 1, "stopped"


def _running_argmin(values: np.ndarray) -> np.ndarray:
    """Index of the minimum of ``values[: i + 1]`` for each ``i`` (the first, on ties)."""
    running = np.minimum.accumulate(values)
    is_new = np.r_[True, values[1:] < running[:-1]]
    return np.maximum.accumulate(np.where(is_new, np.arange(len(values)), 0))


def _descent(reading: CurveReading, curve: EvenCurve) -> None:
    level, noise, start = reading.level, reading.noise, reading.start_level
    assert level is not None and noise is not None
    end = len(level) if reading.divergence is None else min(reading.divergence, len(level))
    if end < MIN_LEVEL_POINTS:
        reading.problem = ("The loss rose from the very first batches: the ramp starts above "
                           "any LR that trains; start it lower.")
        return
    if end < len(level):  # the descent's noise, without the explosion's scatter
        noise = reading.noise = np.concatenate([_noise(reading, curve, end), noise[end:]])
    i_min = int(np.argmin(_for_minima(reading)[:end]))
    reading.minimum = i_min
    reading.depth = start - float(level[i_min])
    reading.depth_z = reading.depth / float(noise[i_min])
    fallen = np.flatnonzero(_fallen(reading, curve)[:end])
    reading.measurable = bool(len(fallen)) and reading.depth > 0
    # smoothed up to the divergence, so that the explosion does not leak back into the
    # descent; a curve without a descent is smoothed whole (for its plot)
    upto = end if reading.measurable else len(level)
    k_smooth = curve.points(SMOOTH_DECADES, 7, upto)
    reading.smooth = smooth(level[:upto], k_smooth, curve.step)
    reading.slope = smooth(level[:upto], k_smooth, curve.step, deriv=1)
    if not reading.measurable:
        if reading.divergence is not None and _rising_before(reading, curve, end):
            reading.problem = ("The loss rose from the very first batches: the ramp starts "
                               "above any LR that trains; start it lower.")
        elif reading.divergence is None:
            reading.problem = (
                "No clear descent: the loss never falls below its starting level by more "
                "than its batch-to-batch noise allows to tell, and never diverges (a flat or "
                "pure-noise curve); try more steps, a larger batch or a wider LR range."
            )
        return
    reading.first_fall = int(fallen[0])
    near = np.flatnonzero(level[:i_min] >= start - DESCENT_START_FRACTION * reading.depth)
    reading.descent_start = int(near[-1]) + 1 if len(near) else 0
    reading.knee = way_down(reading, KNEE_FRACTION)
    first = min(reading.descent_start, i_min)
    steepest = first + int(np.argmin(reading.slope[first : i_min + 1]))
    reading.steepest = steepest if reading.slope[steepest] < 0 else None


def _rising_before(reading: CurveReading, curve: EvenCurve, end: int) -> bool:
    """Whether the level was already rising, beyond its noise, over the first half of the
    curve before the divergence: a curve that rises from the first batch, not one that is
    flat (or falls a little) and blows up later, whose late rise a fit over the whole span
    would mistake for a rise from the start."""
    assert reading.level is not None and reading.noise is not None
    if end < MIN_LEVEL_POINTS:
        return True
    half = max(MIN_LEVEL_POINTS, end // 2)
    slope = np.polyfit(curve.grid[:half], reading.level[:half], 1)[0]
    rise = slope * (curve.grid[half - 1] - curve.grid[0])
    return bool(rise > RISE_Z * float(np.median(reading.noise[:half])))


def way_down(reading: CurveReading, fraction: float) -> int:
    """First grid index where the level has come ``fraction`` of the way down."""
    assert reading.level is not None and reading.minimum is not None
    target = reading.start_level - fraction * reading.depth
    down = np.flatnonzero(reading.level[: reading.minimum + 1] <= target)
    return int(down[0]) if len(down) else reading.minimum


_REASONS = {
    "descent_start": "The loss first falls clearly below its starting level here.",
    "steepest": "The smoothed loss falls fastest against log(lr) here.",
    "knee": f"The loss has come {KNEE_FRACTION:.0%} of the way down here.",
    "minimum": "The loss is lowest here, before divergence.",
    "smoothed_minimum": "The smoothed loss (its bias-corrected moving average, which lags "
                        "the batches) is lowest here.",
    "rise": "The loss has risen clearly (and lastingly) above its minimum here: training "
            "diverges.",
    "non_finite": "The loss turned NaN or infinite at this LR.",
    "stopped": "The run stopped here: its smoothed loss had risen far above its best.",
}


def _point(reading: CurveReading, name: str, grid_index: int, reason: str) -> CurvePoint:
    assert reading.curve is not None and reading.level is not None
    index = to_input_index(reading.curve, min(grid_index, len(reading.level) - 1))
    level = float(reading.level[min(grid_index, len(reading.level) - 1)])
    return CurvePoint(name, float(reading.lrs[index]), reading.ref + reading.scale * level,
                      index, reason)


def _name_points(reading: CurveReading) -> None:
    if reading.measurable:
        for name in ("descent_start", "steepest", "knee", "minimum"):
            grid_index = getattr(reading, name)
            if grid_index is not None:
                reading.points[name] = _point(reading, name, grid_index, _REASONS[name])
    if reading.measurable and reading.smoothed_minimum is not None:
        index = reading.smoothed_minimum
        reading.points["smoothed_minimum"] = CurvePoint(
            "smoothed_minimum", float(reading.lrs[index]), reading.smoothed_minimum_loss,
            index, _REASONS["smoothed_minimum"])
    if reading.divergence is None or reading.level is None:
        return
    reason = _REASONS[reading.divergence_kind or "rise"]
    if reading.divergence >= reading.n_finite:  # the recorded loss turned NaN/Inf
        index = reading.n_finite
        loss = reading.ref + reading.scale * float(reading.level[-1])
        reading.points["divergence"] = CurvePoint("divergence", float(reading.lrs[index]),
                                                  loss, index, reason)
    else:
        reading.points["divergence"] = _point(reading, "divergence", reading.divergence, reason)


# -------------------------------------------------------------- smoothing, for plots
def smooth_curve(lrs: Any, losses: Any = None) -> np.ndarray:
    """The smoothed loss at each recorded LR, in the units of ``losses``.

    The level (a running median over `LEVEL_DECADES`), Savitzky-Golay smoothed over
    `SMOOTH_DECADES`, up to the divergence point (so the explosion does not leak back);
    later points, and points after a NaN/Inf loss, are NaN. A curve that diverges at once
    is smoothed whole.

    >>> lrs = np.geomspace(1e-4, 1, 50)
    >>> np.allclose(smooth_curve(lrs, 3.0 - np.log10(lrs)), 3.0 - np.log10(lrs))
    True
    """
    reading = read_curve(lrs, losses)
    out = np.full(reading.n_input, np.nan)
    if reading.curve is None or reading.level is None:
        if reading.n_finite and reading.scale == 0:
            out[: reading.n_finite] = reading.ref
        return out
    values = reading.smooth if reading.smooth is not None else smooth(
        reading.level, reading.curve.points(SMOOTH_DECADES, 7), reading.curve.step)
    out[: reading.n_finite] = reading.ref + reading.scale * on_inputs(reading.curve, values,
                                                                      np.nan)
    return out


def loss_gradient(lrs: Any, losses: Any = None) -> np.ndarray:
    """d(smoothed loss) / d log10(lr) at each recorded LR (NaN where `smooth_curve` is).

    >>> lrs = np.geomspace(1e-4, 1, 50)
    >>> np.allclose(loss_gradient(lrs, 3.0 - 2.0 * np.log10(lrs)), -2.0)
    True
    """
    reading = read_curve(lrs, losses)
    out = np.full(reading.n_input, np.nan)
    if reading.curve is None or reading.level is None:
        if reading.n_finite and reading.scale == 0:
            out[: reading.n_finite] = 0.0
        return out
    slope = reading.slope if reading.slope is not None else smooth(
        reading.level, reading.curve.points(SMOOTH_DECADES, 7), reading.curve.step, deriv=1)
    out[: reading.n_finite] = reading.scale * on_inputs(reading.curve, slope, np.nan)
    return out


# --------------------------------------------------------------------- named points
def steepest_point(lrs: Any, losses: Any = None) -> CurvePoint | None:
    """Where the smoothed loss falls fastest against log10(lr), before its minimum (None
    without a measurable descent)."""
    return read_curve(lrs, losses).points.get("steepest")


def minimum_point(lrs: Any, losses: Any = None) -> CurvePoint | None:
    """The lowest level of the loss before divergence (None without a measurable descent)."""
    return read_curve(lrs, losses).points.get("minimum")


def divergence_point(lrs: Any, losses: Any = None) -> CurvePoint | None:
    """Where the loss has lastingly risen above its running minimum (beyond the noise and by
    half the descent so far) or turned NaN/Inf; None if it never did."""
    return read_curve(lrs, losses).points.get("divergence")


def descent_start_point(lrs: Any, losses: Any = None) -> CurvePoint | None:
    """Where the loss first falls a tenth of the descent below its starting level."""
    return read_curve(lrs, losses).points.get("descent_start")


def knee_point(lrs: Any, losses: Any = None, *, fraction: float = KNEE_FRACTION
               ) -> CurvePoint | None:
    """The first LR where the loss has come ``fraction`` of the way down from its starting
    level to its minimum (None without a measurable descent).

    >>> lrs = np.geomspace(1e-6, 1.0, 601)
    >>> losses = np.clip(-0.5 * np.log10(lrs) - 1.0, 0.0, 1.0)  # 1 -> 0 from 1e-2 to 1e-4
    >>> round(float(np.log10(knee_point(lrs, losses, fraction=0.5).lr)), 1)
    -3.0
    """
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}; 0.9 is lrfind's knee.")
    reading = read_curve(lrs, losses)
    if not reading.measurable or reading.minimum is None:
        return None
    if fraction == KNEE_FRACTION:
        return reading.points.get("knee")
    return _point(reading, "knee", way_down(reading, fraction),
                  f"The loss has come {fraction:.0%} of the way down here.")


# ------------------------------------------------------------------------ suggestion
def suggest(lrs: Any, losses: Any = None, *, optimizer: str | None = None,
            momentum: float | None = None, stopped: bool = False) -> Suggestion:
    """Suggest a constant learning rate, and cyclical bounds, from a range-test curve.

    ``optimizer`` is the optimizer's class name (``"Adam"``, ``"SGD"``...) and ``momentum``
    its momentum (a run's result passes both): the rule places the best LR differently for
    plain SGD, SGD with momentum and adaptive optimizers (`lrfind.rule`). ``stopped``: the
    run ended because the loss diverged.

    >>> lrs = np.geomspace(1e-10, 10, 800)
    >>> x = np.log10(lrs / 1e-3)
    >>> losses = 0.3 + 2.0 / (1.0 + np.exp(3.0 * (x + 0.5))) + 0.3 * np.exp(4.0 * (x - 0.7))
    >>> s = suggest(lrs, losses, optimizer="Adam")
    >>> s.reliable, s.basis, s.min_lr < s.lr < s.max_lr
    (True, 'descent', True)
    >>> suggest(lrs, np.ones(800)).reason
    'The loss is constant: the model did not respond to any LR tried.'
    """
    from lrfind.rule import apply_rule

    return apply_rule(read_curve(lrs, losses, stopped=stopped), optimizer, momentum=momentum)


def pool_curves(curves: list[tuple[Any, Any, bool]]
                ) -> tuple[np.ndarray, np.ndarray, bool] | None:
    """The mean curve of repeated range tests over the same ramp: ``(lrs, losses,
    stopped)`` with each step's loss averaged over the repeats, up to the shortest of them
    (whose end, a divergence or a NaN/Inf, ends the mean curve too); None when the ramps'
    learning rates differ. Its batch-to-batch noise is lower by the root of the number of
    repeats, so a descent too shallow to tell on each one may be read on their mean.

    >>> lrs = np.geomspace(1e-6, 1.0, 5)
    >>> lrs_, losses, stopped = pool_curves([(lrs, np.arange(5.0), False),
    ...                                      (lrs[:4], np.arange(4.0) + 2, True)])
    >>> losses.tolist(), stopped
    ([1.0, 2.0, 3.0, 4.0], True)
    """
    n = min(len(lrs) for lrs, _, _ in curves)
    first = np.asarray(curves[0][0], float)[:n]
    if any(not np.allclose(np.asarray(lrs, float)[:n], first, rtol=1e-6) for lrs, _, _ in curves):
        return None
    losses = np.mean([np.asarray(loss, float)[:n] for _, loss, _ in curves], axis=0)
    stopped = any(stop for lrs, _, stop in curves if len(lrs) == n)
    return first, losses, stopped
