"""Sanity check of benchmark tasks before their grid is run: learnable, cheap, reproducible.

For each task (one TensorFlow thread, as the grid runs), with training seed 0:

* the final validation loss at a tiny LR (1e-6) and at a few plausible LRs for its optimizer
  (a guess and a decade either side, then lower decades while all of them diverge): the
  task is learnable when the best of those is finite and clearly below both the tiny LR's
  and the loss of the best constant prediction (class frequencies, the mean or the median
  of the training targets): ratios < 0.8 (a tiny LR alone can start far above chance, e.g.
  on unstandardised inputs);
* seconds per training run (the first run of a task also traces the model; it is timed
  apart);
* reproducibility of `training.TaskRunner`'s reset: a second run at the guessed LR gives the
  same loss, and after a reset the optimizer's variables equal those of a freshly built
  optimizer (not all zeros: Adagrad's accumulators start at 0.1, Nadam's product at 1).

    python -m benchmarks.check_tasks                     # every dev task with 3 seeds
    python -m benchmarks.check_tasks iris_mlp_adagrad_b8 sine_lstm_nadam
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from benchmarks.tasks import TASKS, TASKS_BY_NAME, Task, build_model, load_data
from benchmarks.training import TaskRunner, configure_tensorflow

TINY_LR = 1e-6
GUESS = {
    "adam": 3e-3, "adamw": 3e-3, "nadam": 3e-3, "adamax": 1e-2, "rmsprop": 1e-3,
    "adagrad": 3e-2, "lion": 3e-4, "sgd": 1e-1, "lamb": 3e-3, "adafactor": 1e-2,
}
LEARNABLE = 0.8
"""Best loss at a plausible LR / loss at the tiny LR below which a task is learnable."""


def guess(task: Task) -> float:
    lr = GUESS[task.optimizer]
    return lr / 3 if task.optimizer_kwargs.get("momentum") else lr


def optimizer_reset_ok(runner: TaskRunner) -> bool:
    """After a reset, do the optimizer's variables equal a freshly built optimizer's?"""
    import keras

    runner.reset(0, 1e-3)
    fresh = build_model(runner.task, 0).optimizer
    fresh.build(runner.model.trainable_variables)
    mine = [keras.ops.convert_to_numpy(v) for v in runner.model.optimizer.variables]
    theirs = [keras.ops.convert_to_numpy(v) for v in fresh.variables]
    return len(mine) == len(theirs) and all(
        a.shape == b.shape and np.allclose(a, b) for a, b in zip(mine, theirs, strict=True)
    )


def constant_loss(task: Task) -> float:
    """Validation loss of the best constant prediction fitted on the training targets."""
    import keras

    _, y, _, y_val = load_data(task.data)
    if task.loss == "sparse_categorical_crossentropy":
        n_classes = int(max(y.max(), y_val.max())) + 1
        prior = (np.bincount(y, minlength=n_classes) + 1) / (len(y) + n_classes)
        pred = np.tile(prior, (len(y_val), 1))
    elif task.loss == "categorical_crossentropy":
        pred = np.tile(y.mean(axis=0), (len(y_val), 1))
    elif task.loss == "binary_crossentropy":  # one label, or several (multi-label)
        pred = np.tile(y.reshape(len(y), -1).mean(axis=0), (len(y_val), 1))
    elif task.loss in ("mae", "huber"):
        pred = np.full((len(y_val), 1), np.median(y))
    else:
        pred = np.full((len(y_val), 1), y.mean())
    y_true = y_val.reshape(len(y_val), -1) if pred.shape[1] == 1 else y_val
    loss = keras.losses.get(task.loss)(y_true.astype("float32"), pred.astype("float32"))
    return float(np.mean(keras.ops.convert_to_numpy(loss)))


def check(task: Task, lr: float | None = None) -> dict:
    runner = TaskRunner(task)
    reset_ok = optimizer_reset_ok(runner)
    lr = lr or guess(task)
    t0 = time.perf_counter()
    first = runner.train(lr, 0)
    first_s = time.perf_counter() - t0
    losses, seconds = {}, []
    for run_lr in (TINY_LR, lr / 10, lr, lr * 10):
        t0 = time.perf_counter()
        losses[run_lr] = runner.train(run_lr, 0)
        seconds.append(time.perf_counter() - t0)
    probe = lr / 10
    while not any(math.isfinite(v) for k, v in losses.items() if k != TINY_LR) and probe > 1e-5:
        probe /= 10  # everything diverged: go down a decade at a time
        losses[probe] = runner.train(probe, 0)
    best_lr = min((v, k) for k, v in losses.items() if k != TINY_LR)[1]
    ratio = losses[best_lr] / losses[TINY_LR]
    constant = constant_loss(task)
    return {
        "tiny": losses[TINY_LR], "losses": losses, "best_lr": best_lr, "ratio": ratio,
        "constant": constant, "vs_constant": losses[best_lr] / constant,
        "learnable": math.isfinite(losses[best_lr]) and max(ratio, losses[best_lr] / constant)
        < LEARNABLE,
        "first_s": first_s, "seconds": float(np.median(seconds)),
        "reproducible": first == losses[lr], "reset_ok": reset_ok,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tasks", nargs="*", help="task names (default: dev tasks with 3 seeds)")
    parser.add_argument("--lr", type=float, help="the plausible LR (default: per optimizer)")
    args = parser.parse_args(argv)
    configure_tensorflow(1)
    names = args.tasks or [t.name for t in TASKS if t.group == "dev" and len(t.seeds) == 3]
    print(f"{'task':32s} {'tiny-LR loss':>12s} {'constant':>9s} {'best loss':>10s} {'at LR':>8s} "
          f"{'/tiny':>6s} {'/const':>6s} {'s/run':>6s} {'1st run s':>9s}  learnable "
          "reproducible optimizer-reset")
    failed = []
    for name in names:
        r = check(TASKS_BY_NAME[name], args.lr)
        best = r["losses"][r["best_lr"]]
        print(f"{name:32s} {r['tiny']:12.4g} {r['constant']:9.4g} {best:10.4g} "
              f"{r['best_lr']:8.2g} {r['ratio']:6.3f} {r['vs_constant']:6.3f} {r['seconds']:6.2f} "
              f"{r['first_s']:9.2f}  "
              f"{r['learnable']!s:9s} {r['reproducible']!s:11s} {r['reset_ok']!s}", flush=True)
        if not (r["learnable"] and r["reproducible"] and r["reset_ok"]):
            failed.append(name)
    if failed:
        print("FAILED:", " ".join(failed))
        sys.exit(1)


if __name__ == "__main__":
    main(sys.argv[1:])
