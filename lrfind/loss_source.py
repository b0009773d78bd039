"""Where a run's loss comes from, when a custom ``train_step`` does not hand it to Keras's
loss tracker: the logs (`LogsLoss`, de-averaged through the Mean metric that reports it),
and the errors that say why no curve of the training loss can be had (`CurveError`).
"""

from __future__ import annotations

import math
from typing import Any

import keras
import numpy as np
from keras import ops

from lrfind.tracker import LAST_BATCH_KEY


class CurveError(ValueError):
    """The run cannot give a curve of the training loss; the message says why and the fix.

    The model has been restored when this is raised.
    """


def misfed_message(model: keras.Model) -> str:
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


def as_float(value: Any) -> float | None:
    try:
        array = np.asarray(ops.convert_to_numpy(value), dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return float(array) if array.size == 1 else None


def close(a: float | None, b: float | None) -> bool:
    """Equal to float32 rounding (a mean accumulated in float32 over many batches)."""
    if a is None or b is None or not (math.isfinite(a) and math.isfinite(b)):
        return False
    return abs(a - b) <= 1e-4 * max(abs(a), abs(b)) + 1e-7


class LogsLoss:
    """Each batch's loss from the logs a custom ``train_step`` returns, under ``key``.

    When a Mean metric of the model reports it (the trainer pattern's ``loss_tracker``),
    the logs hold a running mean: each batch's own value is recovered exactly from the
    change of the metric's total and count. Otherwise the logged value is the batch's own.
    """

    def __init__(self, model: keras.Model, logs: dict[str, Any], key: str, tracker: Any
                 ) -> None:
        if key not in logs or as_float(logs[key]) is None:
            shown = ", ".join(repr(k) for k in logs if k != LAST_BATCH_KEY) or "nothing"
            raise CurveError(
                f"the model's train_step reports no {key!r} in its logs (it reports "
                f"{shown}) and never hands a loss to Keras's loss tracker, so lrfind cannot "
                "tell which value is the training loss: pass loss_key= (--loss-key on the "
                "command line) naming the logs entry that holds it, or update "
                "self._loss_tracker / a metric named 'loss' with the loss in train_step."
            )
        if int(getattr(model, "steps_per_execution", 1) or 1) > 1:
            raise CurveError(
                f"the model's train_step reports its loss only through its logs ({key!r}), "
                "which a callback sees once per execution: compile with "
                "steps_per_execution=1 for the range test, so every batch has its point."
            )
        value = as_float(logs[key])
        means = [m for m in _flat_metrics(model) if isinstance(m, keras.metrics.Mean)]
        named = [m for m in means if m.name == key and m is not tracker]
        matching = [m for m in means if close(as_float(m.result()), value)]
        self.key = key
        self.metric = (named or matching or [None])[0]
        self.state = (0.0, 0.0)  # fit reset the model's metrics as the epoch began

    def epoch_begin(self) -> None:
        """Take the metric's state as the epoch starts (the caller synced the model)."""
        if self.metric is not None:
            self.state = _mean_state(self.metric)

    def batch(self, logs: dict[str, Any]) -> tuple[float | None, float]:
        """(this batch's loss, its weight); the caller synced the model's variables."""
        value = as_float(logs.get(self.key))
        if self.metric is None:
            return value, 1.0
        total, count = _mean_state(self.metric)
        weight = count - self.state[1]
        loss = (total - self.state[0]) / weight if weight > 0 else math.nan
        self.state = (total, count)
        return loss, weight


def mismatch_message(reported: float, recorded: float) -> str:
    return (
        f"the loss the model's train_step reports ({reported:.6g}) is not the loss it "
        f"hands to Keras's loss tracker ({recorded:.6g}), so the curve would not be the "
        "training loss. Pass loss_key= naming the logs entry that holds the training "
        "loss, or have train_step update self._loss_tracker (or its metric named "
        "'loss') with it."
    )
