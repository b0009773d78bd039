"""The command line's inputs: check and load the model file and the data it is given.

It reads the files named on the command line: a ``.keras`` model; as data an ``.npz`` or a
folder of ``.npy`` arrays, a folder of class sub-folders of images
(``keras.utils.image_dataset_from_directory``) or a CSV table (the standard library's
``csv`` reader; ``--target`` names the label column). `open_data` checks the data before
Keras is imported; `select` then picks the arrays the model takes (by its input and output
names for models with several). Feeding batches to a range test is `lrfind.batches`'s job.
Every problem raises `InputError` (a ValueError) whose message names the problem and the
fix; the command line prints it and exits with code 2. Only NumPy is imported at module
level: Keras (and with it TensorFlow) is imported by the functions that take a model, so the
cheap checks of the files and options fail fast.

Example:

>>> import numpy as np, tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> np.savez(folder / "data.npz", x_train=np.ones((4, 2)), y_train=np.zeros(4))
>>> data = open_data(folder / "data.npz")
>>> data.kind, data.names
('npz', ['x_train', 'y_train'])
"""

from __future__ import annotations

import importlib
import re
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lrfind._defaults import DEFAULT_BATCH_SIZE, IMAGE_SIZE

if TYPE_CHECKING:
    import keras

X_KEYS = ("x", "x_train")
"""Array names tried, in order, for the inputs when no ``--x-key`` is given."""
Y_KEYS = ("y", "y_train")
"""Array names tried, in order, for the targets when no ``--y-key`` is given."""
DATA_HELP = (
    "an .npz file holding inputs and targets (np.savez('data.npz', x=x, y=y)), a directory "
    "holding x.npy and y.npy, a directory of class sub-folders of images, or a .csv table "
    "with --target COLUMN"
)
IMAGE_SUFFIXES = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
"""Image files `keras.utils.image_dataset_from_directory` reads."""
_SCAN_BYTES = 64 * 2**20  # NaN/Inf scan block: bounded memory for memory-mapped arrays


class InputError(ValueError):
    """A bad input for the command line; the message says what is wrong and how to fix it."""


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
@dataclass(frozen=True)
class DataFile:
    """What ``DATA`` holds, read before the model is loaded (`open_data`); `select` then picks
    the model's inputs and targets from it.

    ``kind`` is "npz", "npy" (a folder of ``.npy`` files), "csv" or "images" (a folder of
    class sub-folders). ``names`` are the arrays, the columns of the table, or the classes.
    """

    path: Path
    kind: str
    names: list[str]
    read: Callable[[str], np.ndarray] | None = None
    target: str | None = None
    images: int = 0


def _keys(option: str | None) -> list[str]:
    """``--x-key a,b`` as ``["a", "b"]``; ``[]`` when the option is not given."""
    return [name.strip() for name in (option or "").split(",") if name.strip()]


