"""Run the range test on the shipped digits data and print what lrfind suggests.

    python examples/quickstart.py
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np

from lrfind import LRFinder

HERE = Path(__file__).resolve().parent


def main() -> None:
    data = np.load(HERE / "digits.npz")
    model = keras.saving.load_model(HERE / "digits_mlp.keras")
    result = LRFinder(model).find(data["x"], data["y"], batch_size=32, seed=0)
    print(f"recorded {len(result)} batches, stopped: {result.stop_reason}")
    suggestion = result.suggestion
    print(f"suggested learning rate: {suggestion.lr}  ({suggestion.reason})")
    print(f"cyclical bounds: {suggestion.min_lr} .. {suggestion.max_lr}")
    out = result.save(Path("lrfind-output") / "digits.json")
    print(f"curve written to {out}")


if __name__ == "__main__":
    main()
