"""Is the suggested learning rate right? lrfind and the peers' rules against brute force.

For every task in `tasks.TASKS`:

1. Ground truth (`grid.py`): constant-LR training over a quarter-decade grid, the task's
   training seeds (5 or 3, `tasks.Task.seeds`), the task's epoch budget; best LR, and the
   band of LRs within 10 % of the best validation loss.
2. Five range tests (finder seeds 100-104) with lrfind's `LRFinder` (1e-10 to 10, the
   task's batch size) of ``--steps`` batches, and of each length in ``--lengths``.
3. Every rule reads the same recorded curves: lrfind's `suggest`, and the peers' published
   rules (`peers.py`, each with its own library's smoothing); "Keras default" keeps the
   optimizer's default LR (1e-3; SGD 0.01; `tasks.keras_default_lr`) as a baseline.
4. Regret = median validation loss at the suggested LR / the grid's best, with the grid's
   seeds and budget; hit = the LR lies in the band. By default lrfind's, fastai
   ``minimum``/10's (the best peer here) and the Keras default's regrets come from training
   at the suggested LRs, the other peers' are read off the grid (linear interpolation in
   log(LR)); ``--train all`` trains them all, ``--train`` with no names none. The length
   study always reads the grid. A refusal (no LR) is scored as the Keras default LR.

Tasks are in two groups: "dev" (rules are chosen on them, `rule_search.py`; lrfind's current
rule on the first 15) and "validation" (added after the current rule was frozen, to check
that it carries over); each has a family (`tasks.FAMILIES`).

Everything trained is cached in ``grid_truth.json`` (keyed by a hash of the task's
definition); recorded curves in ``$LRFIND_BENCH_CACHE`` (default ``~/.cache/lrfind-bench``),
keyed by task, length, seed and a hash of every ``lrfind`` module that shapes a recorded
curve (`training.recorder_hash`).

    python -m benchmarks.suggestion_quality --write-readme    # ~20 min for 21 tasks, filled grid
    python -m benchmarks.suggestion_quality --train --lengths   # quick: no training at all
"""

from __future__ import annotations

import argparse
import fcntl
import json
import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from benchmarks.grid import Cache, Truth, fill_grid, lr_key, train_cached
from benchmarks.peers import PEER_RULES
from benchmarks.tasks import TASKS, Task, keras_default_lr
from benchmarks.training import recorder_hash
from lrfind.analysis import suggest

HERE = Path(__file__).resolve().parent
README = HERE / "README.md"
RESULTS_JSON = HERE / "results.json"
CURVE_CACHE = Path(os.environ.get("LRFIND_BENCH_CACHE", "~/.cache/lrfind-bench")).expanduser()
FINDER_SEEDS = (100, 101, 102, 103, 104)
DEFAULT_STEPS = 800
"""The finder length this benchmark recommends (see the length study in README.md)."""
LENGTHS = (100, 200, 400, 800)
TRAINED = ("lrfind", "fastai minimum/10", "Keras default")
"""Rules trained at by default: lrfind, the best peer on these curves, the baseline."""
Rule = Callable[[np.ndarray, np.ndarray, int], "float | None"]


def lrfind_rule(lrs: np.ndarray, losses: np.ndarray, num_steps: int) -> float | None:
    return suggest(lrs, losses).lr


RULES: dict[str, Rule] = {"lrfind": lrfind_rule, **PEER_RULES}


