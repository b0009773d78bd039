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

``finds.npz`` (committed) archives the finds of one recorder hash compactly (each curve's
LRs and losses as the float32 values they were recorded as, lossless; the smoothed losses
recomputed), so that a new machine starts from them instead of recording every task again
(hours on two cores): a `FindCache` with no local file of its own hash seeds it from the
archive when the hashes agree, and otherwise offers the archive to the carry-over check
above. ``python -m benchmarks.curves`` writes the archive from the local cache.
"""

from __future__ import annotations

import fcntl
import io
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from benchmarks.tasks import Task, build_model, load_data
from benchmarks.training import recorder_hash
from lrfind.result import LRFinderResult, smooth_losses

CURVE_CACHE = Path(os.environ.get("LRFIND_BENCH_CACHE", "~/.cache/lrfind-bench")).expanduser()
ARCHIVE = Path(__file__).resolve().parent / "finds.npz"
"""The committed archive of recorded finds (see the module docstring)."""
ARRAYS = ("lrs", "losses", "smoothed_losses")
"""A run dict's arrays; the archive keeps the first two and recomputes the third."""
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
        elif ARCHIVE.exists() and archive_hash(ARCHIVE) == self.recorder_hash:
            self.data = read_archive(ARCHIVE)
            self._save()
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

    def recorded(self, task: Task, seed: int, steps: int = DEFAULT_STEPS,
                 repeats: int = 3) -> bool:
        """Whether this find was recorded, by the current recording code or an older one
        (the archive, older local caches): what `get` would read or carry over."""
        key = f"{task.key()}/{steps}/{seed}/{repeats}"
        return key in self.data or any(key in cached for _, cached in self._older_caches())

    def _older_caches(self) -> Iterator[tuple[Path, dict]]:
        """``(path, finds)`` of every cache recorded by older code: the local files newest
        first, then the committed archive."""
        older = sorted(CURVE_CACHE.glob("finds-*.json"), key=lambda p: p.stat().st_mtime)
        if ARCHIVE.exists():
            older.insert(0, ARCHIVE)
        for path in reversed([p for p in older if p != self.path]):
            yield path, read_archive(path) if path == ARCHIVE else json.loads(path.read_text())

    def _carry_over_older(self, key: str) -> None:
        if self._checked_older:
            return
        self._checked_older = True
        for path, cached in self._older_caches():
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


# ------------------------------------------------------------------------------ archive
def write_archive(data: dict[str, dict], recorder: str, path: Path = ARCHIVE) -> None:
    """Archive cached finds (`FindCache.data`) compactly: every run's LRs and losses as
    float32 (what Keras recorded, so nothing is lost; checked), one LR array per distinct
    ramp that the runs on it share as prefixes, the rest of each run's dict as JSON."""
    arrays: dict[str, np.ndarray] = {}
    ramps: dict[str, str] = {}  # ramp settings -> array name
    index: dict[str, dict] = {}
    for key, entry in sorted(data.items()):
        runs = []
        for run in curves_of_dict(entry["result"]):
            lrs = np.asarray(run["lrs"], np.float64)
            losses = np.array([np.nan if v is None else v for v in run["losses"]], np.float64)
            for values in (lrs, losses):
                if not np.array_equal(values.astype(np.float32), values, equal_nan=True):
                    raise ValueError(f"{key}: a value is not a float32; cannot archive it")
            ramp = json.dumps({k: run["settings"].get(k) for k in
                               ("start_lr", "end_lr", "num_steps", "mode")}, sort_keys=True)
            name = ramps.setdefault(ramp, f"lrs_{len(ramps)}")
            held = arrays.get(name, np.zeros(0, np.float32))
            n = min(len(held), len(lrs))
            if not np.array_equal(held[:n], lrs[:n].astype(np.float32)):
                name = f"lrs_{key}_{len(runs)}"  # a ramp of its own (never seen so far)
                held = np.zeros(0, np.float32)
            if len(lrs) > len(held):
                arrays[name] = lrs.astype(np.float32)
            loss_name = f"losses_{len(arrays)}"
            arrays[loss_name] = losses.astype(np.float32)
            rest = {k: v for k, v in run.items() if k not in (*ARRAYS, "repeats")}
            runs.append({**rest, "lrs": name, "losses": loss_name, "n": len(lrs)})
        index[key] = {"seconds": entry["seconds"], "runs": runs}
    meta = json.dumps({"recorder": recorder, "finds": index}).encode()
    arrays["index"] = np.frombuffer(meta, np.uint8)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    tmp = path.with_suffix(".npz.tmp")
    tmp.write_bytes(buffer.getvalue())
    os.replace(tmp, path)


