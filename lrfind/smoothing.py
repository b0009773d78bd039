"""The smoothing under `lrfind.analysis`: checks, normalisation, an even log-LR grid, noise.

Pure NumPy/SciPy. A range-test curve is read in log10(lr): `even_curve` puts its finite
prefix on an even log grid (a linear ramp is resampled), normalised by its range, with the
batch-to-batch noise estimated from first differences; `savgol` smooths it (a short running
median against single-batch spikes, then a quadratic Savitzky-Golay filter one decade wide).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.ndimage import median_filter
from scipy.signal import savgol_coeffs, savgol_filter

WINDOW_DECADES = 1.0
"""Width of the Savitzky-Golay window, in decades of learning rate."""
MIN_WINDOW = 7
"""The smoothing window never has fewer points than this (nor more than the curve)."""
POLYORDER = 2
SPIKE_WINDOW = 5
"""Running-median width (points) applied before the Savitzky-Golay filter."""


# ---------------------------------------------------------------------- input checks
def check_inputs(lrs: Any, losses: Any) -> tuple[np.ndarray, np.ndarray]:
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


# ------------------------------------------------------------------------- smoothing
@dataclass(frozen=True)
class EvenCurve:
    """The finite prefix of a curve on an even log10(lr) grid, normalised, plus its noise."""

    log_lrs: np.ndarray  # input log10(lr) of the finite prefix
    grid: np.ndarray  # the even log10(lr) grid the work is done on (log_lrs when even)
    z: np.ndarray  # normalised raw losses on the grid
    step: float  # grid spacing in decades
    window: int  # Savitzky-Golay window in points
    noise: float  # SD of one batch's loss around the trend, in z units


def window_points(n: int, points_per_decade: float, window_decades: float) -> int:
    window = max(MIN_WINDOW, round(window_decades * points_per_decade))
    window = min(window, n if n % 2 else n - 1)
    return window if window % 2 else window - 1


def even_curve(log_lrs: np.ndarray, z: np.ndarray, window_decades: float) -> EvenCurve:
    n = len(log_lrs)
    steps = np.diff(log_lrs)
    even = n < 3 or np.ptp(steps) <= 1e-3 * float(np.mean(steps))
    grid = log_lrs if even else np.linspace(log_lrs[0], log_lrs[-1], n)
    values = z if even else np.interp(grid, log_lrs, z)
    step = (grid[-1] - grid[0]) / (n - 1) if n > 1 else 1.0
    window = window_points(n, 1.0 / step, window_decades)
    # batch-to-batch noise: robust SD of first differences (a slow trend barely moves it)
    diffs = np.diff(values)
    noise = 1.4826 * float(np.median(np.abs(diffs - np.median(diffs)))) / math.sqrt(2.0)
    return EvenCurve(log_lrs, grid, values, step, window, noise)


def savgol(curve: EvenCurve, end: int | None, deriv: int = 0) -> np.ndarray:
    """Despiked and Savitzky-Golay-smoothed z (or its slope) over grid points ``[0, end)``
    (the whole curve when ``end`` is None)."""
    end = len(curve.z) if end is None else end
    values = curve.z[:end]
    window = min(curve.window, end if end % 2 else end - 1)
    if window <= POLYORDER:
        return np.full(end, float(np.median(values))) if deriv == 0 else np.zeros(end)
    despiked = median_filter(values, size=min(SPIKE_WINDOW, window), mode="nearest")
    return savgol_filter(despiked, window, POLYORDER, deriv=deriv, delta=curve.step, mode="interp")


def smoothed_noise(curve: EvenCurve) -> float:
    """SD of the noise left in the smoothed curve (white-noise approximation)."""
    return curve.noise * float(np.linalg.norm(savgol_coeffs(curve.window, POLYORDER)))


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
