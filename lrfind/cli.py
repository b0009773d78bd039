"""The ``lrfind`` command: a learning-rate range test on a saved Keras model, from the shell.

    lrfind model.keras data.npz [options]

Only Typer and the standard library are imported up front: NumPy, Keras and TensorFlow are
imported when a run starts, so ``lrfind --help`` answers at once. Exit codes: see
`EXIT_CODES_HELP`.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
import tempfile
import traceback
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from lrfind.analysis import Suggestion
    from lrfind.data import TrainingData
    from lrfind.result import LRFinderResult

EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_BAD_INPUT = 2
EXIT_NO_SUGGESTION = 3
EXIT_INTERRUPTED = 130

# find()'s defaults, repeated here so --help needs no Keras import (a test keeps them equal)
DEFAULT_START_LR = 1e-10
DEFAULT_END_LR = 10.0
DEFAULT_STEPS = 800
MIN_STEPS = 10
DEFAULT_BATCH_SIZE = 32
CYCLE_EPOCHS = 4  # CyclicLR half-cycle in the snippet: Smith suggests 2-8 epochs

OUTPUT_FILES = {"json": "result.json", "csv": "curve.csv", "png": "curve.png", "svg": "curve.svg"}

EXIT_CODES_HELP = "\n".join(
    [
        "Exit codes:",
        f"  {EXIT_OK}    success",
        f"  {EXIT_BAD_INPUT}    bad usage or input (the message says what to fix)",
        f"  {EXIT_NO_SUGGESTION}    the run worked and its files were written, but the curve "
        "supports no reliable suggestion",
        f"  {EXIT_UNEXPECTED}    unexpected error (re-run with --debug, and please report it)",
        f"  {EXIT_INTERRUPTED}  interrupted (Ctrl-C)",
    ]
)
COMMAND_HELP = "\n\n".join(
    [
        "Run a learning-rate range test on MODEL with DATA and suggest a learning rate.",
        "The learning rate rises batch by batch from --start-lr to --end-lr while each batch's "
        "loss is recorded; the curve is read for where the loss falls, bottoms out and diverges. "
        "MODEL is only read. Writes curve.png, result.json (lrfind.LRFinderResult.load reads "
        "it) and curve.csv to --out, then prints the reading, a recommendation and a Python "
        "snippet.",
        "Example: lrfind examples/digits_mlp.keras examples/digits.npz",
    ]
)

app = typer.Typer(
    add_completion=False,
    pretty_exceptions_enable=False,
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class _Failure(Exception):
    """An expected failure: printed as one message, exit with ``code``, no traceback."""

    def __init__(self, message: str, code: int = EXIT_BAD_INPUT) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class _Options:
    model: Path
    data: Path
    x_key: str | None
    y_key: str | None
    start_lr: float
    end_lr: float
    steps: int | None
    epochs: int | None
    batch_size: int
    smoothing: float
    stop_factor: float
    linear: bool
    shuffle: bool
    seed: int | None
    out: Path
    svg: bool
    derivative: bool
    json: bool
    quiet: bool
    optimizer: str | None
    loss: str | None
    unsafe: bool
    imports: list[str]
    debug: bool


def _version(value: bool) -> None:
    if value:
        from lrfind import __version__

        typer.echo(f"lrfind {__version__}")
        raise typer.Exit()


@app.command(help=COMMAND_HELP, epilog=EXIT_CODES_HELP)
def run(
    model: Annotated[
        Path,
        typer.Argument(
            help="The model: a .keras file (model.save('model.keras')). It is only read.",
            metavar="MODEL",
            show_default=False,
        ),
    ],
    data: Annotated[
        Path,
        typer.Argument(
            help="The data: an .npz with arrays x and y (or x_train, y_train), or a "
            "directory of .npy files (memory-mapped).",
            metavar="DATA",
            show_default=False,
        ),
    ],
    x_key: Annotated[
        str | None, typer.Option(help="Name of the inputs array in DATA.", rich_help_panel="Data")
    ] = None,
    y_key: Annotated[
        str | None, typer.Option(help="Name of the targets array in DATA.", rich_help_panel="Data")
    ] = None,
    batch_size: Annotated[
        int, typer.Option("--batch-size", "-b", help="Batch size.", rich_help_panel="Data")
    ] = DEFAULT_BATCH_SIZE,
    shuffle: Annotated[
        bool, typer.Option(help="Shuffle the data each pass.", rich_help_panel="Data")
    ] = True,
    start_lr: Annotated[
        float, typer.Option(help="Learning rate of the first batch.", rich_help_panel="Range test")
    ] = DEFAULT_START_LR,
    end_lr: Annotated[
        float,
        typer.Option(help="Learning rate of the last batch.", rich_help_panel="Range test"),
    ] = DEFAULT_END_LR,
    steps: Annotated[
        int | None,
        typer.Option(
            help=f"Length of the run in batches (default {DEFAULT_STEPS}); short data is "
            "cycled.",
            show_default=False,
            rich_help_panel="Range test",
        ),
    ] = None,
    epochs: Annotated[
        int | None,
        typer.Option(
            help="Length of the run in passes over the data, instead of --steps.",
            show_default=False,
            rich_help_panel="Range test",
        ),
    ] = None,
    smoothing: Annotated[
        float,
        typer.Option(
            help="Beta of the loss's moving average (the divergence test uses it), in [0, 1).",
            rich_help_panel="Range test",
        ),
    ] = 0.98,
    stop_factor: Annotated[
        float,
        typer.Option(
            help="Stop once the smoothed loss exceeds this many times its best; inf never "
            "stops early.",
            rich_help_panel="Range test",
        ),
    ] = 4.0,
    linear: Annotated[
        bool,
        typer.Option(
            "--linear",
            help="Ramp the learning rate linearly instead of exponentially.",
            rich_help_panel="Range test",
        ),
    ] = False,
    seed: Annotated[
        int | None,
        typer.Option(help="Random seed, for a reproducible run.", rich_help_panel="Range test"),
    ] = None,
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            help="Directory for curve.png, result.json and curve.csv (created if missing).",
            rich_help_panel="Output",
        ),
    ] = Path("lrfind-output"),
    svg: Annotated[
        bool, typer.Option("--svg", help="Also write curve.svg.", rich_help_panel="Output")
    ] = False,
    derivative: Annotated[
        bool,
        typer.Option(
            help="Add the derivative panel to the plot.", rich_help_panel="Output"
        ),
    ] = True,
    json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print the result JSON to stdout and nothing else (files are still written).",
            rich_help_panel="Output",
        ),
    ] = False,
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet", "-q", help="No progress bar and no report; errors only.",
            rich_help_panel="Output",
        ),
    ] = False,
    optimizer: Annotated[
        str | None,
        typer.Option(
            help="Compile with this Keras optimizer (e.g. adam, sgd); needed, with --loss, "
            "for a model saved uncompiled.",
            rich_help_panel="Model",
        ),
    ] = None,
    loss: Annotated[
        str | None,
        typer.Option(
            help="Compile with this Keras loss (e.g. mse, sparse_categorical_crossentropy).",
            rich_help_panel="Model",
        ),
    ] = None,
    unsafe: Annotated[
        bool,
        typer.Option(
            "--unsafe",
            help="Load models holding Python code (Lambda layers); only for files you trust.",
            rich_help_panel="Model",
        ),
    ] = False,
    imports: Annotated[
        list[str] | None,
        typer.Option(
            "--import",
            help="Import this module first (it registers the model's custom objects). "
            "Repeatable.",
            metavar="MODULE",
            show_default=False,
            rich_help_panel="Model",
        ),
    ] = None,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the traceback of any failure.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show lrfind's version and exit."
        ),
    ] = False,
) -> None:
    """The ``lrfind`` command (see `COMMAND_HELP`)."""
    options = _Options(
        model=model, data=data, x_key=x_key, y_key=y_key, start_lr=start_lr, end_lr=end_lr,
        steps=steps, epochs=epochs, batch_size=batch_size, smoothing=smoothing,
        stop_factor=stop_factor, linear=linear, shuffle=shuffle, seed=seed, out=out, svg=svg,
        derivative=derivative, json=json, quiet=quiet, optimizer=optimizer, loss=loss,
        unsafe=unsafe, imports=list(imports or []), debug=debug,
    )
    raise typer.Exit(_guarded_run(options))


def main() -> None:
    """Entry point of the ``lrfind`` console script."""
    app(prog_name="lrfind")


# --------------------------------------------------------------------------- the run
def _guarded_run(options: _Options) -> int:
    """Run, turning every failure into one message on stderr and an exit code."""
    from rich.console import Console

    from lrfind.data import InputError

    err = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        return _run(options, err)
    except KeyboardInterrupt:
        _print_error(err, "interrupted; nothing was written and the model file is untouched.")
        return EXIT_INTERRUPTED
    except _Failure as failure:
        _print_error(err, str(failure), debug=options.debug)
        return failure.code
    except InputError as error:
        _print_error(err, str(error), debug=options.debug)
        return EXIT_BAD_INPUT
    except Exception as error:
        if type(error).__name__ == "InvalidArgumentError":  # TensorFlow refused the data
            _print_error(
                err,
                f"TensorFlow rejected the data during the run ({_tf_error_summary(error)}); "
                f"{_DATA_MODEL_HINT}.",
                debug=options.debug,
            )
            return EXIT_BAD_INPUT
        _print_error(
            err,
            f"unexpected error: {type(error).__name__}: {error}. Re-run with --debug for the "
            "traceback, and please report it.",
            debug=options.debug,
        )
        return EXIT_UNEXPECTED


def _print_error(err: Console, message: str, *, debug: bool = False) -> None:
    if debug and sys.exc_info()[0] is not None:
        err.print(traceback.format_exc(), markup=False, end="")
    err.print(f"lrfind: error: {message}", markup=False)


_DATA_MODEL_HINT = (
    "check that y matches the model's output and loss (e.g. integer labels 0..N-1 for "
    "sparse_categorical_crossentropy, one-hot rows for categorical_crossentropy)"
)


def _sentence(message: str) -> str:
    message = message.strip()
    return message if message.endswith((".", "!", "?")) else message + "."


def _raised_by_lrfind(error: BaseException) -> bool:
    """True when the innermost frame of ``error`` is lrfind's own code (its input checks)."""
    tb = error.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb is not None and Path(tb.tb_frame.f_code.co_filename).parent.name == "lrfind"


