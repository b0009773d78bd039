"""Execute the notebooks in place, keeping their outputs, so the committed files show a real run.

    python notebooks/run_all.py                   # every notebook in notebooks/
    python notebooks/run_all.py 02_cyclical_learning_rates.ipynb

Each notebook runs top to bottom in a fresh ``python3`` kernel of the current interpreter,
with ``notebooks/`` as the working directory, and is written back only when every cell
succeeded. Output that libraries write straight to the process's file descriptors (such as
TensorFlow's C++ start-up log) goes to this terminal instead of into the notebook.
``tests/test_notebooks.py`` executes them the same way (without writing) in CI.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

NOTEBOOKS = Path(__file__).resolve().parent
CELL_TIMEOUT = 300
"""Seconds a single cell may run before the execution fails."""


def notebook_paths() -> list[Path]:
    """The notebooks of this folder, in reading order."""
    return sorted(NOTEBOOKS.glob("*.ipynb"))


def kernel_env() -> dict[str, str]:
    """The kernel's environment: ours, minus a non-interactive MPLBACKEND (pytest sets Agg)
    that would stop the inline backend from embedding the figures."""
    env = {key: value for key, value in os.environ.items() if key != "MPLBACKEND"}
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env


def execute(path: Path, timeout: int = CELL_TIMEOUT) -> tuple[nbformat.NotebookNode, float]:
    """Run the notebook at ``path``; return it with its new outputs and the seconds it took.

    Raises ``nbclient.exceptions.CellExecutionError`` (naming the cell and its traceback) at
    the first cell that fails. The file itself is not touched.
    """
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",  # jupyter_client starts it with sys.executable
        # C-level writes to stderr (TensorFlow's CUDA probing on a GPU-less machine) go to
        # this terminal, not into the notebook; Python's own output is kept as usual.
        extra_arguments=["--IPKernelApp.capture_fd_output=False"],
        record_timing=False,  # no timestamps in the cell metadata: cleaner diffs
        resources={"metadata": {"path": str(path.parent)}},
    )
    start = time.perf_counter()
    client.execute(env=kernel_env())
    return notebook, time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "notebooks", nargs="*", type=Path, help="notebooks to run (default: all in notebooks/)"
    )
    parser.add_argument(
        "--timeout",
        type=int,
        default=CELL_TIMEOUT,
        help=f"seconds per cell (default {CELL_TIMEOUT})",
    )
    args = parser.parse_args(argv)
    paths = [p if p.exists() else NOTEBOOKS / p for p in args.notebooks] or notebook_paths()
    failed = 0
    for path in paths:
        try:
            notebook, seconds = execute(path, args.timeout)
        except CellExecutionError as error:
            failed += 1
            print(f"{path.name}: FAILED, file left unchanged\n{error}", file=sys.stderr)
            continue
        nbformat.write(notebook, path)
        print(f"{path.name}: {seconds:.1f} s, {path.stat().st_size / 1024:.0f} KiB")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
