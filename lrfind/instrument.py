"""A model made ready for one range test (`instrument`): the `LRRamp` its optimizer follows,
the `BatchLossTracker` that records each batch's loss and LR, and the `KerasPatch` that puts
both in; or, when nothing the trace depends on has changed, the train step an earlier run
traced (`TracedRun`), its ramp and tracker reused.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import keras
from keras import ops

from lrfind.ramp import LRRamp
from lrfind.state import KerasPatch, inner_optimizer, step_count, strategy_scope
from lrfind.tracker import BatchLossTracker, StepOrder, batch_count_learning_rate, needs_buffer


class TracedRun(NamedTuple):
    """What a run's traced train step holds: the objects it was traced with."""

    key: tuple[Any, ...]
    ramp: LRRamp
    tracker: BatchLossTracker
    order: StepOrder | None
    train_function: Any


class Instruments(NamedTuple):
    """What `instrument` put into the model for a run."""

    ramp: LRRamp
    tracker: BatchLossTracker
    order: StepOrder | None  # TensorFlow: whether the step asks its LR before its update
    patch: KerasPatch
    accumulation: int  # batches per applied update (gradient accumulation)
    optimizer_name: str
    momentum: float | None  # the optimizer's momentum, if it has one (SGD, RMSprop)
    trace_key: tuple[Any, ...]  # what the traced train step depends on (`TracedRun.key`)


def instrument(
    model: keras.Model,
    start_lr: float,
    end_lr: float,
    num_steps: int,
    mode: str,
    previous: TracedRun | None = None,
) -> Instruments:
    """Patch ``model`` for a range test of ``num_steps`` batches from ``start_lr`` to
    ``end_lr``, through ``previous``'s traced train step when its key matches."""
    lr_owner = inner_optimizer(model.optimizer)
    optimizer_name = type(lr_owner).__name__
    momentum = getattr(lr_owner, "momentum", None)
    momentum = float(momentum) if isinstance(momentum, (int, float)) else None
    # With gradient accumulation the optimizer applies one update per
    # `accumulation` batches; the ramp advances per update, and so do the points.
    accumulation = int(getattr(lr_owner, "gradient_accumulation_steps", None) or 1)
    ramp = LRRamp(
        start_lr,
        end_lr,
        max(2, num_steps // accumulation),
        mode=mode,
        initial_step=int(ops.convert_to_numpy(step_count(lr_owner))),
        batches_per_step=accumulation,
    )
    steps_per_execution = int(getattr(model, "steps_per_execution", 1) or 1)
    trace_key = (id(model), ramp.get_config(), steps_per_execution)
    if previous is not None and previous.key == trace_key:
        ramp, tracker, order = previous.ramp, previous.tracker, previous.order
        tracker.clear()
        patch = KerasPatch(model)
        patch.apply(ramp, tracker, train_function=previous.train_function)
        return Instruments(ramp, tracker, order, patch, accumulation, optimizer_name, momentum,
                       trace_key)
    made: list[BatchLossTracker] = []  # the tracker, once made (JAX reads it when tracing)
    order = None
    with strategy_scope(model):
        # () -> the LR the optimizer applies this step, read inside the train step
        if keras.backend.backend() == "tensorflow":
            order = StepOrder.watching(ramp, model)
            learning_rate = order.learning_rate(ramp, lambda: step_count(lr_owner))
        else:
            learning_rate = batch_count_learning_rate(ramp, lambda: made[0])
        tracker = BatchLossTracker(
            num_steps + steps_per_execution,
            learning_rate,
            buffered=needs_buffer(model, steps_per_execution),
        )
    made.append(tracker)
    patch = KerasPatch(model)
    patch.apply(ramp, tracker)
    return Instruments(ramp, tracker, order, patch, accumulation, optimizer_name, momentum,
                       trace_key)
