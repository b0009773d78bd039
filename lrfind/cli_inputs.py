"""The command line's inputs: check and load the model file and the data it is given.

It reads the files named on the command line (a ``.keras`` model; an ``.npz`` or a folder of
``.npy`` arrays); feeding batches to a range test is `lrfind.batches`'s job. Every problem
raises `InputError` (a ValueError) whose message names the problem and the fix; the command
line prints it and exits with code 2. Only NumPy is imported at module level: Keras (and with
it TensorFlow) is imported by `load_model` and `compile_model` alone, so the cheap checks of
the files and options fail fast.

Example:

>>> import numpy as np, tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> np.savez(folder / "data.npz", x_train=np.ones((4, 2)), y_train=np.zeros(4))
>>> data = load_data(folder / "data.npz")
>>> data.x_key, data.y_key, len(data)
('x_train', 'y_train', 4)
"""

from __future__ import annotations

import importlib
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import keras

X_KEYS = ("x", "x_train")
"""Array names tried, in order, for the inputs when no ``--x-key`` is given."""
Y_KEYS = ("y", "y_train")
"""Array names tried, in order, for the targets when no ``--y-key`` is given."""
DATA_HELP = (
    "an .npz file holding inputs and targets (np.savez('data.npz', x=x, y=y)) or a directory "
    "holding x.npy and y.npy"
)
_SCAN_BYTES = 64 * 2**20  # NaN/Inf scan block: bounded memory for memory-mapped arrays


class InputError(ValueError):
    """A bad input for the command line; the message says what is wrong and how to fix it."""


@dataclass(frozen=True)
class TrainingData:
    """The inputs and targets for a range test, as read from ``source``.

    Arrays from an ``.npz`` are read into memory once; ``.npy`` files in a directory are
    memory-mapped (read-only), so nothing is copied before training needs it.
    """

    x: np.ndarray
    y: np.ndarray
    x_key: str
    y_key: str
    source: Path

    def __len__(self) -> int:
        return len(self.x)


# ------------------------------------------------------------------------------ paths
def _existing_file(path: str | Path, what: str, expected: str) -> Path:
    path = Path(path)
    if not path.exists():
        raise InputError(f"{what} {str(path)!r} does not exist; pass the path of {expected}.")
    if path.is_dir():
        raise InputError(f"{what} {str(path)!r} is a directory, not a file; pass {expected}.")
    return path


def check_model_path(path: str | Path) -> Path:
    """``path`` when it looks like a Keras 3 ``.keras`` archive (no Keras import needed)."""
    expected = "a Keras model saved with model.save('model.keras')"
    path = _existing_file(path, "the model file", expected)
    if path.suffix != ".keras":
        raise InputError(
            f"{str(path)!r} is not a .keras file; lrfind reads Keras 3 models saved with "
            "model.save('model.keras') (re-save an .h5 or SavedModel model that way)."
        )
    if not zipfile.is_zipfile(path):
        raise InputError(
            f"the model file {str(path)!r} is not a valid .keras archive (not a zip file: "
            "corrupt, truncated or another format); save the model again with "
            "model.save('model.keras')."
        )
    with zipfile.ZipFile(path) as archive:
        if "config.json" not in archive.namelist():
            raise InputError(
                f"the model file {str(path)!r} is a zip archive but not a Keras model (it has "
                "no config.json); save the model with model.save('model.keras')."
            )
    return path


def check_output_dir(path: str | Path) -> Path:
    """``path`` when the outputs can be written there; nothing is created yet.

    Probes with a temporary file in the nearest existing folder, so a read-only or missing
    location fails before a run, not after it.
    """
    path = Path(path)
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        where = "is a file" if existing == path else f"is inside {str(existing)!r}, a file"
        raise InputError(
            f"the output directory {str(path)!r} {where}; pass --out a directory "
            "(it is created if missing)."
        )
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as error:
        raise InputError(
            f"cannot write to the output directory {str(path)!r} ({error.strerror or error}); "
            "pass --out a directory you can write to."
        ) from None
    return path