# ----------------------------------------------------------------------------- curves
class CurveCache:
    """Recorded range-test curves, keyed by `training.recorder_hash` (the contents of every
    ``lrfind`` module that shapes a recorded curve).

    When any of those modules has changed since curves were cached, the first curve needed is
    recorded again and compared with the cached one; if they agree, the older cache is carried
    over (the change did not touch what is recorded), otherwise everything is recorded anew.
    """

    def __init__(self) -> None:
        self.recorder_hash = recorder_hash()
        self.path = CURVE_CACHE / f"curves-{self.recorder_hash}.json"
        self.data: dict[str, dict] = {}
        if self.path.exists():
            self.data = json.loads(self.path.read_text())
        self._checked_older = False

    def get(self, task: Task, steps: int, seed: int) -> tuple[np.ndarray, np.ndarray, float]:
        """(lrs, per-batch losses, seconds the range test took)."""
        key = f"{task.key()}/{steps}/{seed}"
        if key not in self.data:
            from benchmarks.training import record_curve

            t0 = time.perf_counter()
            lrs, losses = record_curve(task, seed, steps)
            self.data[key] = {
                "lrs": lrs.tolist(), "losses": losses.tolist(),
                "seconds": time.perf_counter() - t0,
            }
            self._carry_over_older(key)
            self._save()
        d = self.data[key]
        return np.array(d["lrs"]), np.array(d["losses"]), float(d["seconds"])

    def _carry_over_older(self, key: str) -> None:
        if self._checked_older:
            return
        self._checked_older = True
        older = sorted(CURVE_CACHE.glob("curves-*.json"), key=lambda p: p.stat().st_mtime)
        for path in reversed([p for p in older if p != self.path]):
            cached = json.loads(path.read_text())
            if key not in cached:
                continue
            new, old = self.data[key], cached[key]
            same = len(new["losses"]) == len(old["losses"]) and np.allclose(
                new["losses"], old["losses"], rtol=1e-6
            )
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


# ---------------------------------------------------------------------------- scoring
@dataclass
class Scored:
    """One rule's suggestions on one task, one per finder seed."""

    lrs: list[float | None]
    regrets: list[float] = field(default_factory=list)
    hits: list[bool] = field(default_factory=list)
    trained: bool = False

    @property
    def regret(self) -> float:
        return float(np.median(self.regrets))

    @property
    def spread(self) -> float:
        """max - min of log10(suggested LR) over the finder seeds (inf if any refused)."""
        logs = [math.log10(lr) for lr in self.lrs if lr is not None]
        return max(logs) - min(logs) if len(logs) == len(self.lrs) else math.inf

    def to_dict(self) -> dict:
        known = [lr for lr in self.lrs if lr is not None]
        return {
            "lrs": self.lrs,
            "median_lr": float(np.median(known)) if known else None,
            "regrets": self.regrets,
            "regret": self.regret,
            "hits": self.hits,
            "spread": self.spread,
            "refused": sum(lr is None for lr in self.lrs),
            "trained": self.trained,
        }


def score(task: Task, truth: Truth, lrs: list[float | None], measure, trained: bool) -> Scored:
    fallback = keras_default_lr(task)
    result = Scored(lrs, trained=trained)
    for lr in lrs:
        result.regrets.append(measure(fallback if lr is None else lr))
        result.hits.append(lr is not None and truth.in_band(lr))
    return result


class Trainer:
    """Regret measured by training at an LR with the grid's seeds (cached in the grid file)."""

    def __init__(self, cache: Cache, task: Task, truth: Truth) -> None:
        self.cache, self.task, self.truth = cache, task, truth
        self._runner = None

    def __call__(self, lr: float) -> float:
        lr = float(lr_key(lr))
        losses = [self.cache.get(self.task, "extra", lr, s) for s in self.task.seeds]
        if any(v is None for v in losses):
            if self._runner is None:
                from benchmarks.training import TaskRunner

                self._runner = TaskRunner(self.task)
            losses = train_cached(self.cache, self._runner, "extra", lr)
            self.cache.save()
        return float(np.median(losses)) / self.truth.best_loss


