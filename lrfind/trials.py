"""Verified suggestions: short trials at a few candidate LRs, scored on held-out data.

A range test reads one noisy curve recorded while the LR never stays put; the best constant
LR for real training is a different quantity. `run_trials` measures it: it trains each of a
handful of candidate LRs (taken from the curve) from the exact state the range test started
from, through the model's own ``fit``, and keeps the one whose held-out loss is lowest,
spending the budget by successive halving (all candidates for a short first rung, the
better half continues for a rung twice as long, and so on). The model is left exactly as it
was, after success, an exception or Ctrl-C.

The held-out loss is the loss on ``validation_data`` when given, else on a slice of the
training data that no trial trains on (`TrialsResult.scored_on` says which).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
from keras import ops

from lrfind._defaults import (
    DEFAULT_BATCH_SIZE,
    HELD_OUT_FRACTION,
    MAX_HELD_OUT,
    MIN_HELD_OUT,
    TRIAL_MARGIN,
    TRIAL_TOLERANCE,
)
from lrfind.batches import is_array_data, is_dataset
from lrfind.state import KerasPatch, ModelState
from lrfind.trial_results import Trial, TrialsResult, band, choose, rung_plan, same_lr

TrialHook = Callable[[int, float, int, float], None]
"""``on_trial(rung, lr, batches trained, held-out loss)``, called after each trial rung."""


# ------------------------------------------------------------------------ the data
@dataclass
class _Split:
    """Training batches in a fixed order, and the held-out data to score on."""

    train: Callable[[int, int], Any]  # (first batch, count) -> fit's x (and y) arguments
    held_out: tuple[Any, Any]
    scored_on: str


def _split(x: Any, y: Any, batch_size: int, validation_data: Any, seed: int) -> _Split:
    if is_array_data(x):
        n = len(keras.tree.flatten(x)[0])
        order = np.random.default_rng(seed).permutation(n)
        if validation_data is None:
            held = min(MAX_HELD_OUT, max(batch_size, int(HELD_OUT_FRACTION * n),
                                         min(MIN_HELD_OUT, n // 4)))
            if n - held < batch_size:
                raise ValueError(
                    f"too little data to hold out a slice for the trials ({n} samples); "
                    "pass validation_data=."
                )
            held_rows, order = order[:held], order[held:]
            take = _rows(held_rows)
            held_out = (keras.tree.map_structure(take, x), keras.tree.map_structure(take, y))
            scored_on = f"held-out training slice ({held} samples)"
        else:
            held_out, scored_on = _as_pair(validation_data), "validation_data"
        batches = _OrderedBatches(x, y, order, batch_size, seed)
        return _Split(lambda first, count: batches.window(first, count), held_out, scored_on)
    if is_dataset(x):
        if validation_data is None:
            held_out = x.take(_held_out_batches(x))
            train = x.skip(_held_out_batches(x)).repeat()
            scored_on = "held-out training batches (the dataset's first)"
        else:
            held_out, train, scored_on = validation_data, x.repeat(), "validation_data"
        return _Split(lambda first, count: train.skip(first).take(count), held_out, scored_on)
    raise ValueError(
        "trials take NumPy arrays or a tf.data.Dataset (the same data as the range test); "
        f"got {type(x).__name__}."
    )


def _rows(rows: np.ndarray) -> Callable[[Any], np.ndarray]:
    return lambda array: np.asarray(array)[rows]


def _held_out_batches(dataset: Any) -> int:
    n = int(dataset.cardinality())
    return max(1, min(8, n // 10)) if n > 0 else 4


def _as_pair(data: Any) -> Any:
    if isinstance(data, (tuple, list)) and len(data) == 2 and not is_dataset(data):
        return tuple(data)
    return data


class _OrderedBatches(keras.utils.PyDataset):
    """Batches ``first .. first + count - 1`` of a fixed, endless order of the rows: each
    pass over the training rows is a new permutation drawn from ``seed``, so every trial
    sees the same batches and a continued trial picks up where its last rung stopped."""

    def __init__(self, x: Any, y: Any, rows: np.ndarray, batch_size: int, seed: int) -> None:
        super().__init__()
        self.x, self.y, self.rows, self.batch_size = x, y, rows, batch_size
        self.per_pass = max(1, len(rows) // batch_size)  # whole batches only
        self.seed = seed
        self.first, self.count = 0, 1
        self._orders: dict[int, np.ndarray] = {}

    def window(self, first: int, count: int) -> _OrderedBatches:
        self.first, self.count = first, count
        return self

    def __len__(self) -> int:
        return self.count

    def _order(self, epoch: int) -> np.ndarray:
        if epoch not in self._orders:
            self._orders = {epoch: self.rows[np.random.default_rng(
                [self.seed, epoch]).permutation(len(self.rows))]}
        return self._orders[epoch]

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        batch = self.first + index
        epoch, position = divmod(batch, self.per_pass)
        rows = self._order(epoch)[position * self.batch_size:(position + 1) * self.batch_size]
        take = _rows(rows)
        return keras.tree.map_structure(take, self.x), keras.tree.map_structure(take, self.y)


# ------------------------------------------------------------------------- the trials
class _Constant(keras.optimizers.schedules.LearningRateSchedule):
    """A constant LR, as a schedule (the optimizer may have been compiled with one)."""

    def __init__(self, lr: float) -> None:
        self.lr = float(lr)

    def __call__(self, step: Any) -> Any:
        return ops.cast(self.lr, "float32")

    def get_config(self) -> dict[str, Any]:
        return {"lr": self.lr}


def run_trials(
    model: keras.Model,
    x: Any,
    y: Any,
    *,
    lrs: Sequence[float],
    budget: int,
    batch_size: int | None = None,
    validation_data: Any = None,
    seed: int = 0,
    curve_lr: float | None = None,
    extend: Callable[[float, str], float | None] | None = None,
    on_trial: TrialHook | None = None,
    halving: bool = True,
) -> TrialsResult:
    """Train each LR of ``lrs`` for a short budget from the model's current state; keep the
    one with the lowest held-out loss (successive halving over `rung_plan`). The trial at
    ``curve_lr`` (the curve's suggestion) always goes on to the last rung, so that the
    others are compared with it at the longest horizon (`choose`).

    ``extend(lr, "up" | "down")`` may propose one more candidate beyond an edge when the best
    trial sits there after the first rung. ``halving=False`` gives every LR the same share
    of the budget in one rung (a plain grid search). The model is restored bit for bit
    afterwards.
    """
    batch_size = batch_size or DEFAULT_BATCH_SIZE
    split = _split(x, y, batch_size, validation_data, seed)
    plan = rung_plan(len(lrs), budget) if halving else [(len(lrs), max(1, budget // len(lrs)))]
    state = ModelState.capture(model)
    start = _snapshot(state)
    trials = [Trial(float(lr)) for lr in sorted(lrs)]
    saved: dict[float, list[np.ndarray]] = {}
    trained = 0
    try:
        alive = list(trials)
        for rung, (keep, batches) in enumerate(plan):
            if rung:
                alive = _survivors(alive, keep, curve_lr)
            for trial in alive:
                trained += _train(model, state, start, saved, trial, batches, split,
                                  validation_data, on_trial, rung)
            if rung == 0 and extend is not None:
                best = min(alive, key=lambda t: t.final_loss)
                edge = "down" if best is trials[0] else "up" if best is trials[-1] else None
                extra = extend(best.lr, edge) if edge else None
                if extra is not None and all(abs(math.log10(extra / t.lr)) > 1e-3
                                             for t in trials):
                    added = Trial(float(extra))
                    trained += _train(model, state, start, saved, added, batches, split,
                                      validation_data, on_trial, rung)
                    trials = sorted([*trials, added], key=lambda t: t.lr)
                    alive.append(added)
        for trial in alive:
            trial.kept = True
    finally:
        state.restore()
    chosen = choose(trials, curve_lr, TRIAL_MARGIN)
    low, high = band(trials, TRIAL_TOLERANCE)
    return TrialsResult(trials, chosen, min(low, chosen), max(high, chosen),
                        split.scored_on, trained, curve_lr)


def _survivors(alive: list[Trial], keep: int, curve_lr: float | None) -> list[Trial]:
    """The ``keep`` trials that go on: the curve's suggestion (while it trains at all) and
    the best of the others."""
    curve = [t for t in alive if same_lr(t.lr, curve_lr) and math.isfinite(t.final_loss)]
    others = sorted((t for t in alive if t not in curve), key=lambda t: t.final_loss)
    return curve + others[: keep - len(curve)]


def _snapshot(state: ModelState) -> list[np.ndarray]:
    return [np.array(v, copy=True) for v in state.values]


def _train(model: keras.Model, state: ModelState, start: list[np.ndarray],
           saved: dict[float, list[np.ndarray]], trial: Trial, batches: int, split: _Split,
           validation_data: Any, on_trial: TrialHook | None, rung: int) -> int:
    """Train ``trial`` up to ``batches`` in total (resuming its saved state); score it."""
    done = trial.batches[-1] if trial.batches else 0
    values = saved.get(trial.lr, start)
    for variable, value in zip(state.variables, values, strict=True):
        variable.assign(value)
    state.attributes.undo()
    patch = KerasPatch(model)
    patch.set_learning_rate(_Constant(trial.lr))
    try:
        keras.utils.set_random_seed(1000 + done)
        data = split.train(done, batches - done)
        model.fit(data, epochs=1, verbose=0, shuffle=False)
        loss = _held_out_loss(model, split.held_out, validation_data)
    finally:
        patch.undo()
    saved[trial.lr] = [np.array(ops.convert_to_numpy(v), copy=True) for v in state.variables]
    trial.batches.append(batches)
    trial.losses.append(loss)
    if on_trial is not None:
        on_trial(rung, trial.lr, batches, loss)
    return batches - done


def _held_out_loss(model: keras.Model, held_out: Any, validation_data: Any) -> float:
    """``logs["loss"]`` of the model's own ``evaluate`` on the held-out data (inf when not
    finite): Keras's test step scores the compiled loss; a model that computes its own loss
    (the trainer pattern) scores with its own ``test_step``, which must report a "loss". A
    model with neither raises a ValueError naming the cause and the fix."""
    try:
        if isinstance(held_out, tuple):
            logs = model.evaluate(*held_out, verbose=0, return_dict=True)
        else:
            logs = model.evaluate(held_out, verbose=0, return_dict=True)
    except ValueError as error:
        if getattr(model, "loss", None) is not None:
            raise
        raise ValueError(_no_held_out_loss(model, error)) from error
    if "loss" not in logs:
        reported = ", ".join(repr(k) for k in logs) or "nothing"
        raise ValueError(NO_HELD_OUT_LOSS.format(
            cause=f"its test_step reports no 'loss' (it reports {reported})"))
    loss = float(logs["loss"])
    if loss == 0.0 and keras.backend.backend() == "jax" and not _scores_itself(model):
        raise ValueError(_no_held_out_loss(model, None))  # JAX's test step counts no loss as 0
    return loss if math.isfinite(loss) else math.inf


NO_HELD_OUT_LOSS = (
    "the trials score each LR by the held-out loss the model's evaluate reports, but {cause}; "
    "give the model a test_step that computes its loss and returns {{'loss': ...}} (as its "
    "train_step does), or compile it with a loss (model.compile(optimizer=..., loss=...))"
)
"""The error of trials that cannot score a model; ``{cause}`` says why."""


def _scores_itself(model: keras.Model) -> bool:
    """Whether the model has a compiled loss, or its own ``test_step`` or ``compute_loss``."""
    own = any(getattr(type(model), name) is not getattr(keras.Model, name)
              for name in ("test_step", "compute_loss"))
    return own or getattr(model, "loss", None) is not None


def _no_held_out_loss(model: keras.Model, error: BaseException | None) -> str:
    if error is not None and _scores_itself(model):  # its own test_step failed
        lines = str(error).strip().splitlines() or [""]
        return NO_HELD_OUT_LOSS.format(
            cause="the model has no compiled loss and its evaluate fails "
                  f"({type(error).__name__}: {lines[0][:200]})")
    return NO_HELD_OUT_LOSS.format(
        cause="the model has no compiled loss and no test_step of its own, so Keras's test "
              "step has no loss to compute (evaluate does not run a train_step that computes "
              "its own loss, as the trainer pattern's does)")
