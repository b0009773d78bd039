"""Do the trials help? The curve's suggestion, the verified one, and a plain grid search.

For every task (``--group``) and finder seed:

1. ``LRFinder.find`` at its defaults (three range tests of 800 batches, the task's batch
   size): the curve's suggestion (``result.curve_suggestion``).
2. ``result.verify`` with ``--budget`` batches of trials, scored on a held-out slice of the
   training data; with ``--score-on validation``, on the task's validation set instead (as a
   user's ``validation_data``: the set the truth is measured on, as a user's LR is judged on
   their own validation set).
3. A plain log-spaced grid search over 1e-6..1 (``GRID_POINTS`` LRs, each the same share of
   the same total batches as the range tests and the trials together, no halving), scored on
   the same held-out slice: what the batches would buy without a range test.

Each LR's regret is read off the task's grid truth (`grid.Truth.interpolated_regret`); a
refusal is scored as the Keras default LR. Results are cached per task/seed/budget in
``verified_results.json`` (committed), so a re-run only computes what is missing.

    python -m benchmarks.verified_quality --group dev --seeds 100 101
    python -m benchmarks.verified_quality --group holdout --budgets 800 1600 3200
    python -m benchmarks.verified_quality --group holdout3 --seeds 100 --score-on validation
"""

from __future__ import annotations

import argparse
import fcntl
import json
import math
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from benchmarks.grid import Cache, task_truth
from benchmarks.tasks import TASKS, TASKS_BY_NAME, Task, build_model, keras_default_lr, load_data
from benchmarks.training import configure_tensorflow, verifier_hash

HERE = Path(__file__).resolve().parent
RESULTS = Path(os.environ.get("LRFIND_VERIFIED_RESULTS", HERE / "verified_results.json"))
GRID_POINTS = 7
GRID_RANGE = (1e-6, 1.0)


def run_one(task: Task, seed: int, budget: int, score_on: str = "holdout") -> dict:
    """One task and finder seed: the three LRs (curve, verified, grid search) and costs.

    ``score_on="validation"`` scores the trials and the grid search on the task's validation
    set (as a user's ``validation_data``), the set the truth is measured on, as a user's own
    validation set is the one their LR is judged by."""
    from lrfind import LRFinder
    from lrfind.trials import run_trials

    x, y, x_val, y_val = load_data(task.data)
    validation = (x_val, y_val) if score_on == "validation" else None
    model = build_model(task, seed)
    t0 = time.perf_counter()
    result = LRFinder(model).find(x, y, batch_size=task.batch_size, seed=seed)
    t1 = time.perf_counter()
    curve = result.curve_suggestion
    range_batches = len(result) + sum(len(r) for r in result.repeats)
    trials = result.verify(model, x, y, budget=budget, batch_size=task.batch_size, seed=seed,
                           validation_data=validation)
    t2 = time.perf_counter()
    grid = run_trials(model, x, y, lrs=list(np.geomspace(*GRID_RANGE, GRID_POINTS)),
                      budget=range_batches + trials.budget, batch_size=task.batch_size,
                      seed=seed, halving=False, validation_data=validation)
    t3 = time.perf_counter()
    return {
        "curve": curve.lr, "curve_basis": curve.basis, "verified": trials.lr,
        "trial_lrs": [t.lr for t in trials.trials], "grid_search": grid.lr,
        "range_batches": range_batches, "trial_batches": trials.budget,
        "grid_batches": grid.budget, "seconds": [t1 - t0, t2 - t1, t3 - t2],
        "trials": trials.to_dict(), "grid_trials": grid.to_dict(),
    }


def run_key(name: str, seed: int, budget: int, score_on: str) -> str:
    """``name/seed/budget``, with ``/validation`` when scored on the validation set."""
    return f"{name}/{seed}/{budget}" + ("/validation" if score_on == "validation" else "")


def parse_key(key: str) -> tuple[str, int, int, str]:
    """`run_key` read back: (name, seed, budget, score_on)."""
    name, seed, budget, *rest = key.split("/")
    return name, int(seed), int(budget), rest[0] if rest else "holdout"


def load_results() -> dict:
    """The cached runs, whatever code recorded them (``"recorder"``, a
    `training.verifier_hash`, says which)."""
    if RESULTS.exists():
        return json.loads(RESULTS.read_text())
    return {"recorder": verifier_hash(), "runs": {}}


def carry_over(data: dict) -> None:
    """When the code that records or verifies has changed since the runs were cached: run
    the first cached key again; the same three LRs carry the cache over, else it starts
    afresh."""
    if data["recorder"] == verifier_hash() or not data["runs"]:
        data["recorder"] = verifier_hash()
        return
    key, old = next(iter(sorted(data["runs"].items())))
    name, seed, budget, score_on = parse_key(key)
    new = run_one(TASKS_BY_NAME[name], seed, budget, score_on)
    same = all(new[kind] == old[kind] for kind in ("curve", "verified", "grid_search"))
    print(f"the recording code changed since {data['recorder']}; {key} gives "
          f"{'the same' if same else 'different'} LRs", flush=True)
    data["recorder"] = verifier_hash()
    data["runs"] = data["runs"] if same else {key: new}