def _tf_error_summary(error: BaseException) -> str:
    """The line of a TensorFlow graph error that says what went wrong (no stack, no node)."""
    skip = ("Graph execution error", "Detected at node", "[[", "Traceback")
    for line in str(error).splitlines():
        if line.strip() and not line[0].isspace() and not line.startswith(skip):
            return line.split("  Label values:")[0].strip()[:300]
    return type(error).__name__


def _check_options(options: _Options) -> None:
    """The option checks that need no data and no Keras (they fail before any import)."""
    for name, value in (("--start-lr", options.start_lr), ("--end-lr", options.end_lr)):
        if not math.isfinite(value) or value <= 0:
            raise _Failure(
                f"{name} must be a positive, finite learning rate, got {value:g}; "
                f"e.g. --start-lr {DEFAULT_START_LR:g} --end-lr {DEFAULT_END_LR:g}."
            )
    if options.start_lr >= options.end_lr:
        raise _Failure(
            f"--start-lr ({options.start_lr:g}) must be below --end-lr ({options.end_lr:g}): "
            f"the ramp goes upwards, e.g. --start-lr 1e-7 --end-lr 10."
        )
    if options.steps is not None and options.epochs is not None:
        raise _Failure("pass either --steps or --epochs, not both.")
    if options.steps is not None and options.steps < MIN_STEPS:
        raise _Failure(
            f"--steps {options.steps} is too few batches for a curve; use at least {MIN_STEPS} "
            f"(the default is {DEFAULT_STEPS})."
        )
    if options.epochs is not None and options.epochs < 1:
        raise _Failure(f"--epochs must be at least 1, got {options.epochs}.")
    if options.batch_size < 1:
        raise _Failure(f"--batch-size must be at least 1, got {options.batch_size}.")
    if not 0.0 <= options.smoothing < 1.0:
        raise _Failure(
            f"--smoothing must be in [0, 1), got {options.smoothing:g}; 0.98 is the usual value."
        )
    if not options.stop_factor > 1.0:
        raise _Failure(
            f"--stop-factor must be greater than 1, got {options.stop_factor:g}; the default "
            "is 4, and inf never stops early."
        )


