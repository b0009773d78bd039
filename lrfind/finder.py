"""The learning-rate range test: `LRRangeTest` (a Keras callback) and `LRFinder` (the wrapper).

This is the only module of lrfind with Keras side effects. How it stays exact and cheap:

* The ramp runs inside the compiled train step: for the run, the optimizer's learning rate
  is an `LRRamp` schedule of ``optimizer.iterations``. Assigning the LR from a callback each
  batch costs +8 % to +100 % per step (see KERAS3-FACTS); the in-graph ramp costs nothing.
* Every batch's own loss is written, inside the train step, into a buffer held by the
  model's loss tracker (`_BatchLossTracker`). Keras's ``logs["loss"]`` is the running mean
  since the epoch began, which lags the true curve; the buffer also gives one point per
  batch when the model runs several steps per execution.
* Everything the run touches is captured first and put back afterwards, bit for bit,
  also when the run raises or is interrupted (`ModelState`).
"""

from __future__ import annotations

import math
import mmap
import os
import random
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import keras
import numpy as np
from keras import ops

from lrfind.result import LRFinderResult, SmoothedLoss, smooth_losses

DEFAULT_START_LR = 1e-10
DEFAULT_END_LR = 10.0
DEFAULT_STEPS = 800
"""Default number of batches in a run: 73 a decade over 1e-10..10. Measured in
``benchmarks/suggestion_quality.py`` (length study): 100, 200, 400 and 800 batches give a
median regret of 1.29, 1.34, 1.21 and 1.13 and a worst spread over finder seeds of refusals,
0.97, 1.13 and 0.37 decades."""
MIN_STEPS = 10
"""Fewer batches than this cannot resolve a curve."""
RAMP_MODES = ("exponential", "linear")
LAST_BATCH_KEY = "lrfind_last_batch"  # in the logs during a run: [batch count, lr, loss]


# --------------------------------------------------------------------------- the ramp
@keras.saving.register_keras_serializable(package="lrfind")
class LRRamp(keras.optimizers.schedules.LearningRateSchedule):
    """The range test's ramp: from `start_lr` to `end_lr` over `num_steps` batches.

    ```python
    t = clip((step - initial_step) // batches_per_step, 0, num_steps - 1) / (num_steps - 1)
    lr = start_lr * (end_lr / start_lr) ** t      # mode="exponential"
    lr = start_lr + (end_lr - start_lr) * t       # mode="linear"
    ```

    Example:

    >>> ramp = LRRamp(1e-4, 1.0, num_steps=5)
    >>> [round(float(ramp(s)), 6) for s in range(5)]
    [0.0001, 0.001, 0.01, 0.1, 1.0]

    Args:
        start_lr: LR of the first batch (> 0).
        end_lr: LR of the last planned batch (> start_lr).
        num_steps: number of planned batches (≥ 2).
        mode: "exponential" (a constant factor per batch) or "linear".
        initial_step: the optimizer's iteration count when the ramp starts.
        batches_per_step: batches per applied update (the optimizer's
            ``gradient_accumulation_steps``); the ramp advances once per update.
    """

    def __init__(
        self,
        start_lr: float,
        end_lr: float,
        num_steps: int,
        mode: str = "exponential",
        initial_step: int = 0,
        batches_per_step: int = 1,
    ) -> None:
        _check_lr_range(start_lr, end_lr)
        if mode not in RAMP_MODES:
            raise ValueError(f"mode must be one of {RAMP_MODES}, got {mode!r}.")
        if int(num_steps) < 2:
            raise ValueError(f"num_steps must be at least 2, got {num_steps}.")
        self.start_lr = float(start_lr)
        self.end_lr = float(end_lr)
        self.num_steps = int(num_steps)
        self.mode = mode
        self.initial_step = int(initial_step)
        self.batches_per_step = int(batches_per_step)
        if self.batches_per_step < 1:
            raise ValueError(f"batches_per_step must be ≥ 1, got {batches_per_step}.")

    def __call__(self, step: Any) -> Any:
        step = ops.cast(step, "float32") - float(self.initial_step)
        if self.batches_per_step > 1:
            step = ops.floor(step / float(self.batches_per_step))
        t = ops.clip(step, 0.0, float(self.num_steps - 1)) / float(self.num_steps - 1)
        if self.mode == "linear":
            return self.start_lr + (self.end_lr - self.start_lr) * t
        return self.start_lr * ops.exp(math.log(self.end_lr / self.start_lr) * t)

    def get_config(self) -> dict[str, Any]:
        return {
            "start_lr": self.start_lr,
            "end_lr": self.end_lr,
            "num_steps": self.num_steps,
            "mode": self.mode,
            "initial_step": self.initial_step,
            "batches_per_step": self.batches_per_step,
        }


