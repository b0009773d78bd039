"""Are lrfind's cyclical bounds useful? Schedules between ``min_lr`` and ``max_lr``, trained.

For every task, take the find (`LRFinder.find` at lrfind's defaults, `curves.FindCache`)
whose suggested LR is the median of the task's finds (`suggestion_quality.FINDER_SEEDS`),
and train with the task's budget and the task's training seeds (those of the grid):

* one-cycle: `lrfind.schedules.OneCycleLR` peaking at ``max_lr``, starting at ``min_lr``
  (``div_factor = max_lr / min_lr``), 30 % warm-up, cosine anneal;
* triangular: `lrfind.schedules.CyclicLR` between ``min_lr`` and ``max_lr``, two full
  cycles over the budget (so it ends at ``min_lr``);
* constant at ``max_lr`` and at ``min_lr`` (read off the grid), to see where they sit.

Regret is against the grid's best constant LR, as in `suggestion_quality.py`. Runs are
cached in ``grid_truth.json`` (section "schedules").

    python -m benchmarks.bounds_check [--write-readme]
"""

from __future__ import annotations

import argparse
import math
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from benchmarks.curves import FindCache
from benchmarks.grid import Cache, task_truth
from benchmarks.suggestion_quality import FINDER_SEEDS, fmt, geomean, write_readme
from benchmarks.tasks import TASKS, Task, load_data
from lrfind.suggestion import Suggestion


def median_suggestion(finds: FindCache, task: Task) -> Suggestion:
    """The median (by LR) of the task's finds' suggestions, at lrfind's defaults."""
    found = [finds.get(task, seed)[0].suggestion for seed in FINDER_SEEDS]
    found = sorted((s for s in found if s.lr is not None), key=lambda s: s.lr)
    return found[len(found) // 2]


def schedules(task: Task, s: Suggestion) -> dict[str, object]:
    from lrfind.schedules import CyclicLR, OneCycleLR

    steps_per_epoch = math.ceil(len(load_data(task.data)[0]) / task.batch_size)
    total = task.epochs * steps_per_epoch
    return {
        f"one-cycle {s.min_lr:.4g}-{s.max_lr:.4g}": OneCycleLR(
            max_lr=s.max_lr, total_steps=total, div_factor=s.max_lr / s.min_lr
        ),
        f"triangular {s.min_lr:.4g}-{s.max_lr:.4g}": CyclicLR(
            base_lr=s.min_lr, max_lr=s.max_lr, step_size=total / 4
        ),
    }


def main(argv: list[str] | None = None) -> None:
    from benchmarks.training import TaskRunner, configure_tensorflow

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write-readme", action="store_true")
    args = parser.parse_args(argv)
    configure_tensorflow(1)
    cache, finds = Cache(), FindCache()
    rows = []
    for task in TASKS:
        truth = task_truth(cache, task)
        s = median_suggestion(finds, task)
        regrets = {}
        for name, schedule in schedules(task, s).items():
            losses = [cache.get(task, "schedules", name, seed) for seed in task.seeds]
            if any(v is None for v in losses):
                runner = TaskRunner(task, schedule=schedule)
                for i, seed in enumerate(task.seeds):
                    if losses[i] is None:
                        losses[i] = runner.train(None, seed)
                        cache.put(task, "schedules", name, seed, losses[i])
                cache.save()
            regrets[name.split()[0]] = float(np.median(losses)) / truth.best_loss
        rows.append((
            task.name, s, truth.interpolated_regret(s.lr), regrets["one-cycle"],
            regrets["triangular"], truth.interpolated_regret(s.max_lr),
            truth.interpolated_regret(s.min_lr),
        ))
        print(f"{task.name:26s} lr {s.lr:.3g} [{s.min_lr:.3g}, {s.max_lr:.3g}] | one-cycle "
              f"{regrets['one-cycle']:.3f} triangular {regrets['triangular']:.3f}", flush=True)
    lines = [
        "| task | min_lr | lr | max_lr | constant at lr | one-cycle | triangular | "
        "constant at max_lr | constant at min_lr |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, s, at_lr, one, tri, at_max, at_min in rows:
        lines.append(
            f"| {name} | {s.min_lr:.3g} | {s.lr:.3g} | {s.max_lr:.3g} | {fmt(at_lr)} | {fmt(one)} "
            f"| {fmt(tri)} | {fmt(at_max)} | {fmt(at_min)} |"
        )
    columns = list(zip(*[r[2:] for r in rows], strict=True))
    lines.append(
        "| **median** (geometric mean) | | | | "
        + " | ".join(f"**{fmt(float(np.median(c)))}** ({fmt(geomean(list(c)))})" for c in columns)
        + " |"
    )
    text = "\n".join(lines)
    print(text)
    if args.write_readme:
        write_readme(text, "bounds")


if __name__ == "__main__":
    main(sys.argv[1:])
