"""`LRRamp`: the range test's learning rate as a schedule of the optimizer's step.

For the run, the optimizer's learning rate *is* this schedule, so the ramp is evaluated
inside the compiled train step and Python assigns nothing per batch (assigning the LR from a
callback each batch costs +8 % per step on TensorFlow and doubles a small step on JAX).
"""

from __future__ import annotations

import math
from typing import Any

import keras
import numpy as np
from keras import ops

from lrfind._defaults import DEFAULT_MODE, check_lr_range, check_mode


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
        mode: str = DEFAULT_MODE,
        initial_step: int = 0,
        batches_per_step: int = 1,
    ) -> None:
        check_lr_range(start_lr, end_lr)
        check_mode(mode)
        if int(num_steps) < 2:
            raise ValueError(f"num_steps must be at least 2, got {num_steps}.")
        if int(batches_per_step) < 1:
            raise ValueError(f"batches_per_step must be ≥ 1, got {batches_per_step}.")
        self.start_lr = float(start_lr)
        self.end_lr = float(end_lr)
        self.num_steps = int(num_steps)
        self.mode = mode
        self.initial_step = int(initial_step)
        self.batches_per_step = int(batches_per_step)
        self.on_call: Any = None
        """Called (in Python, as a step is traced) each time the optimizer asks for the LR."""

    def __call__(self, step: Any) -> Any:
        if self.on_call is not None:
            self.on_call()
        return self.value(step)

    def value(self, step: Any) -> Any:
        """The ramp at optimizer step ``step`` (what ``__call__`` returns, without the hook)."""
        step = ops.cast(step, "float32") - float(self.initial_step)
        if self.batches_per_step > 1:
            step = ops.floor(step / float(self.batches_per_step))
        t = ops.clip(step, 0.0, float(self.num_steps - 1)) / float(self.num_steps - 1)
        if self.mode == "linear":
            return self.start_lr + (self.end_lr - self.start_lr) * t
        return self.start_lr * ops.exp(math.log(self.end_lr / self.start_lr) * t)

    def value_at(self, batch: int) -> float:
        """The LR of the run's ``batch``-th batch (0-based), computed in NumPy float32.

        >>> round(LRRamp(1e-4, 1.0, num_steps=5).value_at(2), 8)
        0.01
        """
        step = batch // self.batches_per_step
        t = np.float32(min(max(step, 0), self.num_steps - 1) / (self.num_steps - 1))
        if self.mode == "linear":
            return float(np.float32(self.start_lr + (self.end_lr - self.start_lr) * t))
        rate = np.float32(math.log(self.end_lr / self.start_lr))
        return float(np.float32(self.start_lr) * np.exp(rate * t, dtype=np.float32))

    def get_config(self) -> dict[str, Any]:
        return {
            "start_lr": self.start_lr,
            "end_lr": self.end_lr,
            "num_steps": self.num_steps,
            "mode": self.mode,
            "initial_step": self.initial_step,
            "batches_per_step": self.batches_per_step,
        }