# ------------------------------------------------------------- per-batch loss recording
class _BatchLossTracker(keras.metrics.Mean):
    """Keras's loss tracker (a running mean) that also keeps every batch's own loss.

    Stands in for ``model._loss_tracker`` during a run. The train step calls
    ``update_state(batch_loss, sample_weight=batch_size)`` once per batch, inside the
    compiled function, so the buffer holds one exact value per batch whatever
    ``steps_per_execution`` is. Resetting (Keras does so each epoch) clears only the mean.
    Under ``tf.distribute`` each replica writes its own (unscaled) loss and reads average
    them: the recorded value is the global batch loss.
    """

    def __init__(
        self, capacity: int, learning_rate: Any, name: str = "loss", buffered: bool = True
    ) -> None:
        super().__init__(name=name)
        self.capacity = int(capacity)
        self._learning_rate = learning_rate  # () -> the LR the optimizer applies this step
        # Without the buffer only the last batch is kept: enough when the callback sees
        # every batch's logs (one step per execution, one replica, TensorFlow), and eight
        # graph ops a step cheaper.
        self.buffered = bool(buffered)
        if self.buffered:
            self.batch_losses = self.add_variable(
                shape=(self.capacity,), initializer="zeros", dtype="float32",
                name="batch_losses", aggregation="mean"
            )
            self.batch_lrs = self.add_variable(
                shape=(self.capacity,), initializer="zeros", dtype="float32", name="batch_lrs",
                aggregation="mean"
            )
        self.batch_count = self.add_variable(
            shape=(), initializer="zeros", dtype="float32", name="batch_count",
            aggregation="mean"
        )
        self.last_batch = self.add_variable(
            shape=(3,), initializer="zeros", dtype="float32", name="last_batch",
            aggregation="mean"
        )  # [batches so far, lr, loss]: what the callback reads after each step

    recording = True
    """False while the model evaluates (validation during fit): Keras's test step updates
    the loss tracker too. Read when a step is traced, so the train and test functions are
    each compiled with the right branch."""

    def update_state(self, values: Any, sample_weight: Any = None) -> None:
        super().update_state(values, sample_weight=sample_weight)
        if not self.recording:
            return
        batch_loss = ops.mean(ops.cast(values, "float32"))
        # Read everything first: on TensorFlow `.value` is the variable itself, so a read
        # after an assign would see the new value.
        index = ops.convert_to_tensor(self.batch_count.value)
        count = index + 1.0
        learning_rate = ops.cast(self._learning_rate(), "float32")
        if self.buffered:
            slot = ops.arange(self.capacity, dtype="float32") == index
            self.batch_losses.assign(ops.where(slot, batch_loss, self.batch_losses.value))
            self.batch_lrs.assign(ops.where(slot, learning_rate, self.batch_lrs.value))
        self.batch_count.assign(count)
        self.last_batch.assign(ops.stack([count, learning_rate, batch_loss]))

    def result(self) -> dict[str, Any]:
        # The extra entries reach the callback in the logs Keras already hands over,
        # so the usual one-step-per-execution case reads no variable at all.
        return {
            self.name: super().result(),
            # A tensor, not the variable: logs are read after the step, once, as NumPy.
            LAST_BATCH_KEY: ops.copy(self.last_batch.value),
        }

    def reset_state(self) -> None:
        for variable in (self.total, self.count):
            variable.assign(ops.zeros(variable.shape, dtype=variable.dtype))

    def recorded(self, since: int) -> tuple[np.ndarray, np.ndarray]:
        """(learning rates, losses) of the batches recorded after the first `since`."""
        if not self.buffered:
            count, lr, loss = ops.convert_to_numpy(self.last_batch)
            if int(count) == since + 1:
                return np.array([lr]), np.array([loss])
            if int(count) > since + 1:  # cannot happen when every batch's logs are seen
                warnings.warn(
                    f"lrfind missed the losses of batches {since + 1}..{int(count)}; the "
                    "curve ends before them.",
                    stacklevel=2,
                )
            return np.array([]), np.array([])
        count = min(int(ops.convert_to_numpy(self.batch_count)), self.capacity)
        return (
            ops.convert_to_numpy(self.batch_lrs)[since:count],
            ops.convert_to_numpy(self.batch_losses)[since:count],
        )


# ---------------------------------------------------------------------- state capture
def _inner_optimizer(optimizer: Any) -> Any:
    """The optimizer that owns the learning rate (unwraps LossScaleOptimizer)."""
    return getattr(optimizer, "inner_optimizer", optimizer)


def _ensure_built(model: keras.Model) -> None:
    optimizer = model.optimizer
    if not optimizer.built:
        with _strategy_scope(model):
            optimizer.build(model.trainable_variables)


def _needs_buffer(model: keras.Model, steps_per_execution: int) -> bool:
    """Whether the callback may miss a batch's logs, so every batch must be buffered.

    Only TensorFlow with one step per execution and one replica hands the callback the
    logs of every batch as it ends; JAX and torch update the tracker's variables apart
    from what the callback reads.
    """
    strategy = getattr(model, "distribute_strategy", None)
    return not (
        keras.backend.backend() == "tensorflow"
        and steps_per_execution == 1
        and getattr(strategy, "num_replicas_in_sync", 1) == 1
    )


