"""The peers' suggestion rules, re-implemented from their published source.

Each rule takes the curve lrfind records (``lrs`` and each batch's own loss) and first
applies the smoothing its library applies while recording, so it sees the curve it would
see in its own library; then the rule exactly as published. ``num_steps`` is the planned
length of the run (fastai skips ``num_it // 10`` points at the start).

Sources (read with the code search of the GitHub corpus):

* fastai ``valley``, ``slide``, ``steep``, ``minimum`` and ``Learner.lr_find``:
  fastai/fastai, nbs/14_callback.schedule.ipynb (exported to fastai/callback/schedule.py);
  the recorder's loss is ``AvgSmoothLoss`` (debiased EMA, beta 0.98),
  fastai/learner.py.
* Lightning ``_LRFinder.suggestion(skip_begin=10, skip_end=1)`` and ``_LRCallback``
  (debiased EMA, beta 0.98): Lightning-AI/pytorch-lightning,
  src/lightning/pytorch/tuner/lr_finder.py.
* torch-lr-finder ``LRFinder.plot(skip_start=10, skip_end=5)`` steepest gradient and
  ``range_test(smooth_f=0.05)``: davidtvs/pytorch-lr-finder, torch_lr_finder/lr_finder.py.
* keras_lr_finder ``get_best_lr(sma, n_skip_beginning=10, n_skip_end=5)`` with
  ``get_derivatives``: surmenok/keras_lr_finder, keras_lr_finder/lr_finder.py (it records
  ``logs["loss"]`` per batch, the batch loss in the Keras 2 it was written for).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from lrfind.result import smooth_losses  # fastai's AvgSmoothLoss, Lightning's _LRCallback

Rule = Callable[[np.ndarray, np.ndarray, int], "float | None"]


# ------------------------------------------------------------------ recorded smoothing
def torch_lr_finder_ema(losses: np.ndarray, smooth_f: float = 0.05) -> np.ndarray:
    """torch-lr-finder ``range_test``: first loss as is, then ``f*loss + (1-f)*previous``."""
    out = np.empty(len(losses))
    for i, loss in enumerate(losses):
        out[i] = loss if i == 0 else smooth_f * loss + (1 - smooth_f) * out[i - 1]
    return out


# ---------------------------------------------------------------------------- fastai
def _fastai_curve(lrs: np.ndarray, losses: np.ndarray, num_steps: int):
    """``Learner.lr_find``: recorder lrs/smoothed losses ``[num_it//10:-5]``, cut at a NaN."""
    smoothed = smooth_losses(losses)
    lrs, smoothed = lrs[num_steps // 10 : -5], smoothed[num_steps // 10 : -5]
    nan = np.flatnonzero(np.isnan(smoothed))
    if len(nan):
        lrs, smoothed = lrs[: nan[0]], smoothed[: nan[0]]
    return lrs, smoothed


def fastai_valley(lrs: np.ndarray, losses: np.ndarray, num_steps: int) -> float | None:
    """Longest decreasing subsequence ("valley"); the point 1/3 + 1/6 of the way along it."""
    lrs, losses = _fastai_curve(lrs, losses, num_steps)
    n = len(losses)
    if n < 2:
        return None
    max_start, max_end = 0, 0
    lds = [1] * n
    for i in range(1, n):
        for j in range(0, i):
            if losses[i] < losses[j] and lds[i] < lds[j] + 1:
                lds[i] = lds[j] + 1
            if lds[max_end] < lds[i]:
                max_end = i
                max_start = max_end - lds[max_end]
    sections = (max_end - max_start) / 3
    idx = max_start + int(sections) + int(sections / 2)
    return float(lrs[idx])


def fastai_slide(
    lrs: np.ndarray, losses: np.ndarray, num_steps: int,
    lr_diff: int = 15, thresh: float = 0.005, adjust_value: float = 1.0,
) -> float | None:
    """Interval slide rule (absolute gradient threshold 0.005)."""
    lrs, losses = _fastai_curve(lrs, losses, num_steps)
    if len(losses) < max(2, lr_diff + 1):
        return None
    loss_grad = np.gradient(losses)
    r_idx = -1
    l_idx = r_idx - lr_diff
    local_min_lr = lrs[l_idx]
    while (l_idx >= -len(losses)) and (abs(loss_grad[r_idx] - loss_grad[l_idx]) > thresh):
        local_min_lr = lrs[l_idx]
        r_idx -= 1
        l_idx -= 1
    return float(local_min_lr) * adjust_value


def fastai_minimum(lrs: np.ndarray, losses: np.ndarray, num_steps: int) -> float | None:
    """One tenth of the LR at the minimum smoothed loss."""
    lrs, losses = _fastai_curve(lrs, losses, num_steps)
    if len(losses) == 0:
        return None
    return float(lrs[int(np.argmin(losses))]) / 10


def fastai_steep(lrs: np.ndarray, losses: np.ndarray, num_steps: int) -> float | None:
    """Steepest forward difference of the smoothed loss against log(lr)."""
    lrs, losses = _fastai_curve(lrs, losses, num_steps)
    if len(losses) < 2:
        return None
    grads = (losses[1:] - losses[:-1]) / (np.log(lrs[1:]) - np.log(lrs[:-1]))
    return float(lrs[int(np.argmin(grads))])


# ------------------------------------------------------------------------- Lightning
def lightning_suggestion(
    lrs: np.ndarray, losses: np.ndarray, num_steps: int, skip_begin: int = 10, skip_end: int = 1
) -> float | None:
    """``torch.gradient(losses, spacing=[lrs])``: the gradient against *linear* LR."""
    smoothed = smooth_losses(losses)
    sl, sm = lrs[skip_begin:-skip_end], smoothed[skip_begin:-skip_end]
    finite = np.isfinite(sm)
    sl, sm = sl[finite], sm[finite]
    if len(sm) < 2:
        return None
    gradients = np.gradient(sm, sl)  # same second-order scheme as torch.gradient
    return float(sl[int(np.argmin(gradients))])


# ------------------------------------------------------------------- torch-lr-finder
def torch_lr_finder_steepest(
    lrs: np.ndarray, losses: np.ndarray, num_steps: int, skip_start: int = 10, skip_end: int = 5
) -> float | None:
    """``np.gradient(losses).argmin()`` on the smoothed curve, trimmed 10 / 5."""
    smoothed = torch_lr_finder_ema(losses)
    if skip_end == 0:
        sl, sm = lrs[skip_start:], smoothed[skip_start:]
    else:
        sl, sm = lrs[skip_start:-skip_end], smoothed[skip_start:-skip_end]
    if len(sm) < 2:
        return None
    return float(sl[int(np.gradient(sm).argmin())])


# ------------------------------------------------------------------- keras_lr_finder
def keras_lr_finder_best(
    lrs: np.ndarray, losses: np.ndarray, num_steps: int,
    sma: int = 4, n_skip_beginning: int = 10, n_skip_end: int = 5,
) -> float | None:
    """``get_best_lr(sma=4)``: argmin of ``(loss[i] - loss[i-sma]) / sma`` on raw losses."""
    derivatives = [0.0] * sma
    for i in range(sma, len(lrs)):
        derivatives.append((losses[i] - losses[i - sma]) / sma)
    window = derivatives[n_skip_beginning:-n_skip_end]
    if not window:
        return None
    best_der_idx = int(np.argmin(window))
    return float(lrs[n_skip_beginning:-n_skip_end][best_der_idx])


PEER_RULES: dict[str, Rule] = {
    "fastai valley": fastai_valley,
    "fastai slide": fastai_slide,
    "fastai steep": fastai_steep,
    "fastai minimum/10": fastai_minimum,
    "Lightning": lightning_suggestion,
    "torch-lr-finder": torch_lr_finder_steepest,
    "keras_lr_finder": keras_lr_finder_best,
}
