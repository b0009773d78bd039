"""The command line's data: what ``DATA`` holds, and the arrays the model takes from it.

It reads the data file named on the command line: an ``.npz``, a folder of ``.npy`` arrays
(memory-mapped), a folder of class sub-folders of images or a CSV table (``--target`` names
the label column; both read by `lrfind.cli_tables`). `open_data` checks the data before Keras
is imported; `select` then picks the arrays the model takes (by its input and output names
for models with several) and checks them (`lrfind.cli_checks`). `check_output_dir` checks
``--out``. Loading the model is `lrfind.cli_model`'s job, feeding batches to a range test
`lrfind.batches`'s. Every problem raises `InputError` (a ValueError) whose message names the
problem and the fix; the command line prints it and exits with code 2. Only NumPy is
imported at module level, so the cheap checks of the files and options fail fast.

Example:

>>> import numpy as np, tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> np.savez(folder / "data.npz", x_train=np.ones((4, 2)), y_train=np.zeros(4))
>>> data = open_data(folder / "data.npz")
>>> data.kind, data.names
('npz', ['x_train', 'y_train'])
"""

from __future__ import annotations

import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lrfind._defaults import DEFAULT_BATCH_SIZE
from lrfind.cli_checks import (
    InputError,
    Signature,
    check_fits,
    check_structures,
    keras_leaves,
    listing,
    signature,
)
from lrfind.cli_tables import IMAGE_SUFFIXES, image_classes, image_dataset, read_csv

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


# ------------------------------------------------------------------------------ paths
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
    target: str | None = None, image_size: Any = None,
) -> DataFile:
    """Check ``DATA`` without Keras: an ``.npz``, a folder of ``.npy`` arrays (memory-mapped),
    a folder of class sub-folders of images, or a ``.csv`` table (``target`` names its label
    column). Array names given with ``--x-key``/``--y-key`` must be there; ``--image-size``
    applies to a folder of images only."""
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
    if image_size is not None and data.kind != "images":
        raise InputError(f"--image-size resizes a folder of images, but {str(path)!r} is not "
                         "one; resize arrays before saving them, or leave the option out.")
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
                    f"it holds {listing(data.names)}: pass those to {option}."
                )
    return data


def _member_word(data: DataFile) -> str:
    return "column" if data.kind == "csv" else "array"


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
    classes = image_classes(path)
    if classes:
        return DataFile(path, "images", list(classes), images=sum(classes.values()))
    raise InputError(
        f"the data directory {str(path)!r} holds neither .npy files nor class sub-folders of "
        f"images ({', '.join(IMAGE_SUFFIXES)}); pass {DATA_HELP}."
    )


def _open_csv(path: Path, target: str | None) -> DataFile:
    columns = read_csv(path, target)
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
        dataset = image_dataset(model, data.path, len(data.names), batch_size, image_size,
                                seed, shuffle)
        return TrainingData(dataset, None, "images", ",".join(data.names), data.path,
                            len(dataset.file_paths), "images")
    assert data.read is not None
    inputs, outputs = signature(model, "inputs"), signature(model, "outputs")
    x_names, x = _pick(data, inputs, _keys(x_key), X_KEYS, "inputs", "--x-key")
    y_names, y = _pick(data, outputs, _keys(y_key), Y_KEYS, "targets", "--y-key")
    check_structures(x, y, x_names=x_names, y_names=y_names)
    check_fits(model, x, x_name=",".join(x_names))
    samples = len(keras_leaves(x)[0])
    return TrainingData(x, y, ",".join(x_names), ",".join(y_names), data.path, samples, data.kind)




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
        f"it holds {listing(data.names)}; name the {what} with {several} (several arrays: "
        f"{option} a,b,c), or save the arrays under the model's {side}' names."
    )
