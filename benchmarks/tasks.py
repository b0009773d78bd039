"""The public benchmark tasks: small Keras models on offline data that train on CPU in seconds.

Each `Task` is plain data (dataset name, layer specs, optimizer, loss, epoch budget), so its
definition can be hashed: `Task.key()` changes whenever anything that affects its results
changes (for a task that uses a residual or attention block, the block's source code too),
and the cached grid in ``grid_truth.json`` is keyed by it. Metadata (note, group, family,
training seeds) is not part of the key.

Data sets never download: scikit-learn ships digits, breast cancer, iris, wine and diabetes
in its wheel, the rest are generated with fixed seeds.
"""

from __future__ import annotations

import hashlib
import inspect
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
DEFAULT_SEEDS = (0, 1, 2, 3, 4)
"""Training seeds of the first 21 tasks; later tasks use three (``Task.seeds``)."""
FIRST_TASKS = frozenset({
    "digits_mlp_adam", "digits_logreg_sgd", "digits_cnn_sgd", "digits_cnn_rmsprop",
    "friedman_mlp_rmsprop", "friedman_mlp_sgdm", "classif_bn_dropout_sgdm", "classif_mlp_adamw",
    "moons_mlp_sgd", "cancer_logreg_adam", "classif_mlp_adam_b64", "cancer_logreg_sgdm",
    "digits_cnn_adam", "friedman_mlp_adam_tanh", "digits_mlp_bn_sgd", "digits_logreg_adam",
    "classif_mlp_rmsprop", "friedman_mlp_sgd", "moons_mlp_adamw", "digits_cnn_sgdm",
    "cancer_mlp_dropout_adam",
})
"""The first 21 tasks: their keys predate the data digest (`Task.definition`) and are kept
as they were, so their cached grid stays valid."""


