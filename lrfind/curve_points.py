"""Pure helpers that shape the recorded points into a curve (NumPy only)."""

from __future__ import annotations

import numpy as np


def collapse_accumulation(
    lrs: np.ndarray, losses: np.ndarray, val_indices: np.ndarray, batches_per_update: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One point per applied update: its first batch's LR and the mean loss of its batches.

    With gradient accumulation the optimizer applies one update per ``batches_per_update``
    batches, and the ramp advances once per update. Batches of an unfinished update at the
    end are dropped; validation indices are mapped from batches to updates.

    >>> collapse_accumulation(np.array([1., 1., 2., 2., 3.]), np.array([4., 2., 3., 1., 9.]),
    ...                       np.array([3]), 2)
    (array([1., 2.]), array([3., 2.]), array([1]))
    """
    if batches_per_update <= 1:
        return lrs, losses, val_indices
    updates = len(losses) // batches_per_update
    used = updates * batches_per_update
    return (
        lrs[:used:batches_per_update],
        losses[:used].reshape(updates, batches_per_update).mean(axis=1),
        val_indices // batches_per_update,
    )


def keep_one_point_per_lr(
    lrs: np.ndarray, losses: np.ndarray, val_indices: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """(lrs, losses, val_indices, dropped): one point per LR, the later of a repeated pair.

    A mixed-precision step skipped for overflow applies no update, so the next batch runs
    at the same LR; the later point (whose update was applied) is kept, so the curve stays
    strictly increasing in LR. Validation indices follow their points.

    >>> keep_one_point_per_lr(np.array([1., 2., 2., 3.]), np.array([5., 4., 3., 2.]),
    ...                       np.array([1, 3]))
    (array([1., 2., 3.]), array([5., 3., 2.]), array([1, 2]), 1)
    """
    if len(lrs) < 2 or not np.any(lrs[1:] == lrs[:-1]):
        return lrs, losses, val_indices, 0
    kept = np.append(lrs[1:] != lrs[:-1], True)
    position = np.cumsum(kept) - 1
    val_indices = position[val_indices] + ~kept[val_indices]
    return lrs[kept], losses[kept], val_indices, int(np.sum(~kept))
