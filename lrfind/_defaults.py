"""Every default of lrfind, and every check of a setting that needs no Keras.

The Python API (`LRFinder.find`, `LRRangeTest`) and the command line (``lrfind``) both read
their defaults here and run the same checks, so a default is written once and a bad value
gets the same explanation everywhere. A check names the argument the way the caller spells
it: ``start_lr=`` from Python, ``--start-lr`` from the shell (`ArgumentNames`).

Nothing here imports Keras, NumPy or SciPy: ``lrfind --help`` and the CLI's option checks
run before any heavy import.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    import numpy as np

# ------------------------------------------------------------------------- the ramp
DEFAULT_START_LR = 1e-10
"""LR of the first batch of a range test."""
DEFAULT_END_LR = 10.0
"""LR of the last planned batch of a range test."""
DEFAULT_STEPS = 800
"""Default number of batches in a run: 73 a decade over 1e-10..10. Measured in
``benchmarks/suggestion_quality.py`` (length study): 100, 200, 400 and 800 batches give a
median regret of 1.29, 1.34, 1.21 and 1.13 and a worst spread over finder seeds of refusals,
0.97, 1.13 and 0.37 decades."""
MIN_STEPS = 10
"""Fewer batches than this cannot resolve a curve."""
RAMP_MODES = ("exponential", "linear")
DEFAULT_MODE = "exponential"

# ---------------------------------------------------------------- recording, stopping
DEFAULT_BETA = 0.98
"""Smoothing factor of the bias-corrected moving average of the loss."""
DEFAULT_STOP_FACTOR = 4.0
"""Stop once ``smoothed - best > (stop_factor - 1) * |best|``..."""
STOP_DESCENT_FRACTION = 0.5
"""... and the rise is more than this fraction of the smoothed loss's descent so far: the
run and the reading (`lrfind.analysis.RISE_FRACTION`) call divergence alike."""

DEFAULT_REPEATS = 3
"""Range tests per `LRFinder.find` (each of the default length, with its own shuffle): the
suggestion is the median of theirs. Measured in ``benchmarks/suggestion_quality.py``: one
run's suggestion spreads a median 0.2 and at worst 1.6 decades over finder seeds, the median
of three 0.1 and 0.3."""
MAX_RELIABLE_SPREAD = 0.5
"""Repeats whose suggestions lie further apart than this (decades) give a combined
suggestion flagged unreliable (`lrfind.suggestion.combine`): on the benchmark's 59 tasks
the finds past it had a geometric-mean regret of 1.60, the others 1.37."""

RUN_STEPS_PER_EXECUTION = 32
"""Batches per compiled execution inside `LRFinder.find` (TensorFlow and JAX, Keras's own
train step, a model compiled with ``steps_per_execution=1``): the callback, and with it the
device-to-host read of the losses, runs once per this many batches instead of every batch.
The curve is the same (each batch still has its own LR and loss); a divergence is seen at
most this many batches late. Chosen in ``benchmarks/overhead.py``."""

# ----------------------------------------------------------------------------- data
DEFAULT_BATCH_SIZE = 32
"""Keras's own default batch size for array data."""
IMAGE_SIZE = (256, 256)
"""Height and width images are resized to when neither ``--image-size`` nor the model's
input gives them: the default of ``keras.utils.image_dataset_from_directory``."""
DEFAULT_VAL_EVERY = 10
"""Validation mode: evaluate the cached validation subset every this many batches."""
DEFAULT_VAL_BATCHES = 4
"""Validation mode: batches in the cached validation subset."""
DEFAULT_VAL_BATCH_SIZE = 64
"""Validation mode: batch size of the cached subset when the callback is used directly."""

# ---------------------------------------------------------------------------- trials
DEFAULT_TRIAL_CANDIDATES = 5
"""Candidate LRs the trials start with (log-spaced over the curve's usable range)."""
DEFAULT_TRIAL_BUDGET = 800
"""Batches the trials train in all, by default (as many as the default range test)."""
HELD_OUT_FRACTION = 0.1
"""Without validation data, this fraction of the training rows is held out for scoring."""
MAX_HELD_OUT = 2048
"""... but no more rows than this."""
MIN_HELD_OUT = 64
"""... and no fewer than this (or a quarter of the rows, when that is fewer): a slice of a
dozen rows scores every LR that fits them at a held-out loss of 0 (the wine set's 16 rows did
so, and the trials chose an LR 1.5 decades too high)."""
TRIAL_TOLERANCE = 0.05
"""The trials' band: candidates whose held-out loss is within 5 % of the best."""
TRIAL_MARGIN = 0.2
"""The curve's own suggestion is kept when its trial's held-out loss is within this
fraction of the best trial's (`lrfind.trial_results.choose`): short trials scored on a small
held-out slice are noisy. Chosen on the benchmark's 39 dev tasks by replaying the stored
trials (``benchmarks/verified_quality.py --replay``). With the current trials: geometric-mean
regret 1.43 at 0.2 and 1.44 at 0, median 1.17 and 1.13."""
CANDIDATE_DECADES = 1.5
"""The trial LRs reach at most this many decades either side of the curve's suggestion."""
CANDIDATES_BELOW_DIVERGENCE_DECADES = 0.25
"""The highest trial LR sits this far under the divergence (where the run blew up)."""