def _planned_batches(options: _Options, samples: int) -> int:
    if options.epochs is None:
        return DEFAULT_STEPS if options.steps is None else options.steps
    return options.epochs * math.ceil(samples / options.batch_size)


def _run(options: _Options, err: Console) -> int:
    from lrfind import data as inputs

    _check_options(options)
    model_path = inputs.check_model_path(options.model)
    training = inputs.load_data(options.data, x_key=options.x_key, y_key=options.y_key)
    planned = _planned_batches(options, len(training))
    if planned < MIN_STEPS:
        raise _Failure(
            f"--epochs {options.epochs} gives only {planned} batches of {options.batch_size}; "
            f"a curve needs at least {MIN_STEPS}: pass --steps {DEFAULT_STEPS} (short data is "
            "cycled) or a smaller --batch-size."
        )
    inputs.check_output_dir(options.out)
    show = not options.quiet

    with _native_noise_held_back(err, enabled=not options.debug) as status_console:
        status = status_console.status("Loading TensorFlow and the model…")
        with status if show else nullcontext():
            inputs.import_modules(options.imports)
            model = inputs.load_model(model_path, unsafe=options.unsafe)
            inputs.compile_model(model, options.optimizer, options.loss)
            inputs.check_fits(model, training.x, x_name=training.x_key)
            from lrfind.finder import LRFinder

    snippet_names = _compile_names(model)
    progress = _ProgressBar(err, planned, options.smoothing, enabled=show)
    with progress as callback:
        try:
            result = _find(LRFinder(model), training, options, callback)
        except ValueError as error:  # find()'s checks of the input, or Keras's on the data
            lines = [line.strip() for line in str(error).splitlines() if line.strip()]
            message = _sentence(lines[0] if lines else type(error).__name__)
            if not _raised_by_lrfind(error):
                message = f"Keras rejected the data: {message} Hint: {_DATA_MODEL_HINT}."
            raise _Failure(message) from error
        progress.finish(len(result), result.stop_reason)
    result.settings["run"] = _run_settings(options, model_path, training, snippet_names)
    files = _write_outputs(result, options)
    suggestion = result.suggestion
    reliable = suggestion.reliable and suggestion.lr is not None
    if options.json:
        sys.stdout.write(result.to_json() + "\n")
        sys.stdout.flush()
    elif show:
        from rich.console import Console

        _report(Console(highlight=False, soft_wrap=True), result, training, options, files,
                snippet_names)
    if not reliable and (options.json or options.quiet):
        err.print(f"lrfind: {_recommendation(result)}", markup=False)
    return EXIT_OK if reliable else EXIT_NO_SUGGESTION