def open_data(
    path: str | Path, *, x_key: str | None = None, y_key: str | None = None,
    target: str | None = None,
) -> DataFile:
    """Check ``DATA`` without Keras: an ``.npz``, a folder of ``.npy`` arrays (memory-mapped),
    a folder of class sub-folders of images, or a ``.csv`` table (``target`` names its label
    column). Array names given with ``--x-key``/``--y-key`` must be there."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"the data file {str(path)!r} does not exist; pass {DATA_HELP}.")
    if target is not None and path.suffix.lower() != ".csv":
        raise InputError(f"--target names a column of a .csv table, but {str(path)!r} is not "
                         "one; name arrays with --x-key and --y-key instead.")
    if path.is_dir():
        data = _open_directory(path)
    elif path.suffix.lower() == ".csv":
        data = _open_csv(path, target)
    elif path.suffix == ".npy":
        raise InputError(
            f"{str(path)!r} is a single .npy array, but lrfind needs inputs and targets: "
            "put x.npy and y.npy in one directory and pass the directory, or save both "
            "with np.savez('data.npz', x=x, y=y)."
        )
    else:
        data = _open_npz(path)
    if data.kind == "images":
        if x_key or y_key:
            raise InputError(f"{str(path)!r} is a folder of images: its classes are the "
                             "targets, so --x-key and --y-key do not apply.")
        return data
    for option, chosen in (("--x-key", x_key), ("--y-key", y_key)):
        for name in _keys(chosen):
            if name not in data.names:
                raise InputError(
                    f"{str(path)!r} has no {_member_word(data)} named {name!r} (from {option}); "
                    f"it holds {_listing(data.names)}: pass those to {option}."
                )
    return data


def _member_word(data: DataFile) -> str:
    return "column" if data.kind == "csv" else "array"


def _listing(names: list[str]) -> str:
    return ", ".join(repr(n) for n in names) or "no arrays"


def _open_npz(path: Path) -> DataFile:
    if not zipfile.is_zipfile(path):
        raise InputError(f"the data file {str(path)!r} is not an .npz archive; pass {DATA_HELP}.")

    def read(name: str) -> np.ndarray:
        try:
            with np.load(path, allow_pickle=False) as archive:
                return archive[name]
        except ValueError as error:  # pickled (object) arrays are refused by allow_pickle=False
            raise InputError(_object_array_message(f"array {name!r} in {str(path)!r}")) from error
        except (zipfile.BadZipFile, OSError, EOFError) as error:
            raise _corrupt_npz(path, error) from None

    try:
        with np.load(path, allow_pickle=False) as archive:
            names = list(archive.files)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as error:
        raise _corrupt_npz(path, error) from None
    return DataFile(path, "npz", names, read)


def _corrupt_npz(path: Path, error: BaseException) -> InputError:
    return InputError(
        f"cannot read the data file {str(path)!r} ({error}); it is corrupt or truncated: "
        "save it again with np.savez."
    )


def _open_directory(path: Path) -> DataFile:
    arrays = {p.stem: p for p in sorted(path.glob("*.npy"))}
    if arrays:
        return DataFile(path, "npy", list(arrays), lambda name: _read_npy(arrays[name]))
    classes = sorted(p.name for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))
    counts = {c: sum(1 for f in (path / c).rglob("*") if f.suffix.lower() in IMAGE_SUFFIXES)
              for c in classes}
    if classes and any(counts.values()):
        return DataFile(path, "images", [c for c in classes if counts[c]],
                        images=sum(counts.values()))
    raise InputError(
        f"the data directory {str(path)!r} holds neither .npy files nor class sub-folders of "
        f"images ({', '.join(IMAGE_SUFFIXES)}); pass {DATA_HELP}."
    )


def _open_csv(path: Path, target: str | None) -> DataFile:
    """A CSV table, read with the standard library's reader: each numeric column becomes a
    float32 array (an empty cell is NaN, refused later); a text target becomes class indices
    in sorted order of its values."""
    import csv

    try:
        with open(path, newline="", encoding="utf-8-sig") as file:
            rows = list(csv.reader(file))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise InputError(f"cannot read the table {str(path)!r} ({error}); save it as UTF-8 "
                         "CSV with a header row.") from None
    if len(rows) < 2:
        raise InputError(f"the table {str(path)!r} has no data rows; it needs a header row "
                         "and one row per sample.")
    header, body = [name.strip() for name in rows[0]], rows[1:]
    if any(len(row) != len(header) for row in body):
        line = next(i for i, row in enumerate(body, start=2) if len(row) != len(header))
        raise InputError(f"row {line} of {str(path)!r} has a different number of cells than "
                         f"its header ({len(header)}); fix the table.")
    if target is None or target not in header:
        given = "" if target is None else f"has no column {target!r} (from --target); it "
        raise InputError(
            f"the table {str(path)!r} {given or 'needs its label column named: it '}has the "
            f"columns {_listing(header)}; pass --target COLUMN."
        )
    columns: dict[str, np.ndarray] = {}
    for index, name in enumerate(header):
        cells = [row[index].strip() for row in body]
        try:
            columns[name] = np.array([float(c) if c else np.nan for c in cells], "float32")
        except ValueError:
            if name == target:
                columns[name] = np.unique(cells, return_inverse=True)[1].astype("int32")
    if target in columns and np.all(np.mod(columns[target], 1) == 0):
        columns[target] = columns[target].astype("int32")  # class labels
    return DataFile(path, "csv", list(columns), columns.__getitem__, target=target)


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


# ------------------------------------------------------- the model's inputs and outputs
@dataclass(frozen=True)
class Signature:
    """How a model takes its inputs (or gives its outputs): ``structure`` is "dict", "list",
    "single" or "unknown" (a subclassed model); ``names`` the keys or layer names, in order;
    ``shapes`` each one's shape without the batch axis (None where unknown)."""

    structure: str
    names: list[str]
    shapes: list[tuple[int | None, ...] | None]

    def arrange(self, arrays: dict[str, Any]) -> Any:
        """``arrays`` (one per name) in the structure the model takes."""
        if self.structure == "dict":
            return {name: arrays[name] for name in self.names}
        if self.structure == "list":
            return [arrays[name] for name in self.names]
        return arrays[self.names[0]]


