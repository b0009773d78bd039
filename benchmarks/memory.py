"""Peak memory of a range test on memory-mapped data: ~2 GB on disk against ~20 MB.

    python -m benchmarks.memory [--big-gb 2.0] [--small-mb 20]   # in $LRFIND_BENCH_DIR or /tmp

Writes two ``.npy`` datasets of the same width (float32 features, int labels), then runs
``LRFinder(model).find(np.load(x, mmap_mode="r"), ...)`` on each in a fresh subprocess
and reports each run's peak resident memory (``VmHWM``) and their ratio. lrfind
streams memory-mapped arrays batch by batch (lrfind's ``MemmapBatches``), so the
peak should stay within a small margin whatever the size on disk.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

FEATURES = 512
RUN = """
import json, os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
import keras, numpy as np
from lrfind import LRFinder
x = np.load(sys.argv[1], mmap_mode="r")
y = np.load(sys.argv[2], mmap_mode="r")
model = keras.Sequential([keras.Input((x.shape[1],)), keras.layers.Dense(32, activation="relu"),
                          keras.layers.Dense(10, activation="softmax")])
model.compile("adam", "sparse_categorical_crossentropy")
result = LRFinder(model).find(x, y, 1e-6, 10.0, 64, steps=200, seed=0)
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec from the parent, which has
# just written gigabytes through a memory map.
status = open("/proc/self/status").read()
peak_mb = int(status.split("VmHWM:")[1].split()[0]) / 1024
print(json.dumps({"peak_mb": peak_mb, "points": len(result), "samples": len(x)}))
"""


def write_dataset(folder: Path, name: str, samples: int) -> tuple[Path, Path]:
    x_path, y_path = folder / f"{name}_x.npy", folder / f"{name}_y.npy"
    x = np.lib.format.open_memmap(x_path, mode="w+", dtype=np.float32, shape=(samples, FEATURES))
    rng = np.random.default_rng(0)
    chunk = 65536
    for start in range(0, samples, chunk):
        stop = min(samples, start + chunk)
        x[start:stop] = rng.standard_normal((stop - start, FEATURES), dtype=np.float32)
    x.flush()
    del x
    np.save(y_path, rng.integers(0, 10, size=samples).astype(np.int32))
    return x_path, y_path


def measure(x_path: Path, y_path: Path) -> dict[str, float]:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    proc = subprocess.run([sys.executable, "-c", RUN, str(x_path), str(y_path)],
                          capture_output=True, text=True, env=env, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--big-gb", type=float, default=2.0)
    parser.add_argument("--small-mb", type=float, default=20.0)
    args = parser.parse_args()
    bytes_per_sample = FEATURES * 4
    with tempfile.TemporaryDirectory(dir=os.environ.get("LRFIND_BENCH_DIR")) as tmp:
        folder = Path(tmp)
        sizes = {"small": int(args.small_mb * 2**20 / bytes_per_sample),
                 "big": int(args.big_gb * 2**30 / bytes_per_sample)}
        results = {}
        for name, samples in sizes.items():
            x_path, y_path = write_dataset(folder, name, samples)
            on_disk = (x_path.stat().st_size + y_path.stat().st_size) / 2**20
            results[name] = {**measure(x_path, y_path), "disk_mb": on_disk}
            print(f"{name:5}: {on_disk:8.0f} MB on disk, {results[name]['samples']:>8} samples, "
                  f"peak RSS {results[name]['peak_mb']:6.0f} MB, "
                  f"{results[name]['points']} points")
        ratio = results["big"]["peak_mb"] / results["small"]["peak_mb"]
        print(f"peak memory ratio big/small: {ratio:.3f}")


if __name__ == "__main__":
    main()
