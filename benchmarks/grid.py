"""Brute-force ground truth: train each task at a log-spaced grid of constant learning rates.

Protocol: LRs 10**(k/4) (a quarter-decade step) from 1e-5 to 10, extended by
quarter decades while the best LR sits on an edge; the task's own training seeds
(`tasks.Task.seeds`: 0 to 4 for the first 21 tasks, 0 to 2 for later ones); the task's fixed
epoch budget. The best LR minimises the median final validation loss over the seeds; the good band
is every LR whose median is within 10 % of that best, reading the median between grid points
by linear interpolation in log(LR) (the contiguous interval around the best).

Every training run is cached in ``grid_truth.json`` under the task's definition hash
(`tasks.Task.key`), so a re-run only trains what is missing: a changed task gets a new key
and is recomputed, unchanged tasks are read back. Runs at the suggested learning rates
(`suggestion_quality.py`) are cached in the same file, per task, under ``"extra"``.

    python -m benchmarks.grid            # fill the grid for every task (hours, 1 core)
    python -m benchmarks.grid digits_cnn_sgd
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from benchmarks.tasks import TASKS, TASKS_BY_NAME, Task

GRID_JSON = Path(__file__).resolve().parent / "grid_truth.json"
GRID_STEP_DECADES = 0.25
GRID_RANGE = (-5.0, 1.0)  # log10 of the first and last grid LR
GRID_LIMITS = (-8.0, 2.0)  # how far the grid may be extended to bring the best inside
BAND_TOLERANCE = 0.10
LOCK = Path(tempfile.gettempdir()) / "lrfind-grid-truth.lock"
FORMAT = "lrfind.grid_truth"
VERSION = 1


def lr_key(lr: float) -> str:
    """The cache key of a learning rate (6 significant digits; runs use exactly this LR)."""
    return f"{float(lr):.6g}"


def grid_lrs(lo: float = GRID_RANGE[0], hi: float = GRID_RANGE[1]) -> list[float]:
    steps = round((hi - lo) / GRID_STEP_DECADES)
    return [float(lr_key(10 ** (lo + k * GRID_STEP_DECADES))) for k in range(steps + 1)]


# --------------------------------------------------------------------------- the cache
class Cache:
    """``grid_truth.json``: final validation loss per task key, LR and seed."""

    def __init__(self, path: Path = GRID_JSON) -> None:
        self.path = path
        self.data = {"format": FORMAT, "version": VERSION, "protocol": protocol(), "tasks": {}}
        self.data["tasks"] = self._load()

    def entry(self, task: Task) -> dict:
        tasks = self.data["tasks"]
        if task.key() not in tasks:
            tasks[task.key()] = {
                "name": task.name, "definition": task.definition(), "grid": {}, "extra": {},
            }
        tasks[task.key()]["name"] = task.name
        return tasks[task.key()]

    def get(self, task: Task, section: str, run: float | str, seed: int) -> float | None:
        """Cached loss of a run: an LR (sections "grid", "extra") or a named schedule."""
        key = run if isinstance(run, str) else lr_key(run)
        value = self.entry(task).get(section, {}).get(key, {}).get(str(seed))
        if value is None:
            return None
        return math.inf if value == "inf" else float(value)

    def put(self, task: Task, section: str, run: float | str, seed: int, loss: float) -> None:
        key = run if isinstance(run, str) else lr_key(run)
        runs = self.entry(task).setdefault(section, {}).setdefault(key, {})
        runs[str(seed)] = "inf" if not math.isfinite(loss) else float(f"{loss:.6g}")

    def save(self, keep: set[str] | None = None) -> None:
        """Merge with the file on disk (another run may have added results since), drop tasks
        not in ``keep`` (when given), and write atomically with sorted keys."""
        with open(LOCK, "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            tasks = self.data["tasks"]
            for key, theirs in self._load().items():
                mine = tasks.setdefault(key, theirs)
                for section in set(theirs) - {"name", "definition"}:
                    for run, seeds in theirs[section].items():
                        for seed, value in seeds.items():
                            mine.setdefault(section, {}).setdefault(run, {}).setdefault(seed, value)
            if keep is not None:
                self.data["tasks"] = {k: v for k, v in tasks.items() if k in keep}
            for entry in self.data["tasks"].values():
                for section in ("grid", "extra"):
                    entry[section] = dict(
                        sorted(entry[section].items(), key=lambda kv: float(kv[0]))
                    )
                if "schedules" in entry:
                    entry["schedules"] = dict(sorted(entry["schedules"].items()))
            tmp = self.path.with_suffix(".json.tmp")
            tmp.write_text(json.dumps(self.data, indent=1) + "\n")
            os.replace(tmp, self.path)

    def _load(self) -> dict:
        if not self.path.exists():
            return {}
        loaded = json.loads(self.path.read_text())
        if loaded.get("format") != FORMAT or loaded.get("version") != VERSION:
            return {}
        return loaded.get("tasks", {})


def protocol() -> dict:
    return {
        "grid": f"10**(k/4), 1e{GRID_RANGE[0]:+.0f}..1e{GRID_RANGE[1]:+.0f}, extended while "
        "the best is on an edge",
        "seeds": "each task's own (tasks.Task.seeds): 0-4 for the first 21 tasks, 0-2 "
        "for later ones",
        "metric": "final validation loss after the task's epoch budget (inf if non-finite)",
        "best": "grid LR with the lowest median over seeds",
        "band": f"contiguous LR interval around the best whose median, interpolated "
        f"linearly in log(LR) between grid points, is within {BAND_TOLERANCE:.0%} of the best",
    }


# ---------------------------------------------------------------------------- the truth
@dataclass(frozen=True)
class Truth:
    """A task's brute-force answer."""

    lrs: np.ndarray  # grid LRs, increasing
    medians: np.ndarray  # median final validation loss at each
    best_lr: float
    best_loss: float
    band: tuple[float, float]  # lowest and highest LR of the good band

    def in_band(self, lr: float | None) -> bool:
        return lr is not None and self.band[0] <= lr <= self.band[1]

    def interpolated_regret(self, lr: float | None) -> float:
        """Median loss at ``lr`` / best, interpolated linearly in log(LR) on the grid."""
        if lr is None or not math.isfinite(lr):
            return math.inf
        x = math.log10(lr)
        logs = np.log10(self.lrs)
        if x < logs[0] or x > logs[-1]:
            i = 0 if x < logs[0] else -1
            return float(self.medians[i] / self.best_loss)
        j = int(np.clip(np.searchsorted(logs, x), 1, len(logs) - 1))
        a, b = self.medians[j - 1], self.medians[j]
        w = (x - logs[j - 1]) / (logs[j] - logs[j - 1])
        if not (math.isfinite(a) and math.isfinite(b)):  # next to a diverged grid point
            return float((a if w < 0.5 else b) / self.best_loss)
        return float(((1 - w) * a + w * b) / self.best_loss)