def _archive_index(archive: np.lib.npyio.NpzFile) -> dict:
    return json.loads(archive["index"].tobytes().decode())


def archive_hash(path: Path = ARCHIVE) -> str:
    """The recorder hash the archived finds were recorded under."""
    with np.load(path) as archive:
        return _archive_index(archive)["recorder"]


def read_archive(path: Path = ARCHIVE) -> dict[str, dict]:
    """The archived finds in `FindCache.data`'s form (inverse of `write_archive`)."""
    with np.load(path) as archive:
        index = _archive_index(archive)
        data = {}
        for key, entry in index["finds"].items():
            runs = []
            for run in entry["runs"]:
                lrs = archive[run["lrs"]][: run["n"]].astype(np.float64)
                losses = archive[run["losses"]].astype(np.float64)
                rest = {k: v for k, v in run.items() if k not in ("lrs", "losses", "n")}
                runs.append({**rest, "lrs": lrs.tolist(),
                             "losses": [None if not np.isfinite(v) else float(v)
                                        for v in losses],
                             "smoothed_losses": [
                                 None if not np.isfinite(v) else float(v) for v in
                                 smooth_losses(losses, run["settings"].get("beta", 0.98))]})
            first, *repeats = runs
            if repeats:
                first["repeats"] = repeats
            data[key] = {"result": first, "seconds": entry["seconds"]}
    return data


def _same_runs(cached: dict, archived: dict) -> bool:
    """Whether an archived find reads back as cached: every field equal, the recomputed
    smoothed losses to rounding."""
    def floats(values: list) -> np.ndarray:
        return np.array([np.nan if v is None else v for v in values], np.float64)

    runs, archived_runs = curves_of_dict(cached), curves_of_dict(archived)
    return len(runs) == len(archived_runs) and all(
        {k: v for k, v in a.items() if k not in ("smoothed_losses", "repeats")}
        == {k: v for k, v in b.items() if k not in ("smoothed_losses", "repeats")}
        and np.allclose(floats(a["smoothed_losses"]), floats(b["smoothed_losses"]),
                        rtol=1e-12, equal_nan=True)
        for a, b in zip(runs, archived_runs, strict=True))


def curves_of_dict(result: dict) -> list[dict]:
    """A cached find's run dicts: the first, then its repeats."""
    return [result, *result.get("repeats", [])]


def main(argv: list[str]) -> None:
    """Archive the local cache of the current recorder hash into `ARCHIVE`."""
    cache = FindCache()
    if not cache.data:
        sys.exit(f"no finds cached for recorder {cache.recorder_hash} in {CURVE_CACHE}")
    write_archive(cache.data, cache.recorder_hash)
    check = read_archive()
    same = check.keys() == cache.data.keys() and all(
        _same_runs(cache.data[k]["result"], check[k]["result"]) for k in cache.data)
    print(f"archived {len(check)} finds of recorder {cache.recorder_hash} in {ARCHIVE} "
          f"({ARCHIVE.stat().st_size / 1e6:.1f} MB); read back "
          f"{'the same' if same else 'DIFFERENT'}")
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main(sys.argv[1:])
