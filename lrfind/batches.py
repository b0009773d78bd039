"""The data side of a range test: what the data is, how long, and how it is batched.

Checks of the data against the model (`check_data_fits`, `build_from_first_batch`), batch
counting (`count_batches`), streaming of memory-mapped arrays (`MemmapBatches`), seeded
shuffling where Keras's own pipeline does not repeat (`SeededBatches`), and the cached
validation subset (`cache_validation`).
"""

from __future__ import annotations

import math
import mmap
import os
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np

from lrfind._defaults import (
    DEFAULT_BATCH_SIZE,
    batch_exceeds_data,
    check_positive_int,
    non_finite_problem,
)
from lrfind.messages import first_line


def is_array_data(x: Any) -> bool:
    leaves = keras.tree.flatten(x)
    return bool(leaves) and all(hasattr(leaf, "shape") and hasattr(leaf, "__len__")
                                for leaf in leaves) and not is_dataset(x)


def is_dataset(x: Any) -> bool:
    # A tf.data.Dataset exists only once TensorFlow is imported: asking never imports it
    # (seconds on JAX or torch, in every process of a multi-process run).
    tf = sys.modules.get("tensorflow")
    data = getattr(tf, "data", None)
    return data is not None and isinstance(x, data.Dataset)


def count_batches(x: Any, y: Any, batch_size: int | None) -> int | None:
    """Batches in one pass over the data, or None when that is unknown or infinite; warns
    when ``batch_size`` is above the number of samples (`batch_exceeds_data`)."""
    if isinstance(x, keras.utils.PyDataset):
        n = x.num_batches
        if n is not None and n <= 0:
            raise ValueError("the PyDataset is empty: its __len__ is 0.")
        return n
    if is_dataset(x):
        import tensorflow as tf

        n = int(x.cardinality())
        if n == 0:
            raise ValueError("the tf.data.Dataset is empty: it yields no batches.")
        if n in (tf.data.INFINITE_CARDINALITY, tf.data.UNKNOWN_CARDINALITY):
            return None
        return n
    if isinstance(x, Iterator):
        raise ValueError(
            f"x is a Python {type(x).__name__}, which can be read only once, but each range "
            "test (and each trial of verify) reads the data from its start again; pass "
            "something that can be read again: tf.data.Dataset.from_generator(a function "
            "returning the generator, output_signature=...) or a keras.utils.PyDataset."
        )
    if not is_array_data(x):
        raise ValueError(
            f"unsupported data type {type(x).__name__}: pass NumPy arrays (or lists/dicts "
            "of them), a tf.data.Dataset or a keras.utils.PyDataset."
        )
    lengths = {len(leaf) for leaf in keras.tree.flatten(x)}
    if len(lengths) != 1:
        raise ValueError(f"the inputs have different numbers of samples: {sorted(lengths)}.")
    (n,) = lengths
    if y is not None:
        y_lengths = {len(leaf) for leaf in keras.tree.flatten(y)}
        if y_lengths != {n}:
            raise ValueError(
                f"x has {n} samples but y has {sorted(y_lengths)}: they must be the same "
                "length (one target per sample)."
            )
    if n == 0:
        raise ValueError("the data is empty: x has 0 samples.")
    if batch_size is not None:
        check_positive_int("batch_size", batch_size)
        if note := batch_exceeds_data(batch_size, n):
            warnings.warn(note, stacklevel=3)  # at the caller of find()
    return math.ceil(n / (batch_size or DEFAULT_BATCH_SIZE))


def build_from_first_batch(model: keras.Model, x: Any) -> None:
    """Build a model that has no variables yet by calling it on the data's first batch.

    Its optimizer is built (and its state captured) before the fit starts, which needs the
    model's variables; arrays are handled by `check_data_fits`.
    """
    if model.built or is_array_data(x):
        return
    try:
        batch = x[0] if isinstance(x, keras.utils.PyDataset) else next(iter(x))
        inputs = batch[0] if isinstance(batch, (tuple, list)) else batch
        model(inputs, training=False)
    except Exception as error:
        raise ValueError(
            "the model is not built yet and calling it on the data's first batch failed "
            f"({type(error).__name__}: {first_line(error)}). Give the model "
            "a keras.Input (or call model.build(input_shape)) before the range test."
        ) from error


def check_data_fits(model: keras.Model, x: Any, y: Any, batch_size: int | None) -> None:
    """Run the model on one small batch so a shape mismatch fails early and clearly."""
    if not is_array_data(x):
        return
    check_input_names(model, x)
    sample = keras.tree.map_structure(lambda a: a[: min(2, len(a))], x)
    try:
        model(sample, training=False)
    except Exception as error:
        shapes = keras.tree.map_structure(lambda a: tuple(a.shape), x)
        expected = getattr(model, "input_shape", None) if model.built else None
        raise ValueError(
            f"the data does not fit the model: inputs of shape {shapes} "
            + (f"for a model that expects {expected}" if expected else "")
            + f" ({type(error).__name__}: {first_line(error)}). "
            "Reshape the data or rebuild the model's Input to match."
        ) from error


