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

from lrfind.smoothing import (
    MIN_WINDOW,
    WINDOW_DECADES,
    EvenCurve,
    check_inputs,
    even_curve,
    finite_prefix,
    normalise,
    on_inputs,
    savgol,
    smoothed_noise,
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
    "read_curve",
    "smooth_curve",
    "steepest_point",
    "suggest",
]

MIN_POINTS = 12
"""Fewer finite points than this cannot be read: the suggestion is refused."""
MIN_DESCENT_BATCHES = 3
"""A descent (start to minimum) over fewer batches than this is flagged unreliable."""
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


def smooth_curve(
    lrs: Any, losses: Any = None, *, window_decades: float = WINDOW_DECADES
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
    reading = read_curve(lrs, losses, window_decades=window_decades)
    out = np.full(reading.n_input, np.nan)
    if reading.curve is None:
        if reading.n_finite and reading.scale == 0:
            out[: reading.n_finite] = reading.ref
        return out
    smooth = reading.smooth if reading.smooth is not None else savgol(reading.curve, None)
    smooth = on_inputs(reading.curve, smooth, np.nan)
    out[: reading.n_finite] = reading.ref + reading.scale * smooth
    return out


def loss_gradient(
    lrs: Any, losses: Any = None, *, window_decades: float = WINDOW_DECADES
) -> np.ndarray:
    """d(smoothed loss) / d log10(lr) at each recorded LR (NaN where `smooth_curve` is).

    >>> lrs = np.geomspace(1e-4, 1, 50)
    >>> np.allclose(loss_gradient(lrs, 3.0 - 2.0 * np.log10(lrs)), -2.0)
    True
    """
    reading = read_curve(lrs, losses, window_decades=window_decades)
    out = np.full(reading.n_input, np.nan)
    if reading.curve is None:
        if reading.n_finite and reading.scale == 0:
            out[: reading.n_finite] = 0.0
        return out
    slope = reading.slope if reading.slope is not None else savgol(reading.curve, None, deriv=1)
    out[: reading.n_finite] = reading.scale * on_inputs(reading.curve, slope, np.nan)
    return out


# ------------------------------------------------------------------------ the reading
@dataclass
class CurveReading:
    """Everything `read_curve` found on one curve; `suggest` and the point functions take it.

    Reading a curve is the costly part; read it once and pass the reading on, e.g.
    ``suggest(read_curve(lrs, losses))``. ``points`` holds the named points found,
    ``problem`` why the curve supports no suggestion (None when it does). The other fields
    are the reading's working state, in normalised units on an even log10(lr) grid.
    """

    lrs: np.ndarray
    n_input: int
    n_finite: int
    ref: float = math.nan
    scale: float = 0.0
    curve: EvenCurve | None = None
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


def _find_divergence(curve: EvenCurve, start: float) -> int | None:
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


def read_curve(
    lrs: Any, losses: Any, *, window_decades: float = WINDOW_DECADES
) -> CurveReading:
    """Read a range-test curve once: its smoothing, named points and any problem.

    >>> lrs = np.geomspace(1e-6, 1.0, 300)
    >>> reading = read_curve(lrs, 1.0 / (1.0 + (lrs / 1e-3) ** 2) + (lrs / 0.1) ** 3)
    >>> reading.problem is None, sorted(reading.points)
    (True, ['descent_start', 'divergence', 'knee', 'minimum', 'steepest'])
    >>> suggest(reading) == suggest(lrs, 1.0 / (1.0 + (lrs / 1e-3) ** 2) + (lrs / 0.1) ** 3)
    True
    """
    if isinstance(lrs, CurveReading):
        return lrs
    lrs, losses = check_inputs(lrs, losses)
    n = finite_prefix(losses)
    reading = CurveReading(lrs, len(losses), n)
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
    z, reading.ref, reading.scale = normalise(losses[:n])
    if reading.scale == 0:
        reading.problem = "The loss is constant: the model did not respond to any LR tried."
        return reading
    curve = even_curve(np.log10(lrs[:n]), z, window_decades)
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
    smooth = savgol(curve, end)
    reading.smooth, reading.slope = smooth, savgol(curve, end, deriv=1)
    i_min = int(np.argmin(smooth))
    depth = start - float(smooth[i_min])
    reading.minimum, reading.depth = i_min, depth
    # the running median cannot ring below a kink as a polynomial fit can
    median_depth = start - float(np.min(median_filter(curve.z[:end], curve.window, mode="nearest")))
    if not (depth > DESCENT_NOISE * smoothed_noise(curve) and median_depth > 0):
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
    _name_points(reading)
    return reading


def _way_down(reading: CurveReading, fraction: float) -> int:
    """First grid index where the smoothed loss is ``fraction`` of the way down."""
    assert reading.smooth is not None and reading.minimum is not None
    level = reading.start_level - fraction * reading.depth
    down = np.flatnonzero(reading.smooth[: reading.minimum + 1] <= level)
    return int(down[0]) if len(down) else reading.minimum


def _point(reading: CurveReading, name: str, grid_index: int, reason: str) -> CurvePoint:
    curve, smooth = reading.curve, reading.smooth
    assert curve is not None and smooth is not None
    index = to_input_index(curve, grid_index)
    loss = reading.ref + reading.scale * float(smooth[min(grid_index, len(smooth) - 1)])
    return CurvePoint(name, float(reading.lrs[index]), loss, index, reason)


def _knee_reason(fraction: float) -> str:
    return f"The smoothed loss has come {fraction:.0%} of the way down here."


def _name_points(reading: CurveReading) -> None:
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
            reading.points[name] = _point(reading, name, grid_index, reason)
    div = reading.divergence
    if div is None:
        return
    if div >= reading.n_finite:  # the recorded loss turned NaN/Inf
        assert reading.smooth is not None
        index = reading.n_finite
        last_loss = reading.ref + reading.scale * float(reading.smooth[-1])
        reading.points["divergence"] = CurvePoint(
            "divergence", float(reading.lrs[index]), last_loss, index,
            "The loss turned NaN or infinite at this LR.",
        )
    else:
        reading.points["divergence"] = _point(
            reading, "divergence", div,
            "The loss has risen clearly above its minimum here: training diverges.",
        )


# --------------------------------------------------------------------- named points
def steepest_point(
    lrs: Any, losses: Any = None, *, window_decades: float = WINDOW_DECADES
) -> CurvePoint | None:
    """Where the smoothed loss falls fastest against log10(lr), before its minimum.

    None when the curve has no clear descent.
    """
    return read_curve(lrs, losses, window_decades=window_decades).points.get("steepest")


def minimum_point(
    lrs: Any, losses: Any = None, *, window_decades: float = WINDOW_DECADES
) -> CurvePoint | None:
    """The lowest smoothed loss before divergence (None without a clear descent)."""
    return read_curve(lrs, losses, window_decades=window_decades).points.get("minimum")


def divergence_point(
    lrs: Any, losses: Any = None, *, window_decades: float = WINDOW_DECADES
) -> CurvePoint | None:
    """The first LR where the loss has clearly risen above its running minimum (by half the
    descent so far and beyond the noise) or turned NaN/Inf; None if it never did."""
    return read_curve(lrs, losses, window_decades=window_decades).points.get("divergence")


def knee_point(
    lrs: Any,
    losses: Any = None,
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
    reading = read_curve(lrs, losses, window_decades=window_decades)
    if reading.problem is not None or reading.smooth is None or reading.minimum is None:
        return None
    if fraction == KNEE_FRACTION:
        return reading.points.get("knee")
    return _point(reading, "knee", _way_down(reading, fraction), _knee_reason(fraction))


def descent_start_point(
    lrs: Any, losses: Any = None, *, window_decades: float = WINDOW_DECADES
) -> CurvePoint | None:
    """Where the smoothed loss first falls a tenth of the descent below its starting level."""
    return read_curve(lrs, losses, window_decades=window_decades).points.get("descent_start")


# ------------------------------------------------------------------------ suggestion
def _refusal(reason: str, points: dict[str, CurvePoint]) -> Suggestion:
    return Suggestion(None, None, None, False, reason, points)


def _batches_per_decade(curve: EvenCurve, grid_index: int) -> float:
    """Recorded points per decade of LR around a grid point (constant for an exponential ramp)."""
    near = np.abs(curve.log_lrs - curve.grid[grid_index]) <= 0.5
    steps = np.diff(curve.log_lrs[near])
    return 1.0 / float(np.median(steps)) if len(steps) else 1.0


def suggest(
    lrs: Any, losses: Any = None, *, window_decades: float = WINDOW_DECADES
) -> Suggestion:
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
    reading = read_curve(lrs, losses, window_decades=window_decades)
    points = reading.points
    if reading.problem is not None:
        return _refusal(reading.problem, points)
    curve, smooth = reading.curve, reading.smooth
    assert curve is not None and smooth is not None and reading.knee is not None
    lrs = reading.lrs
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
    if reading.depth < RELIABLE_NOISE * smoothed_noise(curve):
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
