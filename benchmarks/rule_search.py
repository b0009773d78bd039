"""How lrfind's rule constants were chosen, and what that choice is worth on unseen families.

The rule (`lrfind.rule`) places the LR a fraction ``f`` of the way from the knee to the
divergence, ``offset`` decades further, both per optimizer kind (plain SGD, SGD with
momentum, adaptive). This
script reads every recorded curve once (the finds of `curves.FindCache`, at lrfind's
defaults: three range tests per find, finder seeds of `suggestion_quality.FINDER_SEEDS`),
then scores each candidate ``(f, offset)`` for a kind by the geometric-mean regret of the
finds' suggestions (the median of a find's three, or the reading of their mean curve when
most refuse, as `LRFinderResult.curve_suggestion` takes it)
over the tasks of that kind; regret is read off the grid truth (linear in log(LR)), a
refusal scores as the Keras default LR.

* **in-sample**: constants chosen on all the tasks given, scored on the same tasks;
* **leave one family out**: for each family (`tasks.FAMILIES`), constants chosen without
  any of its tasks, scored on its tasks only: the estimate of how the rule does on a kind
  of architecture it has never seen;
* **frozen**: the constants in `lrfind.rule.RULE`, as committed.

Each choice takes the worst of ``(f, offset)`` and its grid neighbours (offset +- 0.1,
f +- 0.1), so that a choice sitting next to a cliff is not rewarded.

    python -m benchmarks.rule_search                      # dev, validation, first holdout
    python -m benchmarks.rule_search --groups dev --write-readme
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from dataclasses import dataclass

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from benchmarks.curves import FindCache, curves_of
from benchmarks.grid import Cache, Truth, task_truth
from benchmarks.suggestion_quality import FINDER_SEEDS, geomean, write_readme
from benchmarks.tasks import TASKS, Task, keras_default_lr
from lrfind.result import LRFinderResult
from lrfind.rule import RULE, apply_rule, optimizer_kind
from lrfind.suggestion import Suggestion, combine

FRACTIONS = [round(float(f), 2) for f in np.arange(0.0, 1.01, 0.1)]
OFFSETS = [round(float(c), 2) for c in np.arange(-1.2, 0.61, 0.1)]
KINDS = ("sgd", "momentum", "adaptive")


@dataclass
class TaskCurves:
    """One task's finds (each with its three curves, read once) and what scores them."""

    task: Task
    truth: Truth
    finds: list[LRFinderResult]

    def __post_init__(self) -> None:
        self.readings = [[c.reading for c in curves_of(r)] for r in self.finds]
        self.settings = self.finds[0].optimizer_settings

    def regret(self, rule: dict) -> float:
        """Median regret over the finds of the suggestion ``rule`` gives."""
        regrets = []
        for find, readings in zip(self.finds, self.readings, strict=True):
            lr = combine([apply_rule(r, **self.settings, rule=rule) for r in readings],
                         pooled=lambda find=find: self._pooled(find, rule)).lr
            regrets.append(self.truth.interpolated_regret(
                keras_default_lr(self.task) if lr is None else lr))
        return float(np.median(regrets))

    def _pooled(self, find: LRFinderResult, rule: dict) -> Suggestion | None:
        reading = find.pooled_reading
        return None if reading is None else apply_rule(reading, **self.settings, rule=rule)


def load(groups: list[str]) -> list[TaskCurves]:
    cache, finds = Cache(), FindCache()
    return [TaskCurves(task, task_truth(cache, task),
                       [finds.get(task, seed)[0] for seed in FINDER_SEEDS])
            for task in TASKS if task.group in groups]


def kind_of(t: TaskCurves) -> str:
    return optimizer_kind(**t.settings) or "adaptive"


class Search:
    """Regrets of every (f, offset) per task, computed once."""

    def __init__(self, tasks: list[TaskCurves]) -> None:
        self.tasks = tasks
        self.table: dict[str, dict[tuple[float, float], float]] = {}
        for t in tasks:
            kind = kind_of(t)
            self.table[t.task.name] = {
                (f, c): t.regret({**RULE, kind: (f, c)}) for f in FRACTIONS for c in OFFSETS
            }

    def choose(self, kind: str, names: list[str]) -> tuple[float, float]:
        """The (f, offset) of ``kind`` with the lowest worst-of-neighbours geometric mean."""
        names = [n for n in names if kind_of(self._task(n)) == kind]
        if not names:
            return RULE[kind]
        gm = {key: geomean([self.table[n][key] for n in names]) for key in self.table[names[0]]}

        def worst_nearby(key: tuple[float, float]) -> float:
            f, c = key
            return max(gm.get((round(f + df, 2), round(c + dc, 2)), gm[key])
                       for df in (-0.1, 0.0, 0.1) for dc in (-0.1, 0.0, 0.1))

        return min(gm, key=worst_nearby)

    def _task(self, name: str) -> TaskCurves:
        return next(t for t in self.tasks if t.task.name == name)

    def regret(self, name: str, key: tuple[float, float]) -> float:
        return self.table[name][key]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--groups", nargs="*", default=["dev", "validation", "holdout"])
    parser.add_argument("--write-readme", action="store_true")
    args = parser.parse_args(argv)
    from benchmarks.training import configure_tensorflow

    configure_tensorflow(1)
    tasks = load(args.groups)
    search = Search(tasks)
    names = [t.task.name for t in tasks]
    chosen = {kind: search.choose(kind, names) for kind in KINDS}
    families = sorted({t.task.family for t in tasks})
    rows = []
    for t in tasks:
        name, kind = t.task.name, kind_of(t)
        rest = [n for n in names if search._task(n).task.family != t.task.family]
        left_out = search.choose(kind, rest)
        rows.append((t.task.family, name, kind, search.regret(name, tuple(RULE[kind])),
                     search.regret(name, chosen[kind]), search.regret(name, left_out),
                     left_out))
    lines = [
        f"{len(tasks)} tasks ({', '.join(args.groups)}), {len(families)} families, "
        f"{len(FINDER_SEEDS)} finds each. Constants (f, offset): frozen "
        + ", ".join(f"{k} {RULE[k]}" for k in KINDS) + "; chosen in-sample "
        + ", ".join(f"{k} {chosen[k]}" for k in KINDS) + ".",
        "",
        "| regret | median | geometric mean | worst | tasks ≤ 1.10 |",
        "|---|---|---|---|---|",
    ]
    for label, column in (("frozen rule (lrfind.rule.RULE)", 3), ("chosen in-sample", 4),
                          ("chosen leaving the task's family out", 5)):
        values = [r[column] for r in rows]
        lines.append(f"| {label} | {np.median(values):.3f} | {geomean(values):.3f} | "
                     f"{max(values):.2f} | {sum(v <= 1.1 for v in values)}/{len(values)} |")
    lines += ["", "| family | task | kind | frozen | in-sample | family left out | constants "
              "chosen without the family |", "|---|---|---|---|---|---|---|"]
    for family, name, kind, frozen, inside, left, key in sorted(rows):
        lines.append(f"| {family} | {name} | {kind} | {frozen:.3f} | {inside:.3f} | "
                     f"{left:.3f} | {key} |")
    text = "\n".join(lines)
    print(text)
    if not math.isfinite(sum(r[3] for r in rows)):
        print("some regrets are infinite (a suggestion where training diverges)")
    if args.write_readme:
        write_readme(text, "search")


if __name__ == "__main__":
    main(sys.argv[1:])
