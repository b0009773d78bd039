"""Range tests across processes and hosts, on JAX's distributed runtime.

Every process runs the same `LRFinder.find` on its own share of the data; Keras's
``DataParallel`` distribution makes each train step one step over the global batch (the
processes' local batches side by side, the gradients and the loss reduced across them), so
the recorded loss is the global batch loss, the same number on every process. What this
module adds to that:

* `initialize`: JAX's distributed runtime, CPU collectives and a ``DataParallel``
  distribution in one call (before the model is built or loaded).
* `topology`: how many processes, and which one this is (one process, index 0, off JAX).
* `ProcessData`: the data as this process feeds it (`shard_inputs`: each process's slice
  with ``shard="auto"``, or its own shard with ``shard="given"``), the global and the
  per-process batch size, and the agreements between the processes: a check that fails on
  one process fails on all (`ProcessData.all_or_none`), the run's plan and its outcome are
  compared across processes (`agree`), and ``auto_shard_dataset`` is off during the run
  because lrfind has done the sharding (`ProcessData.fit_scope`).

What one batch of the ramp means: one optimizer step on one global batch of ``batch_size``
samples, ``batch_size / N`` from each of the ``N`` processes. So a run on ``N`` processes
at ``batch_size=B`` describes training at global batch ``B``, like a one-process run at
``B``.

Nothing here runs a collective on one process, so single-process runs are untouched.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np

from lrfind._defaults import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_CPU_COLLECTIVES,
    PYTHON_NAMES,
    ArgumentNames,
    check_global_batch_size,
    check_shard,
)

STOP_REASONS = ("completed", "diverged", "non_finite", "fit_ended")
"""The stop reasons of a run, coded as their index when the processes compare outcomes."""


@dataclass(frozen=True)
class Topology:
    """The processes of the run: ``count`` of them, this one ``index`` (0 is the chief)."""

    count: int = 1
    index: int = 0

    @property
    def multi(self) -> bool:
        return self.count > 1

    @property
    def chief(self) -> bool:
        return self.index == 0


def topology() -> Topology:
    """This process's place among the processes (JAX's ``process_count``/``process_index``;
    one process off JAX, where Keras's multi-process runtime does not run)."""
    if keras.backend.backend() != "jax":
        return Topology()
    import jax

    return Topology(int(jax.process_count()), int(jax.process_index()))


def initialize(
    coordinator: str | None = None,
    num_processes: int | None = None,
    process_id: int | None = None,
    *,
    cpu_collectives: str | None = DEFAULT_CPU_COLLECTIVES,
) -> Topology:
    """Join a multi-process run and make Keras's distribution data-parallel over it.

    Call it in every process before building or loading the model (its variables are laid
    out on the distribution's devices when they are created). The arguments are those of
    ``keras.distribution.initialize``, which reads ``KERAS_DISTRIBUTION_JOB_ADDRESSES``,
    ``KERAS_DISTRIBUTION_NUM_PROCESSES`` and ``KERAS_DISTRIBUTION_PROCESS_ID`` for those
    not given (and JAX its own ``JAX_COORDINATOR_ADDRESS`` and cluster detection).
    ``cpu_collectives`` sets ``jax_cpu_collectives_implementation`` (CPU hosts need
    ``"gloo"`` for computations that span processes; None leaves it as it is). Then sets
    ``keras.distribution.DataParallel(devices=jax.devices(), auto_shard_dataset=False)``:
    lrfind shards the data itself (see `shard_inputs`). Needs ``KERAS_BACKEND=jax``.
    """
    if keras.backend.backend() != "jax":
        raise ValueError(
            "a range test across processes runs on Keras's JAX backend (its distribution "
            f"API is a multi-process runtime there); this process runs "
            f"{keras.backend.backend()!r}: set KERAS_BACKEND=jax."
        )
    import jax

    if cpu_collectives is not None:
        jax.config.update("jax_cpu_collectives_implementation", cpu_collectives)
    keras.distribution.initialize(coordinator, num_processes, process_id)
    keras.distribution.set_distribution(
        keras.distribution.DataParallel(devices=jax.devices(), auto_shard_dataset=False)
    )
    return topology()