# ------------------------------------------------------------------------------- runs
def evaluate(args: argparse.Namespace) -> dict:
    from benchmarks.training import configure_tensorflow

    configure_tensorflow(1)
    cache = Cache()
    curves = CurveCache()
    tasks = [t for t in TASKS if not args.tasks or t.name in args.tasks]
    report: dict = {"steps": args.steps, "train": args.train, "tasks": {}}
    for task in tasks:
        truth = fill_grid(cache, task, log=lambda msg: print(msg, flush=True))
        trainer = Trainer(cache, task, truth)
        entry: dict = {
            "group": task.group, "family": task.family, "seeds": list(task.seeds),
            "optimizer": task.optimizer_label, "note": task.note,
            "best_lr": truth.best_lr, "best_loss": truth.best_loss, "band": list(truth.band),
            "rules": {}, "lengths": {},
        }
        recorded = [curves.get(task, args.steps, seed) for seed in FINDER_SEEDS]
        suggested = {
            name: [rule(lrs_, losses, args.steps) for lrs_, losses, _ in recorded]
            for name, rule in RULES.items()
        }
        suggested["Keras default"] = [keras_default_lr(task)] * len(FINDER_SEEDS)
        for name, lrs in suggested.items():
            train = name in args.train or "all" in args.train
            measure = trainer if train else truth.interpolated_regret
            entry["rules"][name] = score(task, truth, lrs, measure, train).to_dict()
        for steps in args.lengths:
            runs = [curves.get(task, steps, seed) for seed in FINDER_SEEDS]
            lrs = [suggest(lrs_, losses).lr for lrs_, losses, _ in runs]
            scored = score(task, truth, lrs, truth.interpolated_regret, False)
            entry["lengths"][str(steps)] = {
                **scored.to_dict(), "seconds": float(np.median([s for _, _, s in runs])),
            }
        report["tasks"][task.name] = entry
        line = entry["rules"]["lrfind"]
        print(
            f"{task.name:26s} best {truth.best_lr:.3g} band {truth.band[0]:.3g}.."
            f"{truth.band[1]:.3g} | lrfind {line['median_lr'] or float('nan'):.3g} "
            f"hits {sum(line['hits'])}/5 regret {line['regret']:.3f} spread {line['spread']:.2f}",
            flush=True,
        )
    cache.save(keep={t.key() for t in TASKS} if not args.tasks else None)
    return report


# ---------------------------------------------------------------------------- tables
def fmt(x: float, digits: int = 2) -> str:
    return "∞" if x is None or not math.isfinite(x) else f"{x:.{digits}f}"


def geomean(values: list[float]) -> float:
    return float(np.exp(np.mean(np.log(np.minimum(values, 1e6)))))


