"""Everything a range test changes, captured and put back bit for bit (`ModelState`).

This is the one module that touches Keras's private attributes: `KerasPatch` swaps the
optimizer's learning rate for the ramp and the model's loss tracker for the recording one,
and puts both back, with the train and test functions traced around them. `ModelState`
snapshots every variable, those attributes and the global random state, and restores them
after success, an exception or Ctrl-C.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import keras
import numpy as np
from keras import ops


def inner_optimizer(optimizer: Any) -> Any:
    """The optimizer that owns the learning rate (unwraps a LossScaleOptimizer)."""
    return getattr(optimizer, "inner_optimizer", optimizer)


def step_count(optimizer: Any) -> Any:
    """The optimizer's count of batches (``_iterations``; its public ``iterations`` counts
    applied updates under gradient accumulation). `LRRamp` is a schedule of this count."""
    return inner_optimizer(optimizer)._iterations


@contextmanager
def strategy_scope(model: keras.Model) -> Iterator[None]:
    """The model's tf.distribute scope on TensorFlow; nothing on other backends."""
    strategy = getattr(model, "distribute_strategy", None)
    if strategy is None:
        yield
    else:
        with strategy.scope():
            yield


def ensure_built(model: keras.Model) -> None:
    """Build the model's optimizer (its slots) so that its state can be captured.

    On TensorFlow a fresh model's optimizer is built only in the first traced step.
    """
    optimizer = model.optimizer
    if not optimizer.built:
        with strategy_scope(model):
            optimizer.build(model.trainable_variables)


class KerasPatch:
    """The run's changes to Keras's private attributes, made and undone in one place.

    ``apply`` makes the optimizer's learning rate the ramp (on the optimizer that owns it,
    inside a LossScaleOptimizer) and the model's loss tracker the recording one, and
    re-traces the train function; ``undo`` puts back the attributes found at construction,
    the train function and the test function (one traced during the run, for validation in
    the same fit, holds the run's tracker). Safe to undo more than once.
    """

    def __init__(self, model: keras.Model) -> None:
        self.model = model
        self.compute_loss_recorded = False
        self.own_train_step = model.__dict__.get("train_step")  # an instance attribute
        self.train_step_wrapped = False
        self.lr_owner = inner_optimizer(model.optimizer)
        self.learning_rate = self.lr_owner._learning_rate
        self.loss_tracker = getattr(model, "_loss_tracker", None)
        self.train_function = getattr(model, "train_function", None)
        self.test_function = getattr(model, "test_function", None)

    def apply(self, learning_rate: Any, loss_tracker: Any, train_function: Any = None) -> None:
        """Patch the optimizer's LR and the loss tracker; re-trace the train function, or
        put back ``train_function`` when it was traced with these same two objects."""
        object.__setattr__(self.lr_owner, "_learning_rate", learning_rate)
        object.__setattr__(self.model, "_loss_tracker", loss_tracker)
        if train_function is None:
            self._retrace()
        else:
            self.model.train_function = train_function

    def set_learning_rate(self, learning_rate: Any) -> None:
        """Train at ``learning_rate`` (a trial's constant) until `undo`; re-traces the train
        function, which reads the LR it was traced with."""
        object.__setattr__(self.lr_owner, "_learning_rate", learning_rate)
        self.model.make_train_function(force=True)

    def _retrace(self) -> None:
        """Trace the train function anew. JAX caches traces by the function it jits, and
        Keras jits ``model.train_step``, a bound method equal to every other: a trace made
        for an earlier run (alive until garbage collection) would be reused, with that
        run's ramp and none of this run's trace-time checks. A fresh function each time
        keeps every run's trace its own."""
        if keras.backend.backend() == "jax":
            step = self.model.train_step

            def train_step(*args: Any, **kwargs: Any) -> Any:
                return step(*args, **kwargs)

            object.__setattr__(self.model, "train_step", train_step)
            self.train_step_wrapped = True
        self.model.make_train_function(force=True)

    def record_compute_loss(self, tracker: Any) -> None:
        """Record what the model's ``compute_loss`` returns, and re-trace the train step.

        For a ``train_step`` that never hands its loss to the loss tracker (Keras 2's
        ``self.compiled_loss(y, y_pred)`` goes through ``compute_loss``): the loss is
        unscaled for distribution as Keras's own train step does before its tracker.
        """
        from keras.src.losses.loss import unscale_loss_for_distribution

        original = self.model.compute_loss

        def compute_loss(*args: Any, **kwargs: Any) -> Any:
            loss = original(*args, **kwargs)
            tracker.record(unscale_loss_for_distribution(loss), 1.0)
            return loss

        object.__setattr__(self.model, "compute_loss", compute_loss)
        self.compute_loss_recorded = True
        self._retrace()

    def undo(self) -> None:
        if self.compute_loss_recorded:
            object.__delattr__(self.model, "compute_loss")
            self.compute_loss_recorded = False
        if self.train_step_wrapped:
            if self.own_train_step is None:
                object.__delattr__(self.model, "train_step")
            else:
                object.__setattr__(self.model, "train_step", self.own_train_step)
            self.train_step_wrapped = False
        object.__setattr__(self.lr_owner, "_learning_rate", self.learning_rate)
        object.__setattr__(self.model, "_loss_tracker", self.loss_tracker)
        self.model.train_function = self.train_function
        self.model.test_function = self.test_function


class ModelState:
    """Everything a range test changes, captured so it can be put back bit for bit.

    Covers all model variables (trainable, non-trainable such as BatchNorm statistics,
    and the layers' random-seed states), every optimizer variable (iterations, slots,
    learning rate), the metric variables, the optimizer's learning-rate object (a
    variable or a schedule), the loss tracker, ``steps_per_execution``, ``stop_training``,
    ``history``, the compiled train and test functions, and the global random state
    (Keras's global seed generator, NumPy's, Python's and, on the torch backend, torch's).

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
        ensure_built(model)
        self.variables = [
            *model.variables, *model.optimizer.variables, *model.metrics_variables
        ]
        self.values = [np.array(ops.convert_to_numpy(v), copy=True) for v in self.variables]
        self.attributes = KerasPatch(model)
        self.steps_per_execution = model.steps_per_execution
        self.stop_training = model.stop_training
        self.history = getattr(model, "history", None)
        self.rng = _capture_global_rng()

    @classmethod
    def capture(cls, model: keras.Model) -> ModelState:
        return cls(model)

    def restore(self) -> None:
        """Put everything back. Safe to call more than once."""
        model = self.model
        self.attributes.undo()
        model.steps_per_execution = self.steps_per_execution
        for variable, value in zip(self.variables, self.values, strict=True):
            variable.assign(value)
        model.stop_training = self.stop_training
        if self.history is not None:
            object.__setattr__(model, "history", self.history)
        _restore_global_rng(self.rng)

    def matches(self, model: keras.Model | None = None) -> bool:
        """True when every captured variable holds exactly its captured value."""
        del model  # the captured variables are the model's own
        return all(
            np.array_equal(ops.convert_to_numpy(v), value, equal_nan=True)
            for v, value in zip(self.variables, self.values, strict=True)
        )


# ------------------------------------------------------------------ global random state
def tensorflow_global_seed() -> int | None:
    """TensorFlow's global seed (``tf.random.set_seed``, also set by
    ``keras.utils.set_random_seed``), or None when unset or on another backend."""
    if keras.backend.backend() != "tensorflow":
        return None
    from tensorflow.python.eager import context

    return context.global_seed()


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


# ------------------------------------------------------------------ processes
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