# ------------------------------------------------------------------- agreement
def gather(values: Any) -> np.ndarray:
    """Every process's ``values`` (a flat vector of numbers), as rows ``[process, value]``."""
    from jax.experimental import multihost_utils

    local = np.asarray(values, dtype=np.float64).reshape(-1)
    return np.asarray(multihost_utils.process_allgather(local)).reshape(-1, local.size)


def agree(topo: Topology, what: str, **values: float) -> None:
    """Raise ValueError on every process unless all processes hold the same ``values``.

    A collective: every process must call it at the same point, with the same names.
    """
    if not topo.multi:
        return
    names = list(values)
    rows = gather([np.nan if values[name] is None else values[name] for name in names])
    same = all(np.array_equal(rows[0], row, equal_nan=True) for row in rows[1:])
    if not same:
        table = "; ".join(
            f"{name}: " + ", ".join(f"process {i} {_show(row[k])}" for i, row in enumerate(rows))
            for k, name in enumerate(names)
            if not np.all(rows[:, k] == rows[0, k])
        )
        raise ValueError(f"the processes disagree on {what} ({table}).")


def _show(value: float) -> str:
    return "none" if np.isnan(value) else f"{value:g}"


def outcome(result: Any) -> dict[str, float]:
    """What every process must have found alike: points, stop reason, the run's own
    suggestion (not the combined one, which is cached once the repeats are in), last loss."""
    suggestion = result.own_suggestion
    lr = None if suggestion is None else getattr(suggestion, "lr", None)
    return {
        "points": float(len(result)),
        "stop_reason": float(STOP_REASONS.index(result.stop_reason))
        if result.stop_reason in STOP_REASONS else -1.0,
        "last_loss": float(result.losses[-1]) if len(result) else None,
        "suggested_lr": None if lr is None else float(lr),
    }


# ------------------------------------------------------------------- the data
@dataclass
class ProcessData:
    """The data as this process feeds it to ``fit``, and the batch sizes of the run.

    ``batch_size`` is the global batch (all processes together; what the result's settings
    record); ``process_batch_size`` is this process's part of it, what ``fit`` is given.
    On one process both are the caller's ``batch_size`` and the data is untouched.
    """

    x: Any
    y: Any
    sample_weight: Any
    batch_size: int | None
    process_batch_size: int | None
    topology: Topology = field(default_factory=Topology)
    shard: str | None = None
    rows: int | None = None  # this process's samples (array data)

    @property
    def multi(self) -> bool:
        return self.topology.multi

    def settings(self) -> dict[str, Any]:
        """What the result's settings record about the processes (nothing on one)."""
        if not self.multi:
            return {}
        return {"processes": self.topology.count, "shard": self.shard,
                "process_batch_size": self.process_batch_size}

    @contextmanager
    def all_or_none(self) -> Iterator[None]:
        """Checks that must pass on every process or fail on all of them.

        A check that failed on one process alone would leave the others waiting in the
        first collective of the fit: here every process reports whether its checks passed,
        and each fails (with its own error, or one naming the process that failed) when any
        did.
        """
        if not self.multi:
            yield
            return
        error: BaseException | None = None
        try:
            yield
        except Exception as raised:  # re-raised below, on every process
            error = raised
        failed = gather([0.0 if error is None else 1.0])[:, 0]
        if error is not None:
            raise error
        if failed.any():
            which = ", ".join(str(i) for i in np.flatnonzero(failed))
            raise ValueError(
                f"the range test did not start: its checks failed on process {which} of "
                f"{self.topology.count} (that process's error says why)."
            )

    @contextmanager
    def fit_scope(self) -> Iterator[None]:
        """The run's fits see this process's data as already sharded (lrfind did it):
        ``auto_shard_dataset`` is off for the run and put back afterwards."""
        distribution = keras.distribution.distribution() if self.multi else None
        if distribution is None:
            yield
            return
        before = distribution.auto_shard_dataset
        distribution.auto_shard_dataset = False
        try:
            yield
        finally:
            distribution.auto_shard_dataset = before