def _find(finder: Any, training: TrainingData, options: _Options, callback: Any) -> Any:
    return finder.find(
        training.x,
        training.y,
        options.start_lr,
        options.end_lr,
        options.batch_size,
        options.epochs,
        steps=options.steps,
        mode="linear" if options.linear else "exponential",
        beta=options.smoothing,
        stop_factor=None if math.isinf(options.stop_factor) else options.stop_factor,
        shuffle=options.shuffle,
        seed=options.seed,
        callbacks=[callback],
    )


def _run_settings(
    options: _Options, model_path: Path, training: TrainingData, names: dict[str, str]
) -> dict[str, Any]:
    return {
        "model": str(model_path),
        "data": str(training.source),
        "x_key": training.x_key,
        "y_key": training.y_key,
        "samples": len(training),
        "batch_size": options.batch_size,
        "steps": options.steps,
        "epochs": options.epochs,
        "shuffle": options.shuffle,
        "seed": options.seed,
        "optimizer": names["optimizer_class"],
        "loss": names["loss_name"],
    }


# TensorFlow's start-up lines that say nothing to a user of a CPU machine; they are written
# by C++ straight to file descriptor 2 while TensorFlow loads and first touches a device.
_NATIVE_NOISE = re.compile(
    r"absl::InitializeLog|cudart_stub|cuda_platform|cuInit|Unable to register cu(DNN|FFT|BLAS)"
    r"|oneDNN custom operations|TF-TRT Warning|optimized to use available CPU instructions"
    r"|rebuild TensorFlow with the appropriate compiler flags|computation_placer"
)


