"""`BatchLossTracker`: Keras's loss tracker that also records every batch's own loss.

In Keras 3, ``logs["loss"]`` in a batch callback is the running mean since the epoch began,
which lags the true curve. For the run, the model's loss tracker is replaced by this one,
whose ``update_state`` (called inside the compiled train step) also writes the batch's own
loss and the LR the optimizer applied into variables the callback reads.
"""

from __future__ import annotations

import warnings
from typing import Any

import keras
import numpy as np
from keras import ops

LAST_BATCH_KEY = "lrfind_last_batch"
"""Key of the tracker's entry in the logs during a run: [batch count, lr, loss]."""


class BatchLossTracker(keras.metrics.Mean):
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
