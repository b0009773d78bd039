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
    STOP_DESCENT_FRACTION,
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
from lrfind.state import (
    KerasPatch,
    ModelState,
    ensure_built,
    inner_optimizer,
    step_count,
    strategy_scope,
)
from lrfind.tracker import LAST_BATCH_KEY, BatchLossTracker, StepOrder, needs_buffer

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
        loss_key: record the loss a custom ``train_step`` reports under this key of its
            logs (each batch's own value, de-averaged when a Mean metric reports it)
            instead of the model's loss tracker. Without it lrfind finds the loss itself
            (see "Custom train_step" in the README) and raises `CurveError` when it cannot.
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
        loss_key: str | None = None,
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
        self.loss_key = loss_key
        self.result: LRFinderResult | None = None
        self._state: ModelState | None = None
        self._reset()

    def _reset(self) -> None:
        """The run's state, as before a run: nothing recorded, nothing patched."""
        self._patch: KerasPatch | None = None
        self._tracker: BatchLossTracker | None = None
        self._ramp: LRRamp | None = None
        self._accumulation = 1
        self._optimizer_name: str | None = None
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
        self._weights: list[float] = []
        self._source: str | None = None  # "tracker", "computed" or "logs", at batch 0
        self._order: StepOrder | None = None
        self._skipped = 0  # batches run before the first recorded one
        self._epoch_start = 0
        self._epoch_checked = False  # the epoch's reported loss checked against the record
        self._logs_key = "loss"
        self._loss_metric: Any = None  # "logs": the Mean metric that reports the loss
        self._metric_state = (0.0, 0.0)  # its (total, count) after the last batch

    # Keras hooks -------------------------------------------------------------------
    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._begin(capture_state=self.restore)

    def on_test_begin(self, logs: dict[str, Any] | None = None) -> None:
        if self._tracker is not None:  # validation inside the fit: not a ramp batch
            self._tracker.recording = False

    def on_test_end(self, logs: dict[str, Any] | None = None) -> None:
        if self._tracker is not None:
            self._tracker.recording = True

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._epoch_start = len(self._losses)
        self._epoch_checked = False
        if self._loss_metric is not None:
            _ = self.model  # on JAX, reading `model` syncs the variables with the fit's state
            self._metric_state = _mean_state(self._loss_metric)

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if self._source is None and self._tracker is not None:
            self._choose_source(logs or {})
        if self._source == "logs":
            stop = self._scan_logs(logs or {})
        else:
            stop = self._scan_new_points(logs)
            if self._source == "tracker" and not self._epoch_checked:
                self._check_reported_loss(logs or {})
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
        self._optimizer_name = type(lr_owner).__name__
        # With gradient accumulation the optimizer applies one update per
        # `accumulation` batches; the ramp advances per update, and so do the points.
        self._accumulation = int(getattr(lr_owner, "gradient_accumulation_steps", None) or 1)
        self._ramp = LRRamp(
            self.start_lr,
            self.end_lr,
            max(2, self.num_steps // self._accumulation),
            mode=self.mode,
            initial_step=int(ops.convert_to_numpy(step_count(lr_owner))),
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
        ramp = self._ramp
        assert ramp is not None
        if keras.backend.backend() == "tensorflow":
            # The ramp at the optimizer's step count, read in the same step: a step skipped
            # for overflow (mixed precision) does not advance it. A custom train_step may
            # record its loss after the update, when the count has moved on (`StepOrder`).
            import tensorflow as tf

            eager = bool(getattr(self.model, "run_eagerly", False))
            order = self._order = StepOrder(lambda: eager or tf.inside_function())
            ramp.on_call = order.optimizer_asked

            def applied() -> Any:
                order.loss_recorded()
                step = step_count(lr_owner)
                return ramp.value(step - 1 if order.after_update else step)

            return applied
        # JAX and torch update metric variables apart from the optimizer's state, so the
        # tracker evaluates the ramp at its own batch count instead.
        def learning_rate() -> Any:
            assert self._tracker is not None
            return ramp.value(ramp.initial_step + self._tracker.batch_count.value)

        return learning_rate

    def _scan_new_points(self, logs: dict[str, Any] | None = None) -> bool:
        """Process batches recorded since the last call; True when the run should stop."""
        if self._finished or self._tracker is None:
            return True
        last = (logs or {}).get(LAST_BATCH_KEY)
        if last is not None:
            last = ops.convert_to_numpy(last)
        seen = len(self._losses) + self._skipped
        if last is not None and int(last[0]) == seen + 1:
            # exactly one new batch: no variable read
            lrs, losses, weights = last[1:2], last[2:3], last[3:4]
        else:
            _ = self.model  # on JAX, reading `model` syncs the variables with the fit's state
            lrs, losses, weights = self._tracker.recorded(since=seen)
        for lr, loss, weight in zip(lrs, losses, weights, strict=True):
            if len(self._losses) >= self.num_steps:
                break
            if self._record(float(lr), float(loss), float(weight)):
                return True
        if len(self._losses) >= self.num_steps:
            self._finished = True
        return self._finished

    def _record(self, lr: float, loss: float, weight: float = 1.0) -> bool:
        """Add one point; True when it ends the run (NaN/Inf, or divergence)."""
        if not math.isfinite(loss):
            self._non_finite_lr = lr
            self._stop_reason = "non_finite"
            self._finished = True
            return True
        smoothed = self._ema.update(loss)
        self._lrs.append(lr)
        self._losses.append(loss)
        self._weights.append(weight)
        self._smoothed.append(smoothed)
        self._best = min(self._best, smoothed)
        if self.on_point is not None:
            self.on_point(len(self._losses), lr, loss, smoothed)
        if self._diverged(smoothed):
            self._stop_reason = "diverged"
            self._finished = True
            return True
        return False

    # Where the loss comes from ------------------------------------------------------
    def _choose_source(self, logs: dict[str, Any]) -> None:
        """After the first batch: record from the tracker, ``compute_loss`` or the logs.

        Keras's train step (and Keras 3's custom train_step pattern) hands the loss to
        the loss tracker: record it there. A ``train_step`` that fed the tracker its
        predictions (Keras 2's ``compiled_metrics`` idiom) computed its loss through
        ``compute_loss``: record that from the next batch on. One that never touched the
        tracker reports its loss in its logs: record that, de-averaged.
        """
        tracker, model = self._tracker, self.model
        assert tracker is not None and self._patch is not None
        if self.loss_key is not None:
            self._start_logs_source(logs, self.loss_key)
        elif tracker.misfed:
            if not any(metric is tracker for metric in model.metrics):
                raise self._abort(_misfed_message(model))
            tracker.source = "computed"
            if self._order is not None:  # the re-traced step records before its update
                self._order.first = None
            self._patch.record_compute_loss(tracker)
            self._skipped = 1  # the first batch's loss was never handed to anything
            tracker.batch_count.assign(1.0)
            self._source = "computed"
        elif tracker.scalar_updates == 0:
            self._start_logs_source(logs, "loss")
        else:
            self._source = "tracker"

    def _start_logs_source(self, logs: dict[str, Any], key: str) -> None:
        model = self.model
        if key not in logs or _as_float(logs[key]) is None:
            shown = ", ".join(repr(k) for k in logs if k != LAST_BATCH_KEY) or "nothing"
            raise self._abort(
                f"the model's train_step reports no {key!r} in its logs (it reports "
                f"{shown}) and never hands a loss to Keras's loss tracker, so lrfind cannot "
                "tell which value is the training loss: pass loss_key= (--loss-key on the "
                "command line) naming the logs entry that holds it, or update "
                "self._loss_tracker / a metric named 'loss' with the loss in train_step."
            )
        if int(getattr(model, "steps_per_execution", 1) or 1) > 1:
            raise self._abort(
                f"the model's train_step reports its loss only through its logs ({key!r}), "
                "which a callback sees once per execution: compile with "
                "steps_per_execution=1 for the range test, so every batch has its point."
            )
        value = _as_float(logs[key])
        means = [m for m in _flat_metrics(model) if isinstance(m, keras.metrics.Mean)]
        named = [m for m in means if m.name == key and m is not self._tracker]
        matching = [m for m in means if _close(_as_float(m.result()), value)]
        self._loss_metric = (named or matching or [None])[0]
        self._metric_state = (0.0, 0.0)  # fit reset the model's metrics as the epoch began
        self._logs_key = key
        self._source = "logs"

    def _scan_logs(self, logs: dict[str, Any]) -> bool:
        """Record this batch's point from the logs; True when the run should stop."""
        if self._finished:
            return True
        value = _as_float(logs.get(self._logs_key))
        weight = 1.0
        if self._loss_metric is not None:  # a running mean: this batch's own value
            _ = self.model  # on JAX, reading `model` syncs the variables with the fit's state
            total, count = _mean_state(self._loss_metric)
            weight = count - self._metric_state[1]
            value = (total - self._metric_state[0]) / weight if weight > 0 else math.nan
            self._metric_state = (total, count)
        assert self._ramp is not None
        lr = self._ramp.value_at(len(self._losses) + self._skipped)
        if value is None or self._record(lr, value, weight):
            return True
        if len(self._losses) >= self.num_steps:
            self._finished = True
        return self._finished

    def _check_reported_loss(self, logs: dict[str, Any]) -> None:
        """The loss the train step reports must be the one recorded.

        Checked once an epoch, at its first batch end: the reported loss is then the
        tracker's mean over the batches of the epoch so far (or, for a train step that
        reports each batch's loss itself, the last recorded one).
        """
        self._epoch_checked = True
        reported = _as_float(logs.get("loss"))
        if reported is None or not self._losses or not math.isfinite(reported):
            return
        assert self._tracker is not None
        _ = self.model  # on JAX, reading `model` syncs the variables with the fit's state
        recorded = self._tracker.running_mean()
        if _close(reported, recorded) or _close(reported, self._losses[-1]):
            return
        raise self._abort(
            f"the loss the model's train_step reports ({reported:.6g}) is not the loss it "
            f"hands to Keras's loss tracker ({recorded:.6g}), so the curve would not be the "
            "training loss. Pass loss_key= naming the logs entry that holds the training "
            "loss, or have train_step update self._loss_tracker (or its metric named "
            "'loss') with it."
        )

    def _abort(self, message: str) -> CurveError:
        """Restore the model now (Keras calls no callback after a raise) and make the error."""
        self.finish()
        self.result = None
        return CurveError(message)

    def _diverged(self, smoothed: float) -> bool:
        """The stop rule: the smoothed loss has risen by ``(stop_factor - 1) * |best|``
        above its best and by `STOP_DESCENT_FRACTION` of its descent so far (a loss that
        fell near zero is not "diverged" by a small rise of its noise floor)."""
        if self.stop_factor is None or len(self._losses) < 2:
            return False
        rise = smoothed - self._best
        descent = self._smoothed[0] - self._best
        return rise > (self.stop_factor - 1.0) * abs(self._best) and (
            rise > STOP_DESCENT_FRACTION * descent
        )

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
        settings["optimizer"] = self._optimizer_name
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
        if self._source not in (None, "tracker"):
            settings["loss_source"] = (
                f"logs[{self._logs_key!r}]" if self._source == "logs" else "compute_loss"
            )
        if self._skipped:
            settings["unrecorded_batches"] = self._skipped
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


class CurveError(ValueError):
    """The run cannot give a curve of the training loss; the message says why and the fix.

    The model has been restored when this is raised.
    """


def _misfed_message(model: keras.Model) -> str:
    return (
        f"{type(model).__name__}.train_step updates the loss tracker with the model's "
        "predictions, not the loss (Keras 3's shim for the Keras 2 idiom "
        "self.compiled_metrics.update_state(y, y_pred) feeds y_pred to every Mean metric), "
        "so neither lrfind nor fit's logs['loss'] see the training loss. Update the "
        "metrics as Keras 3 does: loss = self.compute_loss(x, y, y_pred), then "
        "`for m in self.metrics: m.update_state(loss) if m.name == 'loss' else "
        "m.update_state(y, y_pred)`."
    )


def _flat_metrics(model: keras.Model) -> list[Any]:
    """The model's metrics, with those inside Keras's compile-metrics container."""
    found = []
    for metric in model.metrics:
        found.append(metric)
        found.extend(getattr(metric, "metrics", []) or [])
    return found


def _mean_state(metric: Any) -> tuple[float, float]:
    return (float(ops.convert_to_numpy(metric.total)), float(ops.convert_to_numpy(metric.count)))


def _as_float(value: Any) -> float | None:
    try:
        array = np.asarray(ops.convert_to_numpy(value), dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return float(array) if array.size == 1 else None


def _close(a: float | None, b: float | None) -> bool:
    """Equal to float32 rounding (a mean accumulated in float32 over many batches)."""
    if a is None or b is None or not (math.isfinite(a) and math.isfinite(b)):
        return False
    return abs(a - b) <= 1e-4 * max(abs(a), abs(b)) + 1e-7