@contextmanager
def _strategy_scope(model: keras.Model) -> Iterator[None]:
    """The model's tf.distribute scope on TensorFlow; nothing on other backends."""
    strategy = getattr(model, "distribute_strategy", None)
    if strategy is None:
        yield
    else:
        with strategy.scope():
            yield


class ModelState:
    """Everything a range test changes, captured so it can be put back bit for bit.

    Covers all model variables (trainable, non-trainable such as BatchNorm statistics,
    and the layers' random-seed states), every optimizer variable (iterations, slots,
    learning rate), the metric variables, the optimizer's learning-rate object (a
    variable or a schedule), ``stop_training``, ``history``, the compiled train function,
    and the global random state (Keras's global seed generator, NumPy's, Python's and, on
    the torch backend, torch's).

    Example:

    >>> import keras, numpy as np
    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    >>> model.compile("sgd", "mse")
    >>> state = ModelState.capture(model)
    >>> _ = model.fit(np.ones((8, 3)), np.ones((8, 1)), verbose=0)
    >>> state.restore()
    >>> state.matches(model)
    True
    """

    def __init__(self, model: keras.Model) -> None:
        self.model = model
        _ensure_built(model)
        self.optimizer = model.optimizer
        self.lr_owner = _inner_optimizer(model.optimizer)
        self.model_vars = list(model.variables)
        self.optimizer_vars = list(model.optimizer.variables)
        self.metric_vars = list(model.metrics_variables)
        self.values = [
            np.array(ops.convert_to_numpy(v), copy=True)
            for v in (*self.model_vars, *self.optimizer_vars, *self.metric_vars)
        ]
        self.learning_rate = self.lr_owner._learning_rate
        self.loss_tracker = getattr(model, "_loss_tracker", None)
        self.train_function = getattr(model, "train_function", None)
        self.stop_training = model.stop_training
        self.history = getattr(model, "history", None)
        self.rng = _capture_global_rng()

    @classmethod
    def capture(cls, model: keras.Model) -> ModelState:
        return cls(model)

    def _variables(self) -> list[Any]:
        return [*self.model_vars, *self.optimizer_vars, *self.metric_vars]

    def restore(self) -> None:
        """Put everything back. Safe to call more than once."""
        model = self.model
        object.__setattr__(self.lr_owner, "_learning_rate", self.learning_rate)
        if self.loss_tracker is not None:
            object.__setattr__(model, "_loss_tracker", self.loss_tracker)
        for variable, value in zip(self._variables(), self.values, strict=True):
            variable.assign(value)
        model.train_function = self.train_function
        model.stop_training = self.stop_training
        if self.history is not None:
            object.__setattr__(model, "history", self.history)
        _restore_global_rng(self.rng)

    def matches(self, model: keras.Model | None = None) -> bool:
        """True when every captured variable holds exactly its captured value."""
        del model  # the captured variables are the model's own
        return all(
            np.array_equal(ops.convert_to_numpy(v), value, equal_nan=True)
            for v, value in zip(self._variables(), self.values, strict=True)
        )


def _capture_global_rng() -> dict[str, Any]:
    from keras.src.backend.common import global_state
    from keras.src.random.seed_generator import GLOBAL_SEED_GENERATOR

    generator = global_state.get_global_attribute(GLOBAL_SEED_GENERATOR)
    torch_state = None
    if keras.backend.backend() == "torch":
        import torch

        torch_state = torch.get_rng_state()
    return {
        "torch": torch_state,
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "keras_generator": generator,
        "keras_state": None
        if generator is None
        else np.array(ops.convert_to_numpy(generator.state), copy=True),
    }


def _restore_global_rng(rng: dict[str, Any]) -> None:
    from keras.src.backend.common import global_state
    from keras.src.random.seed_generator import GLOBAL_SEED_GENERATOR

    if rng["torch"] is not None:
        import torch

        torch.set_rng_state(rng["torch"])
    random.setstate(rng["python"])
    np.random.set_state(rng["numpy"])
    global_state.set_global_attribute(GLOBAL_SEED_GENERATOR, rng["keras_generator"])
    if rng["keras_generator"] is not None:
        rng["keras_generator"].state.assign(rng["keras_state"])