# ------------------------------------------------------------------------- schedules
CYCLE_EPOCHS_PER_HALF = 4
"""Half a cycle of a cyclical schedule seeded from a suggestion, in epochs (Smith: 2-8)."""


# ------------------------------------------------------------------ argument names
@dataclass(frozen=True)
class ArgumentNames:
    """How a check's message names an argument: ``start_lr`` in Python, ``--start-lr`` on the
    command line (where a few options also have their own names, such as ``--smoothing``)."""

    cli: bool = False

    _CLI_NAMES: ClassVar[dict[str, str]] = {
        "beta": "--smoothing", "num_steps": "--steps", "budget": "--verify-budget",
    }

    def __call__(self, parameter: str) -> str:
        if not self.cli:
            return parameter
        return self._CLI_NAMES.get(parameter, "--" + parameter.replace("_", "-"))

    def example(self, **values: Any) -> str:
        """``start_lr=1e-7, end_lr=10`` or ``--start-lr 1e-7 --end-lr 10``."""
        if self.cli:
            return " ".join(f"{self(name)} {value}" for name, value in values.items())
        return ", ".join(f"{name}={value}" for name, value in values.items())


PYTHON_NAMES = ArgumentNames(cli=False)
CLI_NAMES = ArgumentNames(cli=True)


# ------------------------------------------------------------------------- the checks
def _is_number(value: Any) -> bool:
    try:
        return not isinstance(value, (bool, str)) and math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def check_lr_range(
    start_lr: float, end_lr: float, names: ArgumentNames = PYTHON_NAMES
) -> None:
    """Raise ValueError unless ``0 < start_lr < end_lr``, both finite.

    >>> check_lr_range(1.0, 0.1, CLI_NAMES)
    Traceback (most recent call last):
    ...
    ValueError: --start-lr (1) must be below --end-lr (0.1): the ramp goes upwards, e.g. \
--start-lr 1e-7 --end-lr 10.
    """
    for parameter, value in (("start_lr", start_lr), ("end_lr", end_lr)):
        if not _is_number(value) or float(value) <= 0:
            raise ValueError(
                f"{names(parameter)} must be a positive, finite learning rate, got {value!r}; "
                f"the ramp starts above zero (a step at LR 0 trains nothing): e.g. "
                f"{names.example(start_lr=f'{DEFAULT_START_LR:g}', end_lr=f'{DEFAULT_END_LR:g}')}."
            )
    if float(start_lr) >= float(end_lr):
        raise ValueError(
            f"{names('start_lr')} ({float(start_lr):g}) must be below {names('end_lr')} "
            f"({float(end_lr):g}): the ramp goes upwards, e.g. "
            f"{names.example(start_lr='1e-7', end_lr=10)}."
        )


def check_mode(mode: str) -> None:
    if mode not in RAMP_MODES:
        raise ValueError(f"mode must be one of {RAMP_MODES}, got {mode!r}.")


def check_num_steps(
    num_steps: Any, names: ArgumentNames = PYTHON_NAMES, parameter: str = "num_steps"
) -> int:
    """``num_steps`` as an int, or ValueError when a curve cannot be read from so few."""
    if not _is_integer(num_steps) or int(num_steps) < MIN_STEPS:
        raise ValueError(
            f"{names(parameter)} {num_steps} is too few batches for a curve; use at least "
            f"{MIN_STEPS} (the default is {DEFAULT_STEPS})."
        )
    return int(num_steps)


def check_beta(beta: Any, names: ArgumentNames = PYTHON_NAMES) -> float:
    if not _is_number(beta) or not 0.0 <= float(beta) < 1.0:
        raise ValueError(
            f"{names('beta')} must be in [0, 1), got {beta}; {DEFAULT_BETA} is the usual value."
        )
    return float(beta)


