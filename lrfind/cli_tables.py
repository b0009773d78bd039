"""The command line's tables and images: a CSV table and a folder of class sub-folders.

`read_csv` reads a ``.csv`` table with the standard library's ``csv`` reader (``--target``
names the label column); `image_classes` finds the classes of an image folder and
`image_dataset` reads it with ``keras.utils.image_dataset_from_directory`` at the size and in
the colour and label modes the model takes. `lrfind.cli_inputs` turns what they return into
its `DataFile` and `TrainingData`. Problems raise `lrfind.cli_checks.InputError`. Keras is
imported only by `image_dataset`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lrfind._defaults import IMAGE_SIZE
from lrfind.cli_checks import InputError, listing, signature

if TYPE_CHECKING:
    import keras

IMAGE_SUFFIXES = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
"""Image files `keras.utils.image_dataset_from_directory` reads."""


# ------------------------------------------------------------------------------ tables
def read_csv(path: Path, target: str | None) -> dict[str, np.ndarray]:
    """A CSV table, read with the standard library's reader: each numeric column becomes a
    float32 array (an empty cell is NaN, refused later); a text target becomes class indices
    in sorted order of its values; other text columns are left out. The columns by name, in
    the order of the header."""
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
            f"columns {listing(header)}; pass --target COLUMN."
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
    return columns


# ------------------------------------------------------------------------------ images
def image_classes(path: Path) -> dict[str, int]:
    """The class sub-folders of ``path`` that hold images, with their number of images, in
    sorted order; empty when there are none (hidden folders are skipped)."""
    classes = sorted(p.name for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))
    counts = {c: sum(1 for f in (path / c).rglob("*") if f.suffix.lower() in IMAGE_SUFFIXES)
              for c in classes}
    return {c: n for c, n in counts.items() if n}


def image_dataset(
    model: keras.Model, path: Path, classes: int, batch_size: int,
    image_size: tuple[int, int] | None, seed: int | None, shuffle: bool,
) -> Any:
    """A folder of class sub-folders of images, through
    ``keras.utils.image_dataset_from_directory``: the size is ``image_size``, else the
    model's input size, else Keras's default; the colour mode follows the model's channels
    and the label mode its loss (``classes`` of them). The ``tf.data.Dataset`` of
    (images, labels) batches."""
    import keras

    inputs = signature(model, "inputs")
    shape = inputs.shapes[0] if inputs.shapes and inputs.structure == "single" else None
    if image_size is None and shape is not None and len(shape) == 3 and None not in shape[:2]:
        image_size = (int(shape[0]), int(shape[1]))  # type: ignore[arg-type]
    channels = shape[2] if shape is not None and len(shape) == 3 else 3
    colour = {1: "grayscale", 4: "rgba"}.get(channels or 3, "rgb")
    label_mode = _label_mode(model, classes)
    try:
        dataset = keras.utils.image_dataset_from_directory(
            path, label_mode=label_mode, color_mode=colour, batch_size=batch_size,
            image_size=image_size or IMAGE_SIZE, shuffle=shuffle,
            seed=0 if seed is None else seed, verbose=False,
        )
    except (ValueError, OSError) as error:
        raise InputError(f"cannot read the images in {str(path)!r} ({error}); pass a "
                         "directory with one sub-folder of images per class.") from error
    return dataset


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
