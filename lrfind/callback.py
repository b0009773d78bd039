"""`LRRangeTest`: the learning-rate range test as a Keras callback inside any ``model.fit``.

For the run, the optimizer's learning rate is an `LRRamp` of its step (evaluated in the
compiled train step) and the model's loss tracker a `BatchLossTracker` (which records each
batch's own loss there); `KerasPatch` makes and undoes both. The callback reads the new
points after each batch, smooths them, stops the fit when the loss diverges and, at the
end, puts the model back (`ModelState`) and builds the `LRFinderResult`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import keras
import numpy as np
from keras import ops

from lrfind._defaults import (
    DEFAULT_BETA,
    DEFAULT_END_LR,
    DEFAULT_MODE,
    DEFAULT_START_LR,
    DEFAULT_STEPS,
    DEFAULT_STOP_FACTOR,
    DEFAULT_VAL_BATCH_SIZE,
    DEFAULT_VAL_BATCHES,
    DEFAULT_VAL_EVERY,
    check_beta,
    check_lr_range,
    check_mode,
    check_num_steps,
    check_positive_int,
    check_stop_factor,
)
from lrfind.batches import cache_validation
from lrfind.ramp import LRRamp
from lrfind.result import LRFinderResult, SmoothedLoss, smooth_losses
from lrfind.state import KerasPatch, ModelState, ensure_built, inner_optimizer, strategy_scope
from lrfind.tracker import LAST_BATCH_KEY, BatchLossTracker, needs_buffer

PointHook = Callable[[int, float, float, float], None]
"""``on_point(points so far, lr, loss, smoothed loss)``, called after each recorded point."""


# ------------------------------------------------------------------ pure curve helpers
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


# ------------------------------------------------------------------------ the callback
class LRRangeTest(keras.callbacks.Callback):
    """Keras callback that runs a learning-rate range test inside your own ``model.fit``.

    The LR rises from ``start_lr`` to ``end_lr`` over ``num_steps`` batches (reaching
    ``end_lr`` on the last one); every batch's own loss is recorded with the LR that
    produced it; training stops once the smoothed loss diverges or turns NaN/Inf. At the
    end of training the model is put back as it was (``restore=True``) and the curve is
    in ``callback.result``. Validation inside the same fit is not recorded as ramp batches.

    Sharing a fit with other callbacks: Keras calls no callback when ``fit`` raises, so
    call ``callback.finish()`` in your ``except``/``finally`` to restore the model then
    (`LRFinder.find` does this for you). Callbacks that set the learning rate
    (``ReduceLROnPlateau``, ``LearningRateScheduler``) cannot while the ramp owns it; leave
    them out of the test's fit. Put this callback after ``EarlyStopping(
    restore_best_weights=True)``, so that its restore runs last.

    Example:

    >>> import keras, numpy as np
    >>> x = np.random.default_rng(0).normal(size=(256, 4)).astype("float32")
    >>> y = x.sum(axis=1, keepdims=True)
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    >>> model.compile(keras.optimizers.SGD(0.01), "mse")
    >>> test = LRRangeTest(start_lr=1e-4, end_lr=10.0, num_steps=40)
    >>> _ = model.fit(x, y, batch_size=16, epochs=5, callbacks=[test], verbose=0)
    >>> len(test.result) <= 40, float(test.result.lrs[0]) == float(np.float32(1e-4))
    (True, True)

    Args:
        start_lr: LR of the first batch.
        end_lr: LR of the last planned batch.
        num_steps: planned number of batches; the fit must offer at least this many
            (training stops after them).
        mode: "exponential" (default) or "linear" ramp.
        beta: smoothing factor of the bias-corrected moving average of the loss.
        stop_factor: stop once ``smoothed - best > (stop_factor - 1) * |best|``; that is
            ``smoothed > stop_factor * best`` for positive losses, and it stays meaningful
            for losses ≤ 0. ``None`` never stops on divergence (NaN/Inf still stops).
        restore: put the model's weights and optimizer state back at the end of training.
        validation_data: optional ``(x_val, y_val)`` arrays or a ``tf.data.Dataset`` of
            batches. A fixed subset of it (``val_batches`` batches of ``val_batch_size``)
            is cached once, and its loss is evaluated every ``val_every`` batches
            (``training=False``), recorded beside the training loss.
        val_every: evaluate the validation subset every this many batches.
        val_batches: how many batches the cached validation subset holds.
        val_batch_size: batch size of the cached subset for array data.
        on_point: called as ``on_point(points, lr, loss, smoothed)`` after each recorded
            point (points so far, its LR, its own loss, the smoothed loss): for progress
            bars and live plots.
    """

    def __init__(
        self,
        start_lr: float = DEFAULT_START_LR,
        end_lr: float = DEFAULT_END_LR,
        num_steps: int = DEFAULT_STEPS,
        *,
        mode: str = DEFAULT_MODE,
        beta: float = DEFAULT_BETA,
        stop_factor: float | None = DEFAULT_STOP_FACTOR,
        restore: bool = True,
        validation_data: Any = None,
        val_every: int = DEFAULT_VAL_EVERY,
        val_batches: int = DEFAULT_VAL_BATCHES,
        val_batch_size: int = DEFAULT_VAL_BATCH_SIZE,
        on_point: PointHook | None = None,
    ) -> None:
        super().__init__()
        check_lr_range(start_lr, end_lr)
        check_mode(mode)
        self.start_lr = float(start_lr)
        self.end_lr = float(end_lr)
        self.num_steps = check_num_steps(num_steps)
        self.mode = mode
        self.beta = check_beta(beta)
        self.stop_factor = check_stop_factor(stop_factor)
        self.restore = restore
        self.val_every = check_positive_int("val_every", val_every)
        self.val_batches = check_positive_int("val_batches", val_batches)
        check_positive_int("val_batch_size", val_batch_size)
        self._val_cache = (
            None
            if validation_data is None
            else cache_validation(validation_data, self.val_batches, int(val_batch_size))
        )
        self._val_loss_fn: Any = None
        self.on_point = on_point
        self.result: LRFinderResult | None = None
        self._state: ModelState | None = None
        self._reset()

    def _reset(self) -> None:
        """The run's state, as before a run: nothing recorded, nothing patched."""
        self._patch: KerasPatch | None = None
        self._tracker: BatchLossTracker | None = None
        self._ramp: LRRamp | None = None
        self._accumulation = 1
        self._lrs: list[float] = []
        self._losses: list[float] = []
        self._smoothed: list[float] = []
        self._ema = SmoothedLoss(self.beta)
        self._best = math.inf
        self._stop_reason = "completed"
        self._non_finite_lr: float | None = None
        self._finished = False
        self._val_indices: list[int] = []
        self._val_losses: list[float] = []
        self._last_val_at = 0

    # Keras hooks -------------------------------------------------------------------
    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._begin(capture_state=self.restore)

    def on_test_begin(self, logs: dict[str, Any] | None = None) -> None:
        if self._tracker is not None:  # validation inside the fit: not a ramp batch
            self._tracker.recording = False

    def on_test_end(self, logs: dict[str, Any] | None = None) -> None:
        if self._tracker is not None:
            self._tracker.recording = True

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        stop = self._scan_new_points(logs)
        if self._val_cache is not None and self._losses and (
            len(self._losses) - self._last_val_at >= self.val_every
        ):
            self._evaluate_validation()
        if stop:
            self.model.stop_training = True

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self._scan_new_points()
        if not self._finished and self._tracker is not None:
            self._stop_reason = "fit_ended"
            warnings.warn(
                f"The fit ended after {len(self._losses)} of the range test's "
                f"{self.num_steps} batches, so the ramp stopped at lr "
                f"{self._lrs[-1] if self._lrs else self.start_lr:.3g} instead of "
                f"{self.end_lr:g}: give fit more epochs or steps, or lower num_steps.",
                stacklevel=2,
            )
        self.finish()

    # The run -----------------------------------------------------------------------
    def _begin(self, capture_state: bool) -> None:
        model = self.model
        if capture_state and self._state is None:
            self._state = ModelState.capture(model)
        ensure_built(model)
        self._reset()
        self.result = None
        lr_owner = inner_optimizer(model.optimizer)
        # With gradient accumulation the optimizer applies one update per
        # `accumulation` batches; the ramp advances per update, and so do the points.
        self._accumulation = int(getattr(lr_owner, "gradient_accumulation_steps", None) or 1)
        self._ramp = LRRamp(
            self.start_lr,
            self.end_lr,
            max(2, self.num_steps // self._accumulation),
            mode=self.mode,
            initial_step=int(ops.convert_to_numpy(lr_owner._iterations)),
            batches_per_step=self._accumulation,
        )
        steps_per_execution = int(getattr(model, "steps_per_execution", 1) or 1)
        with strategy_scope(model):
            self._tracker = BatchLossTracker(
                self.num_steps + steps_per_execution,
                self._applied_learning_rate(lr_owner),
                buffered=needs_buffer(model, steps_per_execution),
            )
        self._patch = KerasPatch(model)
        self._patch.apply(self._ramp, self._tracker)

    def _applied_learning_rate(self, lr_owner: Any) -> Callable[[], Any]:
        """() -> the LR the optimizer applies this step, read inside the train step."""
        if keras.backend.backend() == "tensorflow":
            return lambda: lr_owner.learning_rate
        # JAX and torch update metric variables apart from the optimizer's state, so the
        # tracker evaluates the ramp at its own batch count instead.
        ramp = self._ramp
        assert ramp is not None

        def learning_rate() -> Any:
            assert self._tracker is not None
            return ramp(ramp.initial_step + self._tracker.batch_count.value)

        return learning_rate

    def _scan_new_points(self, logs: dict[str, Any] | None = None) -> bool:
        """Process batches recorded since the last call; True when the run should stop."""
        if self._finished or self._tracker is None:
            return True
        last = (logs or {}).get(LAST_BATCH_KEY)
        if last is not None:
            last = ops.convert_to_numpy(last)
        if last is not None and int(last[0]) == len(self._losses) + 1:
            lrs, losses = last[1:2], last[2:3]  # exactly one new batch: no variable read
        else:
            _ = self.model  # on JAX, reading `model` syncs the variables with the fit's state
            lrs, losses = self._tracker.recorded(since=len(self._losses))
        for lr, loss in zip(lrs, losses, strict=True):
            if len(self._losses) >= self.num_steps:
                break
            if self._record(float(lr), float(loss)):
                return True
        if len(self._losses) >= self.num_steps:
            self._finished = True
        return self._finished

    def _record(self, lr: float, loss: float) -> bool:
        """Add one point; True when it ends the run (NaN/Inf, or divergence)."""
        if not math.isfinite(loss):
            self._non_finite_lr = lr
            self._stop_reason = "non_finite"
            self._finished = True
            return True
        smoothed = self._ema.update(loss)
        self._lrs.append(lr)
        self._losses.append(loss)
        self._smoothed.append(smoothed)
        self._best = min(self._best, smoothed)
        if self.on_point is not None:
            self.on_point(len(self._losses), lr, loss, smoothed)
        if self._diverged(smoothed):
            self._stop_reason = "diverged"
            self._finished = True
            return True
        return False

    def _diverged(self, smoothed: float) -> bool:
        if self.stop_factor is None or len(self._losses) < 2:
            return False
        return smoothed - self._best > (self.stop_factor - 1.0) * abs(self._best)

    def _evaluate_validation(self) -> None:
        model = self.model  # on JAX, this syncs the variables with the fit's state
        if self._val_loss_fn is None:
            self._val_loss_fn = _make_loss_fn(model)
        assert self._val_cache is not None
        ((x_val, y_val),) = self._val_cache
        self._last_val_at = len(self._losses)
        self._val_indices.append(len(self._losses) - 1)
        self._val_losses.append(float(ops.convert_to_numpy(self._val_loss_fn(x_val, y_val))))

    def finish(self) -> LRFinderResult | None:
        """Undo the run's patches, restore the model (if asked) and build ``result``.

        Called by ``on_train_end``; `LRFinder` also calls it when the fit raises. Safe to
        call more than once.
        """
        if self._tracker is None:
            return self.result
        self._scan_new_points()
        assert self._patch is not None
        self._patch.undo()
        if self._state is not None:
            self._state.restore()
            self._state = None
        self.result = self._build_result()
        self._tracker = None
        return self.result

    def _build_result(self) -> LRFinderResult:
        settings = self.settings()
        lrs, losses = np.array(self._lrs), np.array(self._losses)
        smoothed = np.array(self._smoothed)
        val_indices = np.array(self._val_indices, dtype=np.int64)
        if self._accumulation > 1:  # one point per applied update: its batches' mean loss
            lrs, losses, val_indices = collapse_accumulation(
                lrs, losses, val_indices, self._accumulation
            )
            smoothed = smooth_losses(losses, self.beta)
            settings.update(gradient_accumulation_steps=self._accumulation, points="updates")
        lrs, losses, val_indices, skipped = keep_one_point_per_lr(lrs, losses, val_indices)
        if skipped:
            smoothed = smooth_losses(losses, self.beta)
            settings["skipped_steps"] = skipped
        if self._val_cache is not None:
            settings.update(val_every=self.val_every, val_batches=self.val_batches)
        if self._stop_reason == "non_finite" and self._non_finite_lr is not None:
            settings["non_finite_lr"] = self._non_finite_lr
        keep = val_indices < len(losses)
        validated = self._val_cache is not None
        return LRFinderResult(
            lrs=lrs,
            losses=losses,
            smoothed_losses=smoothed,
            settings=settings,
            stop_reason=self._stop_reason,
            val_indices=val_indices[keep] if validated else None,
            val_losses=np.array(self._val_losses)[keep] if validated else None,
        )

    def settings(self) -> dict[str, Any]:
        return {
            "start_lr": self.start_lr,
            "end_lr": self.end_lr,
            "num_steps": self.num_steps,
            "mode": self.mode,
            "beta": self.beta,
            "stop_factor": self.stop_factor,
        }


def _make_loss_fn(model: keras.Model) -> Any:
    """(x, y) -> the model's compiled loss on that batch, in inference mode."""

    def loss_fn(x: Any, y: Any) -> Any:
        y_pred = model(x, training=False)
        return model.compute_loss(x=x, y=y, y_pred=y_pred, training=False)

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return tf.function(loss_fn, reduce_retracing=True)
    return loss_fn
