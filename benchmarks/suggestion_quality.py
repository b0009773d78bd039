"""Is the suggested learning rate right? lrfind and the peers' rules against brute force.

For every task in `tasks.TASKS` (``--group``):

1. Ground truth (`grid.py`): constant-LR training over a quarter-decade grid, the task's
   training seeds (5 or 3, `tasks.Task.seeds`), the task's epoch budget; best LR, and the
   band of LRs within 10 % of the best validation loss.
2. Three finds (`curves.py`; finder seeds 100, 103, 106): ``LRFinder.find`` at lrfind's
   defaults (three range tests of 800 batches from 1e-10 to 10, median of their
   suggestions), the task's batch size: nine recorded curves per task.
3. "lrfind" is the find's suggestion (what a user gets); "lrfind, one range test" reads each
   curve alone (``repeats=1``); each peer's published rule (`peers.py`, with its own
   library's smoothing) reads each curve as one range test of its own; "Keras default" keeps
   the optimizer's default LR (1e-3; SGD 0.01; `tasks.keras_default_lr`) as a baseline.
4. Regret = median validation loss at the suggested LR / the grid's best, with the grid's
   seeds and budget; a task's regret is the median over its suggestions; hit = the LR lies
   in the band. By default lrfind's, fastai ``minimum``/10's and the Keras default's regrets
   come from training at the suggested LRs, the others' are read off the grid (linear
   interpolation in log(LR)); ``--train all`` trains them all, ``--train`` with no names
   none. A refusal (no LR) is scored as the Keras default LR.
5. The length study (``--lengths``): one range test (``repeats=1``) of each length per
   finder seed, lrfind's rule, regret read off the grid.

Groups: "dev" (rules are chosen on them, `rule_search.py`), "validation" (added after the
first rule was frozen; chosen on too since), "holdout" to "holdout4" (each defined before a
rule was frozen and run once with it; spent: the current rule was chosen on them; their
scores here are those of the previous rule, e6fe281), "holdout5" (defined before the
current rule, a4dcbc8, was frozen and run once with it; spent since: the search that kept
that rule was made on it too), "holdout6" (defined after that search, run once with the
same rule), "holdout7" (defined before the current rule, f98848c, was frozen; run once with
it), "holdout8" (defined after holdout 7's run and the search that kept f98848c, its grid
truth complete before any range test; run once with f98848c), "holdout9" (defined after
holdout 8's run, its grid truth complete before the current rule, f690722, was frozen; run
once with it) and "holdout10" (defined after holdout 9's run, its grid truth complete before
any range test; run once with f690722, kept frozen: the headline). Each task has a family
(`tasks.FAMILIES`).

Everything trained is cached in ``grid_truth.json`` (keyed by a hash of the task's
definition), the finds in `curves.FindCache`.

    python -m benchmarks.suggestion_quality --group holdout --write-readme
    python -m benchmarks.suggestion_quality --group holdout --record-only   # finds only
    python -m benchmarks.suggestion_quality --train --lengths   # quick: no training at all
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from benchmarks.curves import DEFAULT_STEPS, FindCache, curves_of
from benchmarks.grid import Cache, Truth, fill_grid, lr_key, train_cached
from benchmarks.peers import PEER_RULES
from benchmarks.tasks import TASKS, Task, keras_default_lr

HERE = Path(__file__).resolve().parent
README = HERE / "README.md"
RESULTS_JSON = HERE / "results.json"
FINDER_SEEDS = (100, 103, 106)
"""Seeds of the finds per task; each find's repeats use the next two seeds."""
GROUPS = ("holdout10", "holdout9", "holdout8", "holdout7", "holdout6", "holdout5", "holdout4",
          "holdout3", "holdout2", "holdout", "validation", "dev")
"""The groups that have been run (``--group all``)."""
LENGTHS = (200, 800, 3200)
TRAINED = ("lrfind", "fastai minimum/10", "Keras default")
"""Rules trained at by default: lrfind, the best peer on these curves, the baseline."""
Rule = Callable[[np.ndarray, np.ndarray, int], "float | None"]


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
def selected(args: argparse.Namespace) -> list[Task]:
    return [t for t in TASKS if ((args.group == "all" and t.group in GROUPS)
                                 or t.group == args.group)
            and (not args.tasks or t.name in args.tasks)]


def suggestions(finds: list, task: Task) -> dict[str, list[float | None]]:
    """Every rule's LRs for one task's finds (see the module docstring)."""
    curves = [curve for result in finds for curve in curves_of(result)]
    out: dict[str, list[float | None]] = {
        "lrfind": [result.suggestion.lr for result in finds],
        "lrfind, one range test": [curve.own_suggestion.lr for curve in curves],
    }
    for name, rule in PEER_RULES.items():
        out[name] = [rule(c.lrs, c.losses, int(c.settings["num_steps"])) for c in curves]
    out["Keras default"] = [keras_default_lr(task)] * len(finds)
    return out


