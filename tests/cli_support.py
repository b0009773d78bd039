"""Shared by the command line's tests (test_cli*.py): running ``lrfind`` in-process through
Typer's CliRunner, and the tiny models and data files of its input tests (`make_files`)."""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import textwrap
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from lrfind.cli import app

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
SCRIPT = shutil.which("lrfind", path=str(Path(sys.executable).parent)) or shutil.which("lrfind")
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "MPLBACKEND": "Agg", "COLUMNS": "100"}
runner = CliRunner()


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def invoke(*args: object):
    return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "100"})


def error_lines(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("lrfind: error:")]


def make_files(root: Path) -> dict[str, Path]:
    """Tiny models (one per kind of problem) and data files, written into ``root``."""
    import keras

    paths: dict[str, Path] = {"root": root}
    rng = np.random.default_rng(0)

    def save(name: str, model, compile_args: tuple | None = ("sgd", "mse")) -> None:
        if compile_args:
            model.compile(*compile_args)
            model.optimizer.build(model.trainable_variables)  # saved with its slots
        paths[name] = root / f"{name}.keras"
        model.save(paths[name])

    def dense(units: int, features: int, *extra) -> keras.Model:
        return keras.Sequential([keras.Input((features,)), *extra, keras.layers.Dense(units)])

    save("tiny", dense(1, 4))
    classifier = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    save("classifier", classifier, ("adam", "sparse_categorical_crossentropy"))
    save("lambda", dense(1, 4, keras.layers.Lambda(lambda v: v * 2.0)))
    save("uncompiled", dense(1, 4), compile_args=None)
    no_bias = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, use_bias=False)])
    save("flat", no_bias)

    module = root / "lrfind_test_layers.py"
    module.write_text(textwrap.dedent("""
        import keras

        @keras.saving.register_keras_serializable(package="lrfind_test")
        class Doubling(keras.layers.Layer):
            def call(self, x):
                return 2.0 * x
    """))
    sys.path.insert(0, str(root))
    try:
        from lrfind_test_layers import Doubling

        save("custom", dense(1, 4, Doubling()))
    finally:
        sys.path.remove(str(root))
        sys.modules.pop("lrfind_test_layers", None)
    keras.saving.get_custom_objects().pop("lrfind_test>Doubling", None)

    x = rng.normal(size=(256, 4)).astype("float32")
    y = (x @ np.array([1.0, -2.0, 3.0, 0.5]))[:, None].astype("float32")
    paths["regression"] = root / "regression.npz"
    np.savez(paths["regression"], x=x, y=y)
    paths["npy_dir"] = root / "arrays"
    paths["npy_dir"].mkdir()
    np.save(paths["npy_dir"] / "x_train.npy", x)
    np.save(paths["npy_dir"] / "y_train.npy", y)
    paths["zeros"] = root / "zeros.npz"
    np.savez(paths["zeros"], x=np.zeros((64, 4), "float32"), y=np.ones((64, 1), "float32"))

    def npz(name: str, **arrays) -> None:
        paths[name] = root / f"{name}.npz"
        np.savez(paths[name], **arrays)

    save("classifier_data_model", keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
         keras.layers.Dense(3, activation="softmax")]), ("adam", "sparse_categorical_crossentropy"))
    npz("classes", x=x, y=(x[:, :3].argmax(axis=1)).astype("int32"))
    npz("wrong_keys", inputs=x, labels=y)
    npz("labels_too_big", x=x, y=np.arange(256) % 8)
    npz("one_hot", x=x, y=np.eye(3, dtype="float32")[np.arange(256) % 3])
    npz("mismatch", x=x, y=y[:-3])
    bad = x.copy()
    bad[17, 2], bad[40, 0] = np.nan, np.inf
    npz("nan", x=bad, y=y)
    npz("empty", x=x[:0], y=y[:0])
    npz("wrong_shape", x=x[:, :3], y=y)
    npz("strings", x=x, y=np.array(["cat", "dog"] * 128))
    paths["objects"] = root / "objects.npz"
    np.savez(paths["objects"], x=np.array([[1.0], [1.0, 2.0]], dtype=object), y=y[:2])

    paths["truncated"] = root / "truncated.keras"
    raw = paths["tiny"].read_bytes()
    paths["truncated"].write_bytes(raw[: len(raw) // 2])
    paths["text_keras"] = root / "notes.keras"
    paths["text_keras"].write_text("not a model\n")
    paths["h5"] = root / "model.h5"
    paths["h5"].write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 64)
    paths["a_file"] = root / "a_file.txt"
    paths["a_file"].write_text("I am a file\n")
    paths["single_npy"] = paths["npy_dir"] / "x_train.npy"
    return paths