def check_stop_factor(stop_factor: Any, names: ArgumentNames = PYTHON_NAMES) -> float | None:
    """``stop_factor`` (> 1), or None (never stop on divergence; an infinite factor too)."""
    if stop_factor is None or (
        isinstance(stop_factor, (int, float)) and math.isinf(stop_factor) and stop_factor > 0
    ):
        return None
    if isinstance(stop_factor, bool) or not (
        isinstance(stop_factor, (int, float)) or hasattr(stop_factor, "__float__")
    ) or not float(stop_factor) > 1.0:
        never = "inf" if names.cli else "None"
        raise ValueError(
            f"{names('stop_factor')} must be greater than 1, got {stop_factor}; the default is "
            f"{DEFAULT_STOP_FACTOR:g}, and {never} never stops early."
        )
    return float(stop_factor)


def _is_integer(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    try:
        return int(value) == value
    except (TypeError, ValueError, OverflowError):
        return False


def check_positive_int(parameter: str, value: Any, names: ArgumentNames = PYTHON_NAMES) -> int:
    """``value`` as an int ≥ 1, or ValueError naming ``parameter``."""
    if not _is_integer(value) or int(value) < 1:
        raise ValueError(f"{names(parameter)} must be a positive integer, got {value}.")
    return int(value)


def check_run_length(
    steps: int | None, epochs: int | None, names: ArgumentNames = PYTHON_NAMES
) -> None:
    """``steps`` and ``epochs`` are each None or valid, and not both given."""
    if steps is not None and epochs is not None:
        raise ValueError(f"pass either {names('steps')} or {names('epochs')}, not both.")
    if steps is not None:
        check_num_steps(steps, names, parameter="steps")
    if epochs is not None:
        check_positive_int("epochs", epochs, names)


@dataclass(frozen=True)
class RunPlan:
    """How many batches a range test runs, and how ``model.fit`` is asked for them."""

    num_steps: int
    """Batches in the ramp."""
    fit_epochs: int
    """``epochs=`` for ``model.fit``."""
    steps_per_epoch: int | None
    """``steps_per_epoch=`` for ``model.fit`` (None: the data's own length)."""


def plan(
    batches_per_epoch: int | None,
    steps: int | None,
    epochs: int | None,
    names: ArgumentNames = PYTHON_NAMES,
    batch_size: int | None = None,
) -> RunPlan:
    """The run's length from the data's length and ``steps=`` or ``epochs=``.

    With neither, `DEFAULT_STEPS` batches; data shorter than the run is cycled.

    >>> plan(47, None, None)
    RunPlan(num_steps=800, fit_epochs=18, steps_per_epoch=None)
    >>> plan(47, None, 2)
    RunPlan(num_steps=94, fit_epochs=2, steps_per_epoch=None)
    >>> plan(None, 100, None)
    RunPlan(num_steps=100, fit_epochs=1, steps_per_epoch=100)
    """
    check_run_length(steps, epochs, names)
    if epochs is not None:
        if batches_per_epoch is None:
            raise ValueError(
                f"the data has no known length, so {names('epochs')} cannot set the run "
                f"length; pass {names('steps')} instead."
            )
        result = RunPlan(int(epochs) * batches_per_epoch, int(epochs), None)
    else:
        num_steps = DEFAULT_STEPS if steps is None else int(steps)
        if batches_per_epoch is None:
            result = RunPlan(num_steps, 1, num_steps)
        else:
            result = RunPlan(num_steps, math.ceil(num_steps / batches_per_epoch), None)
    if result.num_steps < MIN_STEPS:
        length = (
            f"{names('epochs')} {epochs} gives only {result.num_steps} batches"
            + (f" of {batch_size}" if batch_size else "")
            if epochs is not None
            else f"the run has only {result.num_steps} batches"
        )
        raise ValueError(
            f"{length}; a curve needs at least {MIN_STEPS}: pass more {names('epochs')}, "
            f"{names('steps')} {DEFAULT_STEPS} (short data is cycled) or a smaller "
            f"{names('batch_size')}."
        )
    return result


def batch_exceeds_data(batch_size: int | None, samples: int,
                       names: ArgumentNames = PYTHON_NAMES) -> str | None:
    """The warning for a batch size above the number of samples (None when it is not):
    every batch is then the whole data, so the curve is that of full-batch training.

    >>> batch_exceeds_data(32, 1500) is None
    True
    >>> batch_exceeds_data(4096, 1500, CLI_NAMES)
    '--batch-size 4096 is more than the 1500 samples: every batch is all of them, so the range test (and its suggestion) is for full-batch training at batch size 1500; pass --batch-size 1500 or less, or more data.'
    """  # noqa: E501
    if batch_size is None or batch_size <= samples:
        return None
    return (f"{names('batch_size')} {batch_size} is more than the {samples} samples: every "
            "batch is all of them, so the range test (and its suggestion) is for full-batch "
            f"training at batch size {samples}; pass {names('batch_size')} {samples} or "
            "less, or more data.")


SCAN_BYTES = 64 * 2**20
"""Block size of the NaN/Inf scan of the data: bounded memory for memory-mapped arrays."""


def non_finite_problem(name: str, array: np.ndarray) -> str | None:
    """What is wrong when a float array holds NaN or infinite values (None when nothing is):
    how many, the first sample holding one, and the fix. Scanned block by block.

    >>> import numpy as np
    >>> non_finite_problem("x", np.array([[0.0, 1.0], [np.nan, 2.0]]))
    'x contains 1 NaN or infinite value (the first in sample 1); remove or fix those samples: a single NaN makes every later loss NaN.'
    """  # noqa: E501
    import numpy as np  # here: the checks above load without NumPy

    if not np.issubdtype(array.dtype, np.inexact):
        return None
    rows = max(1, SCAN_BYTES // max(1, array[:1].nbytes))
    bad, first = 0, None
    for start in range(0, len(array), rows):
        block = ~np.isfinite(array[start : start + rows])
        count = int(np.count_nonzero(block))
        if count and first is None:
            first = start + int(np.argmax(block.reshape(len(block), -1).any(axis=1)))
        bad += count
    if not bad:
        return None
    values = "value" if bad == 1 else "values"
    return (f"{name} contains {bad} NaN or infinite {values} (the first in sample {first}); "
            "remove or fix those samples: a single NaN makes every later loss NaN.")


def check_compiled(model: Any) -> None:
    """Raise ValueError unless ``model`` has been compiled with an optimizer."""
    if not getattr(model, "compiled", False) or getattr(model, "optimizer", None) is None:
        raise ValueError(
            "the model is not compiled: call model.compile(optimizer=..., loss=...) "
            "before running LRFinder."
        )


# ---------------------------------------------------------------- across processes
SHARD_MODES = ("auto", "given")
"""How array (and tf.data) inputs meet the processes of a multi-process run (JAX's
distributed runtime): ``"auto"``, every process passes the same, whole data and lrfind gives
each its contiguous slice (process ``i`` of ``N`` takes rows ``[i*m, (i+1)*m)``, ``m = n // N``:
the last ``n % N`` rows are dropped so every slice has the same length; a ``tf.data.Dataset`` of
global batches is rebatched and sharded the way Keras's ``auto_shard_dataset`` does); or
``"given"``, every process passes its own shard (arrays of the same length on every process,
or a dataset of this process's batches). On one process there is nothing to shard and the
setting is ignored."""
DEFAULT_SHARD = None
"""No default across processes: a multi-process run must say which of `SHARD_MODES` it means
(on one process the data is used as given)."""
DEFAULT_CPU_COLLECTIVES = "gloo"
"""JAX's CPU collectives for a multi-process run on CPU hosts (the setting
``jax_cpu_collectives_implementation``); without it, JAX's CPU backend cannot run a
computation that spans processes."""
PROCESS_ENV = {
    "coordinator": "KERAS_DISTRIBUTION_JOB_ADDRESSES",
    "num_processes": "KERAS_DISTRIBUTION_NUM_PROCESSES",
    "process_id": "KERAS_DISTRIBUTION_PROCESS_ID",
}
"""The environment variables ``keras.distribution.initialize`` reads when an argument is
not given; the command line reads them too (its options win)."""
JAX_COORDINATOR_ENV = "JAX_COORDINATOR_ADDRESS"
"""JAX's own variable for the coordinator address (read when Keras's is unset)."""


def check_shard(shard: Any, processes: int, names: ArgumentNames = PYTHON_NAMES) -> str | None:
    """``shard`` as given, or ValueError: one of `SHARD_MODES`, and required on more than
    one process.

    >>> check_shard(None, 1) is None, check_shard("auto", 2)
    (True, 'auto')
    >>> check_shard(None, 2)
    Traceback (most recent call last):
    ...
    ValueError: this range test runs on 2 processes: pass shard='auto' (every process passes \
the same, whole data; each takes its own slice) or shard='given' (every process passes its \
own shard).
    """
    if shard is not None and shard not in SHARD_MODES:
        raise ValueError(f"{names('shard')} must be one of {SHARD_MODES}, got {shard!r}.")
    if shard is None and processes > 1:
        auto, given = (
            ("--shard auto", "--shard given") if names.cli else ("shard='auto'", "shard='given'")
        )
        raise ValueError(
            f"this range test runs on {processes} processes: pass {auto} (every process "
            f"passes the same, whole data; each takes its own slice) or {given} (every "
            "process passes its own shard)."
        )
    return shard


def check_global_batch_size(
    batch_size: int, processes: int, names: ArgumentNames = PYTHON_NAMES
) -> int:
    """The per-process batch size for a global ``batch_size`` over ``processes``.

    >>> check_global_batch_size(64, 2)
    32
    >>> check_global_batch_size(33, 2)
    Traceback (most recent call last):
    ...
    ValueError: batch_size 33 is the global batch (all processes together) and must divide \
evenly over the 2 processes: e.g. batch_size 32 or 34.
    """
    batch_size = check_positive_int("batch_size", batch_size, names)
    if batch_size % processes:
        below = max(processes, batch_size - batch_size % processes)
        raise ValueError(
            f"{names('batch_size')} {batch_size} is the global batch (all processes "
            f"together) and must divide evenly over the {processes} processes: e.g. "
            f"{names('batch_size')} {below} or {below + processes}."
        )
    return batch_size // processes


@dataclass(frozen=True)
class ProcessOptions:
    """Where a process sits in a multi-process run: the coordinator's ``HOST:PORT`` (or
    Keras's comma-separated job addresses), the number of processes and this one's id."""

    coordinator: str
    num_processes: int
    process_id: int


def check_process_options(
    coordinator: str | None, num_processes: Any, process_id: Any,
    names: ArgumentNames = PYTHON_NAMES, env: dict[str, str] | None = None,
) -> ProcessOptions | None:
    """The multi-process settings from the arguments, else the environment (`PROCESS_ENV`,
    `JAX_COORDINATOR_ENV`); None when none of them is set (one process).

    >>> check_process_options("10.0.0.1:1234", 2, 1, env={})
    ProcessOptions(coordinator='10.0.0.1:1234', num_processes=2, process_id=1)
    >>> check_process_options(None, None, None, env={}) is None
    True
    >>> check_process_options("10.0.0.1", 2, 0, CLI_NAMES, env={})
    Traceback (most recent call last):
    ...
    ValueError: --coordinator '10.0.0.1' must be HOST:PORT (the coordinator, process 0), \
e.g. --coordinator 10.0.0.1:1234.
    """
    env = {} if env is None else env
    coordinator = coordinator or env.get(PROCESS_ENV["coordinator"]) or env.get(
        JAX_COORDINATOR_ENV
    )
    if num_processes is None:
        num_processes = env.get(PROCESS_ENV["num_processes"])
    if process_id is None:
        process_id = env.get(PROCESS_ENV["process_id"])
    given = {"coordinator": coordinator, "num_processes": num_processes,
             "process_id": process_id}
    if all(value is None for value in given.values()):
        return None
    missing = [names(name) for name, value in given.items() if value is None]
    if missing:
        raise ValueError(
            f"a multi-process run needs {names('coordinator')}, {names('num_processes')} and "
            f"{names('process_id')} (or the environment variables "
            f"{', '.join(PROCESS_ENV.values())}); missing: {', '.join(missing)}."
        )
    first = str(coordinator).split(",")[0].strip()
    host, _, port = first.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(
            f"{names('coordinator')} {coordinator!r} must be HOST:PORT (the coordinator, "
            f"process 0), e.g. {names.example(coordinator='10.0.0.1:1234')}."
        )
    try:
        count, index = int(str(num_processes)), int(str(process_id))
    except ValueError:
        raise ValueError(
            f"{names('num_processes')} and {names('process_id')} must be integers, got "
            f"{num_processes!r} and {process_id!r}."
        ) from None
    if count < 1:
        raise ValueError(f"{names('num_processes')} must be at least 1, got {count}.")
    if not 0 <= index < count:
        raise ValueError(
            f"{names('process_id')} must be in 0..{count - 1} (one id per process, 0 the "
            f"coordinator), got {index}."
        )
    return ProcessOptions(str(coordinator), count, index)