@contextmanager
def _native_noise_held_back(err: Console, *, enabled: bool) -> Iterator[Console]:
    """Hold back TensorFlow's native start-up noise on stderr; everything else is shown after.

    Redirects file descriptor 2 to a temporary file for the block, then replays its lines
    that do not match `_NATIVE_NOISE`. Yields the console to show progress on meanwhile.
    """
    if not enabled:
        yield err
        return
    from rich.console import Console

    try:
        python_stderr_is_fd2 = sys.stderr.fileno() == 2
    except (AttributeError, OSError, ValueError):  # a replaced sys.stderr (tests, notebooks)
        python_stderr_is_fd2 = False
    sys.stderr.flush()
    try:
        saved_fd = os.dup(2)
    except OSError:  # no stderr at all: nothing to hold back
        yield err
        return
    with tempfile.TemporaryFile() as capture, open(
        os.dup(saved_fd), "w", encoding="utf-8", errors="replace"
    ) as original:
        os.dup2(capture.fileno(), 2)
        try:
            yield Console(file=original, highlight=False) if python_stderr_is_fd2 else err
        finally:
            sys.stderr.flush()
            os.dup2(saved_fd, 2)
            os.close(saved_fd)
            capture.seek(0)
            lines = capture.read().decode("utf-8", errors="replace").splitlines()
            kept = [line for line in lines if line.strip() and not _NATIVE_NOISE.search(line)]
            if kept:
                sys.stderr.write("\n".join(kept) + "\n")
                sys.stderr.flush()


# ------------------------------------------------------------------------- progress
class _ProgressBar:
    """A Rich progress bar on stderr fed by a Keras callback (batch, LR, smoothed loss, ETA).

    Entering it starts the bar and gives the callback to pass to ``find(callbacks=[...])``.
    """

    def __init__(self, err: Console, total: int, beta: float, *, enabled: bool) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.total = total
        self.bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("lr {task.fields[lr]}"),
            TextColumn("loss {task.fields[loss]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=err,
            disable=not enabled,
        )
        self.task = self.bar.add_task("compiling", total=total, lr="-", loss="-")
        self.callback = _progress_callback(self, beta)

    def __enter__(self) -> Any:
        self.bar.start()
        return self.callback

    def __exit__(self, *exc: object) -> None:
        self.bar.stop()

    def update(self, done: int, lr: float, smoothed_loss: float) -> None:
        self.bar.update(self.task, description="range test", completed=min(done, self.total),
                        lr=f"{lr:.2e}", loss=f"{smoothed_loss:.4g}")

    def finish(self, batches: int, stop_reason: str) -> None:
        self.bar.update(self.task, description=f"done ({stop_reason})", completed=batches,
                        total=batches)


