"""Time per batch of a range test on 1 and on 2 processes, at the same global batch.

    python -m benchmarks.scaling [--batch 256] [--rounds 3]

Each configuration runs in fresh processes on 127.0.0.1 (JAX backend, gloo CPU collectives
for two; one CPU device per process). A process times `LRFinder.find` over 100 and over 300
batches (``repeats=1``, no early stop, the same model and data each time); the time per
batch is the difference over the 200 extra batches, so tracing, the state capture and the
restore (fixed costs of a call) cancel out. Reported: the median over ``--rounds`` of the
chief's figure. Two processes on one 2-core machine share the cores that one process
already uses (XLA's CPU backend runs one process's step on several threads), so this
measures the cost of the cross-process collectives, not a speed-up.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

WORKER = textwrap.dedent(
    """
    import json, sys, time
    import numpy as np
    import keras
    from lrfind.finder import LRFinder

    count, index, port, batch = (int(a) for a in sys.argv[1:5])
    shard = None
    if count > 1:
        from lrfind import processes
        processes.initialize(f"127.0.0.1:{port}", count, index)
        shard = "auto"
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8192, 256)).astype("float32")
    y = (x[:, :10].argmax(axis=1)).astype("int32")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((256,)), keras.layers.Dense(512, activation="relu"),
                              keras.layers.Dense(512, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy")

    def timed(steps):
        start = time.perf_counter()
        LRFinder(model).find(x, y, 1e-6, 1e-2, batch, steps=steps, repeats=1,
                             stop_factor=None, seed=0, shard=shard)
        return time.perf_counter() - start

    timed(100)  # warm-up: the first compilation of everything
    short, long = timed(100), timed(300)
    print(json.dumps({"index": index, "ms_per_batch": 1000 * (long - short) / 200,
                      "fixed_s": short - 100 * (long - short) / 200}))
    """
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(count: int, batch: int, timeout: float = 600) -> dict:
    """One measurement on ``count`` processes; the chief's report."""
    env = {**os.environ, "KERAS_BACKEND": "jax", "CUDA_VISIBLE_DEVICES": "",
           "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": str(ROOT)}
    env.pop("XLA_FLAGS", None)
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "worker.py"
        script.write_text(WORKER)
        outs = [Path(tmp) / f"out{i}" for i in range(count)]
        procs = []
        try:
            for i in range(count):
                with open(outs[i], "w") as out:
                    procs.append(subprocess.Popen(
                        [sys.executable, str(script), str(count), str(i), str(port), str(batch)],
                        stdout=out, stderr=subprocess.DEVNULL, env=env, start_new_session=True))
            deadline = time.monotonic() + timeout
            for proc in procs:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        if any(proc.returncode for proc in procs):
            raise RuntimeError(f"a worker of the {count}-process run failed")
        return json.loads(outs[0].read_text().strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=256, help="global batch size")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    import statistics

    print(f"global batch {args.batch}, MLP 256-512-512-10, {os.cpu_count()} CPU cores")
    base = None
    for count in (1, 2):
        figures = [run(count, args.batch) for _ in range(args.rounds)]
        ms = statistics.median(f["ms_per_batch"] for f in figures)
        fixed = statistics.median(f["fixed_s"] for f in figures)
        base = base or ms
        rounds = ", ".join(f"{f['ms_per_batch']:.2f}" for f in figures)
        print(f"{count} process{'es' if count > 1 else ''}: {ms:.2f} ms per batch "
              f"(rounds: {rounds}; "
              f"{ms / base:.2f}x one process), fixed cost per find {fixed:.1f} s")


if __name__ == "__main__":
    main()