# ------------------------------------------------------------------------------- data
def load_data(
    path: str | Path, *, x_key: str | None = None, y_key: str | None = None
) -> TrainingData:
    """Read and check the inputs and targets in an ``.npz`` file or a folder of ``.npy``.

    The inputs are the array named ``x_key``, else ``x`` or ``x_train``; likewise the
    targets (``y``, ``y_train``). See `check_arrays` for what is checked.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"the data file {str(path)!r} does not exist; pass {DATA_HELP}.")
    if path.is_dir():
        arrays = {p.stem: p for p in sorted(path.glob("*.npy"))}
        if not arrays:
            raise InputError(
                f"the data directory {str(path)!r} holds no .npy files; pass {DATA_HELP}."
            )
        names = list(arrays)
        x_name = _pick_key(path, names, x_key, X_KEYS, "inputs", "--x-key")
        y_name = _pick_key(path, names, y_key, Y_KEYS, "targets", "--y-key")
        x = _read_npy(arrays[x_name])
        y = _read_npy(arrays[y_name])
    else:
        if path.suffix == ".npy":
            raise InputError(
                f"{str(path)!r} is a single .npy array, but lrfind needs inputs and targets: "
                "put x.npy and y.npy in one directory and pass the directory, or save both "
                "with np.savez('data.npz', x=x, y=y)."
            )
        x_name, y_name, x, y = _read_npz(path, x_key, y_key)
    check_arrays(x, y, x_name=x_name, y_name=y_name)
    return TrainingData(x=x, y=y, x_key=x_name, y_key=y_name, source=path)


def _read_npz(
    path: Path, x_key: str | None, y_key: str | None
) -> tuple[str, str, np.ndarray, np.ndarray]:
    if not zipfile.is_zipfile(path):
        raise InputError(
            f"the data file {str(path)!r} is not an .npz archive; pass {DATA_HELP}."
        )
    try:
        with np.load(path, allow_pickle=False) as archive:
            names = list(archive.files)
            x_name = _pick_key(path, names, x_key, X_KEYS, "inputs", "--x-key")
            y_name = _pick_key(path, names, y_key, Y_KEYS, "targets", "--y-key")
            return x_name, y_name, _member(archive, path, x_name), _member(archive, path, y_name)
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        raise InputError(
            f"cannot read the data file {str(path)!r} ({error}); it is corrupt or truncated: "
            "save it again with np.savez."
        ) from None


def _member(archive: Any, path: Path, name: str) -> np.ndarray:
    try:
        return archive[name]
    except ValueError as error:  # pickled (object) arrays are refused by allow_pickle=False
        raise InputError(_object_array_message(f"array {name!r} in {str(path)!r}")) from error


def _read_npy(path: Path) -> np.ndarray:
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as error:
        if "object" in str(error).lower() or "pickle" in str(error).lower():
            raise InputError(_object_array_message(repr(str(path)))) from error
        raise InputError(
            f"cannot read {str(path)!r} as a NumPy array ({error}); save it with np.save."
        ) from error
    except OSError as error:
        raise InputError(f"cannot read {str(path)!r} ({error}); save it with np.save.") from None


def _object_array_message(what: str) -> str:
    return (
        f"{what} holds Python objects (dtype=object), which lrfind does not unpickle; "
        "save numeric arrays, e.g. np.asarray(x, dtype='float32')."
    )


def _pick_key(
    path: Path,
    names: list[str],
    chosen: str | None,
    defaults: tuple[str, ...],
    what: str,
    option: str,
) -> str:
    present = ", ".join(repr(n) for n in names) or "no arrays"
    if chosen is not None:
        if chosen not in names:
            raise InputError(
                f"{str(path)!r} has no array named {chosen!r} (from {option}); it holds "
                f"{present}: pass one of those to {option}."
            )
        return chosen
    for name in defaults:
        if name in names:
            return name
    looked_for = " or ".join(repr(n) for n in defaults)
    raise InputError(
        f"{str(path)!r} has no {what} array: lrfind looks for {looked_for}, and it holds "
        f"{present}; name the {what} with {option} NAME."
    )


def check_arrays(x: np.ndarray, y: np.ndarray, *, x_name: str = "x", y_name: str = "y") -> None:
    """Raise `InputError` unless ``x`` and ``y`` are non-empty numeric arrays, one row per
    sample, of the same length, free of NaN and Inf.

    >>> check_arrays(np.ones((3, 2)), np.array([0, 1, np.nan]))
    Traceback (most recent call last):
    ...
    lrfind.cli_inputs.InputError: y contains 1 NaN or infinite value (the first in sample 2); \