def signature(model: keras.Model, side: str) -> Signature:
    """The ``side`` ("inputs" or "outputs") of a functional or Sequential model."""
    try:
        struct = model.input if side == "inputs" else model.output
    except (AttributeError, ValueError):  # a Sequential model is never called: its list
        try:
            struct = model.inputs if side == "inputs" else model.outputs
        except (AttributeError, ValueError):
            struct = None
    if struct is None or (isinstance(struct, (list, tuple, dict)) and not struct):
        return Signature("unknown", [], [])
    if isinstance(struct, dict):
        names, tensors, kind = list(struct), list(struct.values()), "dict"
    elif isinstance(struct, (list, tuple)):
        tensors, kind = list(struct), "list"
        names = _tensor_names(model, tensors, side)
    else:
        tensors, kind = [struct], "single"
        names = _tensor_names(model, tensors, side)
    shapes = [tuple(None if d is None else int(d) for d in t.shape[1:]) for t in tensors]
    return Signature(kind if len(tensors) > 1 or kind == "dict" else "single", names, shapes)


def _tensor_names(model: keras.Model, tensors: list[Any], side: str) -> list[str]:
    outputs = getattr(model, "output_names", None) if side == "outputs" else None
    if outputs and len(outputs) == len(tensors):
        return list(outputs)
    return [getattr(t, "name", f"{side}_{i}") for i, t in enumerate(tensors)]


@dataclass(frozen=True)
class TrainingData:
    """The inputs and targets for a range test, as read from ``source``.

    ``x`` is an array, or a dict or list of arrays for a model with several inputs (``y``
    likewise for several outputs), or a ``tf.data.Dataset`` of (images, labels) (``y`` then
    None). Arrays from an ``.npz`` or a CSV are in memory; ``.npy`` files in a directory are
    memory-mapped (read-only), so nothing is copied before training needs it.
    """

    x: Any
    y: Any
    x_key: str
    y_key: str
    source: Path
    samples: int
    kind: str = "arrays"

    def __len__(self) -> int:
        return self.samples


def select(
    model: keras.Model, data: DataFile, *, x_key: str | None = None, y_key: str | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE, image_size: tuple[int, int] | None = None,
    seed: int | None = None, shuffle: bool = True,
) -> TrainingData:
    """The model's inputs and targets from ``data``, checked against each other and the model.

    Inputs: the arrays named by ``x_key`` (``a,b`` for several), else arrays named after the
    model's inputs when it has several (or names them), else ``x`` or ``x_train`` (for a CSV
    table: every numeric column but the target). Targets likewise, by the model's outputs,
    ``y``/``y_train`` or the table's target.
    """
    if data.kind == "images":
        return _image_data(model, data, batch_size, image_size, seed, shuffle)
    assert data.read is not None
    inputs, outputs = signature(model, "inputs"), signature(model, "outputs")
    x_names, x = _pick(data, inputs, _keys(x_key), X_KEYS, "inputs", "--x-key")
    y_names, y = _pick(data, outputs, _keys(y_key), Y_KEYS, "targets", "--y-key")
    check_structures(x, y, x_names=x_names, y_names=y_names)
    check_fits(model, x, x_name=",".join(x_names))
    samples = len(keras_leaves(x)[0])
    return TrainingData(x, y, ",".join(x_names), ",".join(y_names), data.path, samples, data.kind)


def keras_leaves(structure: Any) -> list[np.ndarray]:
    """The arrays of an array, or a dict or list of them."""
    if isinstance(structure, dict):
        return list(structure.values())
    if isinstance(structure, (list, tuple)):
        return list(structure)
    return [structure]