def check_finite(x: Any, y: Any, sample_weight: Any) -> None:
    """Raise ``ValueError`` when in-memory NumPy data holds NaN or infinite values: their
    loss is NaN at any learning rate, which a range test would otherwise read as a
    divergence. Memory-mapped arrays are not scanned (a full read of data larger than
    memory; the command line scans them)."""
    for part_name, part in (("x", x), ("y", y), ("sample_weight", sample_weight)):
        for path, leaf in keras.tree.flatten_with_path(part):
            if isinstance(leaf, np.ndarray) and not isinstance(leaf, np.memmap):
                name = part_name + "".join(f"[{key!r}]" for key in path)
                problem = non_finite_problem(name, leaf)
                if problem:
                    raise ValueError(problem)


def check_input_names(model: keras.Model, x: Any) -> None:
    """Raise ``ValueError`` when a dict of arrays is keyed otherwise than the model's named
    inputs: which names are missing, which keys are not inputs, and where the names come
    from."""
    if not isinstance(x, dict) or not model.built:
        return
    try:
        structure = model.input  # a dict of inputs is matched by its keys, a list by names
    except (AttributeError, ValueError):  # a subclassed model has no symbolic inputs
        return
    if isinstance(structure, dict):
        names = list(structure)
    elif isinstance(structure, (list, tuple)):
        names = [getattr(tensor, "name", None) for tensor in structure]
    else:
        return
    if None in names or set(x) == set(names):
        return
    missing = [name for name in names if name not in x]
    unexpected = [key for key in x if key not in names]
    raise ValueError(
        f"the data's keys {sorted(map(str, x))} do not match the model's inputs {names}"
        + (f": missing {missing}" if missing else "")
        + (f"{',' if missing else ':'} not inputs {unexpected}" if unexpected else "")
        + ". Key each array by the name of its keras.Input (its name= argument)."
    )


# ------------------------------------------------------------- data larger than memory
def has_memmap(structure: Any) -> bool:
    return any(isinstance(leaf, np.memmap) for leaf in keras.tree.flatten(structure))


def _read_rows(array: Any, part: slice) -> np.ndarray:
    """Rows ``part`` of an array; from a file-backed ``np.memmap``, by a plain file read.

    Touching a memory map maps whole pages, and the kernel maps the cached pages around
    each touched one too, so slicing a memmap batch by batch grows the resident set by
    about a megabyte a batch. A positioned read of just the batch's bytes does not.
    """
    filename = getattr(array, "filename", None)
    row_bytes = array.itemsize * int(np.prod(array.shape[1:], dtype=np.int64))
    # Only a memmap that owns its mapping (not a view of one) has a meaningful `offset`.
    if not filename or not array.flags.c_contiguous or not isinstance(array.base, mmap.mmap):
        return np.array(array[part])
    start, stop, _ = part.indices(len(array))
    if stop <= start:
        return np.empty((0, *array.shape[1:]), dtype=array.dtype)
    # A memmap's offset is where its first row starts in the file.
    with open(filename, "rb") as f:
        buffer = os.pread(f.fileno(), (stop - start) * row_bytes, array.offset + start * row_bytes)
    return np.frombuffer(buffer, dtype=array.dtype).reshape(stop - start, *array.shape[1:])


class MemmapBatches(keras.utils.PyDataset):
    """Batches read on demand from (memory-mapped) arrays, so the data never sits in RAM.

    ``model.fit`` turns NumPy arrays into in-memory tensors; a ``np.load(path,
    mmap_mode="r")`` array of several GB would be copied whole. `LRFinder.find` wraps
    memory-mapped inputs in this dataset: each batch is a contiguous slice (cheap to read
    from disk), and the order of the batches is shuffled each pass.

    Example:

    >>> import numpy as np
    >>> batches = MemmapBatches(np.arange(10.0)[:, None], np.arange(10), batch_size=4,
    ...                         shuffle=False)
    >>> len(batches), batches[0][0].shape
    (3, (4, 1))
    """

    def __init__(
        self,
        x: Any,
        y: Any = None,
        sample_weight: Any = None,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        shuffle: bool = True,
        seed: int | None = None,
    ) -> None:
        super().__init__()
        self.x, self.y, self.sample_weight = x, y, sample_weight
        self.batch_size = int(batch_size)
        self.num_samples = len(keras.tree.flatten(x)[0])
        self.shuffle = shuffle
        self._rng = np.random.default_rng(seed)
        self._order = np.arange(self._order_length())
        self.on_epoch_end()

    def _order_length(self) -> int:
        return len(self)  # the order is over batches

    def __len__(self) -> int:
        return math.ceil(self.num_samples / self.batch_size)

    def __getitem__(self, index: int) -> tuple[Any, ...]:
        start = int(self._order[index]) * self.batch_size
        part = slice(start, start + self.batch_size)
        parts = [p for p in (self.x, self.y, self.sample_weight) if p is not None]
        return tuple(keras.tree.map_structure(lambda a: _read_rows(a, part), p) for p in parts)

    def on_epoch_end(self) -> None:
        if self.shuffle:
            self._rng.shuffle(self._order)


