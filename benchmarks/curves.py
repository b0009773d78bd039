"""Recorded range tests, cached: what every suggestion benchmark reads.

A *find* is one ``LRFinder.find`` call at lrfind's defaults on a fresh model of a task
(``repeats`` range tests from the same start, shuffle seeds ``seed``, ``seed + 1``, ...),
stored whole as an `LRFinderResult` dict (its curves, stop reasons, settings). lrfind's
suggestion is recomputed from it (`LRFinderResult.suggestion`: the median of the repeats);
a peer's rule reads each repeat's curve as one range test of its own.

The cache lives in ``$LRFIND_BENCH_CACHE`` (default ``~/.cache/lrfind-bench``), one file per
`training.recorder_hash` (the contents of every ``lrfind`` module that shapes a recorded
curve). When any of those modules has changed since finds were cached, the first find
needed is recorded again and compared with the cached one; if the curves agree the older
cache is carried over (the change did not touch what is recorded), otherwise everything is
recorded anew.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from pathlib import Path

import numpy as np

from benchmarks.tasks import Task, build_model, load_data
from benchmarks.training import recorder_hash
from lrfind.result import LRFinderResult

CURVE_CACHE = Path(os.environ.get("LRFIND_BENCH_CACHE", "~/.cache/lrfind-bench")).expanduser()
DEFAULT_STEPS = 800
"""lrfind's default ramp length (`lrfind._defaults`): 800 batches from 1e-10 to 10."""


def record_find(task: Task, seed: int, steps: int, repeats: int) -> LRFinderResult:
    """``LRFinder(model).find`` on a fresh ``seed`` model of ``task``, lrfind's defaults but
    the task's batch size, ``steps`` and ``repeats``."""
    from lrfind import LRFinder

    x, y, _, _ = load_data(task.data)
    model = build_model(task, seed)
    return LRFinder(model).find(x, y, batch_size=task.batch_size, steps=steps, seed=seed,
                                repeats=repeats)


def recorded_momentum(task: Task) -> float | None:
    """The ``momentum`` setting lrfind records for the task's optimizer (SGD and RMSprop
    have one, 0 unless given; the others none)."""
    if task.optimizer in ("sgd", "rmsprop"):
        return float(task.optimizer_kwargs.get("momentum", 0.0))
    return None


def curves_of(result: LRFinderResult) -> list[LRFinderResult]:
    """The find's range tests, each as a result of its own (the first, then the repeats)."""
    return [result, *result.repeats]


class FindCache:
    """Recorded finds keyed by task key, steps, seed and repeats (see the module docstring)."""

    def __init__(self) -> None:
        self.recorder_hash = recorder_hash()
        self.path = CURVE_CACHE / f"finds-{self.recorder_hash}.json"
        self.data: dict[str, dict] = {}
        if self.path.exists():
            self.data = json.loads(self.path.read_text())
        self._checked_older = False

    def get(self, task: Task, seed: int, steps: int = DEFAULT_STEPS,
            repeats: int = 3) -> tuple[LRFinderResult, float]:
        """(the find's result, seconds it took); recorded when not cached."""
        key = f"{task.key()}/{steps}/{seed}/{repeats}"
        if key not in self.data:
            t0 = time.perf_counter()
            result = record_find(task, seed, steps, repeats)
            self.data[key] = {"result": result.to_dict(with_suggestion=False),
                              "seconds": time.perf_counter() - t0}
            self._carry_over_older(key)
            self._save()
        entry = self.data[key]
        result = LRFinderResult.from_dict(entry["result"])
        for run in curves_of(result):  # finds cached before lrfind recorded the momentum
            run.settings.setdefault("momentum", recorded_momentum(task))
        return result, float(entry["seconds"])

    def _carry_over_older(self, key: str) -> None:
        if self._checked_older:
            return
        self._checked_older = True
        older = sorted(CURVE_CACHE.glob("finds-*.json"), key=lambda p: p.stat().st_mtime)
        for path in reversed([p for p in older if p != self.path]):
            cached = json.loads(path.read_text())
            if key not in cached:
                continue
            same = _same_curves(self.data[key]["result"], cached[key]["result"])
            print(f"the recording code changed since {path.name}; it records "
                  f"{'the same' if same else 'different'} curves", flush=True)
            if same:
                self.data = {**cached, **self.data}
            return

    def _save(self) -> None:
        """Merge with the file on disk (another run may be recording too), write atomically."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if self.path.exists():
                self.data = {**json.loads(self.path.read_text()), **self.data}
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.data))
            os.replace(tmp, self.path)


def _same_curves(new: dict, old: dict) -> bool:
    """Whether two cached finds recorded the same losses, run by run."""
    runs_new = curves_of(LRFinderResult.from_dict(new))
    runs_old = curves_of(LRFinderResult.from_dict(old))
    return len(runs_new) == len(runs_old) and all(
        a.losses.shape == b.losses.shape
        and np.allclose(a.losses, b.losses, rtol=1e-6, equal_nan=True)
        for a, b in zip(runs_new, runs_old, strict=True)
    )