def is_chief(model: keras.Model | None = None) -> bool:
    """True in the one process that should write files (always, without multi-worker).

    Under ``tf.distribute.MultiWorkerMirroredStrategy`` every worker runs the same range
    test and records the same curve; only the chief should save it. On JAX, process 0.

    >>> is_chief()
    True
    """
    if keras.backend.backend() == "jax":
        import jax

        return jax.process_index() == 0
    strategy = getattr(model, "distribute_strategy", None)
    if strategy is None and keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        strategy = tf.distribute.get_strategy()
    extended = getattr(strategy, "extended", None)
    return bool(getattr(extended, "should_checkpoint", True))


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
    """

    def __init__(
        self,
        start_lr: float = DEFAULT_START_LR,
        end_lr: float = DEFAULT_END_LR,
        num_steps: int = DEFAULT_STEPS,
        *,
        mode: str = "exponential",
        beta: float = 0.98,
        stop_factor: float | None = 4.0,
        restore: bool = True,
        validation_data: Any = None,
        val_every: int = 10,
        val_batches: int = 4,
        val_batch_size: int = 64,
    ) -> None:
        super().__init__()
        _check_lr_range(start_lr, end_lr)
        if mode not in RAMP_MODES:
            raise ValueError(f"mode must be one of {RAMP_MODES}, got {mode!r}.")
        if int(num_steps) < MIN_STEPS:
            raise ValueError(
                f"num_steps={num_steps} is too few batches for a curve; use at least "
                f"{MIN_STEPS} (lrfind's default is {DEFAULT_STEPS})."
            )
        if stop_factor is not None and not stop_factor > 1.0:
            raise ValueError(f"stop_factor must be > 1 (or None), got {stop_factor}.")
        self.start_lr = float(start_lr)
        self.end_lr = float(end_lr)
        self.num_steps = int(num_steps)
        self.mode = mode
        self.beta = float(beta)
        SmoothedLoss(self.beta)  # validates beta
        self.stop_factor = stop_factor
        self.restore = restore
        if int(val_every) < 1 or int(val_batches) < 1 or int(val_batch_size) < 1:
            raise ValueError("val_every, val_batches and val_batch_size must be ≥ 1.")
        self.val_every = int(val_every)
        self.val_batches = int(val_batches)
        self._val_cache = (
            None
            if validation_data is None
            else _cache_validation(validation_data, int(val_batches), int(val_batch_size))
        )
        self._val_loss_fn: Any = None
        self.result: LRFinderResult | None = None
        self._state: ModelState | None = None
        self._tracker: _BatchLossTracker | None = None
        self._ramp: LRRamp | None = None

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

    def _evaluate_validation(self) -> None:
        model = self.model  # on JAX, this syncs the variables with the fit's state
        if self._val_loss_fn is None:
            self._val_loss_fn = _make_loss_fn(model)
        ((x_val, y_val),) = self._val_cache
        self._last_val_at = len(self._losses)
        self._val_indices.append(len(self._losses) - 1)
        self._val_losses.append(float(ops.convert_to_numpy(self._val_loss_fn(x_val, y_val))))

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
        _ensure_built(model)
        lr_owner = _inner_optimizer(model.optimizer)
        self._saved_lr = lr_owner._learning_rate
        self._saved_tracker = model._loss_tracker
        self._saved_train_function = model.train_function
        # A test function traced during the run (validation in the same fit) holds the
        # run's loss tracker; the saved one (or None, traced anew) is put back with it.
        self._saved_test_function = getattr(model, "test_function", None)
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
        if keras.backend.backend() == "tensorflow":
            # The LR the optimizer applies this step, read in the same compiled step.
            def learning_rate() -> Any:
                return lr_owner.learning_rate
        else:
            # JAX and torch update metric variables apart from the optimizer's state,
            # so the tracker evaluates the ramp at its own batch count instead.
            ramp = self._ramp

            def learning_rate() -> Any:
                return ramp(ramp.initial_step + self._tracker.batch_count.value)
        with _strategy_scope(model):
            self._tracker = _BatchLossTracker(
                self.num_steps + steps_per_execution,
                learning_rate,
                buffered=_needs_buffer(model, steps_per_execution),
            )
        object.__setattr__(lr_owner, "_learning_rate", self._ramp)
        object.__setattr__(model, "_loss_tracker", self._tracker)
        model.make_train_function(force=True)
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
        self.result = None

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
            loss = float(loss)
            if not math.isfinite(loss):
                self._non_finite_lr = float(lr)
                self._stop_reason = "non_finite"
                self._finished = True
                return True
            smoothed = self._ema.update(loss)
            self._lrs.append(float(lr))
            self._losses.append(loss)
            self._smoothed.append(smoothed)
            self._best = min(self._best, smoothed)
            if self._diverged(smoothed):
                self._stop_reason = "diverged"
                self._finished = True
                return True
        if len(self._losses) >= self.num_steps:
            self._finished = True
        return self._finished

    def _diverged(self, smoothed: float) -> bool:
        if self.stop_factor is None or len(self._losses) < 2:
            return False
        return smoothed - self._best > (self.stop_factor - 1.0) * abs(self._best)

    def finish(self) -> LRFinderResult | None:
        """Undo the run's patches, restore the model (if asked) and build ``result``.

        Called by ``on_train_end``; `LRFinder` also calls it when the fit raises. Safe to
        call more than once.
        """
        if self._tracker is None:
            return self.result
        self._scan_new_points()
        model = self.model
        object.__setattr__(_inner_optimizer(model.optimizer), "_learning_rate", self._saved_lr)
        object.__setattr__(model, "_loss_tracker", self._saved_tracker)
        model.train_function = self._saved_train_function
        model.test_function = self._saved_test_function
        if self._state is not None:
            self._state.restore()
            self._state = None
        lrs, losses, smoothed = np.array(self._lrs), np.array(self._losses), self._smoothed
        settings = self.settings()
        if self._accumulation > 1:  # one point per applied update: its batches' mean loss
            updates = len(losses) // self._accumulation
            lrs = lrs[: updates * self._accumulation : self._accumulation]
            losses = losses[: updates * self._accumulation].reshape(updates, -1).mean(axis=1)
            smoothed = smooth_losses(losses, self.beta)
            settings.update(gradient_accumulation_steps=self._accumulation, points="updates")
        val_indices = np.array(self._val_indices, dtype=np.int64) // self._accumulation
        if len(lrs) > 1 and np.any(lrs[1:] == lrs[:-1]):
            # A mixed-precision step skipped for overflow applies no update, so the next
            # batch runs at the same LR: keep one point per LR (the later, whose update
            # was applied), so the curve stays strictly increasing in LR.
            kept = np.append(lrs[1:] != lrs[:-1], True)
            position = np.cumsum(kept) - 1
            val_indices = position[val_indices] + ~kept[val_indices]
            lrs, losses = lrs[kept], losses[kept]
            smoothed = smooth_losses(losses, self.beta)
            settings["skipped_steps"] = int(np.sum(~kept))
        keep = val_indices < len(losses)
        if self._val_cache is not None:
            settings.update(val_every=self.val_every, val_batches=self.val_batches)
        if self._stop_reason == "non_finite" and self._non_finite_lr is not None:
            settings["non_finite_lr"] = self._non_finite_lr
        self.result = LRFinderResult(
            lrs=lrs,
            losses=losses,
            smoothed_losses=np.array(smoothed),
            settings=settings,
            stop_reason=self._stop_reason,
            val_indices=val_indices[keep] if self._val_cache is not None else None,
            val_losses=np.array(self._val_losses)[keep] if self._val_cache is not None else None,
        )
        self._tracker = None
        return self.result

    def settings(self) -> dict[str, Any]:
        return {
            "start_lr": self.start_lr,
            "end_lr": self.end_lr,
            "num_steps": self.num_steps,
            "mode": self.mode,
            "beta": self.beta,
            "stop_factor": self.stop_factor,
        }


# ------------------------------------------------------------------------ the wrapper
class LRFinder:
    """Run a learning-rate range test on a compiled Keras model and leave it untouched.

    Example:

    >>> import keras, numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(512, 8)).astype("float32")
    >>> y = (x[:, 0] > 0).astype("int32")
    >>> model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(2, activation="softmax")])
    >>> model.compile("adam", "sparse_categorical_crossentropy")
    >>> result = LRFinder(model).find(x, y, start_lr=1e-5, end_lr=10, steps=60, seed=0)
    >>> result.stop_reason in {"completed", "diverged"}
    True
    """

    def __init__(self, model: keras.Model) -> None:
        if not isinstance(model, keras.Model):
            raise TypeError(
                f"LRFinder needs a keras.Model, got {type(model).__name__}. "
                "Build your network with keras.Sequential, the functional API or a Model subclass."
            )
        self.model = model
        self.result: LRFinderResult | None = None

    def find(
        self,
        x: Any,
        y: Any = None,
        start_lr: float = DEFAULT_START_LR,
        end_lr: float = DEFAULT_END_LR,
        batch_size: int | None = None,
        epochs: int | None = None,
        *,
        steps: int | None = None,
        sample_weight: Any = None,
        mode: str = "exponential",
        beta: float = 0.98,
        stop_factor: float | None = 4.0,
        shuffle: bool = True,
        seed: int | None = None,
        verbose: int = 0,
        callbacks: list[keras.callbacks.Callback] | None = None,
        validation_data: Any = None,
        val_every: int = 10,
        val_batches: int = 4,
    ) -> LRFinderResult:
        """Ramp the LR from ``start_lr`` to ``end_lr`` and record one point per batch.

        The positional order follows keras_lr_finder:
        ``find(x_train, y_train, 0.0001, 1, 200, 5)`` is (x, y, start_lr, end_lr,
        batch_size, epochs).

        Args:
            x, y, sample_weight: anything ``model.fit`` takes: NumPy arrays (also lists or
                dicts of them for multi-input models), a ``tf.data.Dataset`` or a
                ``keras.utils.PyDataset`` (then ``y`` is None).
            start_lr, end_lr: the ramp's first and last LR.
            batch_size: batch size for array data (Keras's default 32 when None).
            epochs: run length in passes over the data. ``steps`` instead sets it in
                batches; with neither, ``DEFAULT_STEPS`` batches. When the data is shorter
                than the run, the run cycles over it.
            mode: "exponential" or "linear" ramp.
            beta: smoothing of the recorded moving average.
            stop_factor: divergence threshold (see `LRRangeTest`), None to never stop early.
            shuffle: shuffle array data each pass.
            seed: seed Keras, NumPy and Python for a reproducible run (on JAX and torch
                shuffled array data is then batched by `SeededBatches`); the global random
                state is put back afterwards.
            verbose: passed to ``model.fit``.
            callbacks: more callbacks for the run's ``model.fit``.
            validation_data, val_every, val_batches: also record the loss of a fixed,
                cached validation subset every ``val_every`` batches (see `LRRangeTest`);
                it is in ``result.val_losses`` and ``result.validation_suggestion``.

        Returns:
            The `LRFinderResult`; also kept as ``self.result``.
        """
        model = self.model
        _check_compiled(model)
        _check_lr_range(start_lr, end_lr)
        if steps is not None and epochs is not None:
            raise ValueError("pass either steps= or epochs=, not both.")
        batches_per_epoch = _count_batches(x, y, batch_size)
        if batches_per_epoch is None and _is_dataset(x):
            x = x.repeat()  # unknown length (filter, ...): cycle it like any short data
        num_steps, fit_epochs, steps_per_epoch = _plan(batches_per_epoch, steps, epochs)
        if num_steps < MIN_STEPS:
            raise ValueError(
                f"the run has only {num_steps} batches; a curve needs at least {MIN_STEPS}. "
                "Pass more epochs=, more steps=, or a smaller batch_size."
            )
        _build_from_first_batch(model, x)
        _check_data_fits(model, x, y, batch_size)
        if _is_array_data(x) and _has_memmap((x, y, sample_weight)):
            # Stream memory-mapped arrays batch by batch instead of letting fit copy them.
            x = MemmapBatches(x, y, sample_weight, batch_size=batch_size or 32,
                              shuffle=shuffle, seed=seed)
            y = sample_weight = None
        elif (_is_array_data(x) and shuffle and seed is not None
              and keras.backend.backend() != "tensorflow"):
            # Keras's JAX and torch array pipelines shuffle from state that
            # keras.utils.set_random_seed does not pin: two seeded fits see different
            # orders. Shuffle here instead, from the seed.
            x = SeededBatches(x, y, sample_weight, batch_size=batch_size or 32, seed=seed)
            y = sample_weight = None

        state = ModelState.capture(model)
        test = LRRangeTest(
            start_lr,
            end_lr,
            num_steps,
            mode=mode,
            beta=beta,
            stop_factor=stop_factor,
            restore=False,
            validation_data=validation_data,
            val_every=val_every,
            val_batches=val_batches,
            val_batch_size=batch_size or 32,
        )
        try:
            if seed is not None:
                keras.utils.set_random_seed(seed)
            model.fit(
                x,
                y,
                batch_size=batch_size if _is_array_data(x) else None,
                epochs=fit_epochs,
                steps_per_epoch=steps_per_epoch,
                sample_weight=sample_weight,
                shuffle=shuffle and _is_array_data(x),
                verbose=verbose,
                callbacks=[test, *(callbacks or [])],
            )
        finally:
            test.finish()
            state.restore()
        self.result = test.result
        assert self.result is not None
        return self.result


# ------------------------------------------------------------- data larger than memory
def _has_memmap(structure: Any) -> bool:
    return any(isinstance(leaf, np.memmap) for leaf in keras.tree.flatten(structure))


def _read_rows(array: Any, part: slice) -> np.ndarray:
    """Rows ``part`` of an array; from a file-backed ``np.memmap``, by a plain file read.

    Touching a memory map maps whole pages, and the kernel maps the cached pages around
    each touched one too, so slicing a memmap batch by batch grows the resident set by
    about a megabyte a batch. A positioned read of just the batch's bytes does not.
    """
    filename = getattr(array, "filename", None)
    row_bytes = array.itemsize * int(np.prod(array.shape[1:], dtype=np.int64))
    # Only a memmap that owns its mapping (not a view of one) has a meaningful `offset`.
    if not filename or not array.flags.c_contiguous or not isinstance(array.base, mmap.mmap):
        return np.array(array[part])
    start, stop, _ = part.indices(len(array))
    if stop <= start:
        return np.empty((0, *array.shape[1:]), dtype=array.dtype)
    # A memmap's offset is where its first row starts in the file.
    with open(filename, "rb") as f:
        buffer = os.pread(f.fileno(), (stop - start) * row_bytes, array.offset + start * row_bytes)
    return np.frombuffer(buffer, dtype=array.dtype).reshape(stop - start, *array.shape[1:])


class MemmapBatches(keras.utils.PyDataset):
    """Batches read on demand from (memory-mapped) arrays, so the data never sits in RAM.

    ``model.fit`` turns NumPy arrays into in-memory tensors; a ``np.load(path,
    mmap_mode="r")`` array of several GB would be copied whole. `LRFinder.find` wraps
    memory-mapped inputs in this dataset: each batch is a contiguous slice (cheap to read
    from disk), and the order of the batches is shuffled each pass.

    Example:

    >>> import numpy as np
    >>> batches = MemmapBatches(np.arange(10.0)[:, None], np.arange(10), batch_size=4,
    ...                         shuffle=False)
    >>> len(batches), batches[0][0].shape
    (3, (4, 1))
    """

    def __init__(
        self,
        x: Any,
        y: Any = None,
        sample_weight: Any = None,
        *,
        batch_size: int = 32,
        shuffle: bool = True,
        seed: int | None = None,
    ) -> None:
        super().__init__()
        self.x, self.y, self.sample_weight = x, y, sample_weight
        self.batch_size = int(batch_size)
        self.num_samples = len(keras.tree.flatten(x)[0])
        self.shuffle = shuffle
        self._rng = np.random.default_rng(seed)
        self._order = np.arange(self._order_length())
        self.on_epoch_end()

    def _order_length(self) -> int:
        return len(self)  # the order is over batches

    def __len__(self) -> int:
        return math.ceil(self.num_samples / self.batch_size)

    def __getitem__(self, index: int) -> tuple[Any, ...]:
        start = int(self._order[index]) * self.batch_size
        part = slice(start, start + self.batch_size)
        parts = [p for p in (self.x, self.y, self.sample_weight) if p is not None]
        return tuple(keras.tree.map_structure(lambda a: _read_rows(a, part), p) for p in parts)

    def on_epoch_end(self) -> None:
        if self.shuffle:
            self._rng.shuffle(self._order)


class SeededBatches(MemmapBatches):
    """In-memory arrays in batches, reshuffled sample by sample each pass from a seed.

    Used by `LRFinder.find` for a seeded, shuffled run on the JAX and torch backends, whose
    own array pipelines do not repeat their order under ``keras.utils.set_random_seed``.

    Example:

    >>> import numpy as np
    >>> first = SeededBatches(np.arange(10.0)[:, None], np.arange(10), batch_size=4, seed=0)
    >>> again = SeededBatches(np.arange(10.0)[:, None], np.arange(10), batch_size=4, seed=0)
    >>> bool((first[0][1] == again[0][1]).all()), len(first), first[2][0].shape
    (True, 3, (2, 1))
    """

    def __init__(
        self, x: Any, y: Any = None, sample_weight: Any = None, *, batch_size: int = 32,
        seed: int | None = None,
    ) -> None:
        super().__init__(x, y, sample_weight, batch_size=batch_size, shuffle=True, seed=seed)

    def _order_length(self) -> int:
        return self.num_samples  # the order is over samples

    def __getitem__(self, index: int) -> tuple[Any, ...]:
        rows = self._order[index * self.batch_size : (index + 1) * self.batch_size]
        parts = [p for p in (self.x, self.y, self.sample_weight) if p is not None]
        return tuple(
            keras.tree.map_structure(lambda a: np.take(np.asarray(a), rows, axis=0), p)
            for p in parts
        )


# ---------------------------------------------------------------- validation subset
def _cache_validation(data: Any, batches: int, batch_size: int) -> list[tuple[Any, Any]]:
    """The validation subset, cached once as a single (x, y) batch.

    It holds the first ``batches * batch_size`` samples of array data, or the first
    ``batches`` batches of a dataset, so one evaluation is one forward pass.
    """
    if isinstance(data, (tuple, list)) and len(data) == 2 and not _is_dataset(data):
        x, y = data
        n = len(keras.tree.flatten(x)[0])
        if n == 0:
            raise ValueError("validation_data is empty.")
        return [_slice_batch((x, y), slice(0, min(n, batches * batch_size)))]
    if _is_dataset(data):
        taken = [(batch[0], batch[1]) for batch in data.take(batches)]
        if not taken:
            raise ValueError("validation_data is an empty dataset.")
        return [keras.tree.map_structure(
            lambda *parts: np.concatenate([np.asarray(p) for p in parts]), *taken)]
    raise ValueError(
        "validation_data must be an (x_val, y_val) pair of arrays or a tf.data.Dataset "
        f"yielding (x, y) batches, got {type(data).__name__}."
    )


def _slice_batch(structure: Any, part: slice) -> Any:
    return keras.tree.map_structure(lambda array: array[part], structure)


def _make_loss_fn(model: keras.Model) -> Any:
    """(x, y) -> the model's compiled loss on that batch, in inference mode."""

    def loss_fn(x: Any, y: Any) -> Any:
        y_pred = model(x, training=False)
        return model.compute_loss(x=x, y=y, y_pred=y_pred, training=False)

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return tf.function(loss_fn, reduce_retracing=True)
    return loss_fn


# ----------------------------------------------------------------- input validation
def _check_lr_range(start_lr: float, end_lr: float) -> None:
    for name, value in (("start_lr", start_lr), ("end_lr", end_lr)):
        if not isinstance(value, (int, float, np.floating, np.integer)) or not math.isfinite(
            value
        ):
            raise ValueError(f"{name} must be a finite number, got {value!r}.")
    if start_lr <= 0:
        raise ValueError(
            f"start_lr must be > 0, got {start_lr}. An exponential ramp starts above zero; "
            f"lrfind's default is {DEFAULT_START_LR:g}."
        )
    if end_lr <= start_lr:
        raise ValueError(
            f"end_lr ({end_lr:g}) must be greater than start_lr ({start_lr:g}); "
            "the ramp goes upwards, e.g. start_lr=1e-7, end_lr=10."
        )


def _check_compiled(model: keras.Model) -> None:
    if not getattr(model, "compiled", False) or getattr(model, "optimizer", None) is None:
        raise ValueError(
            "the model is not compiled: call model.compile(optimizer=..., loss=...) "
            "before running LRFinder."
        )


def _is_array_data(x: Any) -> bool:
    leaves = keras.tree.flatten(x)
    return bool(leaves) and all(hasattr(leaf, "shape") and hasattr(leaf, "__len__")
                                for leaf in leaves) and not _is_dataset(x)


def _is_dataset(x: Any) -> bool:
    try:
        import tensorflow as tf
    except ImportError:  # pragma: no cover - other backends without TF
        return False
    return isinstance(x, tf.data.Dataset)


def _count_batches(x: Any, y: Any, batch_size: int | None) -> int | None:
    """Batches in one pass over the data, or None when that is unknown or infinite."""
    if isinstance(x, keras.utils.PyDataset):
        n = x.num_batches
        if n is not None and n <= 0:
            raise ValueError("the PyDataset is empty: its __len__ is 0.")
        return n
    if _is_dataset(x):
        import tensorflow as tf

        n = int(x.cardinality())
        if n == 0:
            raise ValueError("the tf.data.Dataset is empty: it yields no batches.")
        if n in (tf.data.INFINITE_CARDINALITY, tf.data.UNKNOWN_CARDINALITY):
            return None
        return n
    if not _is_array_data(x):
        raise ValueError(
            f"unsupported data type {type(x).__name__}: pass NumPy arrays (or lists/dicts "
            "of them), a tf.data.Dataset or a keras.utils.PyDataset."
        )
    lengths = {len(leaf) for leaf in keras.tree.flatten(x)}
    if len(lengths) != 1:
        raise ValueError(f"the inputs have different numbers of samples: {sorted(lengths)}.")
    (n,) = lengths
    if y is not None:
        y_lengths = {len(leaf) for leaf in keras.tree.flatten(y)}
        if y_lengths != {n}:
            raise ValueError(
                f"x has {n} samples but y has {sorted(y_lengths)}: they must be the same "
                "length (one target per sample)."
            )
    if n == 0:
        raise ValueError("the data is empty: x has 0 samples.")
    if batch_size is not None and int(batch_size) <= 0:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size}.")
    return math.ceil(n / (batch_size or 32))