def save_results(data: dict) -> None:
    """Merge with the file on disk (another run may have added runs, recorded by the same
    code), write atomically."""
    with open(RESULTS.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if RESULTS.exists():
            disk = json.loads(RESULTS.read_text())
            if disk["recorder"] == data["recorder"]:
                data["runs"] = {**disk["runs"], **data["runs"]}
        tmp = RESULTS.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
        os.replace(tmp, RESULTS)


HINDSIGHT = "best trialled LR (hindsight)"
"""The row of the trial LR the truth likes best: what a perfect choice among the same
trials would score (the candidates' reach, apart from the short trials' ranking)."""


def table(data: dict, tasks: list[Task], budget: int, cache: Cache,
          seeds: list[int], score_on: str) -> list[str]:
    rows: dict[str, list[float]] = {"curve": [], "verified": [], "grid_search": [],
                                    "Keras default": [], HINDSIGHT: []}
    hits = {k: 0 for k in rows}
    count = 0
    for task in tasks:
        truth = task_truth(cache, task)
        per = {k: [] for k in rows}
        for key, run in data["runs"].items():
            name, seed, run_budget, run_score_on = parse_key(key)
            if (name, run_budget, run_score_on) != (task.name, budget, score_on) \
                    or seed not in seeds:
                continue
            count += 1
            for kind in ("curve", "verified", "grid_search"):
                lr = run[kind] if run[kind] is not None else keras_default_lr(task)
                per[kind].append(truth.interpolated_regret(lr))
                hits[kind] += truth.in_band(lr)
            per["Keras default"].append(truth.interpolated_regret(keras_default_lr(task)))
            hits["Keras default"] += truth.in_band(keras_default_lr(task))
            if run.get("trials"):
                trialled = min((t["lr"] for t in run["trials"]["trials"]),
                               key=truth.interpolated_regret)
                per[HINDSIGHT].append(truth.interpolated_regret(trialled))
                hits[HINDSIGHT] += truth.in_band(trialled)
        for kind in rows:
            if per[kind]:
                rows[kind].append(float(np.median(per[kind])))
    lines = [f"budget {budget} batches of trials, scored on the {score_on} set; {count} runs "
             f"over {len(rows['curve'])} tasks",
             "| LR from | median regret | geometric mean | worst task | in band |",
             "|---|---|---|---|---|"]
    for kind, values in rows.items():
        if not values:
            continue
        v = np.array(values)
        gm = float(np.exp(np.mean(np.log(np.minimum(v, 100)))))
        lines.append(f"| {kind} | {np.median(v):.3f} | {gm:.3f} | {v.max():.2f} | "
                     f"{hits[kind]}/{count} |")
    return lines


MARGINS = (0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 1.0)


def replay(data: dict, tasks: list[Task], budget: int, cache: Cache, seeds: list[int],
           score_on: str) -> list[str]:
    """Choose again from the stored trials with each margin of `MARGINS`
    (`lrfind.trial_results.choose`): no training, the same trials."""
    from lrfind.trial_results import TrialsResult, choose

    per: dict[float, list[float]] = {m: [] for m in MARGINS}
    for task in tasks:
        truth = task_truth(cache, task)
        runs = [run for key, run in data["runs"].items() if "trials" in run
                and (parse_key(key)[0], *parse_key(key)[2:]) == (task.name, budget, score_on)
                and parse_key(key)[1] in seeds]
        if not runs:
            continue
        for margin in MARGINS:
            regrets = []
            for run in runs:
                trials = TrialsResult.from_dict(run["trials"])
                regrets.append(truth.interpolated_regret(
                    choose(trials.trials, trials.curve_lr, margin)))
            per[margin].append(float(np.median(regrets)))
    lines = ["| margin | median regret | geometric mean | worst task |", "|---|---|---|---|"]
    for margin, values in per.items():
        if values:
            v = np.array(values)
            gm = float(np.exp(np.mean(np.log(np.minimum(v, 100)))))
            lines.append(f"| {margin:g} | {np.median(v):.3f} | {gm:.3f} | {v.max():.2f} |")
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--group", default="dev")
    parser.add_argument("--tasks", nargs="*")
    parser.add_argument("--seeds", type=int, nargs="*", default=[100, 101])
    parser.add_argument("--budgets", type=int, nargs="*", default=[800])
    parser.add_argument("--score-on", choices=("holdout", "validation"), default="holdout",
                        help="score the trials on a held-out slice of the training data "
                             "(default) or on the task's validation set, as validation_data")
    parser.add_argument("--report", action="store_true", help="only print the tables")
    parser.add_argument("--replay", action="store_true",
                        help="also choose again from the stored trials with other margins")
    args = parser.parse_args(argv)
    configure_tensorflow(1)
    cache = Cache()
    tasks = [t for t in TASKS if t.group == args.group and (not args.tasks or t.name in args.tasks)]
    data = load_results()
    if not args.report:
        carry_over(data)
        for task in tasks:
            for seed in args.seeds:
                for budget in args.budgets:
                    key = run_key(task.name, seed, budget, args.score_on)
                    if key in data["runs"]:
                        continue
                    data["runs"][key] = run_one(task, seed, budget, args.score_on)
                    save_results(data)
                    run = data["runs"][key]
                    print(f"{key:45s} curve {run['curve'] or math.nan:9.3g} verified "
                          f"{run['verified']:9.3g} grid {run['grid_search']:9.3g} "
                          f"({sum(run['seconds']):.0f}s)", flush=True)
    current = "the current code" if data["recorder"] == verifier_hash() else (
        f"older code (recorder {data['recorder']}; now {verifier_hash()})")
    print(f"runs recorded by {current}")
    for budget in args.budgets:
        print("\n".join(table(data, tasks, budget, cache, args.seeds, args.score_on)))
        if args.replay:
            print("\n".join(replay(data, tasks, budget, cache, args.seeds, args.score_on)))


if __name__ == "__main__":
    main(sys.argv[1:])
