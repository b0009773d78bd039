"""The core range-test tests (marked ``backend``) on Keras's JAX and torch backends.

Keras picks its backend once per process, so each backend runs in a pytest subprocess.
JAX comes with the ``dev`` extra; torch is optional (CI installs the CPU build) and its
pass is skipped, with the reason, where it is not installed.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

HERE = Path(__file__).resolve().parent


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_core_tests_pass_on_backend(backend: str) -> None:
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"{backend} is not installed (pip install {backend})")
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "2"}
    proc = subprocess.run(
        # one process: the suite's own workers already keep the cores busy, and each
        # extra worker would import Keras and the backend again
        [sys.executable, "-m", "pytest", "-q", "-m", "backend", "-p", "no:cacheprovider",
         "-n", "0",
         str(HERE / "test_finder.py"), str(HERE / "test_trials.py"),
         str(HERE / "test_repeats.py")],
        capture_output=True, text=True, timeout=900, env=env, cwd=HERE.parent,
    )
    summary = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "passed" in summary and "failed" not in summary, summary
