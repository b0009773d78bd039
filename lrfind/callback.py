"""`LRRangeTest`: the learning-rate range test as a Keras callback inside any ``model.fit``.

For the run, the optimizer's learning rate is an `LRRamp` of its step (evaluated in the
compiled train step) and the model's loss tracker a `BatchLossTracker` (which records each
batch's own loss there); `lrfind.instrument` puts both in with a `KerasPatch`, which undoes
them. The callback reads the new
points after each batch into a `Recording` (which smooths them and applies the stop rule),
stops the fit when the loss diverges and, at the end, puts the model back (`ModelState`)
and has the `Recording` build the `LRFinderResult`.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import keras
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
from lrfind.batches import cache_validation, make_loss_fn
from lrfind.instrument import TracedRun, instrument
from lrfind.loss_source import (
    CurveError,
    LogsLoss,
    as_float,
    close,
    misfed_message,
    mismatch_message,
)
from lrfind.ramp import LRRamp
from lrfind.recording import PointHook, Recording
from lrfind.result import LRFinderResult
from lrfind.state import KerasPatch, ModelState, ensure_built
from lrfind.tracker import LAST_BATCH_KEY, BatchLossTracker, StepOrder


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
        self._momentum: float | None = None
        self._points = Recording(self.beta, self.stop_factor, self.on_point)
        self._finished = False
        self._last_val_at = 0
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
        self._epoch_start = len(self._points)
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
        if self._val_cache is not None and self._points.losses and (
            len(self._points) - self._last_val_at >= self.val_every
        ):
            self._evaluate_validation()
        if stop:
            self.model.stop_training = True

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self._scan_new_points()
        if not self._finished and self._tracker is not None:
            self._points.stop_reason = "fit_ended"
            lrs = self._points.lrs
            warnings.warn(
                f"The fit ended after {len(self._points) + self._skipped} of the range test's "
                f"{self.num_steps} batches, so the ramp stopped at lr "
                f"{lrs[-1] if lrs else self.start_lr:.3g} instead of "
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
        previous = self._trace_from
        self._trace_from = None  # used once: holding it would keep the old trace alive
        run = instrument(model, self.start_lr, self.end_lr, self.num_steps, self.mode, previous)
        self._ramp, self._tracker, self._order = run.ramp, run.tracker, run.order
        self._patch, self._accumulation = run.patch, run.accumulation
        self._optimizer_name, self._trace_key = run.optimizer_name, run.trace_key
        self._momentum = run.momentum

    def _scan_new_points(self, logs: dict[str, Any] | None = None) -> bool:
        """Process batches recorded since the last call; True when the run should stop."""
        if self._finished or self._tracker is None:
            return True
        last = (logs or {}).get(LAST_BATCH_KEY)
        if last is not None:
            last = ops.convert_to_numpy(last)
        seen = len(self._points) + self._skipped
        if last is not None and int(last[0]) == seen + 1:
            # exactly one new batch: no variable read
            lrs, losses, weights = last[1:2], last[2:3], last[3:4]
        else:
            _ = self.model  # on JAX, reading `model` syncs the variables with the fit's state
            lrs, losses, weights = self._tracker.recorded(since=seen)
        for lr, loss, weight in zip(lrs, losses, weights, strict=True):
            if self._ramp_done():
                break
            if self._record(float(lr), float(loss), float(weight)):
                return True
        if self._ramp_done():
            self._finished = True
        return self._finished

    def _ramp_done(self) -> bool:
        """Every step of the ramp taken (a skipped first batch took one too)."""
        return len(self._points) + self._skipped >= self.num_steps

    def _record(self, lr: float, loss: float, weight: float = 1.0) -> bool:
        """Add one point; True when it ends the run (NaN/Inf, or divergence)."""
        if self._points.add(lr, loss, weight):
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
        lr = self._ramp.value_at(len(self._points) + self._skipped)
        if value is None or self._record(lr, value, weight):
            return True
        if self._ramp_done():
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
        if reported is None or not self._points.losses or not math.isfinite(reported):
            return
        assert self._tracker is not None
        _ = self.model  # on JAX, reading `model` syncs the variables with the fit's state
        recorded = self._tracker.running_mean()
        if close(reported, recorded) or close(reported, self._points.losses[-1]):
            return
        raise self._abort(mismatch_message(reported, recorded))

    def _abort(self, message: str) -> CurveError:
        """Restore the model now (Keras calls no callback after a raise) and make the error."""
        self.finish()
        self.result = None
        return CurveError(message)

    def _evaluate_validation(self) -> None:
        model = self.model  # on JAX, this syncs the variables with the fit's state
        if self._val_loss_fn is None:
            self._val_loss_fn = make_loss_fn(model)
        assert self._val_cache is not None
        ((x_val, y_val),) = self._val_cache
        self._last_val_at = len(self._points)
        self._points.add_validation(float(ops.convert_to_numpy(self._val_loss_fn(x_val, y_val))))

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
        notes: dict[str, Any] = {}
        if self._source not in (None, "tracker"):
            notes["loss_source"] = (
                f"logs[{self._logs_loss.key!r}]" if self._logs_loss else "compute_loss"
            )
        if self._skipped:
            notes["unrecorded_batches"] = self._skipped
        validation = (None if self._val_cache is None
                      else {"val_every": self.val_every, "val_batches": self.val_batches})
        return self._points.result(
            {**self.settings(), "optimizer": self._optimizer_name, "momentum": self._momentum},
            batches_per_update=self._accumulation, validation=validation, notes=notes,
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