remove or fix those samples: a single NaN makes every later loss NaN.
    """
    for name, array in ((x_name, x), (y_name, y)):
        if array.ndim == 0:
            raise InputError(
                f"{name} is a single number (a 0-d array); it needs one row per sample."
            )
        if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
            raise InputError(
                f"{name} has dtype {array.dtype}, not numbers; convert it, e.g. class labels "
                "to integers with np.unique(labels, return_inverse=True)[1]."
            )
        if len(array) == 0:
            raise InputError(
                f"{name} is empty (0 samples); the range test needs at least one batch of data."
            )
    if len(x) != len(y):
        raise InputError(
            f"{x_name} has {len(x)} samples but {y_name} has {len(y)}; they need one target per "
            "sample (the same first dimension)."
        )
    for name, array in ((x_name, x), (y_name, y)):
        bad, first = _count_non_finite(array)
        if bad:
            values = "value" if bad == 1 else "values"
            raise InputError(
                f"{name} contains {bad} NaN or infinite {values} (the first in sample {first}); "
                "remove or fix those samples: a single NaN makes every later loss NaN."
            )


def _count_non_finite(array: np.ndarray) -> tuple[int, int | None]:
    """(number of NaN/Inf entries, index of the first sample holding one), block by block."""
    if not np.issubdtype(array.dtype, np.inexact):
        return 0, None
    row_bytes = max(1, array[:1].nbytes)
    rows = max(1, _SCAN_BYTES // row_bytes)
    bad, first = 0, None
    for start in range(0, len(array), rows):
        block = ~np.isfinite(array[start : start + rows])
        count = int(np.count_nonzero(block))
        if count and first is None:
            per_row = block.reshape(len(block), -1).any(axis=1)
            first = start + int(np.argmax(per_row))
        bad += count
    return bad, first


# ----------------------------------------------------------------------------- model
def import_modules(names: list[str]) -> None:
    """Import the modules that define (and register) a model's custom objects.

    The current directory is searched first, as ``python -c "import name"`` would.
    """
    if names and "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    for name in names:
        try:
            importlib.import_module(name)
        except Exception as error:
            raise InputError(
                f"cannot import {name!r} (from --import): {type(error).__name__}: {error}; "
                "pass an importable module name (a file my_layers.py is --import my_layers)."
            ) from error


def load_model(path: str | Path, *, unsafe: bool = False) -> keras.Model:
    """Load a ``.keras`` model in Keras's safe mode (``unsafe=True`` turns it off).

    lrfind's schedules are registered first, so models compiled with them load. The file
    is only read.
    """
    path = check_model_path(path)
    import keras

    import lrfind.schedules  # noqa: F401  (registers lrfind's serializable schedules)

    try:
        model = keras.saving.load_model(path, safe_mode=not unsafe)
    except Exception as error:
        raise InputError(_load_error_message(path, error)) from error
    if not isinstance(model, keras.Model):
        raise InputError(
            f"{str(path)!r} holds a {type(model).__name__}, not a keras.Model; save the model "
            "itself with model.save('model.keras')."
        )
    return model


def _load_error_message(path: Path, error: BaseException) -> str:
    chain: list[BaseException] = []
    cause: BaseException | None = error
    while cause is not None and cause not in chain:
        chain.append(cause)
        cause = cause.__cause__ or cause.__context__
    text = " ".join(str(e) for e in chain)
    if "safe_mode" in text or "unsafe_deserialization" in text:
        return (
            f"the model in {str(path)!r} contains Python code (such as a Lambda layer) that "
            "Keras loads only with safe mode off, which can run arbitrary code; if you trust "
            "this file, re-run with --unsafe."
        )
    for e in chain:
        message = str(e)
        if message.startswith("Could not locate"):
            name = message.split("'")[1] if message.count("'") >= 2 else "a custom class"
            return (
                f"the model in {str(path)!r} uses {name!r}, which is not a Keras class and "
                "is not registered; pass --import MODULE naming the module that defines it "
                "(decorated with @keras.saving.register_keras_serializable())."
            )
    first_line = (str(error).strip().splitlines() or [""])[0][:300]
    return (
        f"cannot load the model from {str(path)!r} ({type(error).__name__}: {first_line}); "
        "save it again with Keras 3's model.save('model.keras')."
    )


def check_fits(model: keras.Model, x: np.ndarray, *, x_name: str = "x") -> None:
    """Raise `InputError` when the samples of ``x`` cannot feed a single-input model.

    Follows Keras's own tolerance: a trailing axis of size 1 may be present on one side
    only. Models without symbolic inputs (subclassed) are left to the range test's check.
    """
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):
        return
    if not inputs or len(inputs) != 1:
        return
    expected = tuple(None if d is None else int(d) for d in inputs[0].shape[1:])
    got = tuple(int(d) for d in x.shape[1:])
    if len(got) == len(expected) + 1 and got[-1] == 1:
        got = got[:-1]
    elif len(got) + 1 == len(expected) and expected[-1] == 1:
        expected = expected[:-1]
    fits = len(got) == len(expected) and all(
        e is None or e == g for e, g in zip(expected, got, strict=True)
    )
    if not fits:
        shown = tuple("?" if d is None else d for d in expected)
        raise InputError(
            f"the data does not fit the model: each sample of {x_name} has shape {got}, but "
            f"the model's input takes {shown}; reshape {x_name} (e.g. "
            f"x.reshape(len(x), {', '.join(str(d) for d in shown)})) or pick the right array "
            "with --x-key."
        )


def compile_model(
    model: keras.Model, optimizer: str | None = None, loss: str | None = None
) -> None:
    """Compile ``model`` from ``--optimizer``/``--loss`` when it needs it or they are given.

    A compiled model keeps its saved optimizer or loss for the one not given; an uncompiled
    model needs both.
    """
    compiled = bool(getattr(model, "compiled", False)) and (
        getattr(model, "optimizer", None) is not None
    )
    if optimizer is None and loss is None:
        if not compiled:
            raise InputError(
                "the model was saved without its compile state (no optimizer or loss); pass "
                "both, e.g. --optimizer adam --loss sparse_categorical_crossentropy."
            )
        return
    if not compiled and (optimizer is None or loss is None):
        missing = "--optimizer" if optimizer is None else "--loss"
        raise InputError(
            f"the model is not compiled, so it needs both --optimizer and --loss; add {missing} "
            "(e.g. --optimizer adam --loss mse)."
        )
    import keras

    model.compile(
        optimizer=model.optimizer
        if optimizer is None
        else _keras_object(keras.optimizers.get, optimizer, "optimizer", "sgd, adam, adamw"),
        loss=model.loss
        if loss is None
        else _keras_object(
            keras.losses.get, loss, "loss", "mse, sparse_categorical_crossentropy"
        ),
    )


def _keras_object(get: Any, name: str, kind: str, examples: str) -> Any:
    """``get(name)`` (keras.optimizers.get, keras.losses.get) with a clear error."""
    try:
        return get(name)
    except ValueError:
        raise InputError(
            f"unknown {kind} {name!r} (from --{kind}); use a Keras {kind} name such as "
            f"{examples}."
        ) from None
