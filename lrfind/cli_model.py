"""The command line's model: check the ``.keras`` file, load and compile it, and turn a
failure to load or to run it into a message naming the deepest cause and its fix.

`check_model_path` checks the file without Keras; `import_modules` imports the modules of
``--import`` (they register custom classes); `load_model` loads in Keras's safe mode
(``--unsafe`` turns it off) and reports a failure by its deepest cause (`exception_chain`):
an unregistered class, a custom layer whose ``__init__`` takes no ``**kwargs``, a Lambda
whose output shape cannot be inferred or whose code misses a name of its module;
`compile_model` applies ``--optimizer``/``--loss``; `probe_model` calls the model on two
samples, so its own code failing is reported before the range test starts. Problems raise
`lrfind.cli_checks.InputError`. Keras is imported only by the functions that take a model.
"""

from __future__ import annotations

import importlib
import sys
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lrfind.cli_checks import InputError
from lrfind.messages import first_line

if TYPE_CHECKING:
    import keras


# ------------------------------------------------------------------------------- file
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



# ----------------------------------------------------------------------------- load
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
    """An exception's message as one line: its own words (`lrfind.messages.first_line`)."""
    return f"{type(error).__name__}: {first_line(error)}"


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
