"""The public benchmark tasks: small Keras models on offline data that train on CPU in seconds.

Each `Task` is plain data (dataset name, layer specs, optimizer, loss, epoch budget), so its
definition can be hashed: `Task.key()` changes whenever anything that affects its results
changes, and the cached grid in ``grid_truth.json`` is keyed by it.

Data sets never download: scikit-learn ships ``load_digits`` and ``load_breast_cancer`` in
its wheel, the rest are generated with fixed seeds.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DIGITS_NPZ = REPO / "examples" / "digits.npz"

Arrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


@dataclass(frozen=True)
class Task:
    """One benchmark task.

    ``layers`` are compact specs read by `build_model`: ``dense:UNITS:ACT``, ``conv:FILTERS:
    KERNEL:ACT``, ``maxpool:SIZE``, ``reshape:D1,D2,...``, ``flatten``, ``batchnorm``,
    ``dropout:RATE``, ``relu``.
    """

    name: str
    data: str
    layers: tuple[str, ...]
    optimizer: str
    loss: str
    epochs: int
    batch_size: int = 32
    optimizer_kwargs: dict[str, Any] = field(default_factory=dict)
    note: str = ""
    group: str = "dev"
    """"dev": lrfind's rule was chosen on these; "validation": added after, only to check it."""

    def definition(self) -> dict[str, Any]:
        """Everything that determines the task's training results (not its note or group)."""
        d = asdict(self)
        d.pop("note")
        d.pop("group")
        d["optimizer_kwargs"] = dict(sorted(self.optimizer_kwargs.items()))
        return d

    def key(self) -> str:
        """Short hash of `definition`: the cache key of this task's results."""
        blob = json.dumps(self.definition(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    @property
    def optimizer_label(self) -> str:
        if self.optimizer == "sgd":
            momentum = self.optimizer_kwargs.get("momentum", 0.0)
            return f"SGD (momentum {momentum:g})" if momentum else "SGD"
        return {"adam": "Adam", "adamw": "AdamW", "rmsprop": "RMSprop"}[self.optimizer]


MLP64 = ("dense:64:relu", "dense:64:relu")

TASKS: tuple[Task, ...] = (
    Task(
        "digits_mlp_adam", "digits", (*MLP64, "dense:10:softmax"), "adam",
        "sparse_categorical_crossentropy", epochs=10,
        note="the shipped example: 64-64 ReLU MLP on the UCI digits",
    ),
    Task(
        "digits_logreg_sgd", "digits", ("dense:10:softmax",), "sgd",
        "sparse_categorical_crossentropy", epochs=10,
        note="multinomial logistic regression, plain SGD (convex)",
    ),
    Task(
        "digits_cnn_sgd", "digits",
        ("reshape:8,8,1", "conv:16:3:relu", "conv:32:3:relu", "maxpool:2", "flatten",
         "dense:10:softmax"),
        "sgd", "sparse_categorical_crossentropy", epochs=10,
        note="small CNN, plain SGD: the loss stays flat until a high LR",
    ),
    Task(
        "digits_cnn_rmsprop", "digits",
        ("reshape:8,8,1", "conv:16:3:relu", "conv:32:3:relu", "maxpool:2", "flatten",
         "dense:10:softmax"),
        "rmsprop", "sparse_categorical_crossentropy", epochs=10,
        note="the same CNN with RMSprop",
    ),
    Task(
        "friedman_mlp_rmsprop", "friedman", (*MLP64, "dense:1:linear"), "rmsprop", "mse",
        epochs=10, note="regression (Friedman #1, standardised), RMSprop",
    ),
    Task(
        "friedman_mlp_sgdm", "friedman", (*MLP64, "dense:1:linear"), "sgd", "mse",
        epochs=10, optimizer_kwargs={"momentum": 0.9},
        note="the same regression with SGD, momentum 0.9",
    ),
    Task(
        "classif_bn_dropout_sgdm", "classif",
        ("dense:128:linear", "batchnorm", "relu", "dropout:0.3", "dense:64:linear",
         "batchnorm", "relu", "dropout:0.3", "dense:4:softmax"),
        "sgd", "sparse_categorical_crossentropy", epochs=10,
        optimizer_kwargs={"momentum": 0.9},
        note="4-class generated data, MLP with BatchNorm and Dropout, SGD momentum 0.9",
    ),
    Task(
        "classif_mlp_adamw", "classif", (*MLP64, "dense:4:softmax"), "adamw",
        "sparse_categorical_crossentropy", epochs=10, optimizer_kwargs={"weight_decay": 0.01},
        note="4-class generated data, MLP, AdamW (weight decay 0.01)",
    ),
    Task(
        "moons_mlp_sgd", "moons", ("dense:32:tanh", "dense:32:tanh", "dense:1:sigmoid"), "sgd",
        "binary_crossentropy", epochs=10, note="two moons, tanh MLP, plain SGD",
    ),
    Task(
        "cancer_logreg_adam", "cancer", ("dense:1:sigmoid",), "adam", "binary_crossentropy",
        epochs=10, batch_size=16, note="breast-cancer logistic regression, Adam",
    ),
    # Added after a first rule (chosen on the ten tasks above) was frozen. They showed that
    # the best LR sits at a different place on the curve for SGD than for adaptive optimizers,
    # so they became dev tasks for the second rule.
    Task(
        "classif_mlp_adam_b64", "classif", ("dense:128:relu", "dense:64:relu", "dense:4:softmax"),
        "adam", "sparse_categorical_crossentropy", epochs=15, batch_size=64,
        note="4-class generated data, wider MLP, Adam, batch 64",
    ),
    Task(
        "cancer_logreg_sgdm", "cancer", ("dense:1:sigmoid",), "sgd", "binary_crossentropy",
        epochs=10, batch_size=16, optimizer_kwargs={"momentum": 0.9},
        note="breast-cancer logistic regression, SGD momentum 0.9",
    ),
    Task(
        "digits_cnn_adam", "digits",
        ("reshape:8,8,1", "conv:8:3:relu", "conv:16:3:relu", "flatten", "dense:32:relu",
         "dense:10:softmax"),
        "adam", "sparse_categorical_crossentropy", epochs=8,
        note="another small CNN, Adam",
    ),
    Task(
        "friedman_mlp_adam_tanh", "friedman", ("dense:32:tanh", "dense:32:tanh", "dense:1:linear"),
        "adam", "mse", epochs=10, note="regression, tanh MLP, Adam",
    ),
    Task(
        "digits_mlp_bn_sgd", "digits",
        ("dense:128:linear", "batchnorm", "relu", "dense:10:softmax"), "sgd",
        "sparse_categorical_crossentropy", epochs=10,
        note="MLP with BatchNorm, plain SGD",
    ),
    # Validation tasks: defined after the second rule was frozen, never used to choose it.
    Task(
        "digits_logreg_adam", "digits", ("dense:10:softmax",), "adam",
        "sparse_categorical_crossentropy", epochs=10,
        note="multinomial logistic regression, Adam", group="validation",
    ),
    Task(
        "classif_mlp_rmsprop", "classif", (*MLP64, "dense:4:softmax"), "rmsprop",
        "sparse_categorical_crossentropy", epochs=10,
        note="4-class generated data, MLP, RMSprop", group="validation",
    ),
    Task(
        "friedman_mlp_sgd", "friedman", (*MLP64, "dense:1:linear"), "sgd", "mse", epochs=10,
        note="regression, MLP, plain SGD", group="validation",
    ),
    Task(
        "moons_mlp_adamw", "moons", ("dense:32:relu", "dense:32:relu", "dense:1:sigmoid"),
        "adamw", "binary_crossentropy", epochs=10,
        note="two moons, ReLU MLP, AdamW", group="validation",
    ),
    Task(
        "digits_cnn_sgdm", "digits",
        ("reshape:8,8,1", "conv:16:3:relu", "conv:32:3:relu", "maxpool:2", "flatten",
         "dense:10:softmax"),
        "sgd", "sparse_categorical_crossentropy", epochs=10, optimizer_kwargs={"momentum": 0.9},
        note="small CNN, SGD momentum 0.9", group="validation",
    ),
    Task(
        "cancer_mlp_dropout_adam", "cancer", ("dense:32:relu", "dropout:0.3", "dense:1:sigmoid"),
        "adam", "binary_crossentropy", epochs=10, batch_size=16,
        note="breast-cancer MLP with Dropout, Adam", group="validation",
    ),
)

TASKS_BY_NAME = {task.name: task for task in TASKS}


# ------------------------------------------------------------------------------- data
def _standardise(x: np.ndarray, x_val: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean, std = x.mean(axis=0), x.std(axis=0) + 1e-8
    return (x - mean) / std, (x_val - mean) / std


def _split(x: np.ndarray, y: np.ndarray, n_val: int, seed: int = 0) -> Arrays:
    order = np.random.default_rng(seed).permutation(len(x))
    x, y = x[order], y[order]
    return x[n_val:], y[n_val:], x[:n_val], y[:n_val]


@cache
def load_data(name: str) -> Arrays:
    """(x, y, x_val, y_val) of a data set, float32 features; deterministic.

    Nothing is downloaded: the digits come from `examples/digits.npz` (or scikit-learn's
    bundled copy), the breast-cancer set ships in scikit-learn's wheel, the rest is generated.
    """
    from sklearn import datasets

    if name == "digits":
        if DIGITS_NPZ.exists():
            d = np.load(DIGITS_NPZ)
            x, y, x_val, y_val = d["x"], d["y"], d["x_val"], d["y_val"]
        else:  # the recipe of examples/make_example_data.py
            digits = datasets.load_digits()
            x, y, x_val, y_val = _split(digits.data / 16.0, digits.target, 297)
    elif name == "classif":
        x, y = datasets.make_classification(
            n_samples=2500, n_features=20, n_informative=10, n_redundant=4, n_classes=4,
            class_sep=1.0, flip_y=0.02, random_state=0,
        )
        x, y, x_val, y_val = _split(x, y, 500)
        x, x_val = _standardise(x, x_val)
    elif name == "friedman":
        x, y = datasets.make_friedman1(n_samples=2500, n_features=10, noise=1.0, random_state=0)
        x, y, x_val, y_val = _split(x, y, 500)
        x, x_val = _standardise(x, x_val)
        mean, std = y.mean(), y.std()
        y, y_val = (y - mean) / std, (y_val - mean) / std
    elif name == "moons":
        x, y = datasets.make_moons(n_samples=2000, noise=0.25, random_state=0)
        x, y, x_val, y_val = _split(x, y, 500)
    elif name == "cancer":
        bunch = datasets.load_breast_cancer()
        x, y, x_val, y_val = _split(bunch.data, bunch.target, 114)
        x, x_val = _standardise(x, x_val)
    else:
        raise ValueError(f"unknown data set {name!r}")
    ints = np.issubdtype(np.asarray(y).dtype, np.integer)
    y_dtype = np.int32 if ints else np.float32
    return (
        np.asarray(x, np.float32), np.asarray(y, y_dtype),
        np.asarray(x_val, np.float32), np.asarray(y_val, y_dtype),
    )


# ------------------------------------------------------------------------------ models
def _layer(spec: str) -> Any:
    import keras

    kind, *args = spec.split(":")
    if kind == "dense":
        return keras.layers.Dense(int(args[0]), activation=args[1])
    if kind == "conv":
        return keras.layers.Conv2D(int(args[0]), int(args[1]), activation=args[2])
    if kind == "maxpool":
        return keras.layers.MaxPooling2D(int(args[0]))
    if kind == "reshape":
        return keras.layers.Reshape(tuple(int(v) for v in args[0].split(",")))
    if kind == "flatten":
        return keras.layers.Flatten()
    if kind == "batchnorm":
        return keras.layers.BatchNormalization()
    if kind == "dropout":
        return keras.layers.Dropout(float(args[0]))
    if kind == "relu":
        return keras.layers.ReLU()
    raise ValueError(f"unknown layer spec {spec!r}")


def make_optimizer(task: Task, learning_rate: Any) -> Any:
    """The task's optimizer at a float learning rate or a ``LearningRateSchedule``."""
    import keras

    classes = {
        "adam": keras.optimizers.Adam,
        "adamw": keras.optimizers.AdamW,
        "sgd": keras.optimizers.SGD,
        "rmsprop": keras.optimizers.RMSprop,
    }
    if isinstance(learning_rate, (int, float)):
        learning_rate = float(learning_rate)
    return classes[task.optimizer](learning_rate=learning_rate, **task.optimizer_kwargs)


def build_model(task: Task, seed: int, learning_rate: Any = 1e-3) -> Any:
    """A freshly initialised, compiled model for ``task`` (weights depend only on ``seed``)."""
    import keras

    x = load_data(task.data)[0]
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [keras.Input(shape=x.shape[1:]), *(_layer(spec) for spec in task.layers)],
        name=task.name,
    )
    model.compile(optimizer=make_optimizer(task, learning_rate), loss=task.loss)
    return model