def _pick(
    data: DataFile, side: Signature, chosen: list[str], defaults: tuple[str, ...],
    what: str, option: str,
) -> tuple[list[str], Any]:
    """The names and the arrays (arranged as the model takes them) of one side: see `select`."""
    read = data.read
    assert read is not None
    named = side.structure in ("dict", "list")
    if chosen:
        arrays = {name: _column(data, read(name)) for name in chosen}
        if len(chosen) == 1:
            return chosen, read(chosen[0])
        if named and sorted(chosen) == sorted(side.names):
            return side.names, side.arrange(arrays)
        if data.kind == "csv":
            return chosen, np.concatenate([arrays[n] for n in chosen], axis=1)
        return chosen, [arrays[n] for n in chosen]
    if data.kind == "csv" and what == "targets" and not named:
        return [str(data.target)], read(str(data.target))
    present = bool(side.names) and all(n in data.names for n in side.names)
    if named and present:
        return side.names, side.arrange({n: _column(data, read(n)) for n in side.names})
    if data.kind != "csv":
        for name in (*defaults, *(side.names if present else ())):
            if name in data.names:
                return [name], read(name)
    elif what == "inputs" and not named:
        columns = [n for n in data.names if n != data.target]
        if columns:
            return columns, np.stack([read(n) for n in columns], axis=1)
    raise InputError(_no_match_message(data, side, defaults, what, option))


def _column(data: DataFile, array: np.ndarray) -> np.ndarray:
    """A CSV column feeds a named input as one feature per sample: shape (n, 1)."""
    return array[:, None] if data.kind == "csv" and array.ndim == 1 else array


def _no_match_message(
    data: DataFile, model_side: Signature, defaults: tuple[str, ...], what: str, option: str
) -> str:
    looked_for = " or ".join(repr(n) for n in defaults)
    model_names = ", ".join(repr(n) for n in model_side.names)
    side = "inputs" if what == "inputs" else "outputs"
    if model_names:
        looked_for += f", or arrays named after the model's {side} ({model_names})"
    several = f"{option} {','.join(model_side.names)}" if len(model_side.names) > 1 else (
        f"{option} NAME")
    return (
        f"{str(data.path)!r} has no {what} array for the model: lrfind looks for {looked_for}, and "
        f"it holds {_listing(data.names)}; name the {what} with {several} (several arrays: "
        f"{option} a,b,c), or save the arrays under the model's {side}' names."
    )


def check_structures(x: Any, y: Any, *, x_names: list[str], y_names: list[str]) -> None:
    """`check_arrays` for inputs and targets that may be dicts or lists of arrays."""
    def named(names: list[str], structure: Any) -> list[tuple[str, Any]]:
        leaves = keras_leaves(structure)
        return list(zip(names if len(names) == len(leaves) else [",".join(names)], leaves,
                        strict=True))

    _check_named(named(x_names, x), named(y_names, y))


def _image_data(
    model: keras.Model, data: DataFile, batch_size: int, image_size: tuple[int, int] | None,
    seed: int | None, shuffle: bool,
) -> TrainingData:
    """A folder of class sub-folders of images, through
    ``keras.utils.image_dataset_from_directory``: the size is ``image_size``, else the
    model's input size, else Keras's default; the colour mode follows the model's channels
    and the label mode its loss."""
    import keras

    inputs = signature(model, "inputs")
    shape = inputs.shapes[0] if inputs.shapes and inputs.structure == "single" else None
    if image_size is None and shape is not None and len(shape) == 3 and None not in shape[:2]:
        image_size = (int(shape[0]), int(shape[1]))  # type: ignore[arg-type]
    channels = shape[2] if shape is not None and len(shape) == 3 else 3
    colour = {1: "grayscale", 4: "rgba"}.get(channels or 3, "rgb")
    label_mode = _label_mode(model, len(data.names))
    try:
        dataset = keras.utils.image_dataset_from_directory(
            data.path, label_mode=label_mode, color_mode=colour, batch_size=batch_size,
            image_size=image_size or IMAGE_SIZE, shuffle=shuffle,
            seed=0 if seed is None else seed, verbose=False,
        )
    except (ValueError, OSError) as error:
        raise InputError(f"cannot read the images in {str(data.path)!r} ({error}); pass a "
                         "directory with one sub-folder of images per class.") from error
    return TrainingData(dataset, None, "images", ",".join(data.names), data.path,
                        len(dataset.file_paths), "images")


