"""The numerics under `lrfind.analysis`: checks, normalisation, an even log-LR grid, the
running level of the loss and the noise around it.

Pure NumPy/SciPy. A range-test curve is read in log10(lr): `even_curve` puts its finite
prefix on an even log grid (a linear ramp is resampled) and normalises it by its range;
`running_median` gives the loss's level (robust to the batch-to-batch scatter and to single
spikes), `rolling_scale` the local size of that scatter, `sustained` tells a change that
lasts from one that does not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.ndimage import median_filter
from scipy.signal import savgol_filter

POLYORDER = 2
"""Order of the Savitzky-Golay polynomial of the smoothed curve and its slope."""


# ---------------------------------------------------------------------- input checks
def check_inputs(lrs: Any, losses: Any) -> tuple[np.ndarray, np.ndarray]:
    """The curve as float64 arrays, or ValueError saying what is wrong with it."""
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


def finite_prefix(losses: np.ndarray) -> int:
    """Number of leading finite losses: a NaN/Inf means the run diverged there."""
    bad = np.flatnonzero(~np.isfinite(losses))
    return int(bad[0]) if len(bad) else len(losses)


def normalise(losses: np.ndarray) -> tuple[np.ndarray, float, float]:
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


# --------------------------------------------------------------------- the even grid
@dataclass(frozen=True)
class EvenCurve:
    """The finite prefix of a curve on an even log10(lr) grid, normalised."""

    log_lrs: np.ndarray
    """log10 of the recorded LRs of the finite prefix."""
    grid: np.ndarray
    """The even log10(lr) grid the reading works on (``log_lrs`` itself when even)."""
    z: np.ndarray
    """The normalised losses on the grid."""
    step: float
    """Grid spacing in decades."""

    @property
    def points_per_decade(self) -> float:
        return 1.0 / self.step

    def points(self, decades: float, minimum: int, end: int | None = None) -> int:
        """An odd window of about ``decades`` of LR, at least ``minimum`` points and at
        most the first ``end`` points (the whole grid by default)."""
        return odd_window(round(decades * self.points_per_decade), minimum,
                          len(self.z) if end is None else end)


def even_curve(log_lrs: np.ndarray, z: np.ndarray) -> EvenCurve:
    """The curve on an even log10(lr) grid of as many points (resampled when uneven)."""
    n = len(log_lrs)
    steps = np.diff(log_lrs)
    even = n < 3 or np.ptp(steps) <= 1e-3 * float(np.mean(steps))
    grid = log_lrs if even else np.linspace(log_lrs[0], log_lrs[-1], n)
    values = z if even else np.interp(grid, log_lrs, z)
    step = (grid[-1] - grid[0]) / (n - 1) if n > 1 else 1.0
    return EvenCurve(log_lrs, grid, values, step)


def odd_window(points: int, minimum: int, limit: int) -> int:
    """``points`` rounded to an odd number in [minimum, limit] (at least 1).

    >>> odd_window(10, 5, 100), odd_window(3, 5, 100), odd_window(50, 5, 20)
    (9, 5, 19)
    """
    window = min(max(int(points), minimum), limit)
    window = window if window % 2 else window - 1
    return max(window, 1)


def to_input_index(curve: EvenCurve, grid_index: int) -> int:
    """Index into the input arrays of the recorded LR nearest a grid point."""
    if curve.grid is curve.log_lrs:
        return int(grid_index)
    return int(np.argmin(np.abs(curve.log_lrs - curve.grid[grid_index])))


def on_inputs(curve: EvenCurve, values: np.ndarray, fill: float) -> np.ndarray:
    """Grid values (possibly fewer than the grid) at the input LRs; ``fill`` beyond them."""
    grid = curve.grid[: len(values)]
    out = np.interp(curve.log_lrs, grid, values)
    out[curve.log_lrs > grid[-1] + 1e-12] = fill
    return out


# ---------------------------------------------------------------- level and noise
def running_median(values: np.ndarray, points: int) -> np.ndarray:
    """The median of each window of ``points`` (odd) values, centred, edges held.

    >>> running_median(np.array([1.0, 9.0, 2.0, 3.0, 4.0]), 3).tolist()
    [1.0, 2.0, 3.0, 3.0, 4.0]
    """
    return median_filter(values, size=max(int(points), 1), mode="nearest")


def rolling_scale(residuals: np.ndarray, points: int) -> np.ndarray:
    """Robust standard deviation of ``residuals`` in each window: 1.4826 × median |r|."""
    return 1.4826 * median_filter(np.abs(residuals), size=max(int(points), 1), mode="nearest")


def sustained(mask: np.ndarray, span: int) -> np.ndarray:
    """True at ``i`` when ``mask`` holds at ``i .. i + span - 1``, or from ``i`` through
    to the end of the curve (a run that stopped while it held).

    >>> sustained(np.array([1, 0, 1, 1, 1, 0, 1, 1], bool), 3).tolist()
    [False, False, True, False, False, False, True, True]
    """
    n = len(mask)
    out = np.zeros(n, dtype=bool)
    run = 0
    for i in range(n - 1, -1, -1):
        run = run + 1 if mask[i] else 0
        out[i] = run >= span or (run > 0 and i + run == n)
    return out


def smooth(values: np.ndarray, points: int, step: float, deriv: int = 0) -> np.ndarray:
    """Quadratic Savitzky-Golay smoothing (or its derivative per decade) of ``values``."""
    points = odd_window(points, POLYORDER + 1, len(values))
    if points <= POLYORDER:
        return (np.full(len(values), float(np.median(values))) if deriv == 0
                else np.zeros(len(values)))
    return savgol_filter(values, points, POLYORDER, deriv=deriv, delta=step, mode="interp")