def _plan(
    batches_per_epoch: int | None, steps: int | None, epochs: int | None
) -> tuple[int, int, int | None]:
    """(batches in the run, epochs for model.fit, steps_per_epoch for model.fit)."""
    if epochs is not None:
        if int(epochs) <= 0:
            raise ValueError(f"epochs must be a positive integer, got {epochs}.")
        if batches_per_epoch is None:
            raise ValueError(
                "the data has no known length, so epochs= cannot set the run length; "
                "pass steps= instead."
            )
        return int(epochs) * batches_per_epoch, int(epochs), None
    num_steps = DEFAULT_STEPS if steps is None else int(steps)
    if num_steps <= 0:
        raise ValueError(f"steps must be a positive integer, got {steps}.")
    if batches_per_epoch is None:
        return num_steps, 1, num_steps
    return num_steps, math.ceil(num_steps / batches_per_epoch), None


def _build_from_first_batch(model: keras.Model, x: Any) -> None:
    """Build a model that has no variables yet by calling it on the data's first batch.

    Its optimizer is built (and its state captured) before the fit starts, which needs the
    model's variables; arrays are handled by `_check_data_fits`.
    """
    if model.built or _is_array_data(x):
        return
    try:
        batch = x[0] if isinstance(x, keras.utils.PyDataset) else next(iter(x))
        inputs = batch[0] if isinstance(batch, (tuple, list)) else batch
        model(inputs, training=False)
    except Exception as error:
        raise ValueError(
            "the model is not built yet and calling it on the data's first batch failed "
            f"({type(error).__name__}: {str(error).splitlines()[0][:300]}). Give the model "
            "a keras.Input (or call model.build(input_shape)) before the range test."
        ) from error


def _check_data_fits(model: keras.Model, x: Any, y: Any, batch_size: int | None) -> None:
    """Run the model on one small batch so a shape mismatch fails early and clearly."""
    if not _is_array_data(x):
        return
    sample = keras.tree.map_structure(lambda a: a[: min(2, len(a))], x)
    try:
        model(sample, training=False)
    except Exception as error:
        shapes = keras.tree.map_structure(lambda a: tuple(a.shape), x)
        expected = getattr(model, "input_shape", None) if model.built else None
        raise ValueError(
            f"the data does not fit the model: inputs of shape {shapes} "
            + (f"for a model that expects {expected}" if expected else "")
            + f" ({type(error).__name__}: {str(error).splitlines()[0][:300]}). "
            "Reshape the data or rebuild the model's Input to match."
        ) from error
