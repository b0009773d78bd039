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
from typing import Any, NamedTuple

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
from lrfind.batches import cache_validation, make_loss_fn
from lrfind.curve_points import collapse_accumulation, keep_one_point_per_lr
from lrfind.loss_source import (
    CurveError,
    LogsLoss,
    as_float,
    close,
    misfed_message,
    mismatch_message,
)
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
from lrfind.tracker import (
    LAST_BATCH_KEY,
    BatchLossTracker,
    StepOrder,
    batch_count_learning_rate,
    needs_buffer,
)

PointHook = Callable[[int, float, float, float], None]
"""``on_point(points so far, lr, loss, smoothed loss)``, called after each recorded point."""


# ------------------------------------------------------------------------ the callback
class TracedRun(NamedTuple):
    """What a run's traced train step holds: the objects it was traced with."""

    key: tuple[Any, ...]
    ramp: LRRamp
    tracker: BatchLossTracker
    order: StepOrder | None
    train_function: Any


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
        self.keep_trace = False
        """Keep what the run's traced train step holds (``traced``) for a following
        `continue_from` (`LRFinder` sets it for all but the last repeat). Off by default:
        on JAX a live traced step would be reused by the next trace of the same model."""
        self.traced: TracedRun | None = None
        self._trace_from: TracedRun | None = None
        self._reset()

    def continue_from(self, previous: LRRangeTest) -> None:
        """Run through the train step ``previous`` traced (its ramp and tracker, cleared)
        instead of tracing another, when nothing that the trace depends on has changed:
        the same model, ramp and steps per execution, the same optimizer step count at the
        start. Repeated range tests then trace one train function in all."""
        self._trace_from = previous.traced

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
        self._logs_loss: LogsLoss | None = None  # "logs": reads the loss from the logs
        self._trace_key: tuple[Any, ...] | None = None

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
        if self._logs_loss is not None:
            _ = self.model  # on JAX, reading `model` syncs the variables with the fit's state
            self._logs_loss.epoch_begin()

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
        self._trace_key = (id(model), self._ramp.get_config(), steps_per_execution)
        previous = self._trace_from
        self._trace_from = None  # used once: holding it would keep the old trace alive
        if previous is not None and previous.key == self._trace_key:
            self._ramp, self._tracker, self._order = previous.ramp, previous.tracker, previous.order
            self._tracker.clear()
            self._patch = KerasPatch(model)
            self._patch.apply(self._ramp, self._tracker, train_function=previous.train_function)
            return
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
        assert self._ramp is not None
        if keras.backend.backend() == "tensorflow":
            self._order = StepOrder.watching(self._ramp, self.model)
            return self._order.learning_rate(self._ramp, lambda: step_count(lr_owner))
        return batch_count_learning_rate(self._ramp, lambda: self._tracker)

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
                raise self._abort(misfed_message(model))
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
        try:
            self._logs_loss = LogsLoss(self.model, logs, key, self._tracker)
        except CurveError as error:
            raise self._abort(str(error)) from None
        self._source = "logs"

    def _scan_logs(self, logs: dict[str, Any]) -> bool:
        """Record this batch's point from the logs; True when the run should stop."""
        if self._finished:
            return True
        assert self._logs_loss is not None and self._ramp is not None
        _ = self.model  # on JAX, reading `model` syncs the variables with the fit's state
        value, weight = self._logs_loss.batch(logs)
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
        reported = as_float(logs.get("loss"))
        if reported is None or not self._losses or not math.isfinite(reported):
            return
        assert self._tracker is not None
        _ = self.model  # on JAX, reading `model` syncs the variables with the fit's state
        recorded = self._tracker.running_mean()
        if close(reported, recorded) or close(reported, self._losses[-1]):
            return
        raise self._abort(mismatch_message(reported, recorded))

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
            self._val_loss_fn = make_loss_fn(model)
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
        if self.keep_trace and self._source == "tracker" and not (
            self._patch.compute_loss_recorded
        ):
            self.traced = TracedRun(self._trace_key, self._ramp, self._tracker, self._order,
                                    self.model.train_function)
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
                f"logs[{self._logs_loss.key!r}]" if self._logs_loss else "compute_loss"
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
