"""How much does a range test cost per batch, against plain ``model.fit`` on the same batches?

    python benchmarks/overhead.py [--runs 7] [--steps 300] [--all-backends]

For a small MLP and a small CNN, in one process, it times ``LRFinder(model).find(...)``
and plain ``model.fit(...)`` over the same number of batches of the same data, alternating
the two, and prints the median per-step time of each and their ratio; also the range test
with the validation-loss mode on (4 cached batches every 10 steps, lrfind's defaults).
The backend is Keras's (``KERAS_BACKEND``); ``--all-backends`` runs the script once per
installed backend (TensorFlow, JAX, torch), each in its own process.

Steps are timed from the 20th batch to the last by a callback, so tracing and tf.data
teardown (see KERAS3-FACTS) are left out of the per-step figure; the whole-call
times, which include the finder's one retrace, are printed beside it.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np

from lrfind import LRFinder

WARMUP_BATCHES = 20


class StepTimer(keras.callbacks.Callback):
    """Wall time from the start of batch WARMUP_BATCHES to the end of the last batch."""

    def __init__(self) -> None:
        super().__init__()
        self.start = self.end = 0.0
        self.batches = 0

    def on_train_batch_begin(self, batch: int, logs: object = None) -> None:
        if self.batches == WARMUP_BATCHES:
            self.start = time.perf_counter()

    def on_train_batch_end(self, batch: int, logs: object = None) -> None:
        self.batches += 1
        self.end = time.perf_counter()

    def per_step_ms(self) -> float:
        return 1e3 * (self.end - self.start) / (self.batches - WARMUP_BATCHES)


def mlp() -> tuple[keras.Model, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(9600, 20)).astype("float32")
    y = rng.integers(0, 10, size=9600)
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
    x = rng.normal(size=(9600, 28, 28, 1)).astype("float32")
    y = rng.integers(0, 10, size=9600)
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


def measure(build, runs: int, steps: int, batch_size: int = 32) -> dict[str, float]:
    model, x, y = build()
    model.fit(x, y, batch_size=batch_size, epochs=1, steps_per_epoch=5, verbose=0)  # trace
    plain_step, find_step, val_step, plain_call, find_call = [], [], [], [], []
    n = steps * batch_size
    assert len(x) >= n, "one pass must hold the whole run, or epoch starts are timed too"
    for _ in range(runs):
        timer = StepTimer()
        t0 = time.perf_counter()
        model.fit(x[:n], y[:n], batch_size=batch_size, epochs=1, shuffle=True,
                  callbacks=[timer], verbose=0)
        plain_call.append(time.perf_counter() - t0)
        plain_step.append(timer.per_step_ms())

        timer = StepTimer()
        t0 = time.perf_counter()
        # A narrow, low range: the loss never diverges, so both runs see `steps` batches.
        result = LRFinder(model).find(x[:n], y[:n], 1e-7, 1e-6, batch_size, steps=steps,
                                      stop_factor=None, callbacks=[timer])
        find_call.append(time.perf_counter() - t0)
        find_step.append(timer.per_step_ms())
        assert len(result) == steps

        timer = StepTimer()
        LRFinder(model).find(x[:n], y[:n], 1e-7, 1e-6, batch_size, steps=steps,
                             stop_factor=None, callbacks=[timer],
                             validation_data=(x[:256], y[:256]))
        val_step.append(timer.per_step_ms())
    plain, found = statistics.median(plain_step), statistics.median(find_step)
    return {
        "plain_ms_per_step": plain,
        "find_ms_per_step": found,
        "ratio": found / plain,
        "val_ratio": statistics.median(val_step) / plain,
        "plain_call_s": statistics.median(plain_call),
        "find_call_s": statistics.median(find_call),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--all-backends", action="store_true")
    args = parser.parse_args()
    if args.all_backends:
        for backend in ("tensorflow", "jax", "torch"):
            if importlib.util.find_spec(backend) is None:
                print(f"\n{backend}: not installed, skipped")
                continue
            print()
            subprocess.run([sys.executable, __file__, "--runs", str(args.runs),
                            "--steps", str(args.steps)],
                           env={**os.environ, "KERAS_BACKEND": backend}, check=True)
        return
    if keras.backend.backend() == "torch":
        import torch

        torch.set_num_threads(1)  # steady timings on 2 cores (KERAS3-FACTS)
    print(f"keras {keras.__version__}, backend {keras.backend.backend()}, "
          f"{args.steps} batches, median of {args.runs} runs")
    print(f"{'model':6} {'fit ms/step':>12} {'find ms/step':>13} {'ratio':>7} "
          f"{'+val ratio':>11} {'fit call s':>11} {'find call s':>12}")
    for name, build in (("mlp", mlp), ("cnn", cnn)):
        m = measure(build, args.runs, args.steps)
        print(f"{name:6} {m['plain_ms_per_step']:12.3f} {m['find_ms_per_step']:13.3f} "
              f"{m['ratio']:7.3f} {m['val_ratio']:11.3f} {m['plain_call_s']:11.2f} "
              f"{m['find_call_s']:12.2f}", flush=True)


if __name__ == "__main__":
    main()
