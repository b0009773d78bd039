"""`LRFinder`: run a learning-rate range test on a compiled Keras model and leave it untouched.

How it stays exact and cheap:

* The ramp runs inside the compiled train step: for the run, the optimizer's learning rate
  is an `LRRamp` schedule of ``optimizer.iterations`` (`lrfind.ramp`).
* Every batch's own loss is written, inside the train step, into variables held by the
  model's loss tracker (`lrfind.tracker`); Keras's ``logs["loss"]`` is a running mean.
* Everything the run touches is captured first and put back afterwards, bit for bit, also
  when the run raises or is interrupted (`lrfind.state`).

The callback that does the work is `LRRangeTest` (`lrfind.callback`); this module plans the
run, prepares the data (`lrfind.batches`) and calls ``model.fit``. The names that used to
live here are still importable from ``lrfind.finder``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import keras

from lrfind._defaults import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_BETA,
    DEFAULT_END_LR,
    DEFAULT_MODE,
    DEFAULT_REPEATS,
    DEFAULT_START_LR,
    DEFAULT_STEPS,
    DEFAULT_STOP_FACTOR,
    DEFAULT_VAL_BATCHES,
    DEFAULT_VAL_EVERY,
    MIN_STEPS,
    RAMP_MODES,
    RUN_STEPS_PER_EXECUTION,
    check_compiled,
    check_lr_range,
    check_positive_int,
    check_run_length,
    plan,
)
from lrfind.batches import (
    MemmapBatches,
    SeededBatches,
    build_from_first_batch,
    check_data_fits,
    check_finite,
    count_batches,
    prepare_fit_data,
)
from lrfind.callback import CurveError, LRRangeTest
from lrfind.processes import agree, outcome, shard_inputs
from lrfind.ramp import LRRamp
from lrfind.result import LRFinderResult
from lrfind.state import ModelState, is_chief, tensorflow_global_seed
from lrfind.tracker import LAST_BATCH_KEY, BatchLossTracker, needs_buffer

__all__ = [
    "DEFAULT_END_LR",
    "DEFAULT_START_LR",
    "DEFAULT_STEPS",
    "LAST_BATCH_KEY",
    "MIN_STEPS",
    "RAMP_MODES",
    "CurveError",
    "LRFinder",
    "LRRamp",
    "LRRangeTest",
    "MemmapBatches",
    "ModelState",
    "SeededBatches",
    "is_chief",
]

# Names of the single-module era, kept for code that imported them from here.
_BatchLossTracker = BatchLossTracker
_needs_buffer = needs_buffer


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
        mode: str = DEFAULT_MODE,
        beta: float = DEFAULT_BETA,
        stop_factor: float | None = DEFAULT_STOP_FACTOR,
        shuffle: bool = True,
        seed: int | None = None,
        verbose: int = 0,
        callbacks: list[keras.callbacks.Callback] | None = None,
        validation_data: Any = None,
        val_every: int = DEFAULT_VAL_EVERY,
        val_batches: int = DEFAULT_VAL_BATCHES,
        on_point: Callable[[int, float, float, float], None] | None = None,
        loss_key: str | None = None,
        verify: bool = False,
        budget: int | None = None,
        candidates: int | None = None,
        on_trial: Callable[[int, float, int, float], None] | None = None,
        repeats: int | None = None,
        shard: str | None = None,
    ) -> LRFinderResult:
        """Ramp the LR from ``start_lr`` to ``end_lr`` and record one point per batch.

        The positional order follows keras_lr_finder:
        ``find(x_train, y_train, 0.0001, 1, 200, 5)`` is (x, y, start_lr, end_lr,
        batch_size, epochs).

        Args:
            x, y, sample_weight: anything ``model.fit`` takes: NumPy arrays (also lists or
                dicts of them for multi-input models), a ``tf.data.Dataset`` or a
                ``keras.utils.PyDataset`` (then ``y`` is None); not a plain Python
                generator, which can be read only once (wrap it with
                ``tf.data.Dataset.from_generator``).
            start_lr, end_lr: the ramp's first and last LR.
            batch_size: batch size for array data (Keras's default 32 when None); one
                above the number of samples warns (every batch is then all of them).
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
            callbacks: more callbacks for the run's ``model.fit``. Without them (and without
                ``validation_data``), Keras's own train step runs
                `RUN_STEPS_PER_EXECUTION` batches per execution, which records the same
                curve faster; with them, one, so their batch hooks see every batch.
            validation_data, val_every, val_batches: also record the loss of a fixed,
                cached validation subset every ``val_every`` batches (see `LRRangeTest`);
                it is in ``result.val_losses`` and ``result.validation_suggestion``.
            on_point: called after each recorded point (see `LRRangeTest`).
            loss_key: for a custom ``train_step``, the logs entry that holds the training
                loss (see `LRRangeTest`); by default lrfind finds it.
            repeats: run the range test this many times from the same start (with other
                shuffles; seeds ``seed, seed + 1, ...``): the suggestion is the median of
                theirs, their spread its ``interval`` (default `DEFAULT_REPEATS`; the
                repeats are ``result.repeats``).
            verify: after the range test, measure the suggestion with short trials
                (`LRFinderResult.verify`, scored on ``validation_data`` when given);
                ``budget`` (batches in all) and ``candidates`` (LRs tried) tune them;
                ``on_trial(rung, lr, batches, held_out_loss)`` is called after each trial
                rung (the range test's result is ``self.result`` by then).
            shard: across processes (JAX's distributed runtime, `lrfind.processes`), how
                the data meets them: ``"auto"`` (every process passes the same, whole
                data; each takes its own contiguous slice) or ``"given"`` (every process
                passes its own shard). Required there; ignored on one process.
                ``batch_size`` is then the global batch (each process feeds
                ``batch_size / N``), and one batch of the ramp is one step on it; the
                curve, stop and suggestion are the same on every process.

        Returns:
            The `LRFinderResult`; also kept as ``self.result``.
        """
        model = self.model
        self.result = None  # set when the range test is done (before any trial)
        check_compiled(model)
        check_lr_range(start_lr, end_lr)
        check_run_length(steps, epochs)
        repeats = check_positive_int("repeats", DEFAULT_REPEATS if repeats is None else repeats)
        shares = shard_inputs(x, y, sample_weight, batch_size=batch_size, shard=shard,
                              validation_data=validation_data)
        x, y, sample_weight = shares.x, shares.y, shares.sample_weight
        global_batch_size, batch_size = shares.batch_size, shares.process_batch_size
        with shares.all_or_none():  # across processes: each passes, or all fail
            batches_per_epoch = count_batches(x, y, batch_size)
            run = plan(batches_per_epoch, steps, epochs, batch_size=global_batch_size)
            check_finite(x, y, sample_weight)
            build_from_first_batch(model, x)
            check_data_fits(model, x, y, batch_size)
        agree(shares.topology, "the run's plan (give every process a shard of the same "
              "length, or shard='auto')", rows=shares.rows, num_steps=run.num_steps,
              batches_per_epoch=batches_per_epoch, repeats=repeats)
        settings = dict(
            mode=mode, beta=beta, stop_factor=stop_factor, validation_data=validation_data,
            val_every=val_every, val_batches=val_batches,
            val_batch_size=global_batch_size or DEFAULT_BATCH_SIZE, loss_key=loss_key,
        )
        results = []
        previous: LRRangeTest | None = None
        plain = not callbacks and validation_data is None
        shuffles = shuffle_seeds(seed, repeats, shuffle)
        for repeat in range(repeats):
            data = prepare_fit_data(
                x, y, sample_weight, batch_size=batch_size, shuffle=shuffle,
                seed=shuffles[repeat], known_length=batches_per_epoch is not None,
                own_shuffle=seed is None and shuffles[repeat] is not None,
            )
            offset = repeat * run.num_steps

            def progress(points: int, lr: float, loss: float, smoothed: float,
                         offset: int = offset) -> None:
                if on_point is not None:
                    on_point(offset + points, lr, loss, smoothed)

            test = LRRangeTest(start_lr, end_lr, run.num_steps, restore=False,
                               on_point=progress, **settings)
            if plain and previous is not None:  # one traced train function for all repeats
                test.continue_from(previous)
                previous.traced = None
            test.keep_trace = plain and repeat < repeats - 1
            previous = test
            with shares.fit_scope():
                results.append(self._run(test, data, run,
                                         None if seed is None else seed + repeat,
                                         verbose, callbacks, plain))
            results[-1].settings.update(batch_size=global_batch_size or DEFAULT_BATCH_SIZE,
                                        repeat=repeat, **shares.settings())
            agree(shares.topology, f"the outcome of run {repeat + 1}", **outcome(results[-1]))
        result = results[0]
        result.repeats = results[1:]
        self.result = result
        if verify:
            result.verify(model, x, y, budget=budget, candidates=candidates,
                          batch_size=global_batch_size, validation_data=validation_data,
                          seed=0 if seed is None else seed, on_trial=on_trial,
                          shard=None if shard is None else "given")  # x, y: this one's
        return result

    def _run(self, test: LRRangeTest, data: Any, run: Any, seed: int | None, verbose: int,
             callbacks: list[keras.callbacks.Callback] | None, plain: bool) -> LRFinderResult:
        """One range test through ``model.fit``; the model is restored however it ends."""
        model = self.model
        state = ModelState.capture(model)
        model.steps_per_execution = run_steps_per_execution(model, plain=plain)
        try:
            if seed is not None:
                keras.utils.set_random_seed(seed)
            model.fit(
                data.x,
                data.y,
                batch_size=data.batch_size,
                epochs=run.fit_epochs,
                steps_per_epoch=run.steps_per_epoch,
                sample_weight=data.sample_weight,
                shuffle=data.shuffle,
                verbose=verbose,
                callbacks=[test, *(callbacks or [])],
            )
        finally:
            test.finish()
            state.restore()
        assert test.result is not None
        return test.result


def shuffle_seeds(seed: int | None, repeats: int, shuffle: bool) -> list[int | None]:
    """Each repeat's shuffle seed: ``seed + repeat`` for a seeded run; else None (the
    backend's own shuffle, a new order each repeat), except under a TensorFlow global seed
    (``keras.utils.set_random_seed`` in the user's script): Keras's array pipeline then draws
    the same order for every new run, and the repeats would be one run three times, agreeing
    by construction. Their orders are then drawn from the operating system's entropy (the
    global random state is left alone) and batched by lrfind.

    >>> shuffle_seeds(7, 3, shuffle=True)
    [7, 8, 9]
    """
    if seed is not None:
        return [seed + repeat for repeat in range(repeats)]
    if shuffle and repeats > 1 and tensorflow_global_seed() is not None:
        entropy = random.SystemRandom()
        return [entropy.randrange(2**31) for _ in range(repeats)]
    return [None] * repeats


def run_steps_per_execution(model: keras.Model, *, plain: bool) -> int:
    """Batches per execution for the run: `RUN_STEPS_PER_EXECUTION` where that changes
    nothing but the speed, else the model's own setting.

    Only Keras's own train step hands every batch's loss to the tracker inside a multi-step
    execution (a custom ``train_step`` may report its loss only through its logs); the
    torch backend and eager runs take one step per execution. ``plain`` is False when the
    run has the user's callbacks (their batch hooks keep their meaning) or a validation
    subset (evaluated on its own batch schedule).
    """
    own = int(getattr(model, "steps_per_execution", 1) or 1)
    if (
        not plain
        or own != 1
        or keras.backend.backend() == "torch"
        or getattr(model, "run_eagerly", False)
        or type(model).train_step is not keras.Model.train_step
    ):
        return own
    return RUN_STEPS_PER_EXECUTION