def shard_inputs(
    x: Any, y: Any, sample_weight: Any, *, batch_size: int | None, shard: str | None,
    validation_data: Any = None, topo: Topology | None = None,
    names: ArgumentNames = PYTHON_NAMES,
) -> ProcessData:
    """This process's share of the data and batch, for a run over `topology`'s processes.

    ``shard="auto"``: ``x``, ``y`` and ``sample_weight`` are the whole data, the same on
    every process; this process takes its contiguous slice (rows ``[i*m, (i+1)*m)`` with
    ``m = n // N``; the last ``n % N`` rows go unused). A ``tf.data.Dataset`` of global
    batches is rebatched to ``batch / N`` and every process takes every ``N``-th batch
    (what Keras's ``auto_shard_dataset`` does). ``shard="given"``: the data is this
    process's own shard, used as it is (arrays: the same number of rows on every process;
    a dataset or ``PyDataset``: this process's batches, the global batch being ``N`` of
    them). ``batch_size`` (array data) is always the global batch.
    """
    from lrfind.batches import is_array_data, is_dataset

    topo = topology() if topo is None else topo
    shard = check_shard(shard, topo.count, names)
    if not topo.multi:
        return ProcessData(x, y, sample_weight, batch_size, batch_size)
    _check_multi_process_run(topo, validation_data)
    data = ProcessData(x, y, sample_weight, batch_size, batch_size, topo, shard)
    if is_array_data(x):
        global_batch = DEFAULT_BATCH_SIZE if batch_size is None else batch_size
        data.batch_size = global_batch
        data.process_batch_size = check_global_batch_size(global_batch, topo.count, names)
        if shard == "auto":
            data.x, data.y, data.sample_weight = _slice_for_process((x, y, sample_weight), topo)
        data.rows = len(keras.tree.flatten(data.x)[0])
        return data
    if batch_size is not None:
        raise ValueError(f"{names('batch_size')} is for array data; a dataset brings its "
                         "own batches.")
    if is_dataset(x):
        if shard == "auto":
            data.x = _shard_tf_dataset(x, topo)
        return data
    if shard == "auto":
        raise ValueError(
            f"{type(x).__name__} cannot be sharded by lrfind: pass each process's own "
            "PyDataset with shard='given', or NumPy arrays or a tf.data.Dataset with "
            "shard='auto'."
        )
    return data


def _check_multi_process_run(topo: Topology, validation_data: Any) -> None:
    distribution = keras.distribution.distribution()
    if not isinstance(distribution, keras.distribution.DataParallel):
        raise ValueError(
            f"this range test runs on {topo.count} processes, but Keras's distribution is "
            f"{type(distribution).__name__ if distribution else 'not set'}: set "
            "keras.distribution.set_distribution(keras.distribution.DataParallel("
            "devices=jax.devices(), auto_shard_dataset=False)) before building the model "
            "(lrfind.processes.initialize does that and joins the processes)."
        )
    if validation_data is not None:
        raise ValueError("validation_data is not supported across processes yet: each "
                         "process would score its own subset. Leave it out (the trials of "
                         "verify=True then score on a held-out slice of every process's "
                         "shard, one loss over all of them).")


def _slice_for_process(structure: Any, topo: Topology) -> Any:
    """Process ``topo.index``'s contiguous, equal-length slice of every array."""
    n = min(len(leaf) for leaf in keras.tree.flatten(structure) if leaf is not None)
    per_process = n // topo.count
    if per_process == 0:
        raise ValueError(f"the data has {n} samples, fewer than the {topo.count} processes.")
    part = slice(topo.index * per_process, (topo.index + 1) * per_process)
    return tuple(
        None if item is None else keras.tree.map_structure(lambda a: a[part], item)
        for item in structure
    )


def _shard_tf_dataset(dataset: Any, topo: Topology) -> Any:
    """Global batches rebatched to this process's part, every ``N``-th taken (as Keras)."""
    from tensorflow.python.data.experimental.ops import distribute

    global_batch = int(distribute.compute_batch_size(dataset).numpy())
    if global_batch < 0:
        raise ValueError("the dataset's batch size is unknown: batch it, e.g. "
                         "dataset.batch(64), before the range test.")
    per_process = check_global_batch_size(global_batch, topo.count)
    return dataset.rebatch(per_process).shard(topo.count, topo.index)
