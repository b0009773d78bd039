"""How lrfind's suggestion rule was chosen: candidate rules on the dev tasks' curves.

Every candidate reads the named points of `lrfind.analysis` off the same recorded curves
(5 finder seeds per task, cached by `suggestion_quality.py`) and is scored against the
brute-force grid (regret read off the grid, linear in log(LR)). Each family has one free
offset ``c`` (decades), chosen by the geometric-mean regret over the tasks, taking the worst
of ``c`` and ``c +- 0.125`` so that a choice sitting next to a cliff is not rewarded. The
"left out" columns choose ``c`` without the task they score (leave-one-task-out), or with
``--leave-out family`` without every task of the scored task's family (`tasks.FAMILIES`;
leave-one-family-out): the estimate of how the family does on a task, or a kind of
architecture, it has never seen.

Families: ``steepest``, ``minimum``, ``divergence``, ``knee q`` (the LR where the loss has
come a fraction q of the way down), knees capped half a decade below divergence, geometric
means of two points, and lrfind's rule as implemented (its own constants, no offset).

    python -m benchmarks.rule_search --steps 800 400 200      # dev tasks only
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from benchmarks.grid import Cache, Truth, task_truth
from benchmarks.suggestion_quality import FINDER_SEEDS, CurveCache, geomean, write_readme
from benchmarks.tasks import TASKS
from lrfind.analysis import knee_point, suggest

OFFSETS = [round(c, 3) for c in np.arange(-1.5, 1.01, 0.125)]
KNEES = (0.5, 0.7, 0.8, 0.9, 0.95)
Features = dict[str, float]  # log10 of each named point's LR


def features(lrs: np.ndarray, losses: np.ndarray, window: float) -> Features | None:
    s = suggest(lrs, losses, window_decades=window)
    if s.lr is None:
        return None
    f = {name: math.log10(p.lr) for name, p in s.points.items()}
    f.setdefault("steepest", f["minimum"])
    f.setdefault("divergence", math.log10(lrs[-1]))
    f["lrfind"] = math.log10(s.lr)
    for q in KNEES:
        point = knee_point(lrs, losses, fraction=q, window_decades=window)
        f[f"knee {q}"] = math.log10(point.lr) if point else f["minimum"]
    return f


Rule = Callable[[Features, float], float]


def families() -> dict[str, Rule | None]:
    """name: rule(features, c) -> log10(lr); None is lrfind's own suggestion."""
    fams: dict[str, Rule | None] = {"lrfind (as implemented, no offset)": None}
    for name in ("steepest", "minimum", "divergence", *(f"knee {q}" for q in KNEES)):
        fams[name] = lambda f, c, name=name: f[name] + c
    for q in (0.8, 0.9):
        fams[f"knee {q}, capped at divergence/10**0.5"] = lambda f, c, q=q: min(
            f[f"knee {q}"] + c, f["divergence"] - 0.5
        )
    for a, b in (("minimum", "knee 0.9"), ("minimum", "divergence"), ("knee 0.9", "divergence")):
        fams[f"sqrt({a} * {b})"] = lambda f, c, a=a, b=b: (f[a] + f[b]) / 2 + c
    return fams


def scores(
    rule: Rule | None, c: float, feats: dict, truths: dict[str, Truth], names: list[str]
) -> tuple[dict[str, float], int, list[float]]:
    per, hits, spreads = {}, 0, []
    for task in names:
        regrets, logs = [], []
        for f in feats[task]:
            if f is None:
                regrets.append(truths[task].interpolated_regret(1e-3))
                continue
            x = f["lrfind"] if rule is None else rule(f, c)
            logs.append(x)
            regrets.append(truths[task].interpolated_regret(10**x))
            hits += truths[task].in_band(10**x)
        per[task] = float(np.median(regrets))
        spreads.append(max(logs) - min(logs) if len(logs) == len(feats[task]) else math.inf)
    return per, hits, spreads


def robust_offset(rule: Rule | None, feats: dict, truths: dict, names: list[str]) -> float:
    if rule is None:
        return 0.0
    gm = {c: geomean(list(scores(rule, c, feats, truths, names)[0].values())) for c in OFFSETS}
    def worst_nearby(c: float) -> float:
        return max(gm.get(round(c + d, 3), math.inf) for d in (-0.125, 0.0, 0.125))

    return min(OFFSETS, key=worst_nearby)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, nargs="*", default=[800])
    parser.add_argument("--window", type=float, default=1.0, help="smoothing window, decades")
    parser.add_argument("--group", default="dev")
    parser.add_argument("--tasks", nargs="*", help="only these tasks of the group")
    parser.add_argument("--leave-out", choices=("task", "family"), default="task",
                        help="what the left-out columns leave out of the calibration")
    parser.add_argument("--write-readme", action="store_true")
    args = parser.parse_args(argv)
    out: list[str] = []
    cache, curves = Cache(), CurveCache()
    tasks = [t for t in TASKS if t.group == args.group and (not args.tasks or t.name in args.tasks)]
    truths = {t.name: task_truth(cache, t) for t in tasks}
    names = [t.name for t in tasks]
    family = {t.name: t.family for t in tasks}
    for steps in args.steps:
        feats = {}
        for t in tasks:
            feats[t.name] = [
                features(*curves.get(t, steps, seed)[:2], args.window) for seed in FINDER_SEEDS
            ]
        table = [
            f"\n{steps} batches, window {args.window} decades, {len(tasks)} {args.group} tasks"
            + (", left out one family at a time" if args.leave_out == "family" else "") + "\n",
            "| rule | offset c | median regret | geometric mean | worst | hits | median spread "
            "| worst spread | left out: median | left out: geometric mean | left out: worst |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        rows = []
        for name, rule in families().items():
            c = robust_offset(rule, feats, truths, names)
            per, hits, spreads = scores(rule, c, feats, truths, names)
            left_out = []
            for task in names:
                rest = [n for n in names if n != task
                        and (args.leave_out == "task" or family[n] != family[task])]
                c_rest = robust_offset(rule, feats, truths, rest)
                left_out.append(scores(rule, c_rest, feats, truths, [task])[0][task])
            regrets = list(per.values())
            rows.append((geomean(left_out), name, c, regrets, hits, spreads, left_out))
        for _, name, c, regrets, hits, spreads, left_out in sorted(rows, key=lambda r: r[0]):
            table.append(
                f"| {name} | {c:+.3f} | {np.median(regrets):.3f} | {geomean(regrets):.3f} | "
                f"{max(regrets):.2f} | {hits}/{5 * len(names)} | {np.median(spreads):.2f} | "
                f"{max(spreads):.2f} | {np.median(left_out):.3f} | {geomean(left_out):.3f} | "
                f"{max(left_out):.2f} |"
            )
        print("\n".join(table))
        out += table
    if args.write_readme:
        write_readme("\n".join(out).strip(), "search")


if __name__ == "__main__":
    main(sys.argv[1:])