class SeededBatches(MemmapBatches):
    """In-memory arrays in batches, reshuffled sample by sample each pass from a seed.

    Used by `LRFinder.find` for a seeded, shuffled run on the JAX and torch backends, whose
    own array pipelines do not repeat their order under ``keras.utils.set_random_seed``.

    Example:

    >>> import numpy as np
    >>> first = SeededBatches(np.arange(10.0)[:, None], np.arange(10), batch_size=4, seed=0)
    >>> again = SeededBatches(np.arange(10.0)[:, None], np.arange(10), batch_size=4, seed=0)
    >>> bool((first[0][1] == again[0][1]).all()), len(first), first[2][0].shape
    (True, 3, (2, 1))
    """

    def __init__(
        self, x: Any, y: Any = None, sample_weight: Any = None, *,
        batch_size: int = DEFAULT_BATCH_SIZE, seed: int | None = None,
    ) -> None:
        super().__init__(x, y, sample_weight, batch_size=batch_size, shuffle=True, seed=seed)

    def _order_length(self) -> int:
        return self.num_samples  # the order is over samples

    def __getitem__(self, index: int) -> tuple[Any, ...]:
        rows = self._order[index * self.batch_size : (index + 1) * self.batch_size]
        parts = [p for p in (self.x, self.y, self.sample_weight) if p is not None]
        return tuple(
            keras.tree.map_structure(lambda a: np.take(np.asarray(a), rows, axis=0), p)
            for p in parts
        )


@dataclass(frozen=True)
class FitData:
    """What `LRFinder.find` hands to ``model.fit``: the data, possibly re-wrapped."""

    x: Any
    y: Any
    sample_weight: Any
    batch_size: int | None
    shuffle: bool


def prepare_fit_data(
    x: Any, y: Any, sample_weight: Any, *, batch_size: int | None, shuffle: bool,
    seed: int | None, known_length: bool, own_shuffle: bool = False,
) -> FitData:
    """The data as ``model.fit`` should see it for the run.

    Datasets of unknown length are repeated (cycled like any short data); memory-mapped
    arrays are streamed batch by batch (`MemmapBatches`) instead of being copied whole by
    ``fit``; a seeded, shuffled run of arrays on JAX or torch is batched by `SeededBatches`,
    as Keras's own pipelines there shuffle from state that ``set_random_seed`` does not pin,
    and so is one on any backend with ``own_shuffle`` (the seed is lrfind's, not the user's).
    """
    if not known_length and is_dataset(x):
        x = x.repeat()
    arrays = is_array_data(x)
    size = batch_size or DEFAULT_BATCH_SIZE
    if arrays and has_memmap((x, y, sample_weight)):
        x = MemmapBatches(x, y, sample_weight, batch_size=size, shuffle=shuffle, seed=seed)
        y = sample_weight = None
        arrays = False
    elif arrays and shuffle and seed is not None and (
        own_shuffle or keras.backend.backend() != "tensorflow"
    ):
        x = SeededBatches(x, y, sample_weight, batch_size=size, seed=seed)
        y = sample_weight = None
        arrays = False
    return FitData(x, y, sample_weight, batch_size if arrays else None, shuffle and arrays)


# ---------------------------------------------------------------- validation subset
def cache_validation(data: Any, batches: int, batch_size: int) -> list[tuple[Any, Any]]:
    """The validation subset, cached once as a single (x, y) batch.

    It holds the first ``batches * batch_size`` samples of array data, or the first
    ``batches`` batches of a dataset, so one evaluation is one forward pass.
    """
    if isinstance(data, (tuple, list)) and len(data) == 2 and not is_dataset(data):
        x, y = data
        n = len(keras.tree.flatten(x)[0])
        if n == 0:
            raise ValueError("validation_data is empty.")
        return [_slice_batch((x, y), slice(0, min(n, batches * batch_size)))]
    if is_dataset(data):
        taken = [(batch[0], batch[1]) for batch in data.take(batches)]
        if not taken:
            raise ValueError("validation_data is an empty dataset.")
        return [keras.tree.map_structure(
            lambda *parts: np.concatenate([np.asarray(p) for p in parts]), *taken)]
    raise ValueError(
        "validation_data must be an (x_val, y_val) pair of arrays or a tf.data.Dataset "
        f"yielding (x, y) batches, got {type(data).__name__}."
    )


def _slice_batch(structure: Any, part: slice) -> Any:
    return keras.tree.map_structure(lambda array: array[part], structure)


def make_loss_fn(model: keras.Model) -> Any:
    """(x, y) -> the model's compiled loss on that batch, in inference mode."""

    def loss_fn(x: Any, y: Any) -> Any:
        y_pred = model(x, training=False)
        return model.compute_loss(x=x, y=y, y_pred=y_pred, training=False)

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return tf.function(loss_fn, reduce_retracing=True)
    return loss_fn
