"""`BatchLossTracker`: Keras's loss tracker that also records every batch's own loss.

In Keras 3, ``logs["loss"]`` in a batch callback is the running mean since the epoch began,
which lags the true curve. For the run, the model's loss tracker is replaced by this one,
whose ``update_state`` (called inside the compiled train step) also writes the batch's own
loss and the LR the optimizer applied into variables the callback reads.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import keras
import numpy as np
from keras import ops

LAST_BATCH_KEY = "lrfind_last_batch"
"""Key of the tracker's entry in the logs during a run: [batch count, lr, loss, weight]."""


class BatchLossTracker(keras.metrics.Mean):
    """Keras's loss tracker (a running mean) that also keeps every batch's own loss.

    Stands in for ``model._loss_tracker`` during a run. Keras's train step calls
    ``update_state(batch_loss, sample_weight=batch_size)`` once per batch, inside the
    compiled function, so the buffer holds one exact value per batch whatever
    ``steps_per_execution`` is. Resetting (Keras does so each epoch) clears only the mean.
    Under ``tf.distribute`` each replica writes its own (unscaled) loss and reads average
    them: the recorded value is the global batch loss.

    A custom ``train_step`` may feed it something else. `scalar_updates` counts the
    scalar updates seen (at trace time, or each eager call) and `misfed` is set when it is
    given a non-scalar, which is not a loss: Keras 3's shim for the Keras 2 idiom
    ``self.compiled_metrics.update_state(y, y_pred)`` feeds ``y_pred`` to every Mean
    metric. With ``source = "computed"`` it records what `record` is given instead (the
    loss returned by the model's ``compute_loss``) and keeps only the running mean from
    ``update_state``.
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
            self.batch_losses, self.batch_lrs, self.batch_weights = (
                self.add_variable(shape=(self.capacity,), initializer="zeros",
                                  dtype="float32", name=variable, aggregation="mean")
                for variable in ("batch_losses", "batch_lrs", "batch_weights")
            )
        self.batch_count = self.add_variable(
            shape=(), initializer="zeros", dtype="float32", name="batch_count",
            aggregation="mean"
        )
        self.last_batch = self.add_variable(
            shape=(4,), initializer="zeros", dtype="float32", name="last_batch",
            aggregation="mean"
        )  # [batches so far, lr, loss, weight]: what the callback reads after each step
        self.scalar_updates = 0
        self.misfed = False
        self.source = "tracker"

    recording = True
    """False while the model evaluates (validation during fit): Keras's test step updates
    the loss tracker too. Read when a step is traced, so the train and test functions are
    each compiled with the right branch."""

    def update_state(self, values: Any, sample_weight: Any = None) -> None:
        super().update_state(values, sample_weight=sample_weight)
        if not self.recording:
            return
        if not _one_value(values):
            self.misfed = True  # predictions or per-sample values: not the batch's loss
            return
        self.scalar_updates += 1
        if self.source == "tracker":
            self.record(values, 1.0 if sample_weight is None else sample_weight)

    def record(self, loss: Any, weight: Any) -> None:
        """Write one batch's loss (and its weight, the batch size) with the applied LR."""
        if not self.recording:
            return
        batch_loss = ops.mean(ops.cast(loss, "float32"))
        weight = ops.mean(ops.cast(weight, "float32"))
        # Read everything first: on TensorFlow `.value` is the variable itself, so a read
        # after an assign would see the new value.
        index = ops.convert_to_tensor(self.batch_count.value)
        count = index + 1.0
        learning_rate = ops.cast(self._learning_rate(), "float32")
        if self.buffered:
            slot = ops.arange(self.capacity, dtype="float32") == index
            for buffer, value in ((self.batch_losses, batch_loss),
                                  (self.batch_lrs, learning_rate),
                                  (self.batch_weights, weight)):
                buffer.assign(ops.where(slot, value, buffer.value))
        self.batch_count.assign(count)
        self.last_batch.assign(ops.stack([count, learning_rate, batch_loss, weight]))

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

    def clear(self) -> None:
        """Back to no batch recorded, for another run through the same traced train step
        (what tracing learned, `scalar_updates` and `misfed`, stays)."""
        variables = [self.total, self.count, self.batch_count, self.last_batch]
        if self.buffered:
            variables += [self.batch_losses, self.batch_lrs, self.batch_weights]
        for variable in variables:
            variable.assign(ops.zeros(variable.shape, dtype=variable.dtype))

    def running_mean(self) -> float:
        """The mean the tracker reports as the loss (over the epoch so far)."""
        count = float(ops.convert_to_numpy(self.count))
        return float(ops.convert_to_numpy(self.total)) / count if count else math.nan

    def recorded(self, since: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(learning rates, losses, weights) of the batches recorded after the first `since`."""
        if not self.buffered:
            count, lr, loss, weight = ops.convert_to_numpy(self.last_batch)
            if int(count) == since + 1:
                return np.array([lr]), np.array([loss]), np.array([weight])
            if int(count) > since + 1:  # cannot happen when every batch's logs are seen
                warnings.warn(
                    f"lrfind missed the losses of batches {since + 1}..{int(count)}; the "
                    "curve ends before them.",
                    stacklevel=2,
                )
            return np.array([]), np.array([]), np.array([])
        count = min(int(ops.convert_to_numpy(self.batch_count)), self.capacity)
        return (
            ops.convert_to_numpy(self.batch_lrs)[since:count],
            ops.convert_to_numpy(self.batch_losses)[since:count],
            ops.convert_to_numpy(self.batch_weights)[since:count],
        )


class StepOrder:
    """Whether a train step hands its loss to the tracker before or after the update.

    Keras's own train step updates the loss tracker before the optimizer applies the
    gradients; many custom train steps update their metrics after it, when the
    optimizer's step count (and so the ramp) has already moved on. The first of the two
    events seen as the train step runs (or is traced) tells which; the LR of the batch
    is then the ramp at the step count, or at the step count less one.

    >>> order = StepOrder(); order.optimizer_asked(); order.loss_recorded()
    >>> order.after_update
    True
    """

    def __init__(self, counts: Any = None) -> None:
        self.first: str | None = None
        self._counts = counts or (lambda: True)  # () -> whether an LR request is the step's

    def optimizer_asked(self) -> None:
        if self.first is None and self._counts():
            self.first = "update"

    def loss_recorded(self) -> None:
        if self.first is None:
            self.first = "loss"

    @property
    def after_update(self) -> bool:
        return self.first == "update"

    @classmethod
    def watching(cls, ramp: Any, model: keras.Model) -> StepOrder:
        """An order that hears the optimizer ask ``ramp`` for the LR (TensorFlow: while a
        step is traced, or every step when the model runs eagerly)."""
        import tensorflow as tf

        eager = bool(getattr(model, "run_eagerly", False))
        order = cls(lambda: eager or tf.inside_function())
        ramp.on_call = order.optimizer_asked
        return order

    def learning_rate(self, ramp: Any, step_count: Any) -> Any:
        """() -> the ramp at the optimizer's step count, read in the same train step: a
        step skipped for overflow (mixed precision) does not advance it; a loss recorded
        after the update reads the count less one."""

        def applied() -> Any:
            self.loss_recorded()
            step = step_count()
            return ramp.value(step - 1 if self.after_update else step)

        return applied


def batch_count_learning_rate(ramp: Any, tracker: Any) -> Any:
    """() -> the ramp at the tracker's own batch count: JAX and torch update metric
    variables apart from the optimizer's state, so the step count cannot be read there."""
    return lambda: ramp.value(ramp.initial_step + tracker().batch_count.value)


def needs_buffer(model: keras.Model, steps_per_execution: int) -> bool:
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


def _one_value(values: Any) -> bool:
    """Whether ``values`` holds one number, read from its static shape: a dimension not
    known when the step is traced (the batch's, e.g. when the last batch is smaller) is a
    batch of values, not one loss."""
    shape = getattr(values, "shape", ())
    return all(dim == 1 for dim in tuple(shape))