def failures(finds: list) -> dict[str, int]:
    """How lrfind's suggestions were reached: basis counts, refusals, unreliable ones."""
    counts = Counter(result.suggestion.basis for result in finds)
    counts["unreliable"] = sum(not result.suggestion.reliable for result in finds)
    return dict(counts)


def evaluate(args: argparse.Namespace) -> dict:
    from benchmarks.training import configure_tensorflow

    configure_tensorflow(1)
    cache = Cache()
    finds_cache = FindCache()
    report: dict = {"steps": DEFAULT_STEPS, "train": args.train, "tasks": {}}
    for task in selected(args):
        recorded = [finds_cache.get(task, seed) for seed in FINDER_SEEDS]
        for steps in args.lengths:
            for seed in FINDER_SEEDS:
                finds_cache.get(task, seed, steps, repeats=1)
        if args.record_only:
            print(f"{task.name:30s} recorded", flush=True)
            continue
        finds = [result for result, _ in recorded]
        truth = fill_grid(cache, task, log=lambda msg: print(msg, flush=True))
        trainer = Trainer(cache, task, truth)
        entry: dict = {
            "group": task.group, "family": task.family, "seeds": list(task.seeds),
            "optimizer": task.optimizer_label, "note": task.note,
            "best_lr": truth.best_lr, "best_loss": truth.best_loss, "band": list(truth.band),
            "rules": {}, "lengths": {}, "failures": failures(finds),
            "seconds_per_find": float(np.median([s for _, s in recorded])),
        }
        for name, lrs in suggestions(finds, task).items():
            train = name in args.train or "all" in args.train
            measure = trainer if train else truth.interpolated_regret
            entry["rules"][name] = score(task, truth, lrs, measure, train).to_dict()
        for steps in args.lengths:
            runs = [finds_cache.get(task, seed, steps, repeats=1) for seed in FINDER_SEEDS]
            lrs = [result.suggestion.lr for result, _ in runs]
            scored = score(task, truth, lrs, truth.interpolated_regret, False)
            entry["lengths"][str(steps)] = {
                **scored.to_dict(), "seconds": float(np.median([s for _, s in runs])),
            }
        report["tasks"][task.name] = entry
        line = entry["rules"]["lrfind"]
        print(
            f"{task.name:30s} best {truth.best_lr:.3g} band {truth.band[0]:.3g}.."
            f"{truth.band[1]:.3g} | lrfind {line['median_lr'] or float('nan'):.3g} "
            f"hits {sum(line['hits'])}/{len(line['hits'])} regret {line['regret']:.3f} "
            f"spread {line['spread']:.2f} {entry['failures']}",
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
    rows = []
    for name in names:
        per = [t["rules"][name] for t in tasks.values()]
        regrets = [r["regret"] for r in per]
        spreads = [r["spread"] for r in per]
        trained = "trained" if all(r["trained"] for r in per) else "grid"
        rows.append((
            float(np.median(regrets)), name, sum(sum(r["hits"]) for r in per),
            sum(len(r["hits"]) for r in per), sum(r["regret"] <= 1.1 for r in per),
            geomean(regrets), max(regrets), sum(r["refused"] for r in per),
            float(np.median(spreads)), max(spreads), trained,
        ))
    lines = [
        f"| rule | in band | tasks with regret ≤ 1.10 (of {len(tasks)}) | median regret | "
        "geometric mean | worst task | refused | median spread (decades) | worst spread | "
        "regret from |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for med, name, hits, n, ok, gm, worst, refused, spread, worst_spread, trained in sorted(rows):
        label = f"**{name}**" if name == "lrfind" else name
        lines.append(
            f"| {label} | {hits}/{n} | {ok} | {fmt(med)} | {fmt(gm)} | {fmt(worst)} | {refused} "
            f"| {fmt(spread)} | {fmt(worst_spread)} | {trained} |"
        )
    return lines


GROUP_TITLES = {
    "holdout10": "Holdout 10 (defined after holdout 9's run, its grid truth complete before any "
    "range test; run once with rule f690722, kept frozen: the headline)",
    "holdout9": "Holdout 9 (defined after holdout 8's run, its grid truth complete before rule "
    "f690722, momentum's divergence anchor moved, was frozen; run once with it)",
    "holdout8": "Holdout 8 (defined after holdout 7's run and the search that kept rule "
    "f98848c; run once with it)",
    "holdout7": "Holdout 7 (defined before rule f98848c, a4dcbc8 with plain SGD's divergence "
    "anchor moved, was frozen; run once with it)",
    "holdout6": "Holdout 6 (defined after rule a4dcbc8 was frozen and kept by the search with "
    "holdout 5 added; run once with it)",
    "holdout5": "Holdout 5 (defined before rule a4dcbc8 was frozen, run once with it; the "
    "search that kept the rule was made on it since)",
    "holdout4": "Holdout 4 (run once with the previous rule, e6fe281; spent: the current rule "
    "was chosen on it)",
    "holdout3": "Holdout 3 (run once with the previous rule, e6fe281; spent: the current rule "
    "was chosen on it)",
    "holdout2": "Holdout 2 (run once with the rule before, 8ef6cee; scored with the previous "
    "rule, e6fe281; spent)",
    "holdout": "First holdout (run once with an older rule; scored with the previous rule, "
    "e6fe281; spent)",
    "validation": "Validation tasks (added after the first rule was frozen; chosen on since; "
    "scored with the previous rule)",
    "dev": "Dev tasks (rules are chosen on these; scored with the previous rule)",
}


def markdown(report: dict) -> str:
    tasks = report["tasks"]
    n_seeds = sorted({len(t.get("seeds", range(5))) for t in tasks.values()}, reverse=True)
    out = [
        f"Finds: `LRFinder.find` at lrfind's defaults ({report['steps']} batches from 1e-10 to "
        f"10, three range tests, the median of their suggestions), finder seeds "
        f"{', '.join(map(str, FINDER_SEEDS))}: {len(FINDER_SEEDS)} suggestions per task for "
        f"lrfind, {3 * len(FINDER_SEEDS)} single curves for the one-curve rules. Truth: "
        f"{' or '.join(map(str, n_seeds))} training seeds per LR (the task's own). A task's "
        "regret is the median over its suggestions; spread = max - min of log10(LR) over "
        "them. \"regret from\": trained at the suggested LRs, or read off the grid.",
    ]
    for group in GROUPS:
        subset = {n: t for n, t in tasks.items() if t["group"] == group}
        if subset:
            out += ["", f"**{GROUP_TITLES[group]}**: {len(subset)} tasks, "
                    f"{len({t['family'] for t in subset.values()})} families", "",
                    *summary_table(subset)]
    out += [
        "",
        "Per task, lrfind (basis: how each suggestion was reached; `descent`: read between "
        "where the loss came down and where it diverged, `divergence`: anchored below the "
        "divergence of a curve that moved only just before it, `none`: refused):",
        "",
        "| task | group | family | optimizer | best LR | band | lrfind LR (median) | in band | "
        "regret | Keras default | spread | basis |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, t in sorted(tasks.items(), key=lambda kv: GROUPS.index(kv[1]["group"])):
        r = t["rules"]["lrfind"]
        median_lr = "refused" if r["median_lr"] is None else f"{r['median_lr']:.3g}"
        basis = ", ".join(f"{k} {v}" for k, v in sorted(t.get("failures", {}).items()) if v)
        out.append(
            f"| {name} | {t['group']} | {t.get('family', '')} | {t['optimizer']} | "
            f"{t['best_lr']:.3g} | {t['band'][0]:.3g} – {t['band'][1]:.3g} | {median_lr} | "
            f"{sum(r['hits'])}/{len(r['hits'])} | {fmt(r['regret'])} | "
            f"{fmt(t['rules']['Keras default']['regret'])} | {fmt(r['spread'])} | {basis} |"
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
            "Ramp length (one range test of each length per finder seed, lrfind's rule, "
            "regret read off the grid; 800 batches are 73 a decade):",
            "",
            "| batches | in band | median regret | geometric mean | worst task | median spread | "
            "worst spread | refused | seconds per range test (median) |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for n in lengths:
            per = [t["lengths"][str(n)] for t in tasks.values() if str(n) in t["lengths"]]
            regrets = [p["regret"] for p in per]
            spreads = [p["spread"] for p in per]
            out.append(
                f"| {n} | {sum(sum(p['hits']) for p in per)}/{sum(len(p['hits']) for p in per)}"
                f" | {fmt(float(np.median(regrets)))} | {fmt(geomean(regrets))} | "
                f"{fmt(max(regrets))} | {fmt(float(np.median(spreads)))} | {fmt(max(spreads))} | "
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
    parser.add_argument("--group", default="all", choices=("all", *GROUPS))
    parser.add_argument("--tasks", nargs="*", help="task names (default: all of the group)")
    parser.add_argument("--lengths", type=int, nargs="*", default=list(LENGTHS),
                        help="ramp lengths for the length study (none: skip it)")
    parser.add_argument("--train", nargs="*", default=list(TRAINED),
                        help='rules whose suggestions are trained at ("all", or none at all); '
                        "the others' regrets are read off the grid")
    parser.add_argument("--record-only", action="store_true",
                        help="only record the finds (no grid, no training)")
    parser.add_argument("--write-readme", action="store_true")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    report = evaluate(args)
    if args.record_only:
        return
    report["seconds"] = time.perf_counter() - t0
    text = markdown(report)
    print(text)
    print(f"\n{report['seconds'] / 60:.1f} min")
    results = json.loads(RESULTS_JSON.read_text()) if RESULTS_JSON.exists() else {}
    if results.get("format") != "lrfind.suggestion_quality":
        results = {"format": "lrfind.suggestion_quality", "tasks": {}}
    results["tasks"].update(report["tasks"])
    RESULTS_JSON.write_text(json.dumps(results, indent=1) + "\n")
    if args.write_readme:
        merged = {**report, "tasks": results["tasks"]}
        write_readme(markdown(merged))


if __name__ == "__main__":
    main(sys.argv[1:])
