"""How much does a range test cost per batch, against plain ``model.fit`` on the same batches?

    python -m benchmarks.overhead [--runs 12] [--steps 300] [--all-backends]
    python -m benchmarks.overhead --whole-call [--runs 5] [--steps 1600] [--all-backends]

For a small MLP and a small CNN, in one process, it times ``LRFinder(model).find(...)``
and plain ``model.fit(...)`` over the same number of batches of the same data, in rounds
(order rotated each round), and prints the median per-step time of each and the per-round
ratio find / fit (median and quartiles); also the range test with the validation-loss mode
on (4 cached batches every 10 steps, lrfind's defaults) and a second plain fit, whose ratio
is the noise floor of the machine: a find ratio inside it is no measurable overhead.
The backend is Keras's (``KERAS_BACKEND``); ``--all-backends`` runs the script once per
installed backend (TensorFlow, JAX, torch), each in its own process.

A step's time is the gap between consecutive batch ends (so it includes every callback's
work), and a run's figure is the median gap from the 20th batch on: tracing, tf.data
teardown (measured on TF 2.21: about half of ``fit()`` calls spend 0.3-2.5 s after
``on_train_end`` tearing down tf.data autotuning) and the odd scheduler hiccup are left out.
The whole-call times, which include the finder's one retrace, are printed beside it.

``--whole-call`` times what a user waits for instead: ``find()`` as a user calls it (no
callbacks of ours, one range test) against a plain ``model.fit`` of the same number of
batches at the model's own settings, whole calls, ``--steps`` batches (default 1,600), in
rotated rounds; the fixed cost of each call (from the same call at 100 batches:
``(16 t(100) - t(1600)) / 15`` for 1,600) and the train functions traced by a default
``find()`` (three range tests; counted as Python runs of ``train_step``, so TensorFlow and
JAX only: torch runs it eagerly every batch).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np

from lrfind import LRFinder

WARMUP_BATCHES = 20
REPO = Path(__file__).resolve().parents[1]


class StepTimer(keras.callbacks.Callback):
    """Per-step wall time: the median gap between consecutive batch ends, after warm-up.

    The median over a run's batches shrugs off the odd slow step (a scheduler hiccup on a
    shared machine, garbage collection) that would dominate a mean.
    """

    def __init__(self) -> None:
        super().__init__()
        self.ends: list[float] = []

    def on_train_batch_end(self, batch: int, logs: object = None) -> None:
        self.ends.append(time.perf_counter())

    def per_step_ms(self) -> float:
        gaps = np.diff(self.ends[WARMUP_BATCHES:])
        return 1e3 * float(np.median(gaps))


def mlp() -> tuple[keras.Model, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(51200, 20)).astype("float32")
    y = rng.integers(0, 10, size=len(x))
    model = keras.Sequential([
        keras.Input((20,)),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy")
    return model, x, y


def cnn() -> tuple[keras.Model, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(51200, 28, 28, 1)).astype("float32")
    y = rng.integers(0, 10, size=len(x))
    model = keras.Sequential([
        keras.Input((28, 28, 1)),
        keras.layers.Conv2D(16, 3, activation="relu"),
        keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(32, 3, activation="relu"),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(keras.optimizers.SGD(0.01, momentum=0.9), "sparse_categorical_crossentropy")
    return model, x, y


def _quartiles(values: list[float]) -> tuple[float, float, float]:
    q1, median, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, median, q3


def measure(build, runs: int, steps: int, batch_size: int = 32) -> dict[str, float]:
    """Paired runs: in each round plain fit, a second plain fit (the noise floor), the range
    test and the range test with validation, in an order that rotates every round so drift
    and warm-up fall on every variant alike. Ratios are taken within a round."""
    model, x, y = build()
    model.fit(x, y, batch_size=batch_size, epochs=1, steps_per_epoch=5, verbose=0)  # trace
    n = steps * batch_size
    assert len(x) >= n, "one pass must hold the whole run, or epoch starts are timed too"

    def plain() -> tuple[float, float]:
        timer = StepTimer()
        t0 = time.perf_counter()
        model.fit(x[:n], y[:n], batch_size=batch_size, epochs=1, shuffle=True,
                  callbacks=[timer], verbose=0)
        return timer.per_step_ms(), time.perf_counter() - t0

    def find(**validation: object) -> tuple[float, float]:
        timer = StepTimer()
        t0 = time.perf_counter()
        # A narrow, low range: the loss never diverges, so every run sees `steps` batches.
        result = LRFinder(model).find(x[:n], y[:n], 1e-7, 1e-6, batch_size, steps=steps,
                                      stop_factor=None, callbacks=[timer], **validation)
        assert len(result) == steps
        return timer.per_step_ms(), time.perf_counter() - t0

    variants = {
        "plain": plain,
        "plain again": plain,
        "find": find,
        "find+val": lambda: find(validation_data=(x[:256], y[:256])),
    }
    names = list(variants)
    timings: dict[str, list[tuple[float, float]]] = {name: [] for name in names}
    for round_ in range(runs):
        order = names[round_ % len(names):] + names[: round_ % len(names)]
        for name in order:
            timings[name].append(variants[name]())

    def ratios(name: str) -> list[float]:
        return [a[0] / b[0] for a, b in zip(timings[name], timings["plain"], strict=True)]

    return {
        "plain_ms_per_step": statistics.median(t[0] for t in timings["plain"]),
        "find_ms_per_step": statistics.median(t[0] for t in timings["find"]),
        "noise": _quartiles(ratios("plain again")),
        "ratio": _quartiles(ratios("find")),
        "val_ratio": _quartiles(ratios("find+val")),
        "plain_call_s": statistics.median(t[1] for t in timings["plain"]),
        "find_call_s": statistics.median(t[1] for t in timings["find"]),
    }


def count_traces(model: keras.Model) -> list[int]:
    """Count Python executions of ``model.train_step`` (one per trace on TF and JAX)."""
    calls = [0]
    step = model.train_step

    def counted(*args: object, **kwargs: object) -> object:
        calls[0] += 1
        return step(*args, **kwargs)

    model.train_step = counted
    return calls


def whole_call(build, runs: int, steps: int, batch_size: int = 32) -> dict[str, float]:
    """Rotated rounds of whole calls: plain fit and find at ``steps`` and at 100 batches."""
    model, x, y = build()
    model.fit(x, y, batch_size=batch_size, epochs=1, steps_per_epoch=5, verbose=0)  # trace
    short = 100

    def plain(n: int) -> float:
        t0 = time.perf_counter()
        model.fit(x[:n * batch_size], y[:n * batch_size], batch_size=batch_size, epochs=1,
                  shuffle=True, verbose=0)
        return time.perf_counter() - t0

    def find(n: int) -> float:
        t0 = time.perf_counter()
        result = LRFinder(model).find(x[:n * batch_size], y[:n * batch_size], 1e-7, 1e-6,
                                      batch_size, steps=n, stop_factor=None, repeats=1)
        assert len(result) == n
        return time.perf_counter() - t0

    variants = {"plain": lambda: plain(steps), "find": lambda: find(steps),
                "plain short": lambda: plain(short), "find short": lambda: find(short)}
    names = list(variants)
    times: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(runs):
        for name in names[round_ % len(names):] + names[: round_ % len(names)]:
            times[name].append(variants[name]())
    k = steps / short

    def fixed(long: list[float], brief: list[float]) -> float:
        return statistics.median((k * b - a) / (k - 1) for a, b in zip(long, brief, strict=True))

    traces = None
    if keras.backend.backend() != "torch":
        calls = count_traces(model)
        LRFinder(model).find(x[:steps * batch_size], y[:steps * batch_size], 1e-7, 1e-6,
                             batch_size, steps=300, stop_factor=None)
        traces = calls[0]
        del model.train_step
    return {
        "ratio": _quartiles([a / b for a, b in zip(times["find"], times["plain"], strict=True)]),
        "plain_s": statistics.median(times["plain"]),
        "find_s": statistics.median(times["find"]),
        "plain_fixed_s": fixed(times["plain"], times["plain short"]),
        "find_fixed_s": fixed(times["find"], times["find short"]),
        "traces": traces,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=12)
    parser.add_argument("--steps", type=int, default=None,
                        help="batches per run (300; 1,600 with --whole-call)")
    parser.add_argument("--all-backends", action="store_true")
    parser.add_argument("--whole-call", action="store_true",
                        help="time whole calls as a user makes them (see the docstring)")
    args = parser.parse_args()
    if args.steps is None:
        args.steps = 1600 if args.whole_call else 300
    if args.all_backends:
        for backend in ("tensorflow", "jax", "torch"):
            if importlib.util.find_spec(backend) is None:
                print(f"\n{backend}: not installed, skipped")
                continue
            print()
            subprocess.run([sys.executable, "-m", "benchmarks.overhead", "--runs",
                            str(args.runs), "--steps", str(args.steps),
                            *(["--whole-call"] if args.whole_call else [])],
                           env={**os.environ, "KERAS_BACKEND": backend}, check=True,
                           cwd=REPO)
        return
    if keras.backend.backend() == "torch":
        import torch

        torch.set_num_threads(1)  # measured: steady timings on 2 cores only with 1 thread
    def fmt(q: tuple[float, float, float]) -> str:
        return f"{q[1]:.3f} [{q[0]:.3f}, {q[2]:.3f}]"

    print(f"keras {keras.__version__}, backend {keras.backend.backend()}, "
          f"{args.steps} batches, {args.runs} rounds; ratios per round against plain fit, "
          "median [quartiles]")
    if args.whole_call:
        print(f"{'model':6} {'fit s':>7} {'find s':>7} {'find/fit (whole call)':>22} "
              f"{'fit fixed s':>11} {'find fixed s':>12} {'traces (find, 3 tests)':>22}")
        for name, build in (("mlp", mlp), ("cnn", cnn)):
            m = whole_call(build, args.runs, args.steps)
            print(f"{name:6} {m['plain_s']:7.2f} {m['find_s']:7.2f} {fmt(m['ratio']):>22} "
                  f"{m['plain_fixed_s']:11.2f} {m['find_fixed_s']:12.2f} "
                  f"{m['traces'] if m['traces'] is not None else 'n/a':>22}", flush=True)
        return
    print(f"{'model':6} {'fit ms/step':>11} {'find ms/step':>12} {'find ratio':>20} "
          f"{'+val ratio':>20} {'noise floor':>20} {'fit call s':>10} {'find call s':>11}")

    for name, build in (("mlp", mlp), ("cnn", cnn)):
        m = measure(build, args.runs, args.steps)
        print(f"{name:6} {m['plain_ms_per_step']:11.3f} {m['find_ms_per_step']:12.3f} "
              f"{fmt(m['ratio']):>20} {fmt(m['val_ratio']):>20} {fmt(m['noise']):>20} "
              f"{m['plain_call_s']:10.2f} {m['find_call_s']:11.2f}", flush=True)

if __name__ == "__main__":
    main()