@dataclass(frozen=True)
class Task:
    """One benchmark task.

    ``layers`` are compact specs read by `build_model`: ``dense:UNITS:ACT``, ``conv:FILTERS:
    KERNEL:ACT``, ``maxpool:SIZE``, ``reshape:D1,D2,...``, ``flatten``, ``batchnorm``,
    ``dropout:RATE``, ``relu``, ``layernorm``, ``embedding:VOCAB:DIM``, ``lstm:UNITS``,
    ``gru:UNITS``, ``bilstm:UNITS``, ``conv1d:FILTERS:KERNEL:ACT``, ``gap1d``, ``gmp1d``,
    ``gap2d``, ``randomflip:MODE``, ``randomtranslation:FACTOR``, ``randomrotation:FACTOR``;
    and blocks with a skip connection, which make the model functional instead of sequential:
    ``xception:FILTERS`` (`xception_block`), ``transformer:HEADS:KEY_DIM:FF``
    (`transformer_block`).
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
    """"dev": rules are chosen on these; "validation": added after the first rule was
    frozen, only to check it (now chosen on too); "holdout" to "holdout11": each
    defined before any range test was run on it, then run once with a frozen rule, to report
    how it does on tasks it never saw (holdouts 5 and 6 were run with rule a4dcbc8, holdouts
    7 and 8 with f98848c, holdouts 9 and 10 with the current rule, f690722; the earlier ones
    are spent: later rules were chosen on them; holdout 11 waits for the next frozen
    rule)."""
    family: str = ""
    """The kind of architecture (see `FAMILIES`): tasks of one family are left out together
    when a rule is validated leave-one-family-out."""
    seeds: tuple[int, ...] = DEFAULT_SEEDS
    """Training seeds of the grid truth and of every regret measurement."""

    def definition(self) -> dict[str, Any]:
        """Everything that determines the task's training results: not its note, group,
        family or seeds (each seed's runs are cached on their own); for a task with blocks,
        a hash of each block's source code; and, for every task but the first 21, a digest
        of its data arrays (so editing a data recipe invalidates the tasks that use it)."""
        d = asdict(self)
        for metadata in ("note", "group", "family", "seeds"):
            d.pop(metadata)
        d["optimizer_kwargs"] = dict(sorted(self.optimizer_kwargs.items()))
        blocks = sorted({spec.split(":")[0] for spec in self.layers} & set(BLOCKS))
        if blocks:  # absent for plain sequential tasks, so their keys are unchanged
            d["block_sources"] = {name: BLOCK_SOURCES[name] for name in blocks}
        if self.name not in FIRST_TASKS:
            d["data_digest"] = data_digest(self.data)
        return d

    def key(self) -> str:
        """Short hash of `definition`: the cache key of this task's results."""
        blob = json.dumps(self.definition(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    @property
    def optimizer_label(self) -> str:
        if self.optimizer == "sgd":
            momentum = self.optimizer_kwargs.get("momentum", 0.0)
            if not momentum:
                return "SGD"
            nesterov = ", Nesterov" if self.optimizer_kwargs.get("nesterov") else ""
            return f"SGD (momentum {momentum:g}{nesterov})"
        label = OPTIMIZER_LABELS[self.optimizer]
        if self.optimizer == "adamw":
            label += f" (weight decay {self.optimizer_kwargs.get('weight_decay', 0.004):g})"
        return label


@cache
def data_digest(name: str) -> str:
    """Short hash of a data set's arrays (dtype, shape and contents of each)."""
    digest = hashlib.sha256()
    for array in load_data(name):
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()[:12]


def source_hash(function: Any) -> str:
    """Short hash of a function's source code (a block's code is part of its tasks' keys)."""
    return hashlib.sha256(inspect.getsource(function).encode()).hexdigest()[:12]


OPTIMIZER_LABELS = {
    "adam": "Adam", "adamw": "AdamW", "rmsprop": "RMSprop", "adagrad": "Adagrad",
    "nadam": "Nadam", "adamax": "Adamax", "lion": "Lion", "lamb": "Lamb",
    "adafactor": "Adafactor",
}

FAMILIES: dict[str, str] = {
    "linear": "logistic and linear regression (one Dense layer), also multi-label",
    "mlp_classif": "MLPs (ReLU or tanh, optionally Dropout) classifying standardised tabular "
    "or 2-D toy data, including with noisy training labels and multi-label targets",
    "mlp_regression": "MLPs regressing standardised targets (Friedman #1, a polynomial, "
    "a 2-D sinc)",
    "bn_mlp": "MLPs with BatchNorm",
    "deep_plain_mlp": "6- and 8-layer plain (no normalisation, no skips) MLPs",
    "cnn": "small plain CNNs (Conv2D, MaxPooling) on small images (the 8x8 digits, "
    "generated shapes, bars, dots)",
    "bn_cnn": "small CNNs with BatchNorm after every convolution",
    "residual_cnn": "small Xception-style CNNs: SeparableConv2D, BatchNorm, residual adds, "
    "augmentation layers inside the model",
    "rnn": "LSTM, GRU and bidirectional LSTM on generated sequences (tokens or numbers)",
    "attention": "a transformer block (MultiHeadAttention, residual adds, LayerNormalization) "
    "on generated sequences",
    "embedding_text": "Embedding + pooling / Conv1D bag-of-words models on generated tokens",
    "tiny_tabular": "small MLPs on the tiny iris, wine, diabetes and Friedman #3 sets (100-350 "
    "training samples, few batches per epoch)",
    "unnormalised_inputs": "MLPs fed raw, unstandardised features (diabetes, breast cancer, "
    "Friedman #1 rescaled, digits' raw pixels, wine: columns from below 1 to thousands)",
    "conv1d": "stacked Conv1D + global pooling on generated sequences (numbers, or embedded "
    "tokens)",
    "ln_mlp": "MLPs with LayerNormalization after each hidden layer",
}

MLP64 = ("dense:64:relu", "dense:64:relu")
DIGITS_CNN = ("reshape:8,8,1", "conv:16:3:relu", "conv:32:3:relu", "maxpool:2", "flatten",
              "dense:10:softmax")
"""Two 3x3 convolutions and a max pool on the 8x8 digits."""
DIGITS_BN_CNN = ("reshape:8,8,1", "conv:16:3:linear", "batchnorm", "relu", "conv:32:3:linear",
                 "batchnorm", "relu", "maxpool:2", "flatten", "dense:10:softmax")
"""The same with BatchNorm after each convolution."""

TASKS: tuple[Task, ...] = (
    Task(
        "digits_mlp_adam", "digits", (*MLP64, "dense:10:softmax"), "adam",
        "sparse_categorical_crossentropy", epochs=10,
        note="the shipped example: 64-64 ReLU MLP on the UCI digits", family="mlp_classif",
    ),
    Task(
        "digits_logreg_sgd", "digits", ("dense:10:softmax",), "sgd",
        "sparse_categorical_crossentropy", epochs=10,
        note="multinomial logistic regression, plain SGD (convex)", family="linear",
    ),
    Task(
        "digits_cnn_sgd", "digits", DIGITS_CNN,
        "sgd", "sparse_categorical_crossentropy", epochs=10,
        note="small CNN, plain SGD: the loss stays flat until a high LR", family="cnn",
    ),
    Task(
        "digits_cnn_rmsprop", "digits", DIGITS_CNN,
        "rmsprop", "sparse_categorical_crossentropy", epochs=10,
        note="the same CNN with RMSprop", family="cnn",
    ),
    Task(
        "friedman_mlp_rmsprop", "friedman", (*MLP64, "dense:1:linear"), "rmsprop", "mse",
        epochs=10, note="regression (Friedman #1, standardised), RMSprop", family="mlp_regression",
    ),
    Task(
        "friedman_mlp_sgdm", "friedman", (*MLP64, "dense:1:linear"), "sgd", "mse",
        epochs=10, optimizer_kwargs={"momentum": 0.9},
        note="the same regression with SGD, momentum 0.9", family="mlp_regression",
    ),
    Task(
        "classif_bn_dropout_sgdm", "classif",
        ("dense:128:linear", "batchnorm", "relu", "dropout:0.3", "dense:64:linear",
         "batchnorm", "relu", "dropout:0.3", "dense:4:softmax"),
        "sgd", "sparse_categorical_crossentropy", epochs=10,
        optimizer_kwargs={"momentum": 0.9},
        note="4-class generated data, MLP with BatchNorm and Dropout, SGD momentum 0.9",
        family="bn_mlp",
    ),
    Task(
        "classif_mlp_adamw", "classif", (*MLP64, "dense:4:softmax"), "adamw",
        "sparse_categorical_crossentropy", epochs=10, optimizer_kwargs={"weight_decay": 0.01},
        note="4-class generated data, MLP, AdamW (weight decay 0.01)", family="mlp_classif",
    ),
    Task(
        "moons_mlp_sgd", "moons", ("dense:32:tanh", "dense:32:tanh", "dense:1:sigmoid"), "sgd",
        "binary_crossentropy", epochs=10, note="two moons, tanh MLP, plain SGD",
        family="mlp_classif",
    ),
    Task(
        "cancer_logreg_adam", "cancer", ("dense:1:sigmoid",), "adam", "binary_crossentropy",
        epochs=10, batch_size=16, note="breast-cancer logistic regression, Adam", family="linear",
    ),
    # Added after a first rule (chosen on the ten tasks above) was frozen. They showed that
    # the best LR sits at a different place on the curve for SGD than for adaptive optimizers,
    # so they became dev tasks for the second rule.
    Task(
        "classif_mlp_adam_b64", "classif", ("dense:128:relu", "dense:64:relu", "dense:4:softmax"),
        "adam", "sparse_categorical_crossentropy", epochs=15, batch_size=64,
        note="4-class generated data, wider MLP, Adam, batch 64", family="mlp_classif",
    ),
    Task(
        "cancer_logreg_sgdm", "cancer", ("dense:1:sigmoid",), "sgd", "binary_crossentropy",
        epochs=10, batch_size=16, optimizer_kwargs={"momentum": 0.9},
        note="breast-cancer logistic regression, SGD momentum 0.9", family="linear",
    ),
    Task(
        "digits_cnn_adam", "digits",
        ("reshape:8,8,1", "conv:8:3:relu", "conv:16:3:relu", "flatten", "dense:32:relu",
         "dense:10:softmax"),
        "adam", "sparse_categorical_crossentropy", epochs=8,
        note="another small CNN, Adam", family="cnn",
    ),
    Task(
        "friedman_mlp_adam_tanh", "friedman", ("dense:32:tanh", "dense:32:tanh", "dense:1:linear"),
        "adam", "mse", epochs=10, note="regression, tanh MLP, Adam", family="mlp_regression",
    ),
    Task(
        "digits_mlp_bn_sgd", "digits",
        ("dense:128:linear", "batchnorm", "relu", "dense:10:softmax"), "sgd",
        "sparse_categorical_crossentropy", epochs=10,
        note="MLP with BatchNorm, plain SGD", family="bn_mlp",
    ),
    # Validation tasks: defined after the second rule was frozen, never used to choose it.
    Task(
        "digits_logreg_adam", "digits", ("dense:10:softmax",), "adam",
        "sparse_categorical_crossentropy", epochs=10,
        note="multinomial logistic regression, Adam", group="validation", family="linear",
    ),
    Task(
        "classif_mlp_rmsprop", "classif", (*MLP64, "dense:4:softmax"), "rmsprop",
        "sparse_categorical_crossentropy", epochs=10,
        note="4-class generated data, MLP, RMSprop", group="validation", family="mlp_classif",
    ),
    Task(
        "friedman_mlp_sgd", "friedman", (*MLP64, "dense:1:linear"), "sgd", "mse", epochs=10,
        note="regression, MLP, plain SGD", group="validation", family="mlp_regression",
    ),
    Task(
        "moons_mlp_adamw", "moons", ("dense:32:relu", "dense:32:relu", "dense:1:sigmoid"),
        "adamw", "binary_crossentropy", epochs=10,
        note="two moons, ReLU MLP, AdamW", group="validation", family="mlp_classif",
    ),
    Task(
        "digits_cnn_sgdm", "digits", DIGITS_CNN,
        "sgd", "sparse_categorical_crossentropy", epochs=10, optimizer_kwargs={"momentum": 0.9},
        note="small CNN, SGD momentum 0.9", group="validation", family="cnn",
    ),
    Task(
        "cancer_mlp_dropout_adam", "cancer", ("dense:32:relu", "dropout:0.3", "dense:1:sigmoid"),
        "adam", "binary_crossentropy", epochs=10, batch_size=16,
        note="breast-cancer MLP with Dropout, Adam", group="validation", family="mlp_classif",
    ),
    # Added after the rule was frozen, to choose the next rule on (all dev): more families,
    # the failure kinds users report, optimizers beyond Adam/SGD/RMSprop, batch sizes 8 to
    # 512, MAE/Huber/one-hot losses. Three training seeds each.
    Task(
        "spirals_mlp_tanh_adam", "spirals", ("dense:32:tanh", "dense:32:tanh", "dense:32:tanh",
                                             "dense:1:sigmoid"),
        "adam", "binary_crossentropy", epochs=12, family="mlp_classif", seeds=(0, 1, 2),
        note="two interleaved spirals, small tanh MLP, Adam (the scatter of the range test "
        "grows while its median falls)",
    ),
    Task(
        "digits_noisy_mlp_adamw", "digits_noisy", (*MLP64, "dense:10:softmax"), "adamw",
        "sparse_categorical_crossentropy", epochs=10, optimizer_kwargs={"weight_decay": 0.3},
        family="mlp_classif", seeds=(0, 1, 2),
        note="digits with 25 % of the training labels replaced at random (validation labels "
        "clean), MLP, AdamW with strong weight decay 0.3",
    ),
    Task(
        "classif_noisy_mlp_lion_b512", "classif_noisy", ("dense:128:relu", "dense:64:relu",
                                                        "dense:4:softmax"),
        "lion", "sparse_categorical_crossentropy", epochs=15, batch_size=512,
        family="mlp_classif", seeds=(0, 1, 2),
        note="4-class generated data with 30 % of the training labels flipped, MLP, Lion, "
        "batch 512 (4 batches per epoch)",
    ),
    Task(
        "cancer_noisy_logreg_adamax_b8", "cancer_noisy", ("dense:1:sigmoid",), "adamax",
        "binary_crossentropy", epochs=8, batch_size=8, family="linear", seeds=(0, 1, 2),
        note="breast-cancer logistic regression, 20 % of the training labels flipped, "
        "Adamax, batch 8",
    ),
    Task(
        "digits_cnn_pool_sgd_b128", "digits",
        ("reshape:8,8,1", "conv:16:3:relu", "maxpool:2", "conv:32:3:relu", "flatten",
         "dense:10:softmax"),
        "sgd", "sparse_categorical_crossentropy", epochs=15, batch_size=128, family="cnn",
        seeds=(0, 1, 2),
        note="another small CNN, plain SGD, batch 128 (flat for decades, then diverging)",
    ),
    Task(
        "digits_bncnn_sgdm", "digits", DIGITS_BN_CNN,
        "sgd", "sparse_categorical_crossentropy", epochs=8, batch_size=64,
        optimizer_kwargs={"momentum": 0.9}, family="bn_cnn", seeds=(0, 1, 2),
        note="CNN with BatchNorm after each convolution, SGD momentum 0.9, batch 64",
    ),
    Task(
        "digits_bncnn_gap_nadam_b16", "digits",
        ("reshape:8,8,1", "conv:16:3:linear", "batchnorm", "relu", "conv:32:3:linear",
         "batchnorm", "relu", "gap2d", "dense:10:softmax"),
        "nadam", "sparse_categorical_crossentropy", epochs=6, batch_size=16, family="bn_cnn",
        seeds=(0, 1, 2),
        note="BatchNorm CNN with global average pooling, Nadam, batch 16",
    ),
    Task(
        "digits_xception_aug_adam", "digits",
        ("reshape:8,8,1", "randomtranslation:0.125", "randomrotation:0.04", "conv:16:3:linear",
         "batchnorm", "relu", "xception:24", "xception:48", "flatten", "dense:10:softmax"),
        "adam", "sparse_categorical_crossentropy", epochs=6, family="residual_cnn",
        seeds=(0, 1, 2),
        note="small Xception-style CNN (SeparableConv2D, BatchNorm, residual adds) with "
        "RandomTranslation/RandomRotation inside the model, Adam",
    ),
    Task(
        "digits_xception_flip_sgdm_b64", "digits",
        ("reshape:8,8,1", "randomflip:horizontal", "conv:16:3:linear", "batchnorm", "relu",
         "xception:32", "flatten", "dense:10:softmax"),
        "sgd", "sparse_categorical_crossentropy", epochs=8, batch_size=64,
        optimizer_kwargs={"momentum": 0.9}, family="residual_cnn", seeds=(0, 1, 2),
        note="one Xception-style residual block with RandomFlip inside the model (trained on "
        "mirrored digits half of the time), SGD momentum 0.9, batch 64",
    ),
    Task(
        "digits_deep8_sgdm", "digits", (*(["dense:64:relu"] * 8), "dense:10:softmax"), "sgd",
        "sparse_categorical_crossentropy", epochs=10, optimizer_kwargs={"momentum": 0.9},
        family="deep_plain_mlp", seeds=(0, 1, 2),
        note="8-layer plain ReLU MLP, SGD momentum 0.9 (overshoots)",
    ),
    Task(
        "friedman_deep8_adamax_huber", "friedman", (*(["dense:64:relu"] * 8), "dense:1:linear"),
        "adamax", "huber", epochs=10, batch_size=64, family="deep_plain_mlp", seeds=(0, 1, 2),
        note="8-layer plain ReLU MLP regression, Huber loss, Adamax, batch 64",
    ),
    Task(
        "tokens_bilstm_adam", "tokens", ("embedding:20:16", "bilstm:16", "dense:4:softmax"),
        "adam", "sparse_categorical_crossentropy", epochs=8, family="rnn", seeds=(0, 1, 2),
        note="Embedding + Bidirectional(LSTM) on generated tokens (class: the most frequent "
        "of four marker tokens), Adam",
    ),
    Task(
        "sine_lstm_nadam", "sine", ("lstm:24", "dense:4:softmax"), "nadam",
        "sparse_categorical_crossentropy", epochs=8, family="rnn", seeds=(0, 1, 2),
        note="LSTM classifying the frequency of noisy sine waves (length 30), Nadam",
    ),
    Task(
        "walk_gru_sgdm_mae", "walk", ("gru:16", "dense:1:linear"), "sgd", "mae", epochs=8,
        optimizer_kwargs={"momentum": 0.9}, family="rnn", seeds=(0, 1, 2),
        note="GRU regressing the maximum of a random walk (length 20), MAE, SGD momentum 0.9",
    ),
    Task(
        "tokens_transformer_adamw", "tokens",
        ("embedding:20:16", "transformer:2:8:32", "gap1d", "dense:4:softmax"),
        "adamw", "sparse_categorical_crossentropy", epochs=8,
        optimizer_kwargs={"weight_decay": 0.5}, family="attention", seeds=(0, 1, 2),
        note="transformer block on generated tokens, AdamW with weight decay 0.5",
    ),
    Task(
        "sine_transformer_lion_b64", "sine",
        ("conv1d:16:5:relu", "transformer:2:8:32", "gap1d", "dense:4:softmax"),
        "lion", "sparse_categorical_crossentropy", epochs=10, batch_size=64,
        family="attention", seeds=(0, 1, 2),
        note="Conv1D stem and a transformer block on noisy sine waves (value and position "
        "channels), Lion, batch 64",
    ),
    Task(
        "sentiment_embbag_adagrad", "sentiment",
        ("embedding:50:16", "gap1d", "dense:16:relu", "dense:1:sigmoid"), "adagrad",
        "binary_crossentropy", epochs=10, family="embedding_text", seeds=(0, 1, 2),
        note="bag of embeddings on generated 'sentiment' tokens (more positive than negative "
        "words), Adagrad",
    ),
    Task(
        "sentiment_conv1d_rmsprop_b16", "sentiment",
        ("embedding:50:16", "conv1d:32:3:relu", "gap1d", "dense:1:sigmoid"), "rmsprop",
        "binary_crossentropy", epochs=6, batch_size=16, family="embedding_text",
        seeds=(0, 1, 2),
        note="Embedding + Conv1D + global average pooling on the generated sentiment tokens, "
        "RMSprop, batch 16",
    ),
    Task(
        "iris_mlp_adagrad_b8", "iris", ("dense:16:relu", "dense:3:softmax"), "adagrad",
        "sparse_categorical_crossentropy", epochs=15, batch_size=8, family="tiny_tabular",
        seeds=(0, 1, 2),
        note="iris (100 training samples, 13 batches per epoch), MLP, Adagrad, batch 8",
    ),
    Task(
        "wine_mlp_nadam_onehot", "wine_onehot", ("dense:32:relu", "dense:3:softmax"), "nadam",
        "categorical_crossentropy", epochs=15, batch_size=16, family="tiny_tabular",
        seeds=(0, 1, 2),
        note="wine (120 training samples), MLP, one-hot labels with categorical "
        "cross-entropy, Nadam, batch 16",
    ),
    Task(
        "diabetes_mlp_adamax_huber", "diabetes", ("dense:32:relu", "dense:1:linear"),
        "adamax", "huber", epochs=15, batch_size=16, family="tiny_tabular", seeds=(0, 1, 2),
        note="diabetes (342 training samples, standardised), MLP, Huber loss, Adamax, batch 16",
    ),
    Task(
        "diabetes_raw_mlp_adam", "diabetes_raw", ("dense:32:relu", "dense:32:relu",
                                                  "dense:1:linear"),
        "adam", "mse", epochs=15, batch_size=16, family="unnormalised_inputs", seeds=(0, 1, 2),
        note="diabetes with its raw features (1 to 300) and raw target (25 to 346), MSE, Adam",
    ),
    Task(
        "friedman_raw_mlp_rmsprop", "friedman_raw", (*MLP64, "dense:1:linear"), "rmsprop",
        "mse", epochs=10, family="unnormalised_inputs", seeds=(0, 1, 2),
        note="Friedman #1 with its columns scaled to span 1 to 300 (target standardised), "
        "MSE, RMSprop",
    ),
    Task(
        "cancer_raw_mlp_adam", "cancer_raw", ("dense:32:relu", "dense:1:sigmoid"), "adam",
        "binary_crossentropy", epochs=10, batch_size=16, family="unnormalised_inputs",
        seeds=(0, 1, 2),
        note="breast cancer with its raw features (0 to 4254: areas next to smoothness "
        "ratios), MLP, Adam",
    ),
    # Holdout: defined on 2026-12-03, after the current rule (lrfind/rule.py, commit c28112d)
    # was frozen; never used to choose anything. Three new data sets (circles, a sparse linear
    # regression, the digits' raw 0-16 pixels), two new families (conv1d, ln_mlp), and the
    # known families with optimizers, losses and batch sizes they were not seen with.
    Task(
        "circles_mlp_elu_adam_b16", "circles", ("dense:16:elu", "dense:16:elu", "dense:1:sigmoid"),
        "adam", "binary_crossentropy", epochs=10, batch_size=16, group="holdout",
        family="mlp_classif", seeds=(0, 1, 2),
        note="two noisy concentric circles, small ELU MLP, Adam, batch 16",
    ),
    Task(
        "digits_raw_mlp_sgdm", "digits_raw", (*MLP64, "dense:10:softmax"), "sgd",
        "sparse_categorical_crossentropy", epochs=10, optimizer_kwargs={"momentum": 0.9},
        group="holdout", family="unnormalised_inputs", seeds=(0, 1, 2),
        note="digits with their raw pixel values 0 to 16, MLP, SGD momentum 0.9",
    ),
    Task(
        "sparse_reg_mlp_lion_mae", "sparse_regression", (*MLP64, "dense:1:linear"), "lion",
        "mae", epochs=10, group="holdout", family="mlp_regression", seeds=(0, 1, 2),
        note="linear regression target on 30 features (8 informative), MLP, MAE, Lion",
    ),
    Task(
        "digits_cnn_adamax_b64", "digits",
        ("reshape:8,8,1", "conv:16:3:relu", "maxpool:2", "conv:32:3:relu", "flatten",
         "dense:10:softmax"),
        "adamax", "sparse_categorical_crossentropy", epochs=10, batch_size=64,
        group="holdout", family="cnn", seeds=(0, 1, 2),
        note="small CNN, Adamax, batch 64",
    ),
    Task(
        "digits_bncnn_adagrad", "digits", DIGITS_BN_CNN,
        "adagrad", "sparse_categorical_crossentropy", epochs=6, group="holdout",
        family="bn_cnn", seeds=(0, 1, 2),
        note="CNN with BatchNorm after each convolution, Adagrad",
    ),
    Task(
        "tokens_gru_rmsprop_b64", "tokens", ("embedding:20:16", "gru:24", "dense:4:softmax"),
        "rmsprop", "sparse_categorical_crossentropy", epochs=10, batch_size=64,
        group="holdout", family="rnn", seeds=(0, 1, 2),
        note="Embedding + GRU on the generated tokens, RMSprop, batch 64",
    ),
    Task(
        "sine_conv1d_sgdm", "sine",
        ("conv1d:16:5:relu", "conv1d:32:5:relu", "gmp1d", "dense:4:softmax"), "sgd",
        "sparse_categorical_crossentropy", epochs=8, optimizer_kwargs={"momentum": 0.9},
        group="holdout", family="conv1d", seeds=(0, 1, 2),
        note="two Conv1D layers and global max pooling on the noisy sine waves, SGD momentum "
        "0.9",
    ),
    Task(
        "sentiment_transformer_adam_b16", "sentiment",
        ("embedding:50:16", "transformer:2:8:32", "gap1d", "dense:1:sigmoid"), "adam",
        "binary_crossentropy", epochs=5, batch_size=16, group="holdout", family="attention",
        seeds=(0, 1, 2),
        note="transformer block on the generated sentiment tokens, Adam, batch 16",
    ),
    Task(
        "iris_logreg_sgd_b8", "iris", ("dense:3:softmax",), "sgd",
        "sparse_categorical_crossentropy", epochs=15, batch_size=8, group="holdout",
        family="linear", seeds=(0, 1, 2),
        note="iris multinomial logistic regression, plain SGD, batch 8",
    ),
    Task(
        "classif_bnmlp_nadam_b256", "classif",
        ("dense:128:linear", "batchnorm", "relu", "dense:64:linear", "batchnorm", "relu",
         "dense:4:softmax"),
        "nadam", "sparse_categorical_crossentropy", epochs=20, batch_size=256,
        group="holdout", family="bn_mlp", seeds=(0, 1, 2),
        note="4-class generated data, MLP with BatchNorm, Nadam, batch 256 (8 batches an "
        "epoch)",
    ),
    Task(
        "friedman_lnmlp_adamw", "friedman",
        ("dense:64:relu", "layernorm", "dense:64:relu", "layernorm", "dense:1:linear"), "adamw",
        "mse", epochs=10, optimizer_kwargs={"weight_decay": 0.01}, group="holdout",
        family="ln_mlp", seeds=(0, 1, 2),
        note="Friedman #1 regression, MLP with LayerNormalization, AdamW (weight decay 0.01)",
    ),
    Task(
        "walk_lstm_adam_huber", "walk", ("lstm:16", "dense:1:linear"), "adam", "huber",
        epochs=8, group="holdout", family="rnn", seeds=(0, 1, 2),
        note="LSTM regressing the maximum of a random walk, Huber loss, Adam",
    ),
    Task(
        "digits_xception_rmsprop_b16", "digits",
        ("reshape:8,8,1", "conv:16:3:linear", "batchnorm", "relu", "xception:24", "flatten",
         "dense:10:softmax"),
        "rmsprop", "sparse_categorical_crossentropy", epochs=5, batch_size=16,
        group="holdout", family="residual_cnn", seeds=(0, 1, 2),
        note="one Xception-style residual block (no augmentation), RMSprop, batch 16",
    ),
    Task(
        "digits_deep6_tanh_sgd", "digits", (*(["dense:64:tanh"] * 6), "dense:10:softmax"),
        "sgd", "sparse_categorical_crossentropy", epochs=10, group="holdout",
        family="deep_plain_mlp", seeds=(0, 1, 2),
        note="6-layer plain tanh MLP, plain SGD",
    ),
    # Holdout 2: defined on 2026-12-03 (third session), after the holdout above was spent and
    # before the next rule is frozen; no range test is run on these until that freeze. Six
    # new data sets (Hastie's 10-D radial labels, Gaussian quantiles, multi-label targets,
    # wine on its raw scales, Friedman #3, the S-curve), and every family with an optimizer,
    # loss or batch size it was not seen with.
    Task(
        "hastie_mlp_sgdm_b64", "hastie", (*MLP64, "dense:1:sigmoid"), "sgd",
        "binary_crossentropy", epochs=10, batch_size=64, optimizer_kwargs={"momentum": 0.9},
        group="holdout2", family="mlp_classif", seeds=(0, 1, 2),
        note="Hastie et al.'s 10-D radial labels, MLP, SGD momentum 0.9, batch 64",
    ),
    Task(
        "quantiles_mlp_tanh_rmsprop_b16", "quantiles",
        ("dense:32:tanh", "dense:32:tanh", "dense:3:softmax"), "rmsprop",
        "sparse_categorical_crossentropy", epochs=8, batch_size=16, group="holdout2",
        family="mlp_classif", seeds=(0, 1, 2),
        note="3-class Gaussian quantiles (nested shells), tanh MLP, RMSprop, batch 16",
    ),
    Task(
        "multilabel_mlp_adamw_b128", "multilabel", (*MLP64, "dense:5:sigmoid"), "adamw",
        "binary_crossentropy", epochs=20, batch_size=128, optimizer_kwargs={"weight_decay": 0.05},
        group="holdout2", family="mlp_classif", seeds=(0, 1, 2),
        note="5 labels at once (multi-label, sigmoid outputs), MLP, AdamW (weight decay 0.05), "
        "batch 128",
    ),
    Task(
        "multilabel_logreg_adagrad", "multilabel", ("dense:5:sigmoid",), "adagrad",
        "binary_crossentropy", epochs=10, group="holdout2", family="linear", seeds=(0, 1, 2),
        note="multi-label logistic regression, Adagrad",
    ),
    Task(
        "wine_raw_mlp_nadam_b8", "wine_raw", ("dense:32:relu", "dense:3:softmax"), "nadam",
        "sparse_categorical_crossentropy", epochs=30, batch_size=8, group="holdout2",
        family="unnormalised_inputs", seeds=(0, 1, 2),
        note="the wine set on its raw scales (0.1 to 1,680: hues next to proline), small MLP, "
        "Nadam, batch 8",
    ),
    Task(
        "friedman3_lnmlp_lion_huber", "friedman3",
        ("dense:64:relu", "layernorm", "dense:64:relu", "layernorm", "dense:1:linear"), "lion",
        "huber", epochs=10, group="holdout2", family="ln_mlp", seeds=(0, 1, 2),
        note="Friedman #3 regression, MLP with LayerNormalization, Huber loss, Lion",
    ),
    Task(
        "scurve_deep8_adam_b16", "scurve", (*(["dense:32:relu"] * 8), "dense:1:linear"), "adam",
        "mse", epochs=6, batch_size=16, group="holdout2", family="deep_plain_mlp",
        seeds=(0, 1, 2),
        note="the position along a 3-D S-curve, 8-layer plain ReLU MLP, MSE, Adam, batch 16",
    ),
    Task(
        "digits_cnn_nadam_b256", "digits", DIGITS_CNN,
        "nadam", "sparse_categorical_crossentropy", epochs=25, batch_size=256,
        group="holdout2", family="cnn", seeds=(0, 1, 2),
        note="small CNN, Nadam, batch 256 (6 batches an epoch)",
    ),
    Task(
        "digits_bncnn_adamw", "digits", DIGITS_BN_CNN,
        "adamw", "sparse_categorical_crossentropy", epochs=6,
        optimizer_kwargs={"weight_decay": 0.05}, group="holdout2", family="bn_cnn",
        seeds=(0, 1, 2),
        note="CNN with BatchNorm after each convolution, AdamW (weight decay 0.05)",
    ),
    Task(
        "digits_xception_adamax", "digits",
        ("reshape:8,8,1", "conv:16:3:linear", "batchnorm", "relu", "xception:24", "gap2d",
         "dense:10:softmax"),
        "adamax", "sparse_categorical_crossentropy", epochs=6, group="holdout2",
        family="residual_cnn", seeds=(0, 1, 2),
        note="one Xception-style residual block, global average pooling, Adamax",
    ),
    Task(
        "sine_gru_adamax_b16", "sine", ("gru:16", "dense:4:softmax"), "adamax",
        "sparse_categorical_crossentropy", epochs=6, batch_size=16, group="holdout2",
        family="rnn", seeds=(0, 1, 2),
        note="GRU on the noisy sine waves, Adamax, batch 16",
    ),
    Task(
        "tokens_conv1d_adam_b128", "tokens",
        ("embedding:20:16", "conv1d:32:3:relu", "conv1d:32:3:relu", "gmp1d", "dense:4:softmax"),
        "adam", "sparse_categorical_crossentropy", epochs=15, batch_size=128,
        group="holdout2", family="conv1d", seeds=(0, 1, 2),
        note="Embedding and two Conv1D layers on the generated tokens, Adam, batch 128",
    ),
    Task(
        "tokens_transformer_nadam", "tokens",
        ("embedding:20:16", "transformer:2:8:32", "gap1d", "dense:4:softmax"), "nadam",
        "sparse_categorical_crossentropy", epochs=8, group="holdout2", family="attention",
        seeds=(0, 1, 2),
        note="transformer block on the generated tokens, Nadam",
    ),
    Task(
        "wine_mlp_sgdm_b8", "wine", ("dense:32:relu", "dense:3:softmax"), "sgd",
        "sparse_categorical_crossentropy", epochs=10, batch_size=8,
        optimizer_kwargs={"momentum": 0.9}, group="holdout2", family="tiny_tabular",
        seeds=(0, 1, 2),
        note="the wine set (120 training samples), small MLP, SGD momentum 0.9, batch 8",
    ),

    # Holdout 3: defined on 2026-12-04 (fifth session), before any change to the rule of
    # commit 8ef6cee; no range test is run on these until the next rule is frozen. Five new
    # data sets (Gaussian blobs, and on raw scales; the swiss roll's position; the adding
    # problem; generated 12x12 shape images; a 2-D checkerboard; sparse uncorrelated
    # regression) and every family with an optimizer, loss or batch size it was not seen with.
    Task(
        "blobs_mlp_adagrad", "blobs", ("dense:32:relu", "dense:32:relu", "dense:5:softmax"),
        "adagrad", "sparse_categorical_crossentropy", epochs=10, group="holdout3",
        family="mlp_classif", seeds=(0, 1, 2),
        note="5 overlapping Gaussian blobs in 8-D, small MLP, Adagrad",
    ),
    Task(
        "checker_deep6_nadam", "checker", (*(["dense:32:relu"] * 6), "dense:1:sigmoid"),
        "nadam", "binary_crossentropy", epochs=12, group="holdout3", family="deep_plain_mlp",
        seeds=(0, 1, 2),
        note="a 3x3 checkerboard in 2-D (5 % flipped labels), 6-layer plain ReLU MLP, Nadam",
    ),
    Task(
        "swissroll_mlp_rmsprop_huber_b64", "swissroll", (*MLP64, "dense:1:linear"), "rmsprop",
        "huber", epochs=15, batch_size=64, group="holdout3", family="mlp_regression",
        seeds=(0, 1, 2),
        note="the position along a 3-D swiss roll, MLP, Huber loss, RMSprop, batch 64",
    ),
    Task(
        "sparseunc_linear_sgdm", "sparse_uncorrelated", ("dense:1:linear",), "sgd", "mse",
        epochs=10, optimizer_kwargs={"momentum": 0.9}, group="holdout3", family="linear",
        seeds=(0, 1, 2),
        note="linear regression on 10 features (4 informative), one Dense layer, MSE, SGD "
        "momentum 0.9",
    ),
    Task(
        "adding_lstm_rmsprop", "adding", ("lstm:24", "dense:1:linear"), "rmsprop", "mse",
        epochs=10, group="holdout3", family="rnn", seeds=(0, 1, 2),
        note="the adding problem (sum of the two marked values of 25), LSTM, MSE, RMSprop",
    ),
    Task(
        "shapes_cnn_sgdm", "shapes",
        ("conv:16:3:relu", "maxpool:2", "conv:32:3:relu", "flatten", "dense:3:softmax"), "sgd",
        "sparse_categorical_crossentropy", epochs=8, optimizer_kwargs={"momentum": 0.9},
        group="holdout3", family="cnn", seeds=(0, 1, 2),
        note="generated 12x12 images of a square, a cross or a ring in noise, small CNN, SGD "
        "momentum 0.9",
    ),
    Task(
        "shapes_bncnn_rmsprop_b64", "shapes",
        ("conv:16:3:linear", "batchnorm", "relu", "maxpool:2", "conv:32:3:linear", "batchnorm",
         "relu", "flatten", "dense:3:softmax"),
        "rmsprop", "sparse_categorical_crossentropy", epochs=10, batch_size=64, group="holdout3",
        family="bn_cnn", seeds=(0, 1, 2),
        note="the shape images, CNN with BatchNorm after each convolution, RMSprop, batch 64",
    ),
    Task(
        "iris_mlp_tanh_sgd_b4", "iris", ("dense:16:tanh", "dense:3:softmax"), "sgd",
        "sparse_categorical_crossentropy", epochs=10, batch_size=4, group="holdout3",
        family="tiny_tabular", seeds=(0, 1, 2),
        note="iris (100 training samples, 25 batches per epoch), tanh MLP, plain SGD, batch 4",
    ),
    Task(
        "diabetes_mlp_sgdm_mae", "diabetes", ("dense:32:relu", "dense:1:linear"), "sgd", "mae",
        epochs=20, optimizer_kwargs={"momentum": 0.9}, group="holdout3", family="tiny_tabular",
        seeds=(0, 1, 2),
        note="diabetes (342 training samples, standardised), MLP, MAE, SGD momentum 0.9",
    ),
    Task(
        "blobs_raw_mlp_adamw", "blobs_raw", (*MLP64, "dense:5:softmax"), "adamw",
        "sparse_categorical_crossentropy", epochs=10, optimizer_kwargs={"weight_decay": 0.1},
        group="holdout3", family="unnormalised_inputs", seeds=(0, 1, 2),
        note="the blobs with columns scaled from 0.01 to 1,000, MLP, AdamW (weight decay 0.1)",
    ),
    Task(
        "blobs_bnmlp_rmsprop_b128", "blobs",
        ("dense:64:linear", "batchnorm", "relu", "dense:5:softmax"), "rmsprop",
        "sparse_categorical_crossentropy", epochs=15, batch_size=128, group="holdout3",
        family="bn_mlp", seeds=(0, 1, 2),
        note="the blobs, MLP with BatchNorm, RMSprop, batch 128",
    ),
    Task(
        "friedman_lnmlp_sgd_b16", "friedman",
        ("dense:64:relu", "layernorm", "dense:64:relu", "layernorm", "dense:1:linear"), "sgd",
        "mse", epochs=8, batch_size=16, group="holdout3", family="ln_mlp", seeds=(0, 1, 2),
        note="Friedman #1 regression, MLP with LayerNormalization, plain SGD, batch 16",
    ),
    Task(
        "sine_conv1d_adagrad_b256", "sine",
        ("conv1d:16:5:relu", "conv1d:32:5:relu", "gmp1d", "dense:4:softmax"), "adagrad",
        "sparse_categorical_crossentropy", epochs=30, batch_size=256, group="holdout3",
        family="conv1d", seeds=(0, 1, 2),
        note="two Conv1D layers on the noisy sine waves, Adagrad, batch 256 (6 batches an "
        "epoch)",
    ),
    Task(
        "sentiment_transformer_sgdm", "sentiment",
        ("embedding:50:16", "transformer:2:8:32", "gap1d", "dense:1:sigmoid"), "sgd",
        "binary_crossentropy", epochs=8, optimizer_kwargs={"momentum": 0.9}, group="holdout3",
        family="attention", seeds=(0, 1, 2),
        note="transformer block on the generated sentiment tokens, SGD momentum 0.9",
    ),
    Task(
        "sentiment_embbag_adam_b256", "sentiment",
        ("embedding:50:16", "gap1d", "dense:16:relu", "dense:1:sigmoid"), "adam",
        "binary_crossentropy", epochs=30, batch_size=256, group="holdout3",
        family="embedding_text", seeds=(0, 1, 2),
        note="bag of embeddings on the generated sentiment tokens, Adam, batch 256 (6 batches "
        "an epoch)",
    ),

    # Holdout 4: defined on 2026-12-05 (seventh session), after holdout 3 was run once with
    # the rule of commit e6fe281; no range test is run on these until the next rule is
    # frozen. Two new data sets (3-bit parity of signs in 3-D; Friedman #2, standardised) and
    # every family with an optimizer, loss or batch size it was not seen with.
    Task(
        "parity3_mlp_adamax_b64", "parity3", ("dense:32:relu", "dense:32:relu", "dense:1:sigmoid"),
        "adamax", "binary_crossentropy", epochs=15, batch_size=64, group="holdout4",
        family="mlp_classif", seeds=(0, 1, 2),
        note="the parity of the three coordinates' signs in 3-D (5 % flipped labels), MLP, "
        "Adamax, batch 64",
    ),
    Task(
        "friedman2_mlp_nadam_mae", "friedman2", (*MLP64, "dense:1:linear"), "nadam", "mae",
        epochs=10, group="holdout4", family="mlp_regression", seeds=(0, 1, 2),
        note="Friedman #2 regression (standardised), MLP, MAE, Nadam",
    ),
    Task(
        "cancer_bnmlp_adam_b16", "cancer",
        ("dense:32:linear", "batchnorm", "relu", "dense:1:sigmoid"), "adam",
        "binary_crossentropy", epochs=10, batch_size=16, group="holdout4", family="bn_mlp",
        seeds=(0, 1, 2),
        note="breast cancer, MLP with BatchNorm, Adam, batch 16",
    ),
    Task(
        "friedman2_deep8_rmsprop_b64", "friedman2", (*(["dense:32:relu"] * 8), "dense:1:linear"),
        "rmsprop", "mse", epochs=12, batch_size=64, group="holdout4", family="deep_plain_mlp",
        seeds=(0, 1, 2),
        note="Friedman #2 regression, 8-layer plain ReLU MLP, MSE, RMSprop, batch 64",
    ),
    Task(
        "shapes_cnn_adagrad_b16", "shapes",
        ("conv:16:3:relu", "maxpool:2", "conv:32:3:relu", "flatten", "dense:3:softmax"),
        "adagrad", "sparse_categorical_crossentropy", epochs=5, batch_size=16, group="holdout4",
        family="cnn", seeds=(0, 1, 2),
        note="the shape images, small CNN, Adagrad, batch 16",
    ),
    Task(
        "shapes_bncnn_sgd", "shapes",
        ("conv:16:3:linear", "batchnorm", "relu", "maxpool:2", "conv:32:3:linear", "batchnorm",
         "relu", "flatten", "dense:3:softmax"),
        "sgd", "sparse_categorical_crossentropy", epochs=8, group="holdout4", family="bn_cnn",
        seeds=(0, 1, 2),
        note="the shape images, CNN with BatchNorm after each convolution, plain SGD",
    ),
    Task(
        "shapes_xception_nadam_b64", "shapes",
        ("conv:16:3:linear", "batchnorm", "relu", "xception:32", "flatten", "dense:3:softmax"),
        "nadam", "sparse_categorical_crossentropy", epochs=8, batch_size=64, group="holdout4",
        family="residual_cnn", seeds=(0, 1, 2),
        note="the shape images, one Xception-style residual block, Nadam, batch 64",
    ),
    Task(
        "adding_gru_adam_b128", "adding", ("gru:24", "dense:1:linear"), "adam", "mse",
        epochs=20, batch_size=128, group="holdout4", family="rnn", seeds=(0, 1, 2),
        note="the adding problem, GRU, MSE, Adam, batch 128",
    ),
    Task(
        "sine_transformer_rmsprop", "sine",
        ("conv1d:16:5:relu", "transformer:2:8:32", "gap1d", "dense:4:softmax"), "rmsprop",
        "sparse_categorical_crossentropy", epochs=6, group="holdout4", family="attention",
        seeds=(0, 1, 2),
        note="Conv1D stem and a transformer block on the noisy sine waves, RMSprop",
    ),
    Task(
        "sentiment_embbag_sgdm_b64", "sentiment",
        ("embedding:50:16", "gap1d", "dense:16:relu", "dense:1:sigmoid"), "sgd",
        "binary_crossentropy", epochs=15, batch_size=64, optimizer_kwargs={"momentum": 0.9},
        group="holdout4", family="embedding_text", seeds=(0, 1, 2),
        note="bag of embeddings on the generated sentiment tokens, SGD momentum 0.9, batch 64",
    ),
    Task(
        "iris_mlp_rmsprop_b16", "iris", ("dense:16:relu", "dense:3:softmax"), "rmsprop",
        "sparse_categorical_crossentropy", epochs=20, batch_size=16, group="holdout4",
        family="tiny_tabular", seeds=(0, 1, 2),
        note="iris (100 training samples, 7 batches per epoch), MLP, RMSprop, batch 16",
    ),
    Task(
        "digits_raw_mlp_adagrad_b16", "digits_raw", (*MLP64, "dense:10:softmax"), "adagrad",
        "sparse_categorical_crossentropy", epochs=8, batch_size=16, group="holdout4",
        family="unnormalised_inputs", seeds=(0, 1, 2),
        note="digits with their raw pixel values 0 to 16, MLP, Adagrad, batch 16",
    ),
    Task(
        "sine_conv1d_lion_b64", "sine",
        ("conv1d:16:5:relu", "conv1d:32:5:relu", "gmp1d", "dense:4:softmax"), "lion",
        "sparse_categorical_crossentropy", epochs=10, batch_size=64, group="holdout4",
        family="conv1d", seeds=(0, 1, 2),
        note="two Conv1D layers on the noisy sine waves, Lion, batch 64",
    ),
    Task(
        "scurve_lnmlp_adamax_b128", "scurve",
        ("dense:64:relu", "layernorm", "dense:64:relu", "layernorm", "dense:1:linear"), "adamax",
        "mse", epochs=20, batch_size=128, group="holdout4", family="ln_mlp", seeds=(0, 1, 2),
        note="the position along the S-curve, MLP with LayerNormalization, MSE, Adamax, "
        "batch 128",
    ),
    Task(
        "digits_logreg_rmsprop_b128", "digits", ("dense:10:softmax",), "rmsprop",
        "sparse_categorical_crossentropy", epochs=15, batch_size=128, group="holdout4",
        family="linear", seeds=(0, 1, 2),
        note="multinomial logistic regression on the digits, RMSprop, batch 128",
    ),

    # Holdout 5: defined on 2026-12-07 (tenth session), after holdout 4 was run once with the
    # rule of commit e6fe281 and before any change to that rule; no range test is run on
    # these until the next rule is frozen. Six new data sets (XOR of two signs among ten
    # coordinates; a polynomial regression, also on raw column scales; imbalanced binary
    # labels; a heavy-tailed linear regression; 10x10 images of bars; delayed recall of a
    # token; sentiment with negation) and every family with an optimizer, loss or batch size
    # it was not seen with.
    Task(
        "xor10_mlp_nadam", "xor10", (*MLP64, "dense:1:sigmoid"), "nadam", "binary_crossentropy",
        epochs=12, group="holdout5", family="mlp_classif", seeds=(0, 1, 2),
        note="the XOR of two coordinates' signs among ten uniform ones (5 % flipped labels), "
        "MLP, Nadam",
    ),
    Task(
        "poly_mlp_adagrad_huber_b16", "poly", (*MLP64, "dense:1:linear"), "adagrad", "huber",
        epochs=8, batch_size=16, group="holdout5", family="mlp_regression", seeds=(0, 1, 2),
        note="a polynomial and sine regression on six Gaussian features, MLP, Huber, Adagrad, "
        "batch 16",
    ),
    Task(
        "imbalanced_bnmlp_adamw_b64", "imbalanced",
        ("dense:64:linear", "batchnorm", "relu", "dense:32:linear", "batchnorm", "relu",
         "dense:1:sigmoid"),
        "adamw", "binary_crossentropy", epochs=15, batch_size=64,
        optimizer_kwargs={"weight_decay": 0.1}, group="holdout5", family="bn_mlp",
        seeds=(0, 1, 2),
        note="binary labels, 10 % positive, MLP with BatchNorm, AdamW (weight decay 0.1), "
        "batch 64",
    ),
    Task(
        "heavytail_linear_nadam_huber_b64", "heavytail", ("dense:1:linear",), "nadam", "huber",
        epochs=15, batch_size=64, group="holdout5", family="linear", seeds=(0, 1, 2),
        note="linear regression with Student-t (2 degrees of freedom) noise, one Dense layer, "
        "Huber, Nadam, batch 64",
    ),
    Task(
        "xor10_deep6_lion_b128", "xor10", (*(["dense:48:relu"] * 6), "dense:1:sigmoid"), "lion",
        "binary_crossentropy", epochs=20, batch_size=128, group="holdout5",
        family="deep_plain_mlp", seeds=(0, 1, 2),
        note="the 10-D XOR, 6-layer plain ReLU MLP, Lion, batch 128",
    ),
    Task(
        "bars_cnn_lion", "bars",
        ("conv:16:3:relu", "maxpool:2", "conv:32:3:relu", "flatten", "dense:3:softmax"),
        "lion", "sparse_categorical_crossentropy", epochs=6, group="holdout5", family="cnn",
        seeds=(0, 1, 2),
        note="10x10 images of a horizontal, vertical or diagonal bar in noise, small CNN, Lion",
    ),
    Task(
        "bars_bncnn_adam_b128", "bars",
        ("conv:16:3:linear", "batchnorm", "relu", "maxpool:2", "conv:32:3:linear", "batchnorm",
         "relu", "flatten", "dense:3:softmax"),
        "adam", "sparse_categorical_crossentropy", epochs=15, batch_size=128, group="holdout5",
        family="bn_cnn", seeds=(0, 1, 2),
        note="the bar images, CNN with BatchNorm after each convolution, Adam, batch 128",
    ),
    Task(
        "bars_xception_adagrad", "bars",
        ("randomflip:horizontal", "conv:16:3:linear", "batchnorm", "relu", "xception:32",
         "flatten", "dense:3:softmax"),
        "adagrad", "sparse_categorical_crossentropy", epochs=6, group="holdout5",
        family="residual_cnn", seeds=(0, 1, 2),
        note="the bar images, one Xception-style residual block with RandomFlip inside the "
        "model, Adagrad",
    ),
    Task(
        "recall_lstm_adamw_b64", "recall", ("embedding:16:16", "lstm:32", "dense:4:softmax"),
        "adamw", "sparse_categorical_crossentropy", epochs=15, batch_size=64,
        optimizer_kwargs={"weight_decay": 0.01}, group="holdout5", family="rnn",
        seeds=(0, 1, 2),
        note="delayed recall: the class is the token at the third of 16 positions, fillers "
        "after it; Embedding + LSTM, AdamW, batch 64",
    ),
    Task(
        "negation_transformer_adamax", "negation",
        ("embedding:40:16", "transformer:2:8:32", "gap1d", "dense:1:sigmoid"), "adamax",
        "binary_crossentropy", epochs=8, group="holdout5", family="attention", seeds=(0, 1, 2),
        note="sentiment tokens where a 'not' token flips the next word's polarity, transformer "
        "block, Adamax",
    ),
    Task(
        "negation_embbag_nadam_b128", "negation",
        ("embedding:40:16", "gap1d", "dense:16:relu", "dense:1:sigmoid"), "nadam",
        "binary_crossentropy", epochs=25, batch_size=128, group="holdout5",
        family="embedding_text", seeds=(0, 1, 2),
        note="the negation tokens, bag of embeddings (blind to the order), Nadam, batch 128",
    ),
    Task(
        "diabetes_mlp_adam_b8", "diabetes", ("dense:32:relu", "dense:32:relu", "dense:1:linear"),
        "adam", "mse", epochs=10, batch_size=8, group="holdout5", family="tiny_tabular",
        seeds=(0, 1, 2),
        note="diabetes (342 training samples, standardised), MLP, MSE, Adam, batch 8",
    ),
    Task(
        "poly_raw_mlp_adamax_b64", "poly_raw", (*MLP64, "dense:1:linear"), "adamax", "mse",
        epochs=15, batch_size=64, group="holdout5", family="unnormalised_inputs",
        seeds=(0, 1, 2),
        note="the polynomial regression with its columns on scales from 0.1 to 100, MLP, "
        "MSE, Adamax, batch 64",
    ),
    Task(
        "walk_conv1d_rmsprop_b16", "walk",
        ("conv1d:16:5:relu", "conv1d:32:5:relu", "gmp1d", "dense:1:linear"), "rmsprop", "mse",
        epochs=6, batch_size=16, group="holdout5", family="conv1d", seeds=(0, 1, 2),
        note="two Conv1D layers regressing the maximum of a random walk, MSE, RMSprop, batch 16",
    ),
    Task(
        "imbalanced_lnmlp_rmsprop_b16", "imbalanced",
        ("dense:64:relu", "layernorm", "dense:64:relu", "layernorm", "dense:1:sigmoid"),
        "rmsprop", "binary_crossentropy", epochs=8, batch_size=16, group="holdout5",
        family="ln_mlp", seeds=(0, 1, 2),
        note="the imbalanced binary labels, MLP with LayerNormalization, RMSprop, batch 16",
    ),
    # Holdout 6: defined on 2026-12-07 (eleventh session), after holdout 5 was run once with
    # the rule of commit a4dcbc8 and before any change to that rule; no range test is run on
    # these until the next rule is frozen. Ten new data sets (three overlapping rings; a 2-D
    # sinc; the majority of seven signs; counting dots in images; the frequency of a grating;
    # the position of a sequence's largest number; whether one token outnumbers another; two
    # keywords both present; counting a token; log-normal features on raw scales), and seven
    # of the fifteen tasks train with plain SGD or SGD with momentum (holdout 5 had none).
    Task(
        "majority_logreg_sgd_b16", "majority", ("dense:1:sigmoid",), "sgd",
        "binary_crossentropy", epochs=10, batch_size=16, group="holdout6", family="linear",
        seeds=(0, 1, 2),
        note="the majority of seven signs among fifteen noisy ones, logistic regression, plain "
        "SGD, batch 16",
    ),
    Task(
        "rings3_mlp_tanh_nesterov", "rings3", ("dense:32:tanh", "dense:32:tanh", "dense:3:softmax"),
        "sgd", "sparse_categorical_crossentropy", epochs=10,
        optimizer_kwargs={"momentum": 0.9, "nesterov": True}, group="holdout6",
        family="mlp_classif", seeds=(0, 1, 2),
        note="three overlapping concentric rings, tanh MLP, SGD with Nesterov momentum 0.9",
    ),
    Task(
        "sinc2d_mlp_sgdm_b64", "sinc2d", (*MLP64, "dense:1:linear"), "sgd", "mse", epochs=20,
        batch_size=64, optimizer_kwargs={"momentum": 0.9}, group="holdout6",
        family="mlp_regression", seeds=(0, 1, 2),
        note="a 2-D sinc among four uniform features, MLP, MSE, SGD momentum 0.9, batch 64",
    ),
    Task(
        "rings3_bnmlp_adagrad", "rings3",
        ("dense:64:linear", "batchnorm", "relu", "dense:64:linear", "batchnorm", "relu",
         "dense:3:softmax"),
        "adagrad", "sparse_categorical_crossentropy", epochs=10, group="holdout6",
        family="bn_mlp", seeds=(0, 1, 2),
        note="the rings, MLP with BatchNorm, Adagrad",
    ),
    Task(
        "rings3_deep6_sgdm_b128", "rings3", (*(["dense:48:relu"] * 6), "dense:3:softmax"), "sgd",
        "sparse_categorical_crossentropy", epochs=30, batch_size=128,
        optimizer_kwargs={"momentum": 0.9}, group="holdout6", family="deep_plain_mlp",
        seeds=(0, 1, 2),
        note="the rings, 6-layer plain ReLU MLP, SGD momentum 0.9, batch 128",
    ),
    Task(
        "dots_cnn_sgd", "dots",
        ("conv:16:3:relu", "maxpool:2", "conv:32:3:relu", "flatten", "dense:3:softmax"), "sgd",
        "sparse_categorical_crossentropy", epochs=8, group="holdout6", family="cnn",
        seeds=(0, 1, 2),
        note="counting one to three dots in 10x10 images, small CNN, plain SGD",
    ),
    Task(
        "dots_bncnn_sgdm", "dots",
        ("conv:16:3:linear", "batchnorm", "relu", "maxpool:2", "conv:32:3:linear", "batchnorm",
         "relu", "flatten", "dense:3:softmax"),
        "sgd", "sparse_categorical_crossentropy", epochs=8, optimizer_kwargs={"momentum": 0.9},
        group="holdout6", family="bn_cnn", seeds=(0, 1, 2),
        note="counting dots, CNN with BatchNorm after each convolution, SGD momentum 0.9",
    ),
    Task(
        "stripes_xception_rmsprop", "stripes",
        ("randomflip:horizontal", "conv:16:3:linear", "batchnorm", "relu", "xception:32",
         "flatten", "dense:3:softmax"),
        "rmsprop", "sparse_categorical_crossentropy", epochs=6, group="holdout6",
        family="residual_cnn", seeds=(0, 1, 2),
        note="the frequency of a noisy grating in 12x12 images, one Xception-style residual "
        "block with RandomFlip inside the model, RMSprop",
    ),
    Task(
        "argmax_gru_lion", "argmax", ("gru:32", "dense:10:softmax"), "lion",
        "sparse_categorical_crossentropy", epochs=10, group="holdout6", family="rnn",
        seeds=(0, 1, 2),
        note="the position of the largest of ten numbers, GRU, Lion",
    ),
    Task(
        "tally_transformer_adam_b16", "tally",
        ("embedding:11:16", "transformer:2:8:32", "gap1d", "dense:1:sigmoid"), "adam",
        "binary_crossentropy", epochs=6, batch_size=16, group="holdout6", family="attention",
        seeds=(0, 1, 2),
        note="whether token 1 occurs more often than token 2 among 16, transformer block, "
        "Adam, batch 16",
    ),
    Task(
        "keywords_embbag_adamax_b64", "keywords",
        ("embedding:31:16", "gap1d", "dense:16:relu", "dense:1:sigmoid"), "adamax",
        "binary_crossentropy", epochs=20, batch_size=64, group="holdout6",
        family="embedding_text", seeds=(0, 1, 2),
        note="two keywords both present among 20 tokens, bag of embeddings, Adamax, batch 64",
    ),
    Task(
        "wine_mlp_lion_b16", "wine", ("dense:32:relu", "dense:32:relu", "dense:3:softmax"),
        "lion", "sparse_categorical_crossentropy", epochs=15, batch_size=16, group="holdout6",
        family="tiny_tabular", seeds=(0, 1, 2),
        note="wine (120 training samples, standardised), MLP, Lion, batch 16",
    ),
    Task(
        "skewed_raw_mlp_adam_mae_b64", "skewed_raw", (*MLP64, "dense:1:linear"), "adam", "mae",
        epochs=15, batch_size=64, group="holdout6", family="unnormalised_inputs",
        seeds=(0, 1, 2),
        note="log-normal features on column scales from 1 to 1,000, MLP, MAE, Adam, batch 64",
    ),
    Task(
        "counts_conv1d_sgd", "counts",
        ("embedding:11:8", "conv1d:16:3:relu", "conv1d:16:3:relu", "gap1d", "dense:1:linear"),
        "sgd", "mse", epochs=8, group="holdout6", family="conv1d", seeds=(0, 1, 2),
        note="how many times a token occurs among 24, Embedding + two Conv1D layers, MSE, "
        "plain SGD",
    ),
    Task(
        "sinc2d_lnmlp_adamw_huber_b128", "sinc2d",
        ("dense:64:relu", "layernorm", "dense:64:relu", "layernorm", "dense:1:linear"), "adamw",
        "huber", epochs=25, batch_size=128, optimizer_kwargs={"weight_decay": 0.02},
        group="holdout6", family="ln_mlp", seeds=(0, 1, 2),
        note="the 2-D sinc, MLP with LayerNormalization, Huber, AdamW (weight decay 0.02), "
        "batch 128",
    ),
    # Holdout 7: defined on 2026-12-07 (eleventh session) while holdout 6 was being run once
    # with rule a4dcbc8, before any change to that rule; no range test is run on these until
    # the next rule is frozen. Ten new data sets (three spiral arms; a wave regression, also
    # on raw scales; a blob's width; an edge's direction, also as flat pixels; a
    # texture patch; a sequence's slope; a count difference of two tokens; any of three
    # keywords; a motif in noise), five of the fifteen tasks trained with SGD.
    Task(
        "edges_softmax_sgdm", "edges_flat", ("dense:4:softmax",), "sgd",
        "sparse_categorical_crossentropy", epochs=10, optimizer_kwargs={"momentum": 0.9},
        group="holdout7", family="linear", seeds=(0, 1, 2),
        note="an edge's direction from 100 flat pixels (the bright side always the same), "
        "softmax regression, SGD momentum 0.9",
    ),
    Task(
        "spiral3_mlp_nadam_b128", "spiral3", (*MLP64, "dense:3:softmax"), "nadam",
        "sparse_categorical_crossentropy", epochs=40, batch_size=128, group="holdout7",
        family="mlp_classif", seeds=(0, 1, 2),
        note="three interleaved spiral arms, MLP, Nadam, batch 128",
    ),
    Task(
        "wave_mlp_adamax_mae", "wave", (*MLP64, "dense:1:linear"), "adamax", "mae", epochs=15,
        group="holdout7", family="mlp_regression", seeds=(0, 1, 2),
        note="a wave regression on five features, MLP, MAE, Adamax",
    ),
    Task(
        "spiral3_bnmlp_sgdm", "spiral3",
        ("dense:64:linear", "batchnorm", "relu", "dense:64:linear", "batchnorm", "relu",
         "dense:3:softmax"),
        "sgd", "sparse_categorical_crossentropy", epochs=15, optimizer_kwargs={"momentum": 0.9},
        group="holdout7", family="bn_mlp", seeds=(0, 1, 2),
        note="the spiral arms, MLP with BatchNorm, SGD momentum 0.9",
    ),
    Task(
        "spiral3_deep6_adamw_b64", "spiral3", (*(["dense:48:relu"] * 6), "dense:3:softmax"),
        "adamw", "sparse_categorical_crossentropy", epochs=25, batch_size=64,
        optimizer_kwargs={"weight_decay": 0.05}, group="holdout7", family="deep_plain_mlp",
        seeds=(0, 1, 2),
        note="the spiral arms, 6-layer plain ReLU MLP, AdamW (weight decay 0.05), batch 64",
    ),
    Task(
        "blobsize_cnn_sgd_b64", "blobsize",
        ("conv:16:3:relu", "maxpool:2", "conv:32:3:relu", "flatten", "dense:3:softmax"), "sgd",
        "sparse_categorical_crossentropy", epochs=10, batch_size=64, group="holdout7",
        family="cnn", seeds=(0, 1, 2),
        note="a Gaussian blob's width in 10x10 images, small CNN, plain SGD, batch 64",
    ),
    Task(
        "edges_bncnn_adam", "edges",
        ("conv:16:3:linear", "batchnorm", "relu", "maxpool:2", "conv:32:3:linear", "batchnorm",
         "relu", "flatten", "dense:4:softmax"),
        "adam", "sparse_categorical_crossentropy", epochs=6, group="holdout7", family="bn_cnn",
        seeds=(0, 1, 2),
        note="an edge's direction in 10x10 images, CNN with BatchNorm, Adam",
    ),
    Task(
        "texture_xception_nadam_b64", "texture",
        ("randomflip:horizontal", "conv:16:3:linear", "batchnorm", "relu", "xception:32",
         "flatten", "dense:3:softmax"),
        "nadam", "sparse_categorical_crossentropy", epochs=8, batch_size=64, group="holdout7",
        family="residual_cnn", seeds=(0, 1, 2),
        note="a checkerboard, stripe or noise patch in 12x12 images, one Xception-style "
        "residual block with RandomFlip inside the model, Nadam, batch 64",
    ),
    Task(
        "trend_gru_sgdm_mse", "trend", ("gru:32", "dense:1:linear"), "sgd", "mse", epochs=10,
        optimizer_kwargs={"momentum": 0.9}, group="holdout7", family="rnn", seeds=(0, 1, 2),
        note="the slope of a noisy sequence of twenty numbers, GRU, MSE, SGD momentum 0.9",
    ),
    Task(
        "countdiff_transformer_rmsprop", "countdiff",
        ("embedding:9:16", "transformer:2:8:32", "gap1d", "dense:1:linear"), "rmsprop", "mse",
        epochs=8, group="holdout7", family="attention", seeds=(0, 1, 2),
        note="how often token 1 occurs minus how often token 2 does, plus noise, transformer "
        "block, MSE, RMSprop",
    ),
    Task(
        "anykw_embbag_adagrad", "anykw",
        ("embedding:41:16", "gap1d", "dense:16:relu", "dense:1:sigmoid"), "adagrad",
        "binary_crossentropy", epochs=15, group="holdout7", family="embedding_text",
        seeds=(0, 1, 2),
        note="any of three keywords among 20 tokens, bag of embeddings, Adagrad",
    ),
    Task(
        "iris_mlp_adamw_b16", "iris", ("dense:32:relu", "dense:32:relu", "dense:3:softmax"),
        "adamw", "sparse_categorical_crossentropy", epochs=20, batch_size=16,
        optimizer_kwargs={"weight_decay": 0.02}, group="holdout7", family="tiny_tabular",
        seeds=(0, 1, 2),
        note="iris (100 training samples, standardised), MLP, AdamW (weight decay 0.02), batch 16",
    ),
    Task(
        "wave_raw_mlp_adam", "wave_raw", (*MLP64, "dense:1:linear"), "adam", "mse",
        epochs=15, group="holdout7", family="unnormalised_inputs", seeds=(0, 1, 2),
        note="the wave regression with its columns on scales from 0.01 to 100, MLP, MSE, Adam",
    ),
    Task(
        "motif_conv1d_adam_b64", "motif",
        ("conv1d:16:4:relu", "conv1d:16:3:relu", "gmp1d", "dense:1:sigmoid"), "adam",
        "binary_crossentropy", epochs=10, batch_size=64, group="holdout7", family="conv1d",
        seeds=(0, 1, 2),
        note="a motif hidden in Gaussian noise, two Conv1D layers and global max pooling, "
        "Adam, batch 64",
    ),
    Task(
        "wave_lnmlp_sgd", "wave",
        ("dense:64:relu", "layernorm", "dense:64:relu", "layernorm", "dense:1:linear"), "sgd",
        "mse", epochs=15, group="holdout7", family="ln_mlp", seeds=(0, 1, 2),
        note="the wave regression, MLP with LayerNormalization, MSE, plain SGD",
    ),
    # Holdout 8: defined on 2026-12-07 (twelfth session) after holdout 7 was run once with
    # rule f98848c; no range test is run on these until the next rule is frozen. Ten new
    # data sets (five Gaussian classes in 8-D, also on raw scales; a sparse linear
    # regression; discs, rings and squares in images; pluses, crosses and bars in images;
    # whether a random walk crosses 3; a sum of token values; a noisy sine's frequency;
    # three Gaussian hills; a saddle), five of the fifteen tasks trained with SGD and
    # momentum (where the rule lands high), two with plain SGD.
    Task(
        "ridge50_linear_sgdm", "ridge50", ("dense:1:linear",), "sgd", "mse", epochs=10,
        optimizer_kwargs={"momentum": 0.9}, group="holdout8", family="linear",
        seeds=(0, 1, 2),
        note="a sparse linear regression (50 features, 5 of them used), one Dense layer, "
        "MSE, SGD momentum 0.9",
    ),
    Task(
        "gaussmix5_mlp_lion", "gaussmix5", (*MLP64, "dense:5:softmax"), "lion",
        "sparse_categorical_crossentropy", epochs=15, group="holdout8", family="mlp_classif",
        seeds=(0, 1, 2),
        note="five overlapping Gaussian classes in 8-D, MLP, Lion",
    ),
    Task(
        "hills_mlp_adam_b256", "hills", (*MLP64, "dense:1:linear"), "adam", "mse", epochs=40,
        batch_size=256, group="holdout8", family="mlp_regression", seeds=(0, 1, 2),
        note="three Gaussian hills on four features, MLP, MSE, Adam, batch 256",
    ),
    Task(
        "gaussmix5_bnmlp_sgd", "gaussmix5",
        ("dense:64:linear", "batchnorm", "relu", "dense:64:linear", "batchnorm", "relu",
         "dense:5:softmax"),
        "sgd", "sparse_categorical_crossentropy", epochs=10, group="holdout8", family="bn_mlp",
        seeds=(0, 1, 2),
        note="the Gaussian classes, MLP with BatchNorm, plain SGD",
    ),
    Task(
        "gaussmix5_deep8_tanh_rmsprop", "gaussmix5",
        (*(["dense:32:tanh"] * 8), "dense:5:softmax"), "rmsprop",
        "sparse_categorical_crossentropy", epochs=15, group="holdout8", family="deep_plain_mlp",
        seeds=(0, 1, 2),
        note="the Gaussian classes, 8-layer plain tanh MLP, RMSprop",
    ),
    Task(
        "discs_cnn_sgdm", "discs",
        ("conv:16:3:relu", "maxpool:2", "conv:32:3:relu", "flatten", "dense:3:softmax"), "sgd",
        "sparse_categorical_crossentropy", epochs=8, optimizer_kwargs={"momentum": 0.9},
        group="holdout8", family="cnn", seeds=(0, 1, 2),
        note="a filled disc, a ring or a square outline in 12x12 images, small CNN, SGD "
        "momentum 0.9",
    ),
    Task(
        "crosses_bncnn_sgd_b64", "crosses",
        ("conv:16:3:linear", "batchnorm", "relu", "maxpool:2", "conv:32:3:linear", "batchnorm",
         "relu", "flatten", "dense:3:softmax"),
        "sgd", "sparse_categorical_crossentropy", epochs=12, batch_size=64, group="holdout8",
        family="bn_cnn", seeds=(0, 1, 2),
        note="a plus, a diagonal cross or a bar in 10x10 images, CNN with BatchNorm, plain "
        "SGD, batch 64",
    ),
    Task(
        "discs_xception_adam_b128", "discs",
        ("conv:16:3:linear", "batchnorm", "relu", "xception:32", "flatten", "dense:3:softmax"),
        "adam", "sparse_categorical_crossentropy", epochs=10, batch_size=128, group="holdout8",
        family="residual_cnn", seeds=(0, 1, 2),
        note="the disc, ring and square images, one Xception-style residual block, Adam, "
        "batch 128",
    ),
    Task(
        "crossing_lstm_rmsprop", "crossing", ("lstm:32", "dense:1:sigmoid"), "rmsprop",
        "binary_crossentropy", epochs=10, group="holdout8", family="rnn", seeds=(0, 1, 2),
        note="whether a random walk of twenty Gaussian steps ever rises above 3, LSTM, "
        "RMSprop",
    ),
    Task(
        "tokensum_transformer_adamw", "tokensum",
        ("embedding:13:16", "transformer:2:8:32", "gap1d", "dense:1:linear"), "adamw", "mse",
        epochs=8, group="holdout8", family="attention", seeds=(0, 1, 2),
        note="the sum of twelve tokens' fixed values, plus noise, transformer block, MSE, "
        "AdamW",
    ),
    Task(
        "tokensum_embbag_sgdm_b64", "tokensum",
        ("embedding:13:16", "gap1d", "dense:32:relu", "dense:1:linear"), "sgd", "mse",
        epochs=15, batch_size=64, optimizer_kwargs={"momentum": 0.9}, group="holdout8",
        family="embedding_text", seeds=(0, 1, 2),
        note="the token-value sum, bag of embeddings, MSE, SGD momentum 0.9, batch 64",
    ),
    Task(
        "wine_mlp_adagrad_b4", "wine", ("dense:32:relu", "dense:3:softmax"), "adagrad",
        "sparse_categorical_crossentropy", epochs=15, batch_size=4, group="holdout8",
        family="tiny_tabular", seeds=(0, 1, 2),
        note="wine (120 training samples, standardised), MLP, Adagrad, batch 4",
    ),
    Task(
        "gaussmix5_raw_mlp_adamax", "gaussmix5_raw", (*MLP64, "dense:5:softmax"), "adamax",
        "sparse_categorical_crossentropy", epochs=15, group="holdout8",
        family="unnormalised_inputs", seeds=(0, 1, 2),
        note="the Gaussian classes with columns on scales from 0.01 to 100, MLP, Adamax",
    ),
    Task(
        "freq_conv1d_sgdm", "freq",
        ("conv1d:16:5:relu", "conv1d:16:5:relu", "gap1d", "dense:1:linear"), "sgd", "mse",
        epochs=10, optimizer_kwargs={"momentum": 0.9}, group="holdout8", family="conv1d",
        seeds=(0, 1, 2),
        note="a noisy sine's frequency from 32 samples, two Conv1D layers, MSE, SGD momentum "
        "0.9",
    ),
    Task(
        "saddle_lnmlp_sgdm_b16", "saddle",
        ("dense:64:relu", "layernorm", "dense:64:relu", "layernorm", "dense:1:linear"), "sgd",
        "huber", epochs=10, batch_size=16, optimizer_kwargs={"momentum": 0.9},
        group="holdout8", family="ln_mlp", seeds=(0, 1, 2),
        note="a saddle regression on six features, MLP with LayerNormalization, Huber, SGD "
        "momentum 0.9, batch 16",
    ),
    # Holdout 9 (defined on 2026-12-07 after holdout 8 was run once with rule f98848c,
    # before any range test on it and before the next rule): ten new data sets (four
    # classes from a linear map of 20 features; the parity of three signs among six
    # features; a sum of sines, also on raw column scales; L-shaped corners in four
    # orientations in images; whether a sequence's last five numbers sum above 0; the number of
    # distinct tokens; whether one token follows another; a noisy sequence's median;
    # diabetes again), five of the fifteen trained with SGD and momentum, two with plain
    # SGD, and two optimizers no task has used (Lamb, Adafactor).
    Task(
        "softmax20_linear_sgdm", "softmax20", ("dense:4:softmax",), "sgd",
        "sparse_categorical_crossentropy", epochs=10, optimizer_kwargs={"momentum": 0.9},
        group="holdout9", family="linear", seeds=(0, 1, 2),
        note="four classes from a random linear map of 20 features (Gumbel noise), softmax "
        "regression, SGD momentum 0.9",
    ),
    Task(
        "parity3_mlp_lamb", "parity3_gauss", (*MLP64, "dense:1:sigmoid"), "lamb",
        "binary_crossentropy", epochs=15, group="holdout9", family="mlp_classif",
        seeds=(0, 1, 2),
        note="the parity of three features' signs among six, MLP, Lamb",
    ),
    Task(
        "sinsum_mlp_adafactor", "sinsum", (*MLP64, "dense:1:linear"), "adafactor", "mse",
        epochs=15, group="holdout9", family="mlp_regression", seeds=(0, 1, 2),
        note="a sum of sines of five features plus a product, MLP, MSE, Adafactor",
    ),
    Task(
        "parity3_bnmlp_sgdm_b64", "parity3_gauss",
        ("dense:64:linear", "batchnorm", "relu", "dense:64:linear", "batchnorm", "relu",
         "dense:1:sigmoid"),
        "sgd", "binary_crossentropy", epochs=15, batch_size=64,
        optimizer_kwargs={"momentum": 0.9}, group="holdout9", family="bn_mlp",
        seeds=(0, 1, 2),
        note="the sign parity, MLP with BatchNorm, SGD momentum 0.9, batch 64",
    ),
    Task(
        "sinsum_deep8_sgdm", "sinsum", (*(["dense:32:relu"] * 8), "dense:1:linear"), "sgd",
        "mse", epochs=10, optimizer_kwargs={"momentum": 0.9}, group="holdout9",
        family="deep_plain_mlp", seeds=(0, 1, 2),
        note="the sum of sines, 8-layer plain ReLU MLP, MSE, SGD momentum 0.9",
    ),
    Task(
        "corners_cnn_nadam", "corners",
        ("conv:16:3:relu", "maxpool:2", "conv:32:3:relu", "flatten", "dense:4:softmax"),
        "nadam", "sparse_categorical_crossentropy", epochs=8, group="holdout9", family="cnn",
        seeds=(0, 1, 2),
        note="an L-shaped corner in one of four orientations in 12x12 images, small CNN, "
        "Nadam",
    ),
    Task(
        "corners_bncnn_sgd", "corners",
        ("conv:16:3:linear", "batchnorm", "relu", "maxpool:2", "conv:32:3:linear", "batchnorm",
         "relu", "flatten", "dense:4:softmax"),
        "sgd", "sparse_categorical_crossentropy", epochs=8, group="holdout9", family="bn_cnn",
        seeds=(0, 1, 2),
        note="the corner images, CNN with BatchNorm, plain SGD",
    ),
    Task(
        "corners_xception_adamw", "corners",
        ("conv:16:3:linear", "batchnorm", "relu", "xception:32", "flatten", "dense:4:softmax"),
        "adamw", "sparse_categorical_crossentropy", epochs=12,
        optimizer_kwargs={"weight_decay": 0.05}, group="holdout9", family="residual_cnn",
        seeds=(0, 1, 2),
        note="the corner images, one Xception-style residual block, AdamW with weight decay "
        "0.05",
    ),
    Task(
        "tailsum_gru_adam_b16", "tailsum", ("gru:32", "dense:1:sigmoid"), "adam",
        "binary_crossentropy", epochs=8, batch_size=16, group="holdout9", family="rnn",
        seeds=(0, 1, 2),
        note="whether the last five of fifteen Gaussian numbers sum above 0, GRU, Adam, "
        "batch 16",
    ),
    Task(
        "distinct_transformer_adamax", "distinct",
        ("embedding:11:16", "transformer:2:8:32", "gap1d", "dense:1:linear"), "adamax", "mse",
        epochs=10, group="holdout9", family="attention", seeds=(0, 1, 2),
        note="the number of distinct tokens in ten (ids 1-10), transformer block, MSE, Adamax",
    ),
    Task(
        "bigram_conv1d_adagrad", "bigram",
        ("embedding:9:16", "conv1d:16:2:relu", "gmp1d", "dense:1:sigmoid"), "adagrad",
        "binary_crossentropy", epochs=10, group="holdout9", family="embedding_text",
        seeds=(0, 1, 2),
        note="whether token 3 is directly followed by token 7 (ids 1-8, twenty tokens; 10 % "
        "of labels flipped), Embedding, Conv1D of width 2, max pooling, Adagrad",
    ),
    Task(
        "diabetes_mlp_sgdm_b8", "diabetes", ("dense:32:relu", "dense:1:linear"), "sgd", "mse",
        epochs=15, batch_size=8, optimizer_kwargs={"momentum": 0.9}, group="holdout9",
        family="tiny_tabular", seeds=(0, 1, 2),
        note="diabetes (342 training samples, standardised), MLP, MSE, SGD momentum 0.9, "
        "batch 8",
    ),
    Task(
        "sinsum_raw_mlp_adam_mae", "sinsum_raw", (*MLP64, "dense:1:linear"), "adam", "mae",
        epochs=15, group="holdout9", family="unnormalised_inputs", seeds=(0, 1, 2),
        note="the sum of sines with columns on scales from 0.01 to 100, MLP, MAE, Adam",
    ),
    Task(
        "median_conv1d_sgdm_huber", "median",
        ("conv1d:16:5:relu", "conv1d:16:5:relu", "gap1d", "dense:1:linear"), "sgd", "huber",
        epochs=10, optimizer_kwargs={"momentum": 0.9}, group="holdout9", family="conv1d",
        seeds=(0, 1, 2),
        note="the median of 24 numbers with outliers, two Conv1D layers, Huber, SGD "
        "momentum 0.9",
    ),
    Task(
        "parity3_lnmlp_sgd_b16", "parity3_gauss",
        ("dense:64:relu", "layernorm", "dense:64:relu", "layernorm", "dense:1:sigmoid"), "sgd",
        "binary_crossentropy", epochs=10, batch_size=16, group="holdout9", family="ln_mlp",
        seeds=(0, 1, 2),
        note="the sign parity, MLP with LayerNormalization, plain SGD, batch 16",
    ),
    # Holdout 10 (defined on 2026-12-07 after holdout 9 was run once with rule f690722,
    # before any grid or range test on it and before the next rule): eight new data sets
    # (logistic labels on eight strongly correlated features; whether a point lies outside
    # a circle, in six dimensions; a log-Rosenbrock valley, also on raw column scales;
    # filled squares, outlines and plus signs in noisy images; a sequence's sign changes;
    # the most frequent of five tokens; whether one token outnumbers another) and diabetes
    # again; five trained with SGD and momentum (one Nesterov), two with plain SGD, and
    # batch sizes from 8 to 256.
    Task(
        "corrlogit_linear_sgdm_nesterov", "corrlogit", ("dense:1:sigmoid",), "sgd",
        "binary_crossentropy", epochs=10, optimizer_kwargs={"momentum": 0.9, "nesterov": True},
        group="holdout10", family="linear", seeds=(0, 1, 2),
        note="logistic labels on eight features correlated 0.9, logistic regression, SGD "
        "Nesterov momentum 0.9",
    ),
    Task(
        "annulus_mlp_tanh_adam_b128", "annulus", ("dense:64:tanh", "dense:64:tanh",
                                                   "dense:1:sigmoid"),
        "adam", "binary_crossentropy", epochs=30, batch_size=128, group="holdout10",
        family="mlp_classif", seeds=(0, 1, 2),
        note="whether a point lies outside a circle in two of six Gaussian features (5 % of "
        "labels flipped), tanh MLP, Adam, batch 128",
    ),
    Task(
        "rosen_mlp_sgdm_huber", "rosen", (*MLP64, "dense:1:linear"), "sgd", "huber",
        epochs=15, optimizer_kwargs={"momentum": 0.9}, group="holdout10",
        family="mlp_regression", seeds=(0, 1, 2),
        note="the log of a four-feature Rosenbrock valley (standardised), MLP, Huber, SGD "
        "momentum 0.9",
    ),
    Task(
        "annulus_bnmlp_nadam_b256", "annulus",
        ("dense:64:linear", "batchnorm", "relu", "dense:64:linear", "batchnorm", "relu",
         "dense:1:sigmoid"),
        "nadam", "binary_crossentropy", epochs=40, batch_size=256, group="holdout10",
        family="bn_mlp", seeds=(0, 1, 2),
        note="the circle labels, MLP with BatchNorm, Nadam, batch 256",
    ),
    Task(
        "rosen_deep6_rmsprop", "rosen", (*(["dense:32:relu"] * 6), "dense:1:linear"),
        "rmsprop", "mse", epochs=15, group="holdout10", family="deep_plain_mlp",
        seeds=(0, 1, 2),
        note="the Rosenbrock valley, 6-layer plain ReLU MLP, MSE, RMSprop",
    ),
    Task(
        "frames_cnn_sgdm_b16", "frames",
        ("conv:16:3:relu", "maxpool:2", "conv:32:3:relu", "flatten", "dense:3:softmax"),
        "sgd", "sparse_categorical_crossentropy", epochs=6, batch_size=16,
        optimizer_kwargs={"momentum": 0.9}, group="holdout10", family="cnn", seeds=(0, 1, 2),
        note="a filled square, a square outline or a plus sign in noisy 10x10 images, small "
        "CNN, SGD momentum 0.9, batch 16",
    ),
    Task(
        "frames_bncnn_sgd", "frames",
        ("conv:16:3:linear", "batchnorm", "relu", "maxpool:2", "conv:32:3:linear", "batchnorm",
         "relu", "flatten", "dense:3:softmax"),
        "sgd", "sparse_categorical_crossentropy", epochs=8, group="holdout10", family="bn_cnn",
        seeds=(0, 1, 2),
        note="the frame images, CNN with BatchNorm, plain SGD",
    ),
    Task(
        "frames_xception_lion", "frames",
        ("conv:16:3:linear", "batchnorm", "relu", "xception:32", "flatten", "dense:3:softmax"),
        "lion", "sparse_categorical_crossentropy", epochs=10, group="holdout10",
        family="residual_cnn", seeds=(0, 1, 2),
        note="the frame images, one Xception-style residual block, Lion",
    ),
    Task(
        "signflip_lstm_sgdm", "signflip", ("lstm:32", "dense:1:linear"), "sgd", "mse",
        epochs=10, optimizer_kwargs={"momentum": 0.9}, group="holdout10", family="rnn",
        seeds=(0, 1, 2),
        note="the number of sign changes in sixteen numbers (standardised), LSTM, MSE, SGD "
        "momentum 0.9",
    ),
    Task(
        "mode5_transformer_rmsprop", "mode5",
        ("embedding:6:16", "transformer:2:8:32", "gap1d", "dense:5:softmax"), "rmsprop",
        "sparse_categorical_crossentropy", epochs=10, group="holdout10", family="attention",
        seeds=(0, 1, 2),
        note="the most frequent of five token ids in twelve, transformer block, RMSprop",
    ),
    Task(
        "tokencmp_embbag_sgdm_b64", "tokencmp",
        ("embedding:10:16", "gap1d", "dense:16:relu", "dense:1:sigmoid"), "sgd",
        "binary_crossentropy", epochs=15, batch_size=64, optimizer_kwargs={"momentum": 0.9},
        group="holdout10", family="embedding_text", seeds=(0, 1, 2),
        note="whether token 2 occurs more often than token 5 in sixteen (ids 1-9; 5 % of "
        "labels flipped), bag of embeddings, SGD momentum 0.9, batch 64",
    ),
    Task(
        "diabetes_mlp_lamb_huber_b8", "diabetes", ("dense:32:relu", "dense:1:linear"), "lamb",
        "huber", epochs=15, batch_size=8, group="holdout10", family="tiny_tabular",
        seeds=(0, 1, 2),
        note="diabetes (342 training samples, standardised), MLP, Huber, Lamb, batch 8",
    ),
    Task(
        "rosen_raw_mlp_adagrad", "rosen_raw", (*MLP64, "dense:1:linear"), "adagrad", "mse",
        epochs=15, group="holdout10", family="unnormalised_inputs", seeds=(0, 1, 2),
        note="the Rosenbrock valley with columns on scales from 0.01 to 100, MLP, MSE, Adagrad",
    ),
    Task(
        "signflip_conv1d_adafactor_mae", "signflip",
        ("conv1d:16:2:relu", "conv1d:16:3:relu", "gap1d", "dense:1:linear"), "adafactor", "mae",
        epochs=10, group="holdout10", family="conv1d", seeds=(0, 1, 2),
        note="the sign changes, two Conv1D layers, MAE, Adafactor",
    ),
    Task(
        "annulus_lnmlp_sgd_b256", "annulus",
        ("dense:64:relu", "layernorm", "dense:64:relu", "layernorm", "dense:1:sigmoid"), "sgd",
        "binary_crossentropy", epochs=40, batch_size=256, group="holdout10", family="ln_mlp",
        seeds=(0, 1, 2),
        note="the circle labels, MLP with LayerNormalization, plain SGD, batch 256",
    ),
    # Holdout 11 (defined on 2026-12-08 after holdout 10 was run once with rule f690722,
    # before any grid or range test on it and before the next rule): six new data sets
    # (a heteroscedastic regression with an interaction, also on raw column scales; a 3x3
    # checkerboard in two of six features; a count of blobs in noisy images; where in a
    # sequence its maximum lies; whether tokens' fixed votes sum above 0; Friedman #3 with
    # 220 training rows); four trained with SGD and momentum, two with plain SGD, and
    # batch sizes from 8 to 128.
    Task(
        "hetero_linear_adam_mae", "hetero", ("dense:1:linear",), "adam", "mae", epochs=10,
        group="holdout11", family="linear", seeds=(0, 1, 2),
        note="a heteroscedastic regression (standardised), linear model, MAE, Adam",
    ),
    Task(
        "checker6_mlp_rmsprop_b64", "checker6", (*MLP64, "dense:1:sigmoid"), "rmsprop",
        "binary_crossentropy", epochs=30, batch_size=64, group="holdout11",
        family="mlp_classif", seeds=(0, 1, 2),
        note="a 3x3 checkerboard in two of six features (5 % of labels flipped), MLP, "
        "RMSprop, batch 64",
    ),
    Task(
        "hetero_mlp_sgdm_huber_b16", "hetero", (*MLP64, "dense:1:linear"), "sgd", "huber",
        epochs=10, batch_size=16, optimizer_kwargs={"momentum": 0.9}, group="holdout11",
        family="mlp_regression", seeds=(0, 1, 2),
        note="the heteroscedastic regression, MLP, Huber, SGD momentum 0.9, batch 16",
    ),
    Task(
        "checker6_bnmlp_sgdm", "checker6",
        ("dense:64:linear", "batchnorm", "relu", "dense:64:linear", "batchnorm", "relu",
         "dense:1:sigmoid"),
        "sgd", "binary_crossentropy", epochs=30, optimizer_kwargs={"momentum": 0.9},
        group="holdout11", family="bn_mlp", seeds=(0, 1, 2),
        note="the checkerboard, MLP with BatchNorm, SGD momentum 0.9",
    ),
    Task(
        "checker6_deep8_adamax", "checker6", (*(["dense:32:relu"] * 8), "dense:1:sigmoid"),
        "adamax", "binary_crossentropy", epochs=30, group="holdout11",
        family="deep_plain_mlp", seeds=(0, 1, 2),
        note="the checkerboard, 8-layer plain ReLU MLP, Adamax",
    ),
    Task(
        "blobcount_cnn_adam_b64", "blobcount",
        ("conv:16:3:relu", "maxpool:2", "conv:32:3:relu", "flatten", "dense:3:softmax"),
        "adam", "sparse_categorical_crossentropy", epochs=10, batch_size=64,
        group="holdout11", family="cnn", seeds=(0, 1, 2),
        note="one, two or three Gaussian blobs (the class) in noisy 12x12 images, small CNN, "
        "Adam, batch 64",
    ),
    Task(
        "blobcount_bncnn_sgd_b16", "blobcount",
        ("conv:16:3:linear", "batchnorm", "relu", "maxpool:2", "conv:32:3:linear", "batchnorm",
         "relu", "flatten", "dense:3:softmax"),
        "sgd", "sparse_categorical_crossentropy", epochs=6, batch_size=16, group="holdout11",
        family="bn_cnn", seeds=(0, 1, 2),
        note="the blob images, CNN with BatchNorm, plain SGD, batch 16",
    ),
    Task(
        "blobcount_xception_nadam", "blobcount",
        ("conv:16:3:linear", "batchnorm", "relu", "xception:32", "flatten", "dense:3:softmax"),
        "nadam", "sparse_categorical_crossentropy", epochs=10, group="holdout11",
        family="residual_cnn", seeds=(0, 1, 2),
        note="the blob images, one Xception-style residual block, Nadam",
    ),
    Task(
        "peak_gru_sgdm", "peak", ("gru:32", "dense:4:softmax"), "sgd",
        "sparse_categorical_crossentropy", epochs=10, optimizer_kwargs={"momentum": 0.9},
        group="holdout11", family="rnn", seeds=(0, 1, 2),
        note="which quarter of twenty numbers holds their maximum, GRU, SGD momentum 0.9",
    ),
    Task(
        "tokvote_transformer_adamw", "tokvote",
        ("embedding:10:16", "transformer:2:8:32", "gap1d", "dense:1:sigmoid"), "adamw",
        "binary_crossentropy", epochs=10, optimizer_kwargs={"weight_decay": 0.05},
        group="holdout11", family="attention", seeds=(0, 1, 2),
        note="whether sixteen tokens' fixed votes sum above 0 (5 % of labels flipped), "
        "transformer block, AdamW with weight decay 0.05",
    ),
    Task(
        "tokvote_embconv_adagrad_b64", "tokvote",
        ("embedding:10:16", "conv1d:32:3:relu", "gap1d", "dense:1:sigmoid"), "adagrad",
        "binary_crossentropy", epochs=15, batch_size=64, group="holdout11",
        family="embedding_text", seeds=(0, 1, 2),
        note="the token votes, embedding + Conv1D + global average pooling, Adagrad, batch 64",
    ),
    Task(
        "friedman3tiny_mlp_lion_b8", "friedman3_tiny", ("dense:32:relu", "dense:1:linear"), "lion",
        "mse", epochs=15, batch_size=8, group="holdout11", family="tiny_tabular",
        seeds=(0, 1, 2),
        note="Friedman #3 (220 training samples, standardised), MLP, MSE, Lion, batch 8",
    ),
    Task(
        "hetero_raw_mlp_adam", "hetero_raw", (*MLP64, "dense:1:linear"), "adam", "mse",
        epochs=10, group="holdout11", family="unnormalised_inputs", seeds=(0, 1, 2),
        note="the heteroscedastic regression with columns on scales from 0.01 to 100, MLP, "
        "MSE, Adam",
    ),
    Task(
        "peak_conv1d_sgdm_b128", "peak",
        ("conv1d:16:3:relu", "conv1d:16:3:relu", "gap1d", "dense:4:softmax"), "sgd",
        "sparse_categorical_crossentropy", epochs=30, batch_size=128,
        optimizer_kwargs={"momentum": 0.9}, group="holdout11", family="conv1d",
        seeds=(0, 1, 2),
        note="where the maximum lies, two Conv1D layers, SGD momentum 0.9, batch 128",
    ),
    Task(
        "checker6_lnmlp_sgd", "checker6",
        ("dense:64:relu", "layernorm", "dense:64:relu", "layernorm", "dense:1:sigmoid"), "sgd",
        "binary_crossentropy", epochs=30, group="holdout11", family="ln_mlp", seeds=(0, 1, 2),
        note="the checkerboard, MLP with LayerNormalization, plain SGD",
    ),
)

TASKS_BY_NAME = {task.name: task for task in TASKS}


# ------------------------------------------------------------------------------- data
def _standardise(x: np.ndarray, x_val: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean, std = x.mean(axis=0), x.std(axis=0) + 1e-8
    return (x - mean) / std, (x_val - mean) / std


def _standardise_target(y: np.ndarray, y_val: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean, std = y.mean(), y.std()
    return (y - mean) / std, (y_val - mean) / std


def _split(x: np.ndarray, y: np.ndarray, n_val: int, seed: int = 0) -> Arrays:
    order = np.random.default_rng(seed).permutation(len(x))
    x, y = x[order], y[order]
    return x[n_val:], y[n_val:], x[:n_val], y[:n_val]


def _noisy_labels(y: np.ndarray, fraction: float, n_classes: int, seed: int) -> np.ndarray:
    """``y`` with ``fraction`` of its labels replaced by a different class, at random."""
    rng = np.random.default_rng(seed)
    y = y.copy()
    flip = rng.permutation(len(y))[: round(fraction * len(y))]
    y[flip] = (y[flip] + rng.integers(1, n_classes, len(flip))) % n_classes
    return y


def _spirals(n: int = 2000, noise: float = 0.08, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    half = n // 2
    t = np.sqrt(rng.uniform(0.02, 1.0, half)) * 3 * np.pi  # two turns and a half
    arm = np.stack([t * np.cos(t), t * np.sin(t)], axis=1) / (3 * np.pi)
    x = np.concatenate([arm, -arm]) + rng.normal(0, noise, (2 * half, 2))
    y = np.concatenate([np.zeros(half, int), np.ones(half, int)])
    return x, y


def _tokens(n: int = 1500, length: int = 20, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Token ids 0-19: each position is one of four marker tokens (1-4) with probability 0.3,
    else a filler (5-19); the class is the most frequent marker (the lowest on a tie)."""
    rng = np.random.default_rng(seed)
    marker = rng.uniform(size=(n, length)) < 0.3
    x = np.where(marker, rng.integers(1, 5, (n, length)), rng.integers(5, 20, (n, length)))
    counts = np.stack([(x == k).sum(axis=1) for k in range(1, 5)], axis=1)
    return x, counts.argmax(axis=1)


def _sentiment(n: int = 2000, length: int = 24, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Token ids 1-49: 1-8 are "positive", 9-16 "negative"; label 1 when there are more
    positive than negative words (ties: whichever of the two came first)."""
    rng = np.random.default_rng(seed)
    x = rng.integers(1, 50, (n, length))
    positive, negative = (x <= 8).sum(axis=1), ((x >= 9) & (x <= 16)).sum(axis=1)
    sentiment = (x <= 16)
    first = np.where(sentiment.any(axis=1), x[np.arange(n), sentiment.argmax(axis=1)], 0)
    y = np.where(positive == negative, (first >= 1) & (first <= 8), positive > negative)
    return x, y.astype(int)


def _sine(n: int = 2000, length: int = 30, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Noisy sine waves of 1.5, 2.5, 3.5 or 4.5 cycles over the sequence (the class), random
    phase and amplitude; channels: the value and the position (0 to 1)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, n)
    t = np.arange(length) / length
    cycles = 1.5 + y[:, None]
    phase = rng.uniform(0, 2 * np.pi, (n, 1))
    amplitude = rng.uniform(0.5, 1.5, (n, 1))
    value = amplitude * np.sin(2 * np.pi * cycles * t + phase) + rng.normal(0, 0.4, (n, length))
    x = np.stack([value, np.broadcast_to(t, value.shape)], axis=-1)
    return x, y


def _walk(n: int = 2000, length: int = 20, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random walks (steps N(0, 1)); the target is the walk's maximum, plus noise."""
    rng = np.random.default_rng(seed)
    steps = rng.normal(size=(n, length))
    y = np.cumsum(steps, axis=1).max(axis=1) + rng.normal(0, 0.3, n)
    return steps[..., None], y


def _adding(n: int = 2000, length: int = 25, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The adding problem: values uniform in [0, 1] and a marker channel with two ones; the
    target is the sum of the two marked values."""
    rng = np.random.default_rng(seed)
    values = rng.uniform(size=(n, length))
    marks = np.zeros((n, length))
    for row in range(n):
        marks[row, rng.choice(length, 2, replace=False)] = 1.0
    return np.stack([values, marks], axis=-1), (values * marks).sum(axis=1)


def _shapes(n: int = 2000, size: int = 12, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """12x12 grey images of a filled square (0), a cross (1) or a ring (2), of random size
    and position, in Gaussian noise (SD 0.35)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    rows, cols = np.mgrid[:size, :size]
    x = rng.normal(0, 0.35, (n, size, size))
    for i, shape in enumerate(y):
        r = int(rng.integers(2, 4))
        cy, cx = (int(v) for v in rng.integers(r, size - r, 2))
        dy, dx = rows - cy, cols - cx
        if shape == 0:
            mask = (abs(dy) <= r) & (abs(dx) <= r)
        elif shape == 1:
            mask = ((dy == 0) & (abs(dx) <= r)) | ((dx == 0) & (abs(dy) <= r))
        else:
            dist = np.hypot(dy, dx)
            mask = (dist >= r - 0.7) & (dist <= r + 0.5)
        x[i][mask] += 1.0
    return x[..., None], y


def _checker(n: int = 2500, cells: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Points uniform in [-1, 1]^2, labelled by the colour of a ``cells`` x ``cells``
    checkerboard; 5 % of the labels flipped."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (n, 2))
    cell = np.floor((x + 1) / 2 * cells).clip(0, cells - 1).astype(int)
    y = (cell.sum(axis=1) % 2).astype(int)
    flip = rng.uniform(size=n) < 0.05
    return x, np.where(flip, 1 - y, y)


def _parity3(n: int = 2500, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Points uniform in [-1, 1]^3, labelled 1 when an odd number of coordinates is
    negative; 5 % of the labels flipped."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (n, 3))
    y = ((x < 0).sum(axis=1) % 2).astype(int)
    flip = rng.uniform(size=n) < 0.05
    return x, np.where(flip, 1 - y, y)


def _xor10(n: int = 2500, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Points uniform in [-1, 1]^10, labelled 1 when the first two coordinates have the same
    sign (the other eight are noise); 5 % of the labels flipped."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (n, 10))
    y = (x[:, 0] * x[:, 1] > 0).astype(int)
    flip = rng.uniform(size=n) < 0.05
    return x, np.where(flip, 1 - y, y)


def _poly(n: int = 2500, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Six standard Gaussian features; y = x0 x1 + x2^2 - sin(2 x3 x4) + x5 / 2, plus
    Gaussian noise (SD 0.3)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6))
    y = (x[:, 0] * x[:, 1] + x[:, 2] ** 2 - np.sin(2 * x[:, 3] * x[:, 4]) + x[:, 5] / 2
         + rng.normal(0, 0.3, n))
    return x, y


def _heavytail(n: int = 2500, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Twelve standard Gaussian features, a linear target with weights N(0, 1) plus
    Student-t noise with 2 degrees of freedom (infinite variance)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 12))
    return x, x @ rng.normal(size=12) + rng.standard_t(2, n)


def _bars(n: int = 2000, size: int = 10, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """10x10 grey images of one bar, horizontal (0), vertical (1) or diagonal (2), of length
    4 to 8 at a random place, in Gaussian noise (SD 0.5)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = rng.normal(0, 0.5, (n, size, size))
    for i, kind in enumerate(y):
        length = int(rng.integers(4, 9))
        r, c = (int(v) for v in rng.integers(0, size - length + 1, 2))
        along = np.arange(length)
        fixed = int(rng.integers(0, size))
        if kind == 0:
            x[i, fixed, c + along] += 1.0
        elif kind == 1:
            x[i, r + along, fixed] += 1.0
        else:
            x[i, r + along, c + along] += 1.0
    return x[..., None], y


def _recall(n: int = 2000, length: int = 16, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Token ids 1-15: the third token is one of 1-4 (the class), every other a filler
    (5-15); the model has to carry it through the 13 fillers after it."""
    rng = np.random.default_rng(seed)
    x = rng.integers(5, 16, (n, length))
    y = rng.integers(0, 4, n)
    x[:, 2] = y + 1
    return x, y


def _negation(n: int = 2000, length: int = 20, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Token ids 1-39: 1-6 positive, 7-12 negative, 13 'not' (it flips the polarity of the
    next word), the rest neutral; label 1 when the polarities sum above 0 (a tie: the
    first polar word's, positive when there is none)."""
    rng = np.random.default_rng(seed)
    x = rng.integers(1, 40, (n, length))
    x[rng.uniform(size=(n, length)) < 0.12] = 13
    polarity = np.where(x <= 6, 1, np.where(x <= 12, -1, 0))
    negated = np.concatenate([np.zeros((n, 1), bool), x[:, :-1] == 13], axis=1)
    polarity = np.where(negated, -polarity, polarity)
    score = polarity.sum(axis=1)
    first = np.where(polarity.any(axis=1), polarity[np.arange(n), (polarity != 0).argmax(axis=1)],
                     1)
    return x, np.where(score == 0, first > 0, score > 0).astype(int)


def _rings3(n: int = 2400, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three concentric rings in 2-D (radii 1, 2 and 3, radial noise SD 0.35, so they
    overlap); the class is the ring."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    radius = y + 1.0 + rng.normal(0, 0.35, n)
    angle = rng.uniform(0, 2 * np.pi, n)
    return np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1), y


def _sinc2d(n: int = 2500, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Four features uniform in [-6, 6]; y = sin(r) / r of the first two's radius r (the
    other two are noise), plus Gaussian noise (SD 0.05)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-6, 6, (n, 4))
    r = np.hypot(x[:, 0], x[:, 1]) + 1e-6
    return x, np.sin(r) / r + rng.normal(0, 0.05, n)


def _majority(n: int = 2500, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Fifteen features of +-1 plus Gaussian noise (SD 0.3); label 1 when most of the first
    seven are +1; 5 % of the labels flipped."""
    rng = np.random.default_rng(seed)
    bits = rng.choice([-1.0, 1.0], (n, 15))
    y = (bits[:, :7].sum(axis=1) > 0).astype(int)
    flip = rng.uniform(size=n) < 0.05
    return bits + rng.normal(0, 0.3, (n, 15)), np.where(flip, 1 - y, y)


def _dots(n: int = 2000, size: int = 10, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """10x10 grey images of one, two or three Gaussian dots (SD 0.8 pixels) at random
    places, in Gaussian noise (SD 0.3); the class is the number of dots minus one."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    grid = np.arange(size)
    x = rng.normal(0, 0.3, (n, size, size))
    for i, count in enumerate(y + 1):
        for r, c in rng.uniform(1, size - 2, (count, 2)):
            x[i] += np.exp(-((grid[:, None] - r) ** 2 + (grid[None, :] - c) ** 2) / (2 * 0.8**2))
    return x[..., None], y


def _stripes(n: int = 2000, size: int = 12, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """12x12 grey images of a sine grating at a random orientation and phase, in Gaussian
    noise (SD 1.2); the class is its frequency (0.1, 0.2 or 0.3 cycles a pixel)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    rows, cols = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    theta = rng.uniform(0, np.pi, n)[:, None, None]
    phase = rng.uniform(0, 2 * np.pi, n)[:, None, None]
    freq = (0.1 * (y + 1))[:, None, None]
    x = np.sin(2 * np.pi * freq * (rows * np.cos(theta) + cols * np.sin(theta)) + phase)
    return (x + rng.normal(0, 1.2, x.shape))[..., None], y


def _argmax(n: int = 2000, length: int = 10, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Sequences of ten numbers uniform in [0, 1]; the class is the position of the
    largest."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(size=(n, length))
    return x[..., None], x.argmax(axis=1)


def _tally(n: int = 2000, length: int = 16, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Token ids 1-10; label 1 when token 1 occurs more often than token 2 (a tie: a coin
    toss), a question about the set of tokens, not their order."""
    rng = np.random.default_rng(seed)
    x = rng.integers(1, 11, (n, length))
    ones, twos = (x == 1).sum(axis=1), (x == 2).sum(axis=1)
    return x, np.where(ones == twos, rng.integers(0, 2, n), ones > twos).astype(int)


def _keywords(n: int = 2000, length: int = 20, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Token ids 3-30, with token 1 and token 2 each put in at a random place with
    probability 0.7; label 1 when both are there; 10 % of the labels flipped."""
    rng = np.random.default_rng(seed)
    x = rng.integers(3, 31, (n, length))
    has = rng.uniform(size=(n, 2)) < 0.7
    for token, column in ((1, 0), (2, 1)):
        rows = np.flatnonzero(has[:, column])
        x[rows, rng.integers(0, length, len(rows))] = token
    y = ((x == 1).any(axis=1) & (x == 2).any(axis=1)).astype(int)
    flip = rng.uniform(size=n) < 0.1
    return x, np.where(flip, 1 - y, y)


def _counts(n: int = 2000, length: int = 24, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Token ids 1-10; the target is how many times token 1 occurs (0 to about 8)."""
    rng = np.random.default_rng(seed)
    x = rng.integers(1, 11, (n, length))
    return x, (x == 1).sum(axis=1).astype(float)


def _skewed(n: int = 2500, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Eight log-normal features (sigma 1) times column scales from 1 to 1,000; the target
    is a weighted sum of their square roots on the unit scale plus Gaussian noise (SD 0.3)."""
    rng = np.random.default_rng(seed)
    unit = rng.lognormal(0.0, 1.0, (n, 8))
    y = np.sqrt(unit) @ rng.normal(size=8) + rng.normal(0, 0.3, n)
    return unit * _raw_scales(8, 1.0, 1000.0, seed=4), y


def _spiral3(n: int = 2400, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three interleaved spiral arms in 2-D (one turn and a half each, Gaussian noise SD
    0.06); the class is the arm."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    t = np.sqrt(rng.uniform(0.05, 1.0, n)) * 3 * np.pi
    angle = t + 2 * np.pi * y / 3
    x = np.stack([t * np.cos(angle), t * np.sin(angle)], axis=1) / (3 * np.pi)
    return x + rng.normal(0, 0.06, (n, 2)), y


def _wave(n: int = 2500, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Five features uniform in [-2, 2]; y = sin(3 x0) cos(2 x1) + x2^2 / 2 + x3 / 4 (x4 is
    noise), plus Gaussian noise (SD 0.2)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 2, (n, 5))
    y = (np.sin(3 * x[:, 0]) * np.cos(2 * x[:, 1]) + x[:, 2] ** 2 / 2 + x[:, 3] / 4
         + rng.normal(0, 0.2, n))
    return x, y


def _blobsize(n: int = 2000, size: int = 10, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """10x10 grey images of one Gaussian blob at a random place, in Gaussian noise (SD 0.4);
    the class is its width (SD 0.7, 1.2 or 1.8 pixels), at a random brightness."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    grid = np.arange(size)
    x = rng.normal(0, 0.4, (n, size, size))
    for i, kind in enumerate(y):
        r, c = rng.uniform(2, size - 3, 2)
        width = (0.7, 1.2, 1.8)[kind]
        blob = np.exp(-((grid[:, None] - r) ** 2 + (grid[None, :] - c) ** 2) / (2 * width**2))
        x[i] += rng.uniform(0.8, 1.5) * blob
    return x[..., None], y


def _edges(n: int = 2000, size: int = 10, seed: int = 0, signed: bool = True,
           ) -> tuple[np.ndarray, np.ndarray]:
    """10x10 grey images split by a straight step edge through a random point; the class is
    the edge's direction (0, 45, 90 or 135 degrees, +-10 degrees); Gaussian noise SD 0.8.
    ``signed``: either side may be the bright one (else always the same side)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, n)
    rows, cols = np.meshgrid(np.arange(size) - size / 2, np.arange(size) - size / 2,
                             indexing="ij")
    angle = np.deg2rad(45 * y + rng.uniform(-10, 10, n))[:, None, None]
    offset = rng.uniform(-2, 2, n)[:, None, None]
    sign = rng.choice([-1.0, 1.0] if signed else [1.0], n)[:, None, None]
    x = sign * np.where(rows * np.cos(angle) - cols * np.sin(angle) > offset, 0.5, -0.5)
    return (x + rng.normal(0, 0.8, x.shape))[..., None], y


def _texture(n: int = 2000, size: int = 12, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """12x12 grey images: a 6x6 patch of checkerboard (0), of stripes (1) or of nothing but
    brighter noise (2) at a random place, in Gaussian noise (SD 0.6)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    rows, cols = np.mgrid[:6, :6]
    patterns = {0: np.where((rows + cols) % 2 == 0, 1.0, -1.0),
                1: np.where(cols % 2 == 0, 1.0, -1.0)}
    x = rng.normal(0, 0.6, (n, size, size))
    for i, kind in enumerate(y):
        r, c = (int(v) for v in rng.integers(0, size - 6, 2))
        patch = patterns[int(kind)] if kind < 2 else rng.normal(0, 1.0, (6, 6))
        x[i, r:r + 6, c:c + 6] += (patch if rng.uniform() < 0.5 else patch.T) * 0.8
    return x[..., None], y


def _trend(n: int = 2000, length: int = 20, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Sequences of twenty numbers: a random slope times the position plus a random offset
    and AR(1) noise (SD 0.5); the target is the slope."""
    rng = np.random.default_rng(seed)
    slope = rng.normal(0, 1, n)
    t = np.linspace(-1, 1, length)
    noise = np.zeros((n, length))
    for k in range(length):
        noise[:, k] = 0.6 * noise[:, k - 1] + rng.normal(0, 0.4, n) if k else rng.normal(0, 0.5, n)
    x = slope[:, None] * t + rng.normal(0, 1, (n, 1)) + noise
    return x[..., None], slope


def _countdiff(n: int = 2000, length: int = 16, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Token ids 1-8; the target is how often token 1 occurs minus how often token 2 does,
    plus Gaussian noise (SD 1)."""
    rng = np.random.default_rng(seed)
    x = rng.integers(1, 9, (n, length))
    count = (x == 1).sum(axis=1) - (x == 2).sum(axis=1)
    return x, count + rng.normal(0, 1.0, n)


def _anykw(n: int = 2000, length: int = 20, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Token ids 4-40, with each of the tokens 1, 2 and 3 put in at a random place with
    probability 0.2; label 1 when any of them is there; 10 % of the labels flipped."""
    rng = np.random.default_rng(seed)
    x = rng.integers(4, 41, (n, length))
    for token in (1, 2, 3):
        rows = np.flatnonzero(rng.uniform(size=n) < 0.2)
        x[rows, rng.integers(0, length, len(rows))] = token
    y = np.isin(x, (1, 2, 3)).any(axis=1).astype(int)
    flip = rng.uniform(size=n) < 0.1
    return x, np.where(flip, 1 - y, y)


def _motif(n: int = 2000, length: int = 32, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Sequences of 32 Gaussian numbers (SD 1); in half of them the motif 1.5, -1.5, 1.5,
    -1.5 is added at a random place (label 1)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, (n, length))
    y = rng.integers(0, 2, n)
    starts = rng.integers(0, length - 4, n)
    for i in np.flatnonzero(y):
        x[i, starts[i]:starts[i] + 4] += (1.5, -1.5, 1.5, -1.5)
    return x[..., None], y


def _gaussmix(n: int = 2500, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Five classes in 8-D: each a unit Gaussian around its own centre (centres drawn with
    SD 0.9 per coordinate, so neighbouring classes overlap)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 0.9, (5, 8))
    y = rng.integers(0, 5, n)
    return centres[y] + rng.normal(0, 1, (n, 8)), y


def _ridge50(n: int = 2500, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """50 unit Gaussian features, 5 of them with a weight (SD 1); Gaussian noise SD 1."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, (n, 50))
    w = np.zeros(50)
    w[rng.choice(50, 5, replace=False)] = rng.normal(0, 1, 5)
    return x, x @ w + rng.normal(0, 1, n)


def _discs(n: int = 2000, size: int = 12, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """12x12 grey images in Gaussian noise (SD 0.5) of a filled disc, a ring or a square
    outline (class 0, 1, 2) of random radius (2-4 pixels) and place."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    grid = np.arange(size)
    rows, cols = grid[:, None], grid[None, :]
    x = rng.normal(0, 0.5, (n, size, size))
    for i, kind in enumerate(y):
        radius = rng.uniform(2, 4)
        r, c = rng.uniform(radius, size - 1 - radius, 2)
        distance = np.hypot(rows - r, cols - c)
        chebyshev = np.maximum(abs(rows - r), abs(cols - c))
        shape = ((distance <= radius) if kind == 0 else (abs(distance - radius) < 0.7)
                 if kind == 1 else (abs(chebyshev - radius) < 0.7))
        x[i] += shape
    return x[..., None], y


def _crosses(n: int = 2000, size: int = 10, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """10x10 grey images in Gaussian noise (SD 0.35) of a plus, a diagonal cross or a
    horizontal bar (class 0, 1, 2), arms 2 pixels long, at a random place."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = rng.normal(0, 0.35, (n, size, size))
    arms = np.arange(-2, 3)
    for i, kind in enumerate(y):
        r, c = rng.integers(2, size - 2, 2)
        if kind == 0:
            x[i, r + arms, c] += 1
            x[i, r, c + arms] += 1
        elif kind == 1:
            x[i, r + arms, c + arms] += 1
            x[i, r + arms, c - arms] += 1
        else:
            x[i, r, c + arms] += 1
    return x[..., None], y


def _crossing(n: int = 2000, length: int = 20, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Twenty unit Gaussian steps; label 1 when their running sum ever rises above 3."""
    rng = np.random.default_rng(seed)
    steps = rng.normal(0, 1, (n, length))
    return steps[..., None], (np.cumsum(steps, axis=1).max(axis=1) > 3).astype(int)


def _tokensum(n: int = 2000, length: int = 12, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Token ids 1-12, twelve of them, each id worth a fixed random value (unit Gaussian);
    the target is the sum of the sequence's values, plus Gaussian noise (SD 1)."""
    rng = np.random.default_rng(seed)
    values = rng.normal(0, 1, 13)
    x = rng.integers(1, 13, (n, length))
    return x, values[x].sum(axis=1) + rng.normal(0, 1.0, n)


def _freq(n: int = 2000, length: int = 32, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """32 samples of a sine with a random frequency (1-4 cycles), phase and amplitude
    (0.5-1.5), in Gaussian noise (SD 0.5); the target is the frequency."""
    rng = np.random.default_rng(seed)
    f = rng.uniform(1, 4, n)
    t = np.linspace(0, 1, length, endpoint=False)
    phase = rng.uniform(0, 2 * np.pi, (n, 1))
    x = rng.uniform(0.5, 1.5, (n, 1)) * np.sin(2 * np.pi * f[:, None] * t + phase)
    return (x + rng.normal(0, 0.5, (n, length)))[..., None], f


def _hills(n: int = 2500, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Four features uniform in [-2, 2]; y is the sum of three Gaussian hills (centres in
    [-1.5, 1.5], heights +-1 to 2, width 0.7), plus Gaussian noise (SD 0.1)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 2, (n, 4))
    centres = rng.uniform(-1.5, 1.5, (3, 4))
    heights = rng.uniform(1, 2, 3) * rng.choice((-1, 1), 3)
    squared = ((x[:, None, :] - centres[None]) ** 2).sum(axis=2)
    return x, np.exp(-squared / (2 * 0.7**2)) @ heights + rng.normal(0, 0.1, n)


def _saddle(n: int = 2500, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Six unit Gaussian features; y = x0 x1 + sin(2 x2) - |x3| / 2 (x4, x5 are noise),
    plus Student-t noise (3 degrees of freedom, scale 0.2)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, (n, 6))
    y = x[:, 0] * x[:, 1] + np.sin(2 * x[:, 2]) - abs(x[:, 3]) / 2
    return x, y + 0.2 * rng.standard_t(3, n)


def _softmax20(n: int = 2500, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """20 unit Gaussian features; the class (of four) maximises a random linear map (SD
    0.5) plus Gumbel noise."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, (n, 20))
    logits = x @ rng.normal(0, 0.5, (20, 4)) + rng.gumbel(0, 1, (n, 4))
    return x, logits.argmax(axis=1)


def _parity3_gauss(n: int = 2500, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Six unit Gaussian features; label 1 when an odd number of the first three is
    positive, 10 % of labels flipped."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, (n, 6))
    y = (x[:, :3] > 0).sum(axis=1) % 2
    return x, np.where(rng.random(n) < 0.1, 1 - y, y)


def _sinsum(n: int = 2500, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Five features uniform in [-2, 2]; y = sum of sin(a_k x_k) (a_k in 0.5-2) + x0 x1 / 2,
    plus Gaussian noise (SD 0.2)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 2, (n, 5))
    y = np.sin(x * rng.uniform(0.5, 2, 5)).sum(axis=1) + x[:, 0] * x[:, 1] / 2
    return x, y + rng.normal(0, 0.2, n)


def _corners(n: int = 2000, size: int = 12, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """12x12 grey images in Gaussian noise (SD 0.4) of an L-shaped corner, arms 3 pixels
    long, opening to one of four directions (the class), at a random place."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, n)
    x = rng.normal(0, 0.4, (n, size, size))
    arm = np.arange(4)
    for i, kind in enumerate(y):
        r, c = rng.integers(3, size - 3, 2)
        down, right = (1 if kind in (0, 1) else -1), (1 if kind in (0, 2) else -1)
        x[i, r + down * arm, c] += 1
        x[i, r, c + right * arm] += 1
    return x[..., None], y


def _tailsum(n: int = 2000, length: int = 15, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Fifteen unit Gaussian numbers; label 1 when the last five sum above 0."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, (n, length))
    return x[..., None], (x[:, -5:].sum(axis=1) > 0).astype(int)


def _distinct(n: int = 2000, length: int = 10, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Ten token ids (1-10, each sequence drawn from a random subset of 2-10 of them); the
    target is the number of distinct ids."""
    rng = np.random.default_rng(seed)
    x = np.empty((n, length), dtype=int)
    for i in range(n):
        pool = rng.choice(np.arange(1, 11), rng.integers(2, 11), replace=False)
        x[i] = rng.choice(pool, length)
    return x, np.array([len(set(row)) for row in x], dtype=float)


def _bigram(n: int = 2000, length: int = 20, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Twenty token ids (1-8); label 1 when a 3 is directly followed by a 7, 10 % of labels
    flipped (without the noise the loss falls to 0 at the highest LRs and the regret has
    no scale)."""
    rng = np.random.default_rng(seed)
    x = rng.integers(1, 9, (n, length))
    y = ((x[:, :-1] == 3) & (x[:, 1:] == 7)).any(axis=1).astype(int)
    return x, np.where(rng.random(n) < 0.1, 1 - y, y)


def _median(n: int = 2000, length: int = 24, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """24 Gaussian numbers around a random centre (SD 1), three of them replaced by outliers
    (SD 5 about it); the target is the sequence's median."""
    rng = np.random.default_rng(seed)
    centre = rng.normal(0, 1, (n, 1))
    x = centre + rng.normal(0, 1, (n, length))
    rows = np.arange(n)[:, None]
    x[rows, rng.integers(0, length, (n, 3))] = centre + rng.normal(0, 5, (n, 3))
    return x[..., None], np.median(x, axis=1)


def _corrlogit(n: int = 2500, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Eight Gaussian features correlated 0.9 (a shared factor); labels drawn from a
    logistic model of a random linear map, weights SD 4 (an ill-conditioned logistic
    regression; with SD 1.5 the labels were too noisy to pass `check_tasks`)."""
    rng = np.random.default_rng(seed)
    x = np.sqrt(0.9) * rng.normal(0, 1, (n, 1)) + np.sqrt(0.1) * rng.normal(0, 1, (n, 8))
    logits = x @ rng.normal(0, 4.0, 8)
    return x, (rng.random(n) < 1 / (1 + np.exp(-logits))).astype(int)


def _annulus(n: int = 2500, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Six unit Gaussian features; label 1 when the first two lie outside the circle of the
    median radius (balanced), 5 % of labels flipped."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, (n, 6))
    y = (np.hypot(x[:, 0], x[:, 1]) > np.sqrt(2 * np.log(2))).astype(int)
    return x, np.where(rng.random(n) < 0.05, 1 - y, y)


def _rosen(n: int = 2500, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Four features uniform in [-1.5, 1.5]; y = log(1 + Rosenbrock's valley over them) plus
    Gaussian noise (SD 0.1)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.5, 1.5, (n, 4))
    valley = ((1 - x[:, :-1]) ** 2 + 5 * (x[:, 1:] - x[:, :-1] ** 2) ** 2).sum(axis=1)
    return x, np.log1p(valley) + rng.normal(0, 0.1, n)


def _frames(n: int = 2000, size: int = 10, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """10x10 grey images in Gaussian noise (SD 0.6) of a filled 3x3 square, a 5x5 square's
    outline or a 5x5 plus sign (the class), at a random place."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = rng.normal(0, 0.6, (n, size, size))
    for i, kind in enumerate(y):
        r, c = rng.integers(0, size - 5, 2)
        if kind == 0:
            x[i, r + 1:r + 4, c + 1:c + 4] += 1
        elif kind == 1:
            x[i, r, c:c + 5] += 1
            x[i, r + 4, c:c + 5] += 1
            x[i, r + 1:r + 4, c] += 1
            x[i, r + 1:r + 4, c + 4] += 1
        else:
            x[i, r + 2, c:c + 5] += 1
            x[i, r:r + 5, c + 2] += 1
            x[i, r + 2, c + 2] -= 1
    return x[..., None], y


def _signflip(n: int = 2000, length: int = 16, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Sixteen numbers, Gaussian (SD 1) about a random offset (SD 0.7); the target is how
    often consecutive numbers change sign."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 0.7, (n, 1)) + rng.normal(0, 1, (n, length))
    changes = (np.sign(x[:, 1:]) != np.sign(x[:, :-1])).sum(axis=1)
    return x[..., None], changes.astype(float)


def _mode5(n: int = 2000, length: int = 12, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Twelve token ids (1-5), each sequence drawn from its own random (Dirichlet) mix; the
    class is the most frequent id (ties to the smallest), as 0-4."""
    rng = np.random.default_rng(seed)
    x = np.empty((n, length), dtype=int)
    for i in range(n):
        x[i] = rng.choice(np.arange(1, 6), length, p=rng.dirichlet(np.ones(5)))
    counts = np.stack([(x == k).sum(axis=1) for k in range(1, 6)], axis=1)
    return x, counts.argmax(axis=1)


def _tokencmp(n: int = 2000, length: int = 16, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Sixteen token ids (1-9); label 1 when 2 occurs more often than 5, 5 % of labels
    flipped."""
    rng = np.random.default_rng(seed)
    x = rng.integers(1, 10, (n, length))
    y = ((x == 2).sum(axis=1) > (x == 5).sum(axis=1)).astype(int)
    return x, np.where(rng.random(n) < 0.05, 1 - y, y)


def _hetero(n: int = 2500, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Ten unit Gaussian features; y = a random linear map of the first six plus half the
    product of the first two, plus Gaussian noise whose SD grows with |x_6| (0.2 + 0.5 |x_6|):
    a heteroscedastic regression."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, (n, 10))
    y = x[:, :6] @ rng.normal(0, 1, 6) + 0.5 * x[:, 0] * x[:, 1]
    return x, y + rng.normal(0, 1, n) * (0.2 + 0.5 * np.abs(x[:, 6]))


def _checker6(n: int = 2500, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two features uniform in [-1.5, 1.5] and four unit Gaussian ones; the label is the
    colour of the 3x3 checkerboard square the first two fall in, 5 % flipped."""
    rng = np.random.default_rng(seed)
    x = np.concatenate([rng.uniform(-1.5, 1.5, (n, 2)), rng.normal(0, 1, (n, 4))], axis=1)
    y = (np.floor(x[:, 0] + 1.5) + np.floor(x[:, 1] + 1.5)).astype(int) % 2
    return x, np.where(rng.random(n) < 0.05, 1 - y, y)


def _blobcount(n: int = 2000, size: int = 12, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """12x12 grey images in Gaussian noise (SD 0.5) holding one, two or three Gaussian blobs
    (SD 1 pixel, height 1.5) at random places; the class is their number less one."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    rows, cols = np.mgrid[0:size, 0:size]
    x = rng.normal(0, 0.5, (n, size, size))
    for i, count in enumerate(y + 1):
        for r, c in rng.uniform(1.5, size - 2.5, (count, 2)):
            x[i] += 1.5 * np.exp(-((rows - r) ** 2 + (cols - c) ** 2) / 2)
    return x[..., None], y


def _peak(n: int = 2000, length: int = 20, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Twenty unit Gaussian numbers; the class is the quarter (0-3) holding the largest."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, (n, length))
    return x[..., None], x.argmax(axis=1) // (length // 4)


def _tokvote(n: int = 2000, length: int = 16, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Sixteen token ids (1-9), each id a fixed vote drawn from a unit Gaussian and centred
    (so the classes balance); label 1 when a sequence's votes sum above 0, 5 % flipped."""
    rng = np.random.default_rng(seed)
    votes = rng.normal(0, 1, 9)
    votes = np.concatenate([[0.0], votes - votes.mean()])
    x = rng.integers(1, 10, (n, length))
    y = (votes[x].sum(axis=1) > 0).astype(int)
    return x, np.where(rng.random(n) < 0.05, 1 - y, y)


def _raw_scales(n_features: int, lo: float, hi: float, seed: int) -> np.ndarray:
    """Column scales spread log-uniformly from ``lo`` to ``hi``, in a random column order."""
    return np.random.default_rng(seed).permutation(np.geomspace(lo, hi, n_features))


@cache
def load_data(name: str) -> Arrays:
    """(x, y, x_val, y_val) of a data set, float32 features; deterministic.

    Nothing is downloaded: the digits come from `examples/digits.npz` (or scikit-learn's
    bundled copy), breast cancer, iris, wine and diabetes ship in scikit-learn's wheel, the
    rest is generated with fixed seeds. Token sequences are float32 token ids (an Embedding
    layer casts them); one-hot labels (``*_onehot``) are float32.
    """
    from sklearn import datasets

    if name in ("digits", "digits_noisy", "digits_raw"):
        if DIGITS_NPZ.exists():
            d = np.load(DIGITS_NPZ)
            x, y, x_val, y_val = d["x"], d["y"], d["x_val"], d["y_val"]
        else:  # the recipe of examples/make_example_data.py
            digits = datasets.load_digits()
            x, y, x_val, y_val = _split(digits.data / 16.0, digits.target, 297)
        if name == "digits_noisy":
            y = _noisy_labels(np.asarray(y), 0.25, 10, seed=1)
        if name == "digits_raw":  # the UCI pixel counts 0 to 16, as the data set has them
            x, x_val = np.round(x * 16.0), np.round(x_val * 16.0)
    elif name in ("classif", "classif_noisy"):
        x, y = datasets.make_classification(
            n_samples=2500, n_features=20, n_informative=10, n_redundant=4, n_classes=4,
            class_sep=1.0, flip_y=0.02, random_state=0,
        )
        x, y, x_val, y_val = _split(x, y, 500)
        x, x_val = _standardise(x, x_val)
        if name == "classif_noisy":
            y = _noisy_labels(y, 0.30, 4, seed=1)
    elif name in ("friedman", "friedman_raw"):
        x, y = datasets.make_friedman1(n_samples=2500, n_features=10, noise=1.0, random_state=0)
        x, y, x_val, y_val = _split(x, y, 500)
        if name == "friedman_raw":  # features in [0, 1], scaled to span 1 to 300
            scales = _raw_scales(x.shape[1], 1.0, 300.0, seed=1)
            x, x_val = 1.0 + x * scales, 1.0 + x_val * scales
        else:
            x, x_val = _standardise(x, x_val)
        y, y_val = _standardise_target(y, y_val)
    elif name == "circles":
        x, y = datasets.make_circles(n_samples=2000, noise=0.12, factor=0.6, random_state=0)
        x, y, x_val, y_val = _split(x, y, 500)
        x, x_val = _standardise(x, x_val)
    elif name == "hastie":
        x, y = datasets.make_hastie_10_2(n_samples=2500, random_state=0)
        x, y, x_val, y_val = _split(x, (y > 0).astype(int), 500)
    elif name == "quantiles":
        x, y = datasets.make_gaussian_quantiles(n_samples=2500, n_features=6, n_classes=3,
                                                random_state=0)
        x, y, x_val, y_val = _split(x, y, 500)
    elif name == "multilabel":
        x, y = datasets.make_multilabel_classification(
            n_samples=2500, n_features=20, n_classes=5, n_labels=2, random_state=0)
        x, y, x_val, y_val = _split(x, y.astype(np.float32), 500)
        x, x_val = _standardise(x, x_val)
    elif name == "friedman3":
        x, y = datasets.make_friedman3(n_samples=2500, noise=0.05, random_state=0)
        x, y, x_val, y_val = _split(x, y, 500)
        x, x_val = _standardise(x, x_val)
        y, y_val = _standardise_target(y, y_val)
    elif name == "scurve":
        x, y = datasets.make_s_curve(n_samples=2500, noise=0.05, random_state=0)
        x, y, x_val, y_val = _split(x, y, 500)
        y, y_val = _standardise_target(y, y_val)
    elif name == "sparse_regression":
        x, y = datasets.make_regression(n_samples=2500, n_features=30, n_informative=8,
                                        noise=20.0, random_state=0)
        x, y, x_val, y_val = _split(x, y, 500)
        x, x_val = _standardise(x, x_val)
        y, y_val = _standardise_target(y, y_val)
    elif name in ("blobs", "blobs_raw"):
        x, y = datasets.make_blobs(n_samples=2500, n_features=8, centers=5, cluster_std=3.0,
                                   center_box=(-5.0, 5.0), random_state=0)
        x, y, x_val, y_val = _split(x, y, 500)
        x, x_val = _standardise(x, x_val)
        if name == "blobs_raw":
            scales = _raw_scales(x.shape[1], 0.01, 1000.0, seed=2)
            x, x_val = x * scales, x_val * scales
    elif name == "swissroll":
        x, y = datasets.make_swiss_roll(n_samples=2500, noise=0.3, random_state=0)
        x, y, x_val, y_val = _split(x, y, 500)
        x, x_val = _standardise(x, x_val)
        y, y_val = _standardise_target(y, y_val)
    elif name == "sparse_uncorrelated":
        x, y = datasets.make_sparse_uncorrelated(n_samples=2500, n_features=10, random_state=0)
        x, y, x_val, y_val = _split(x, y, 500)
        y, y_val = _standardise_target(y, y_val)
    elif name == "adding":
        x, y, x_val, y_val = _split(*_adding(), 500)
        y, y_val = _standardise_target(y, y_val)
    elif name == "shapes":
        x, y, x_val, y_val = _split(*_shapes(), 500)
    elif name == "checker":
        x, y, x_val, y_val = _split(*_checker(), 500)
    elif name == "parity3":
        x, y, x_val, y_val = _split(*_parity3(), 500)
    elif name == "friedman2":
        x, y = datasets.make_friedman2(n_samples=2500, noise=50.0, random_state=0)
        x, y, x_val, y_val = _split(x, y, 500)
        x, x_val = _standardise(x, x_val)
        y, y_val = _standardise_target(y, y_val)
    elif name == "xor10":
        x, y, x_val, y_val = _split(*_xor10(), 500)
    elif name in ("poly", "poly_raw"):
        x, y, x_val, y_val = _split(*_poly(), 500)
        y, y_val = _standardise_target(y, y_val)
        if name == "poly_raw":
            scales = _raw_scales(x.shape[1], 0.1, 100.0, seed=3)
            x, x_val = x * scales, x_val * scales
    elif name == "imbalanced":
        x, y = datasets.make_classification(
            n_samples=3000, n_features=16, n_informative=6, n_redundant=2, weights=[0.9],
            flip_y=0.01, class_sep=0.8, random_state=3,
        )
        x, y, x_val, y_val = _split(x, y, 500)
        x, x_val = _standardise(x, x_val)
    elif name == "heavytail":
        x, y, x_val, y_val = _split(*_heavytail(), 500)
    elif name == "bars":
        x, y, x_val, y_val = _split(*_bars(), 500)
    elif name == "recall":
        x, y, x_val, y_val = _split(*_recall(), 500)
    elif name == "negation":
        x, y, x_val, y_val = _split(*_negation(), 500)
    elif name == "rings3":
        x, y, x_val, y_val = _split(*_rings3(), 500)
        x, x_val = _standardise(x, x_val)
    elif name == "sinc2d":
        x, y, x_val, y_val = _split(*_sinc2d(), 500)
        x, x_val = _standardise(x, x_val)
        y, y_val = _standardise_target(y, y_val)
    elif name == "majority":
        x, y, x_val, y_val = _split(*_majority(), 500)
    elif name == "dots":
        x, y, x_val, y_val = _split(*_dots(), 500)
    elif name == "stripes":
        x, y, x_val, y_val = _split(*_stripes(), 500)
    elif name == "argmax":
        x, y, x_val, y_val = _split(*_argmax(), 500)
    elif name == "tally":
        x, y, x_val, y_val = _split(*_tally(), 500)
    elif name == "keywords":
        x, y, x_val, y_val = _split(*_keywords(), 500)
    elif name == "counts":
        x, y, x_val, y_val = _split(*_counts(), 500)
        y, y_val = _standardise_target(y, y_val)
    elif name == "skewed_raw":
        x, y, x_val, y_val = _split(*_skewed(), 500)
        y, y_val = _standardise_target(y, y_val)
    elif name == "spiral3":
        x, y, x_val, y_val = _split(*_spiral3(), 500)
    elif name in ("wave", "wave_raw"):
        x, y, x_val, y_val = _split(*_wave(), 500)
        y, y_val = _standardise_target(y, y_val)
        x, x_val = _standardise(x, x_val)
        if name == "wave_raw":
            scales = _raw_scales(x.shape[1], 0.01, 100.0, seed=5)
            x, x_val = x * scales, x_val * scales
    elif name == "blobsize":
        x, y, x_val, y_val = _split(*_blobsize(), 500)
    elif name == "edges":
        x, y, x_val, y_val = _split(*_edges(), 500)
    elif name == "texture":
        x, y, x_val, y_val = _split(*_texture(), 500)
    elif name == "trend":
        x, y, x_val, y_val = _split(*_trend(), 500)
    elif name == "countdiff":
        x, y, x_val, y_val = _split(*_countdiff(), 500)
        y, y_val = _standardise_target(y, y_val)
    elif name == "anykw":
        x, y, x_val, y_val = _split(*_anykw(), 500)
    elif name in ("gaussmix5", "gaussmix5_raw"):
        x, y, x_val, y_val = _split(*_gaussmix(), 500)
        x, x_val = _standardise(x, x_val)
        if name == "gaussmix5_raw":
            scales = _raw_scales(x.shape[1], 0.01, 100.0, seed=8)
            x, x_val = x * scales, x_val * scales
    elif name in ("ridge50", "hills", "saddle"):
        recipe = {"ridge50": _ridge50, "hills": _hills, "saddle": _saddle}[name]
        x, y, x_val, y_val = _split(*recipe(), 500)
        y, y_val = _standardise_target(y, y_val)
    elif name in ("discs", "crosses", "crossing"):
        recipe = {"discs": _discs, "crosses": _crosses, "crossing": _crossing}[name]
        x, y, x_val, y_val = _split(*recipe(), 500)
    elif name in ("tokensum", "freq"):
        x, y, x_val, y_val = _split(*(_tokensum() if name == "tokensum" else _freq()), 500)
        y, y_val = _standardise_target(y, y_val)
    elif name in ("softmax20", "parity3_gauss", "corners", "tailsum", "bigram"):
        recipe = {"softmax20": _softmax20, "parity3_gauss": _parity3_gauss, "corners": _corners,
                  "tailsum": _tailsum, "bigram": _bigram}[name]
        x, y, x_val, y_val = _split(*recipe(), 500)
    elif name in ("sinsum", "sinsum_raw"):
        x, y, x_val, y_val = _split(*_sinsum(), 500)
        x, x_val = _standardise(x, x_val)
        y, y_val = _standardise_target(y, y_val)
        if name == "sinsum_raw":
            scales = _raw_scales(x.shape[1], 0.01, 100.0, seed=9)
            x, x_val = x * scales, x_val * scales
    elif name in ("distinct", "median"):
        x, y, x_val, y_val = _split(*(_distinct() if name == "distinct" else _median()), 500)
        y, y_val = _standardise_target(y, y_val)
    elif name in ("corrlogit", "annulus", "frames", "mode5", "tokencmp"):
        recipe = {"corrlogit": _corrlogit, "annulus": _annulus, "frames": _frames,
                  "mode5": _mode5, "tokencmp": _tokencmp}[name]
        x, y, x_val, y_val = _split(*recipe(), 500)
    elif name == "signflip":
        x, y, x_val, y_val = _split(*_signflip(), 500)
        y, y_val = _standardise_target(y, y_val)
    elif name in ("hetero", "hetero_raw"):
        x, y, x_val, y_val = _split(*_hetero(), 500)
        y, y_val = _standardise_target(y, y_val)
        if name == "hetero_raw":
            scales = _raw_scales(x.shape[1], 0.01, 100.0, seed=11)
            x, x_val = x * scales, x_val * scales
    elif name in ("checker6", "blobcount", "peak", "tokvote"):
        recipe = {"checker6": _checker6, "blobcount": _blobcount, "peak": _peak,
                  "tokvote": _tokvote}[name]
        x, y, x_val, y_val = _split(*recipe(), 500)
    elif name == "friedman3_tiny":  # 300 rows: 220 to train on, 80 to validate
        x, y = datasets.make_friedman3(n_samples=300, noise=0.1, random_state=11)
        x, y, x_val, y_val = _split(x, y, 80)
        x, x_val = _standardise(x, x_val)
        y, y_val = _standardise_target(y, y_val)
    elif name in ("rosen", "rosen_raw"):
        x, y, x_val, y_val = _split(*_rosen(), 500)
        x, x_val = _standardise(x, x_val)
        y, y_val = _standardise_target(y, y_val)
        if name == "rosen_raw":
            scales = _raw_scales(x.shape[1], 0.01, 100.0, seed=10)
            x, x_val = x * scales, x_val * scales
    elif name == "motif":
        x, y, x_val, y_val = _split(*_motif(), 500)
    elif name == "edges_flat":  # the bright side always the same: a linear model can read it
        x, y, x_val, y_val = _split(*_edges(signed=False), 500)
        x, x_val = x.reshape(len(x), -1), x_val.reshape(len(x_val), -1)
    elif name == "moons":
        x, y = datasets.make_moons(n_samples=2000, noise=0.25, random_state=0)
        x, y, x_val, y_val = _split(x, y, 500)
    elif name in ("cancer", "cancer_noisy", "cancer_raw"):
        bunch = datasets.load_breast_cancer()
        x, y, x_val, y_val = _split(bunch.data, bunch.target, 114)
        if name != "cancer_raw":
            x, x_val = _standardise(x, x_val)
        if name == "cancer_noisy":
            y = _noisy_labels(y, 0.20, 2, seed=1)
    elif name == "spirals":
        x, y, x_val, y_val = _split(*_spirals(), 500)
    elif name == "tokens":
        x, y, x_val, y_val = _split(*_tokens(), 500)
    elif name == "sentiment":
        x, y, x_val, y_val = _split(*_sentiment(), 500)
    elif name == "sine":
        x, y, x_val, y_val = _split(*_sine(), 500)
    elif name == "walk":
        x, y, x_val, y_val = _split(*_walk(), 500)
        y, y_val = _standardise_target(y, y_val)
    elif name == "iris":
        bunch = datasets.load_iris()
        x, y, x_val, y_val = _split(bunch.data, bunch.target, 50)
        x, x_val = _standardise(x, x_val)
    elif name in ("wine", "wine_onehot", "wine_raw"):
        bunch = datasets.load_wine()
        x, y, x_val, y_val = _split(bunch.data, bunch.target, 58)
        if name != "wine_raw":
            x, x_val = _standardise(x, x_val)
        if name == "wine_onehot":
            y, y_val = np.eye(3, dtype=np.float32)[y], np.eye(3, dtype=np.float32)[y_val]
    elif name in ("diabetes", "diabetes_raw"):
        bunch = datasets.load_diabetes(scaled=False)  # raw: age, sex 1/2, bmi, bp, s1-s6
        x, y, x_val, y_val = _split(bunch.data, bunch.target, 100)
        if name == "diabetes":
            x, x_val = _standardise(x, x_val)
            y, y_val = _standardise_target(y, y_val)
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
    if kind == "layernorm":
        return keras.layers.LayerNormalization()
    if kind == "embedding":
        return keras.layers.Embedding(int(args[0]), int(args[1]))
    if kind == "lstm":
        return keras.layers.LSTM(int(args[0]))
    if kind == "gru":
        return keras.layers.GRU(int(args[0]))
    if kind == "bilstm":
        return keras.layers.Bidirectional(keras.layers.LSTM(int(args[0])))
    if kind == "conv1d":
        return keras.layers.Conv1D(int(args[0]), int(args[1]), activation=args[2])
    if kind == "gap1d":
        return keras.layers.GlobalAveragePooling1D()
    if kind == "gmp1d":
        return keras.layers.GlobalMaxPooling1D()
    if kind == "gap2d":
        return keras.layers.GlobalAveragePooling2D()
    if kind == "randomflip":
        return keras.layers.RandomFlip(args[0])
    if kind == "randomtranslation":
        return keras.layers.RandomTranslation(float(args[0]), float(args[0]))
    if kind == "randomrotation":
        return keras.layers.RandomRotation(float(args[0]))
    raise ValueError(f"unknown layer spec {spec!r}")


def xception_block(x: Any, filters: str) -> Any:
    """Xception's middle block, small: ReLU, SeparableConv2D and BatchNorm twice, a stride-2
    max pool, plus a strided 1x1 convolution of the input (the residual add)."""
    import keras
    from keras import layers

    filters_ = int(filters)
    residual = layers.Conv2D(filters_, 1, strides=2, padding="same")(x)
    for _ in range(2):
        x = layers.Activation("relu")(x)
        x = layers.SeparableConv2D(filters_, 3, padding="same")(x)
        x = layers.BatchNormalization()(x)
    x = layers.MaxPooling2D(3, strides=2, padding="same")(x)
    return keras.layers.add([x, residual])


def transformer_block(x: Any, heads: str, key_dim: str, ff: str) -> Any:
    """A post-norm transformer encoder block: self-attention and a ReLU feed-forward layer,
    each with a residual add and LayerNormalization."""
    from keras import layers

    width = x.shape[-1]
    attended = layers.MultiHeadAttention(int(heads), int(key_dim))(x, x)
    x = layers.LayerNormalization()(layers.add([x, attended]))
    hidden = layers.Dense(int(ff), activation="relu")(x)
    return layers.LayerNormalization()(layers.add([x, layers.Dense(width)(hidden)]))


BLOCKS = {"xception": xception_block, "transformer": transformer_block}
BLOCK_SOURCES = {name: source_hash(block) for name, block in BLOCKS.items()}
"""Each block's source hash, read once, at import: ``inspect.getsource`` reads the file as it
is now at the line numbers of the code loaded, so a process that read it after the file was
edited above a block got another hash, and another key for that block's tasks."""
"""Layer specs that are functional blocks: ``NAME:ARG:...`` calls ``BLOCKS[NAME](x, *args)``."""

OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop", "adagrad", "nadam", "adamax", "lion", "lamb",
              "adafactor")


def optimizer_class(name: str) -> Any:
    import keras

    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}")
    return getattr(keras.optimizers, {"adamw": "AdamW", "rmsprop": "RMSprop", "sgd": "SGD"}.get(
        name, name.capitalize()))


def keras_default_lr(task: Task) -> float:
    """The learning rate the task's optimizer has when none is given (Keras's default)."""
    return float(inspect.signature(optimizer_class(task.optimizer)).parameters[
        "learning_rate"].default)


def make_optimizer(task: Task, learning_rate: Any) -> Any:
    """The task's optimizer at a float learning rate or a ``LearningRateSchedule``."""
    if isinstance(learning_rate, (int, float)):
        learning_rate = float(learning_rate)
    return optimizer_class(task.optimizer)(learning_rate=learning_rate, **task.optimizer_kwargs)


def build_model(task: Task, seed: int, learning_rate: Any = 1e-3) -> Any:
    """A freshly initialised, compiled model for ``task`` (weights depend only on ``seed``):
    a ``Sequential`` model, or a functional one when the specs include a block."""
    import keras

    x = load_data(task.data)[0]
    keras.utils.set_random_seed(seed)
    if not any(spec.split(":")[0] in BLOCKS for spec in task.layers):
        model = keras.Sequential(
            [keras.Input(shape=x.shape[1:]), *(_layer(spec) for spec in task.layers)],
            name=task.name,
        )
    else:
        inputs = keras.Input(shape=x.shape[1:])
        outputs = inputs
        for spec in task.layers:
            kind, *args = spec.split(":")
            outputs = BLOCKS[kind](outputs, *args) if kind in BLOCKS else _layer(spec)(outputs)
        model = keras.Model(inputs, outputs, name=task.name)
    model.compile(optimizer=make_optimizer(task, learning_rate), loss=task.loss)
    return model