def truth_from_runs(runs: dict[str, dict[str, float | str]]) -> Truth:
    lrs = np.array(sorted(float(k) for k in runs))
    medians = np.array([
        float(np.median([math.inf if v == "inf" else float(v) for v in runs[lr_key(lr)].values()]))
        for lr in lrs
    ])
    i_best = int(np.argmin(medians))
    truth = Truth(lrs, medians, float(lrs[i_best]), float(medians[i_best]), (0.0, 0.0))
    # the band: the LRs around the best whose interpolated median is within the tolerance,
    # found on a fine log grid (so it agrees with `Truth.interpolated_regret`)
    fine = np.arange(math.log10(lrs[0]), math.log10(lrs[-1]) + 1e-9, 0.005)
    good = np.array([truth.interpolated_regret(10**x) <= 1 + BAND_TOLERANCE for x in fine])
    centre = int(np.argmin(np.abs(fine - math.log10(truth.best_lr))))
    lo = hi = centre
    while lo > 0 and good[lo - 1]:
        lo -= 1
    while hi < len(fine) - 1 and good[hi + 1]:
        hi += 1
    band = (float(10 ** fine[lo]), float(10 ** fine[hi]))
    return Truth(lrs, medians, truth.best_lr, truth.best_loss, band)


def task_truth(cache: Cache, task: Task) -> Truth:
    return truth_from_runs(complete_runs(cache.entry(task)["grid"], task.seeds))


def complete_runs(section: dict, seeds: tuple[int, ...]) -> dict:
    """The LRs run with every one of ``seeds``, with those seeds' losses only."""
    return {
        lr: {str(s): runs[str(s)] for s in seeds}
        for lr, runs in section.items() if all(str(s) in runs for s in seeds)
    }


# ---------------------------------------------------------------------------- computing
def train_cached(cache: Cache, runner, section: str, lr: float) -> list[float]:
    """Final validation losses at ``lr`` for the task's seeds, training only what is missing."""
    losses = []
    for seed in runner.task.seeds:
        value = cache.get(runner.task, section, lr, seed)
        if value is None:
            value = runner.train(float(lr_key(lr)), seed)
            cache.put(runner.task, section, lr, seed, value)
        losses.append(value)
    return losses


def fill_grid(cache: Cache, task: Task, log=print) -> Truth:
    """Train the grid for ``task`` (only missing runs), extending it while the best is on an
    edge; save after every LR."""
    from benchmarks.training import TaskRunner

    runner = None
    lo, hi = GRID_RANGE
    while True:
        for lr in grid_lrs(lo, hi):
            if all(cache.get(task, "grid", lr, s) is not None for s in task.seeds):
                continue
            runner = runner or TaskRunner(task)
            t0 = time.perf_counter()
            losses = train_cached(cache, runner, "grid", lr)
            cache.save()
            log(f"{task.name:26s} lr={lr:<9.3g} median val loss {np.median(losses):.4g} "
                f"({time.perf_counter() - t0:.1f}s)")
        truth = task_truth(cache, task)
        if truth.best_lr <= 10**lo * 1.01 and lo > GRID_LIMITS[0]:
            lo -= 1.0
        elif truth.best_lr >= 10**hi * 0.99 and hi < GRID_LIMITS[1]:
            hi += 1.0
        else:
            return truth


def main(argv: list[str]) -> None:
    from benchmarks.training import configure_tensorflow

    configure_tensorflow(1)
    cache = Cache()
    names = argv or [task.name for task in TASKS]
    for name in names:
        truth = fill_grid(cache, TASKS_BY_NAME[name])
        print(f"{name}: best {truth.best_lr:.3g} (val loss {truth.best_loss:.4g}), band "
              f"{truth.band[0]:.3g}..{truth.band[1]:.3g}", flush=True)
    cache.save()


if __name__ == "__main__":
    main(sys.argv[1:])
