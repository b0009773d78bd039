"""Regenerate the example data and model that ship with lrfind.

    python examples/make_example_data.py

Writes ``examples/digits.npz`` (the UCI handwritten digits bundled with scikit-learn:
1797 8x8 images scaled to [0, 1], flattened to 64 features, labels 0-9, split into
train/validation) and ``examples/digits_mlp.keras`` (a small compiled MLP for it).
Nothing is downloaded: scikit-learn ships the digits data inside its wheel.
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

HERE = Path(__file__).resolve().parent


def make_data(path: Path = HERE / "digits.npz", seed: int = 0) -> None:
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(x))
    x, y = x[order], y[order]
    n_val = 297
    np.savez_compressed(
        path, x=x[n_val:], y=y[n_val:], x_val=x[:n_val], y_val=y[:n_val]
    )


def make_model(path: Path = HERE / "digits_mlp.keras", seed: int = 0) -> None:
    import keras

    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input(shape=(64,)),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ],
        name="digits_mlp",
    )
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.optimizer.build(model.trainable_variables)  # save its (zero) slots too
    model.save(path)


if __name__ == "__main__":
    make_data()
    make_model()
    for name in ("digits.npz", "digits_mlp.keras"):
        print(f"wrote {HERE / name} ({(HERE / name).stat().st_size / 1024:.0f} KiB)")