def summary_table(tasks: dict) -> list[str]:
    names = list(next(iter(tasks.values()))["rules"])
    n_runs = len(tasks) * len(FINDER_SEEDS)
    rows = []
    for name in names:
        per = [t["rules"][name] for t in tasks.values()]
        regrets = [r["regret"] for r in per]
        spreads = [r["spread"] for r in per]
        trained = "trained" if all(r["trained"] for r in per) else "grid"
        rows.append((
            float(np.median(regrets)), name, sum(sum(r["hits"]) for r in per),
            sum(r["regret"] <= 1.1 for r in per), geomean(regrets), max(regrets),
            float(np.median(spreads)), max(spreads), trained,
        ))
    lines = [
        f"| rule | hits (of {n_runs}) | tasks with regret ≤ 1.10 (of {len(tasks)}) | median "
        "regret | geometric mean | worst task | median spread (decades) | worst spread | regret "
        "from |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for med, name, hits, ok, gm, worst, spread, worst_spread, trained in sorted(rows):
        label = f"**{name}**" if name == "lrfind" else name
        lines.append(
            f"| {label} | {hits} | {ok} | {fmt(med)} | {fmt(gm)} | {fmt(worst)} | {fmt(spread)} "
            f"| {fmt(worst_spread)} | {trained} |"
        )
    return lines


def markdown(report: dict) -> str:
    tasks = report["tasks"]
    groups = {g: {n: t for n, t in tasks.items() if t["group"] == g} for g in ("dev", "validation")}
    n_seeds = sorted({len(t.get("seeds", range(5))) for t in tasks.values()}, reverse=True)
    out = [
        f"Finder: {report['steps']} batches from 1e-10 to 10, finder seeds "
        f"{FINDER_SEEDS[0]}-{FINDER_SEEDS[-1]}; truth: "
        f"{' or '.join(map(str, n_seeds))} training seeds per LR (the task's own). "
        "Regret per task = median over the 5 finder seeds; spread = max - min of log10(LR) "
        "over them. \"regret from\": trained at the suggested LRs, or read off the grid.",
    ]
    for title, subset in (
        ("All tasks", tasks),
        ("Dev tasks (rules are chosen on these)", groups["dev"]),
        ("Validation tasks (added after the current rule was frozen)", groups["validation"]),
    ):
        if subset:
            out += ["", f"**{title}**", "", *summary_table(subset)]
    out += [
        "",
        "Per task, lrfind:",
        "",
        "| task | group | family | optimizer | best LR | band | lrfind LR (median) | hits | "
        "regret | spread |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, t in tasks.items():
        r = t["rules"]["lrfind"]
        median_lr = "refused" if r["median_lr"] is None else f"{r['median_lr']:.3g}"
        out.append(
            f"| {name} | {t['group']} | {t.get('family', '')} | {t['optimizer']} | "
            f"{t['best_lr']:.3g} | "
            f"{t['band'][0]:.3g} – {t['band'][1]:.3g} | {median_lr} | {sum(r['hits'])}/5 | "
            f"{fmt(r['regret'])} | {fmt(r['spread'])} |"
        )
    names = list(next(iter(tasks.values()))["rules"])
    out += [
        "",
        "Regret per task and rule:",
        "",
        "| task | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for name, t in tasks.items():
        out.append(f"| {name} | " + " | ".join(fmt(t["rules"][n]["regret"]) for n in names) + " |")
    lengths = sorted({int(n) for t in tasks.values() for n in t["lengths"]})
    if lengths:
        out += [
            "",
            "Finder length (lrfind's rule on curves of each length; regret read off the grid):",
            "",
            "| batches | hits | median regret | geometric mean | worst task | median spread | "
            "worst spread | refused | seconds per range test (median) |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for n in lengths:
            per = [t["lengths"][str(n)] for t in tasks.values() if str(n) in t["lengths"]]
            regrets = [p["regret"] for p in per]
            spreads = [p["spread"] for p in per]
            out.append(
                f"| {n} | {sum(sum(p['hits']) for p in per)}/{len(per) * len(FINDER_SEEDS)} | "
                f"{fmt(float(np.median(regrets)))} | {fmt(geomean(regrets))} | {fmt(max(regrets))} "
                f"| {fmt(float(np.median(spreads)))} | {fmt(max(spreads))} | "
                f"{sum(p['refused'] for p in per)} | "
                f"{float(np.median([p['seconds'] for p in per])):.1f} |"
            )
    return "\n".join(out)


def write_readme(text: str, section: str = "results") -> None:
    """Replace the text between ``<!-- {section}:begin -->`` and ``<!-- {section}:end -->``."""
    begin, end = f"<!-- {section}:begin -->", f"<!-- {section}:end -->"
    body = README.read_text() if README.exists() else ""
    if begin in body and end in body:
        head, rest = body.split(begin, 1)
        body = f"{head}{begin}\n{text}\n{end}{rest.split(end, 1)[1]}"
    else:
        body = f"{body}\n{begin}\n{text}\n{end}\n"
    README.write_text(body)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", nargs="*", help="task names (default: all)")
    parser.add_argument("--steps", type=int, default=DEFAULT_STEPS, help="finder length")
    parser.add_argument("--lengths", type=int, nargs="*", default=list(LENGTHS),
                        help="finder lengths for the length study (none: skip it)")
    parser.add_argument("--train", nargs="*", default=list(TRAINED),
                        help='rules whose suggestions are trained at ("all", or none at all); '
                        "the others' regrets are read off the grid")
    parser.add_argument("--write-readme", action="store_true")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    report = evaluate(args)
    report["seconds"] = time.perf_counter() - t0
    text = markdown(report)
    print(text)
    print(f"\n{report['seconds'] / 60:.1f} min")
    if not args.tasks:
        RESULTS_JSON.write_text(json.dumps(report, indent=1) + "\n")
    if args.write_readme:
        write_readme(text)


if __name__ == "__main__":
    main(sys.argv[1:])
