"""Train a task at a fixed learning rate (the grid truth's runs and the regrets' runs).

`TaskRunner` builds and traces one model per task and reuses it: before each run it puts
back the initial state of that seed's fresh model (weights, and the states of the random
layers' seed generators) and the optimizer's state as freshly built, so a run costs only its
batches (tracing a fresh model costs about a second, more than a whole run here).
"""

from __future__ import annotations

import fnmatch
import hashlib
import math
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from benchmarks.tasks import REPO, Task, build_model, load_data

LRFIND_DIR = REPO / "lrfind"
NOT_RECORDING = (
    "__init__.py", "analysis.py", "suggestion.py", "rule.py", "smoothing.py", "plotting.py",
    "schedules.py", "trials.py", "trial_results.py", "cli*.py", "data.py",
)
"""Modules of ``lrfind/`` that cannot change a recorded curve (they read curves, plot them,
make schedules from them, run trials after the range test or are the command line); every
other ``lrfind/*.py`` counts."""


def recorder_modules() -> list[Path]:
    """The ``lrfind/*.py`` files that shape a recorded range-test curve, sorted."""
    return sorted(
        path for path in LRFIND_DIR.glob("*.py")
        if not any(fnmatch.fnmatch(path.name, pattern) for pattern in NOT_RECORDING)
    )


SCORING = ("analysis.py", "suggestion.py", "rule.py", "smoothing.py", "trials.py",
           "trial_results.py")
"""Modules that do not change a recorded curve but do change what the trials train and
choose: the curve's suggestion, the candidates, the halving and the choice."""


def verifier_hash() -> str:
    """Short hash of the recording modules and `SCORING`: the key of the trials' results
    (`verified_quality.py`)."""
    digest = hashlib.sha256(recorder_hash().encode())
    for name in SCORING:
        digest.update(name.encode() + b"\0" + (LRFIND_DIR / name).read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def recorder_hash() -> str:
    """Short hash of the names and contents of `recorder_modules`: changes whenever code
    that could change a recorded curve changes (a new module counts too)."""
    digest = hashlib.sha256()
    for path in recorder_modules():
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def configure_tensorflow(threads: int = 1) -> None:
    """Keep the benchmark lean on a shared machine: ``threads`` cores for TensorFlow."""
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:  # already initialised
        pass


class TaskRunner:
    """Final validation loss of ``task`` trained from one seed at a constant LR, or with the
    LR schedule given here (then ``train(None, seed)``)."""

    def __init__(self, task: Task, schedule: object | None = None) -> None:
        import keras

        self.task = task
        self.x, self.y, self.x_val, self.y_val = load_data(task.data)
        self.model = build_model(task, seed=0, learning_rate=1e-3 if schedule is None else schedule)
        optimizer = self.model.optimizer
        optimizer.build(self.model.trainable_variables)
        # Not all zeros: Adagrad's accumulators start at `initial_accumulator_value` (0.1),
        # Nadam's momentum-decay product at 1.
        self._initial_optimizer = [keras.ops.convert_to_numpy(v) for v in optimizer.variables]
        self._initial_state: dict[int, list[np.ndarray]] = {}

    def initial_state(self, seed: int) -> list[np.ndarray]:
        """Values of every variable of a fresh ``seed`` model, in ``model.variables`` order:
        the weights (`get_weights`) and the seed generators' states (Dropout, random
        augmentation layers), which `get_weights` leaves out."""
        import keras

        if seed not in self._initial_state:
            fresh = build_model(self.task, seed)
            self._initial_state[seed] = [keras.ops.convert_to_numpy(v) for v in fresh.variables]
        return self._initial_state[seed]

    def reset(self, seed: int, learning_rate: float | None) -> None:
        """Model state as freshly initialised with ``seed``; optimizer as freshly built (its
        step count at 0, so a schedule starts over; its slots at their initial values)."""
        variables = self.model.variables
        values = self.initial_state(seed)
        if len(variables) != len(values):
            raise RuntimeError(f"{self.task.name}: {len(variables)} variables, {len(values)} saved")
        for variable, value in zip(variables, values, strict=True):
            variable.assign(value)
        optimizer = self.model.optimizer
        for variable, value in zip(optimizer.variables, self._initial_optimizer, strict=True):
            variable.assign(value)
        if learning_rate is not None:
            optimizer.learning_rate.assign(float(learning_rate))

    def train(self, learning_rate: float | None, seed: int) -> float:
        """Train for the task's epoch budget; the final validation loss (inf if non-finite)."""
        import keras

        self.reset(seed, learning_rate)
        keras.utils.set_random_seed(seed)
        rng = np.random.default_rng(seed)
        n = len(self.x)
        order = np.concatenate([rng.permutation(n) for _ in range(self.task.epochs)])
        self.model.fit(
            self.x[order], self.y[order], batch_size=self.task.batch_size, epochs=1,
            shuffle=False, verbose=0,
        )
        loss = float(self.model.evaluate(self.x_val, self.y_val, batch_size=1024, verbose=0))
        return loss if math.isfinite(loss) else math.inf
