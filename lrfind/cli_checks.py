"""What makes the command line's input bad: `InputError`, and the checks of the arrays
against each other and against the model's inputs.

`signature` reads how a functional or Sequential model takes its inputs (or gives its
outputs): one array, a list or a dict, with names and shapes. `check_structures` (and
`check_arrays` for one input and one target) refuses arrays that are not numbers, are empty,
differ in length or hold NaN or Inf (scanned block by block, so a memory-mapped array is
never read whole); `check_fits` refuses samples whose shape the model's inputs cannot take.
Every problem raises `InputError` (a ValueError) whose message names the problem and the
fix; the command line prints it and exits with code 2. Only NumPy is imported: the model is
passed in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from lrfind._defaults import non_finite_problem

if TYPE_CHECKING:
    import keras


class InputError(ValueError):
    """A bad input for the command line; the message says what is wrong and how to fix it."""


def listing(names: list[str]) -> str:
    """``names`` quoted and joined by commas, for a message."""
    return ", ".join(repr(n) for n in names) or "no arrays"


def keras_leaves(structure: Any) -> list[np.ndarray]:
    """The arrays of an array, or a dict or list of them."""
    if isinstance(structure, dict):
        return list(structure.values())
    if isinstance(structure, (list, tuple)):
        return list(structure)
    return [structure]


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


# ------------------------------------------------------------------------------ arrays
def check_structures(x: Any, y: Any, *, x_names: list[str], y_names: list[str]) -> None:
    """`check_arrays` for inputs and targets that may be dicts or lists of arrays."""
    def named(names: list[str], structure: Any) -> list[tuple[str, Any]]:
        leaves = keras_leaves(structure)
        return list(zip(names if len(names) == len(leaves) else [",".join(names)], leaves,
                        strict=True))

    _check_named(named(x_names, x), named(y_names, y))


def check_arrays(x: np.ndarray, y: np.ndarray, *, x_name: str = "x", y_name: str = "y") -> None:
    """Raise `InputError` unless ``x`` and ``y`` are non-empty numeric arrays, one row per
    sample, of the same length, free of NaN and Inf.

    >>> check_arrays(np.ones((3, 2)), np.array([0, 1, np.nan]))
    Traceback (most recent call last):
    ...
    lrfind.cli_checks.InputError: y contains 1 NaN or infinite value (the first in sample 2); \
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
        problem = non_finite_problem(name, array)
        if problem:
            raise InputError(problem)


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
                f"the model takes {len(inputs.names)} inputs ({listing(inputs.names)}) but "
                f"--x-key names {len(x)} arrays ({x_name}); name one array per input."
            )
        pairs = [(name, array, shape) for name, array, shape in zip(
            x_name.split(","), x, inputs.shapes, strict=True)]
    elif len(inputs.names) != 1:
        raise InputError(
            f"the model takes {len(inputs.names)} inputs ({listing(inputs.names)}) but the data "
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
        problem = (f"the data does not fit the model: each sample of {name} has shape {got}, "
                   f"but the model's {which} takes {shown}")
        target = reshape_target(got, expected)
        if target is None:
            raise InputError(
                f"{problem}, and no reshape turns {math.prod(got)} values a sample into that; "
                "pick the array made for this model with --x-key, or the model made for "
                "this data."
            )
        raise InputError(
            f"{problem}; reshape {name} (e.g. {name}.reshape(len({name}), "
            f"{', '.join(str(d) for d in target)})) or pick the right array with --x-key."
        )


def reshape_target(got: tuple[int, ...], expected: tuple[int | None, ...]
                   ) -> tuple[int, ...] | None:
    """The per-sample shape a reshape of ``got`` to ``expected`` would give (at most one
    unknown axis, written -1), or None when the sizes cannot agree.

    >>> reshape_target((784,), (28, 28, 1)), reshape_target((784,), (None, 28))
    ((28, 28, 1), (-1, 28))
    >>> reshape_target((10,), (20,)) is None, reshape_target((6,), (None, None)) is None
    (True, True)
    """
    size = math.prod(got)
    known = math.prod(d for d in expected if d is not None)
    unknown = sum(d is None for d in expected)
    if unknown > 1 or known == 0 or size % known or (not unknown and size != known):
        return None
    return tuple(-1 if d is None else d for d in expected)