def _progress_callback(bar: _ProgressBar, beta: float) -> Any:
    """A Keras callback that reads the range test's per-batch record and feeds ``bar``."""
    import keras
    import numpy as np

    from lrfind.finder import LAST_BATCH_KEY
    from lrfind.result import SmoothedLoss

    class RangeTestProgress(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.smoothed = SmoothedLoss(beta)  # the same average the range test keeps
            self.done = 0

        def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
            last = (logs or {}).get(LAST_BATCH_KEY)  # [batches so far, lr, loss]
            if last is None:
                return
            count, lr, loss = (float(v) for v in np.asarray(last))
            if int(count) > self.done and math.isfinite(loss):
                self.done = int(count)
                bar.update(self.done, lr, self.smoothed.update(loss))

    return RangeTestProgress()


# -------------------------------------------------------------------------- outputs
def _write_outputs(result: LRFinderResult, options: _Options) -> dict[str, Path]:
    """Write result.json, curve.csv and curve.png (and curve.svg), each atomically."""
    import io

    from matplotlib.figure import Figure

    from lrfind.result import write_atomic

    out = options.out
    paths = {kind: out / name for kind, name in OUTPUT_FILES.items()}
    if not options.svg:
        del paths["svg"]
    try:
        out.mkdir(parents=True, exist_ok=True)
        result.save(paths["json"])
        write_atomic(paths["csv"], _csv(result).encode("utf-8"))
        figure = Figure(figsize=(8, 6.5) if options.derivative else (8, 5), layout="constrained")
        if options.derivative:
            axes = figure.subplots(2, 1, sharex=True, height_ratios=(3, 1.2))
        else:
            axes = figure.subplots()
        result.plot(ax=axes, derivative=options.derivative)
        for kind in ("png", "svg"):
            if kind in paths:
                buffer = io.BytesIO()
                figure.savefig(buffer, format=kind, dpi=150)
                write_atomic(paths[kind], buffer.getvalue())
    except OSError as error:
        raise _Failure(
            f"cannot write the outputs to {str(out)!r} ({error.strerror or error}); "
            "pass --out a directory you can write to."
        ) from error
    return paths


def _csv(result: LRFinderResult) -> str:
    rows = ["lr,loss,smoothed_loss"]
    rows += [
        f"{lr!r},{loss!r},{smoothed!r}"
        for lr, loss, smoothed in zip(
            result.lrs.tolist(), result.losses.tolist(), result.smoothed_losses.tolist(),
            strict=True,
        )
    ]
    return "\n".join(rows) + "\n"


# --------------------------------------------------------------------------- report
def _lr(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}"


def _report(
    out: Console,
    result: LRFinderResult,
    training: TrainingData,
    options: _Options,
    files: dict[str, Path],
    names: dict[str, str],
) -> None:
    from rich.table import Table

    from lrfind.analysis import POINT_LABELS

    suggestion = result.suggestion
    out.print(
        f"lrfind: {options.model.name} on {options.data.name} ({len(training)} samples, "
        f"batch size {options.batch_size}): {len(result)} batches, stopped: "
        f"{result.stop_reason}",
        markup=False,
    )
    table = Table(title="Range-test reading", title_justify="left", expand=False)
    table.add_column("point")
    table.add_column("lr", justify="right")
    table.add_column("loss", justify="right")
    table.add_column("why")
    table.add_row("suggested lr", _lr(suggestion.lr), "", suggestion.reason, style="bold")
    if suggestion.min_lr is not None:
        table.add_row("band low", _lr(suggestion.min_lr), "",
                      "min_lr: where the loss starts falling; base_lr of a cycle.")
    if suggestion.max_lr is not None:
        table.add_row("band high", _lr(suggestion.max_lr), "",
                      "max_lr: half a decade below divergence; max_lr of a cycle.")
    for name, point in sorted(suggestion.points.items(), key=lambda item: item[1].lr):
        loss = f"{point.loss:.4g}" if math.isfinite(point.loss) else "-"
        table.add_row(POINT_LABELS.get(name, name), _lr(point.lr), loss, point.reason)
    out.print(table)
    out.print(_recommendation(result), markup=False)
    snippet = _snippet(suggestion, len(training), options.batch_size, names)
    if snippet:
        out.print("\nPaste into your training script:\n", markup=False)
        out.print(snippet, markup=False)
    written = ", ".join(str(path) for path in files.values())
    out.print(f"\nWrote {written}", markup=False)


def _recommendation(result: LRFinderResult) -> str:
    suggestion = result.suggestion
    if suggestion.lr is not None and suggestion.reliable:
        line = f"Recommendation: train at learning_rate={_lr(suggestion.lr)}"
        if _has_band(suggestion):
            line += (
                f", or cycle it between {_lr(suggestion.min_lr)} and {_lr(suggestion.max_lr)}"
            )
        return line + "."
    hint = ""
    if len(result) < 2 * MIN_STEPS and result.stop_reason in ("diverged", "non_finite"):
        hint = (
            f" The loss blew up after {len(result)} batches: start the ramp lower "
            "(--start-lr) or check the data's scale."
        )
    return f"No reliable suggestion (exit code {EXIT_NO_SUGGESTION}): {suggestion.reason}{hint}"


def _has_band(suggestion: Suggestion) -> bool:
    low, high = suggestion.min_lr, suggestion.max_lr
    return low is not None and high is not None and 0 < low < high


def _compile_names(model: Any) -> dict[str, str]:
    """How the snippet names the model's optimizer and loss."""
    import keras

    optimizer = getattr(model.optimizer, "inner_optimizer", model.optimizer)
    name = type(optimizer).__name__
    loss = getattr(model, "loss", None)
    loss_name = loss if isinstance(loss, str) else getattr(
        loss, "__name__", type(loss).__name__
    )
    if isinstance(loss, str):
        loss_code = json.dumps(loss)
    elif hasattr(keras.losses, type(loss).__name__) and type(loss).__name__[0].isupper():
        loss_code = f"keras.losses.{type(loss).__name__}()"
    else:
        loss_code = "..."
    return {
        "optimizer_class": name,
        "optimizer": f"keras.optimizers.{name}" if hasattr(keras.optimizers, name) else name,
        "loss": loss_code,
        "loss_name": str(loss_name),
    }


def _snippet(suggestion: Suggestion, samples: int, batch_size: int, names: dict[str, str]) -> str:
    """Python that compiles the model with the suggested CyclicLR (or constant rate)."""
    if suggestion.lr is None or not suggestion.reliable:
        return ""
    optimizer = names["optimizer"]
    lines = ["import keras"]
    loss = names["loss"]
    if loss.startswith("..."):
        lines.append("loss = ...  # the loss your model is compiled with")
        loss = "loss"
    if _has_band(suggestion):
        per_epoch = math.ceil(samples / batch_size)
        lines += [
            "import lrfind",
            "",
            f"steps_per_epoch = {per_epoch}  # {samples} samples / batch size {batch_size}",
            "schedule = lrfind.CyclicLR(",
            f"    base_lr={_lr(suggestion.min_lr)},",
            f"    max_lr={_lr(suggestion.max_lr)},",
            f"    step_size={CYCLE_EPOCHS} * steps_per_epoch,  # half a cycle: 2-8 epochs",
            ")",
            "model.compile(",
            f"    optimizer={optimizer}(learning_rate=schedule),",
            f"    loss={loss},",
            ")",
            f"# or a constant rate: optimizer={optimizer}(learning_rate={_lr(suggestion.lr)})",
        ]
    else:
        lines += [
            "",
            "model.compile(",
            f"    optimizer={optimizer}(learning_rate={_lr(suggestion.lr)}),",
            f"    loss={loss},",
            ")",
        ]
    return "\n".join(lines)
