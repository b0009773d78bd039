"""Where the command line's time goes, on the shipped example.

    python -m benchmarks.cli_phases [--runs 3]

1. The whole command as a newcomer types it (``lrfind examples/digits_mlp.keras
   examples/digits.npz``, output to a temporary directory), wall time, median of
   ``--runs`` runs in fresh processes.
2. The same command in one fresh process with a timer around each phase: Python and the
   CLI's own imports, importing TensorFlow and Keras, loading the model, opening the data,
   the range tests (``LRFinder.find``, with the train functions it traced), building the
   plot, rendering it to PNG/SVG, and the rest (reading the curve, the report, writing
   result.json and curve.csv). Median of ``--runs`` processes.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
COMMAND = ["examples/digits_mlp.keras", "examples/digits.npz"]

PROBE = r"""
import json, sys, time
t_start = time.perf_counter()
phases = {}
import lrfind.cli
phases["python + CLI imports"] = time.perf_counter() - t_start
t = time.perf_counter()
import tensorflow, keras  # noqa: E401
phases["import TensorFlow + Keras"] = time.perf_counter() - t

def timed(owner, name, phase):
    original = getattr(owner, name)
    def wrapper(*args, **kwargs):
        t0 = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            phases[phase] = phases.get(phase, 0.0) + time.perf_counter() - t0
    setattr(owner, name, wrapper)

import lrfind.cli_inputs, lrfind.cli_model, lrfind.plotting, lrfind.finder  # noqa: E401
import matplotlib.figure
traces = [0]
original_step = keras.Model.train_step
def counted(self, *args, **kwargs):
    traces[0] += 1
    return original_step(self, *args, **kwargs)
keras.Model.train_step = counted
timed(lrfind.cli_model, "load_model", "load the model")
timed(lrfind.cli_inputs, "open_data", "open the data")
timed(lrfind.finder.LRFinder, "find", "range tests (find)")
timed(lrfind.plotting, "result_figure", "build the plot")
timed(matplotlib.figure.Figure, "savefig", "render PNG/SVG")
sys.argv = ["lrfind", *sys.argv[1:]]
t = time.perf_counter()
try:
    lrfind.cli.main()
except SystemExit:
    pass
total = time.perf_counter() - t_start
phases["rest (reading, report, JSON/CSV)"] = total - sum(phases.values())
phases["total in-process"] = total
print(json.dumps({"phases": phases, "traces": traces[0]}))
"""


def script_wall(*arguments: str) -> float:
    """Wall time of the installed console script with these arguments."""
    t0 = time.perf_counter()
    script = Path(sys.executable).parent / "lrfind"
    subprocess.run([str(script), *arguments], cwd=REPO, check=True, capture_output=True)
    return time.perf_counter() - t0


def whole_command(out: str) -> float:
    return script_wall(*COMMAND, "--out", out, "--quiet")


def phases(out: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", PROBE, *COMMAND, "--out", out, "--quiet"],
                          cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as out:
        walls = [whole_command(out) for _ in range(args.runs)]
        helps = [script_wall("--help") for _ in range(args.runs)]
        probes = [phases(out) for _ in range(args.runs)]
    print(f"`lrfind {' '.join(COMMAND)}`: {statistics.median(walls):.1f} s wall "
          f"(median of {args.runs}: {', '.join(f'{w:.1f}' for w in walls)})")
    print(f"`lrfind --help`: {statistics.median(helps):.2f} s wall (median of {args.runs}; "
          "it imports no TensorFlow, Keras, matplotlib or SciPy)")
    print(f"train functions traced: {probes[0]['traces']}")
    print("| phase | seconds (median) |\n|---|---|")
    for name in probes[0]["phases"]:
        print(f"| {name} | {statistics.median(p['phases'][name] for p in probes):.2f} |")


if __name__ == "__main__":
    main(sys.argv[1:])