def _label_mode(model: keras.Model, classes: int) -> str:
    """Integer labels for a sparse loss, one-hot rows for a categorical one, a 0/1 float for
    a binary one (two classes); integer labels otherwise."""
    loss = getattr(model, "loss", None)
    name = (loss if isinstance(loss, str) else type(loss).__name__).replace("_", "").lower()
    if "sparse" in name:
        return "int"
    if "categorical" in name:
        return "categorical"
    if "binary" in name and classes == 2:
        return "binary"
    return "int"


def check_arrays(x: np.ndarray, y: np.ndarray, *, x_name: str = "x", y_name: str = "y") -> None:
    """Raise `InputError` unless ``x`` and ``y`` are non-empty numeric arrays, one row per
    sample, of the same length, free of NaN and Inf.

    >>> check_arrays(np.ones((3, 2)), np.array([0, 1, np.nan]))
    Traceback (most recent call last):
    ...
    lrfind.cli_inputs.InputError: y contains 1 NaN or infinite value (the first in sample 2); \
remove or fix those samples: a single NaN makes every later loss NaN.
    """
    _check_named([(x_name, x)], [(y_name, y)])


def _check_named(inputs: list[tuple[str, Any]], targets: list[tuple[str, Any]]) -> None:
    named = [*inputs, *targets]
    for name, array in named:
        if not isinstance(array, np.ndarray) or array.ndim == 0:
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
    first_name, first = named[0]
    for name, array in named[1:]:
        if len(array) != len(first):
            need = ("one target per sample" if (name, array) in targets
                    else "one row per sample")
            raise InputError(
                f"{first_name} has {len(first)} samples but {name} has {len(array)}; they "
                f"need {need} (the same first dimension)."
            )
    for name, array in named:
        bad, first_bad = _count_non_finite(array)
        if bad:
            values = "value" if bad == 1 else "values"
            raise InputError(
                f"{name} contains {bad} NaN or infinite {values} (the first in sample "
                f"{first_bad}); remove or fix those samples: a single NaN makes every later "
                "loss NaN."
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


def check_fits(model: keras.Model, x: Any, *, x_name: str = "x") -> None:
    """Raise `InputError` when the samples of ``x`` (an array, or a dict or list of them for
    a model with several inputs) cannot feed the model's inputs.

    Follows Keras's own tolerance: a trailing axis of size 1 may be present on one side
    only. Models without symbolic inputs (subclassed) are left to the range test's check.
    """
    inputs = signature(model, "inputs")
    if inputs.structure == "unknown":
        return
    if isinstance(x, dict):
        pairs = [(name, x.get(name), shape) for name, shape in zip(
            inputs.names, inputs.shapes, strict=True)]
    elif isinstance(x, (list, tuple)):
        if len(x) != len(inputs.names):
            raise InputError(
                f"the model takes {len(inputs.names)} inputs ({_listing(inputs.names)}) but "
                f"--x-key names {len(x)} arrays ({x_name}); name one array per input."
            )
        pairs = [(name, array, shape) for name, array, shape in zip(
            x_name.split(","), x, inputs.shapes, strict=True)]
    elif len(inputs.names) != 1:
        raise InputError(
            f"the model takes {len(inputs.names)} inputs ({_listing(inputs.names)}) but the data "
            f"gives one array ({x_name}); save one array per input under the input's name, or "
            f"name them with --x-key {','.join(inputs.names)}."
        )
    else:
        pairs = [(x_name, x, inputs.shapes[0])]
    for name, array, shape in pairs:
        if array is not None and shape is not None:
            _check_shape(name, array, shape, several=len(pairs) > 1)


def _check_shape(name: str, array: np.ndarray, expected: tuple[int | None, ...],
                 several: bool) -> None:
    got = tuple(int(d) for d in array.shape[1:])
    if len(got) == len(expected) + 1 and got[-1] == 1:
        got = got[:-1]
    elif len(got) + 1 == len(expected) and expected[-1] == 1:
        expected = expected[:-1]
    fits = len(got) == len(expected) and all(
        e is None or e == g for e, g in zip(expected, got, strict=True)
    )
    if not fits:
        shown = tuple("?" if d is None else d for d in expected)
        which = f"input {name!r}" if several else "input"
        raise InputError(
            f"the data does not fit the model: each sample of {name} has shape {got}, but "
            f"the model's {which} takes {shown}; reshape {name} (e.g. "
            f"{name}.reshape(len({name}), {', '.join(str(d) for d in shown)})) or pick the "
            "right array with --x-key."
        )


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


def exception_chain(error: BaseException) -> list[BaseException]:
    """``error`` and what caused it (``raise ... from``, or raised while handling), outermost
    first: the last is the deepest cause."""
    chain: list[BaseException] = []
    cause: BaseException | None = error
    while cause is not None and cause not in chain:
        chain.append(cause)
        cause = cause.__cause__ or cause.__context__
    return chain


def own_words(error: BaseException) -> str:
    """An exception's message as one line: no terminal colours, at most 300 characters."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(error)).strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return f"{type(error).__name__}: {(lines[0] if lines else '')[:300]}"


_LAMBDA_CODE = (
    "a Lambda's function is saved as bytecode without the module around it, so names it "
    "uses from that module (such as keras or numpy) are undefined when it is loaded: import "
    "them inside the function, or write a registered custom layer instead of the Lambda"
)


_MISSING_NAME = (NameError, AttributeError)
"""What a Lambda's function raises when a name of its module is missing after loading (its
globals are Keras's: ``keras`` may be undefined, or something else)."""


def _load_error_message(path: Path, error: BaseException) -> str:
    chain = exception_chain(error)
    deepest = chain[-1]
    text = " ".join(str(e) for e in chain)
    where = f"cannot load the model from {str(path)!r}"
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
    shape = next((e for e in chain if "infer the shape of the Lambda" in str(e)), None)
    if shape is not None:
        inner = f" ({own_words(deepest)})" if deepest is not shape else ""
        fix = f"; {_LAMBDA_CODE}" if isinstance(deepest, _MISSING_NAME) else ""
        return (
            f"{where}: Keras could not infer the output shape of a Lambda layer{inner}; build "
            f"the Lambda with output_shape=... and save the model again{fix}."
        )
    if isinstance(deepest, TypeError) and "unexpected keyword argument" in str(deepest):
        return (
            f"{where}: {own_words(deepest)}. Keras passes a layer's saved config (name, "
            "trainable, dtype, ...) to its __init__: make the class's __init__ accept "
            "**kwargs and pass them to super().__init__(**kwargs); the file then loads as "
            "it is."
        )
    if isinstance(deepest, NameError):
        return f"{where}: {own_words(deepest)}; {_LAMBDA_CODE}."
    return (
        f"{where}: {own_words(deepest)}. If the model has custom classes, pass --import "
        "MODULE; if it was saved by an older Keras, save it again with Keras 3's "
        "model.save('model.keras') (--debug shows the traceback)."
    )


def probe_model(model: keras.Model, x: Any) -> None:
    """Call the model on two samples of ``x`` (arrays), so that its own code failing, or the
    data not fitting it, is reported with the deepest cause before the range test starts."""
    if isinstance(x, dict):
        sample: Any = {name: array[:2] for name, array in x.items()}
    elif isinstance(x, (list, tuple)):
        sample = [array[:2] for array in x]
    elif isinstance(x, np.ndarray):
        sample = x[:2]
    else:
        return
    try:
        model(sample, training=False)
    except Exception as error:
        deepest = exception_chain(error)[-1]
        if isinstance(deepest, NameError) or (
            isinstance(deepest, _MISSING_NAME) and "Lambda" in str(error)
        ):
            raise InputError(
                f"the model's own code fails when called on the data: {own_words(deepest)}"
                + (f"; {_LAMBDA_CODE}." if "Lambda" in str(error) else
                   "; fix the model's code (a custom layer's call or train_step).")
            ) from error
        raise InputError(
            f"the data does not fit the model: {own_words(deepest)}; reshape the data or "
            "pick the right arrays with --x-key."
        ) from error


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
