"""The ``lrfind`` command: a learning-rate range test on a saved Keras model, from the shell.

    lrfind model.keras data.npz [options]

This module is the shell: the options, the order of the steps, and the exit codes (every
failure becomes one in `_guarded_run`). The steps live beside it: `lrfind.cli_model` loads
the model, `lrfind.cli_inputs` reads the data (tables and images: `lrfind.cli_tables`) and
`lrfind.cli_checks` checks it, `lrfind.cli_console` shows progress on stderr and
`lrfind.cli_report` prints the reading; the defaults and option checks are
`lrfind._defaults`'s, shared with the Python API.

Only Typer, the standard library and those Keras-free defaults are imported up front: NumPy,
Keras and TensorFlow are imported when a run starts, so ``lrfind --help`` answers at once.
Exit codes: see `EXIT_CODES_HELP`.
"""

from __future__ import annotations

import dataclasses
import math
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperCommand

from lrfind import cli_processes
from lrfind._defaults import (
    CLI_NAMES,
    DEFAULT_BATCH_SIZE,
    DEFAULT_BETA,
    DEFAULT_END_LR,
    DEFAULT_REPEATS,
    DEFAULT_START_LR,
    DEFAULT_STEPS,
    DEFAULT_STOP_FACTOR,
    DEFAULT_TRIAL_BUDGET,
    check_beta,
    check_lr_range,
    check_positive_int,
    check_run_length,
    check_stop_factor,
    plan,
)
from lrfind.cli_console import ProgressBar, keras_warnings_held_back, native_noise_held_back
from lrfind.cli_report import EXIT_NO_SUGGESTION, compile_names, recommendation, report

if TYPE_CHECKING:
    from rich.console import Console

    from lrfind.cli_inputs import TrainingData
    from lrfind.result import LRFinderResult

EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130

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


class _Command(TyperCommand):
    """Typer's command, but its help shows no value placeholder (``<bool>``) after a flag,
    which takes no value (``--debug``, ``--shuffle/--no-shuffle``, ``--help``)."""

    def get_params(self, ctx: typer.Context) -> list[Any]:
        params = super().get_params(ctx)
        for param in params:
            if getattr(param, "is_flag", False) and param.metavar is None:
                param.metavar = ""
        return params


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
    target: str | None
    image_size: str | tuple[int, int] | None  # "H,W" as given; (H, W) once checked
    start_lr: float
    end_lr: float
    steps: int | None
    epochs: int | None
    batch_size: int
    smoothing: float
    stop_factor: float | None  # None: never stop early (--stop-factor inf)
    repeats: int | None
    loss_key: str | None
    verify: bool
    verify_budget: int | None
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
    processes: Any = None  # cli_processes.ProcessRequest


def _version(value: bool) -> None:
    if value:
        from lrfind import __version__

        typer.echo(f"lrfind {__version__}")
        raise typer.Exit()


def _option(panel: str, help: str, *names: str, **settings: Any) -> Any:
    """A ``typer.Option`` shown in the ``panel`` of ``--help``."""
    return typer.Option(*names, help=help, rich_help_panel=panel, **settings)


_data, _ramp = partial(_option, "Data"), partial(_option, "Range test")
_output, _model = partial(_option, "Output"), partial(_option, "Model")
_verify = partial(_option, "Verification")


@app.command(cls=_Command, help=COMMAND_HELP, epilog=EXIT_CODES_HELP)
def run(
    model: Annotated[Path, typer.Argument(
        help="The model: a .keras file (model.save('model.keras')). It is only read.",
        metavar="MODEL", show_default=False,
    )],
    data: Annotated[Path, typer.Argument(
        help="The data: an .npz with arrays x and y (or x_train, y_train, or arrays named "
        "after the model's inputs and outputs), a directory of .npy files (memory-mapped), a "
        "directory of class sub-folders of images, or a .csv table (with --target).",
        metavar="DATA", show_default=False,
    )],
    x_key: Annotated[str | None, _data(
        "Name of the inputs array in DATA; a,b,c for a model with several inputs.",
        show_default=False,
    )] = None,
    y_key: Annotated[str | None, _data(
        "Name of the targets array in DATA; a,b for a model with several outputs.",
        show_default=False,
    )] = None,
    target: Annotated[str | None, _data(
        "The label column of a .csv DATA; the other numeric columns are the inputs.",
        metavar="COLUMN", show_default=False,
    )] = None,
    image_size: Annotated[str | None, _data(
        "Height,width images are resized to (default: the model's input size).",
        metavar="H,W", show_default=False,
    )] = None,
    batch_size: Annotated[int, _data("Batch size.", "--batch-size", "-b")] = DEFAULT_BATCH_SIZE,
    shuffle: Annotated[bool, _data("Shuffle the data each pass.")] = True,
    start_lr: Annotated[float, _ramp("Learning rate of the first batch.")] = DEFAULT_START_LR,
    end_lr: Annotated[float, _ramp("Learning rate of the last batch.")] = DEFAULT_END_LR,
    steps: Annotated[int | None, _ramp(
        f"Length of the run in batches (default {DEFAULT_STEPS}); short data is cycled.",
        show_default=False,
    )] = None,
    epochs: Annotated[int | None, _ramp(
        "Length of the run in passes over the data, instead of --steps.", show_default=False
    )] = None,
    smoothing: Annotated[float, _ramp(
        "Beta of the loss's moving average (the divergence test uses it), in [0, 1)."
    )] = DEFAULT_BETA,
    stop_factor: Annotated[float, _ramp(
        "Stop once the smoothed loss exceeds this many times its best; inf never stops early."
    )] = DEFAULT_STOP_FACTOR,
    linear: Annotated[bool, _ramp(
        "Ramp the learning rate linearly instead of exponentially.", "--linear"
    )] = False,
    seed: Annotated[int | None, _ramp("Random seed, for a reproducible run.")] = None,
    repeats: Annotated[int | None, _ramp(
        f"Range tests to run (default {DEFAULT_REPEATS}), each with its own shuffle; the "
        "suggestion is the median of theirs.", show_default=False,
    )] = None,
    loss_key: Annotated[str | None, _ramp(
        "The logs entry a custom train_step reports its training loss under (default: "
        "found by lrfind).", metavar="NAME", show_default=False,
    )] = None,
    verify: Annotated[bool, _verify(
        "Measure the suggestion: train a few candidate LRs from the curve briefly and keep "
        "the one with the lowest held-out loss.", "--verify",
    )] = False,
    verify_budget: Annotated[int | None, _verify(
        f"Batches the trials of --verify train in all (default {DEFAULT_TRIAL_BUDGET}).",
        metavar="N", show_default=False,
    )] = None,
    out: Annotated[Path, _output(
        "Directory for curve.png, result.json and curve.csv (created if missing).", "--out", "-o"
    )] = Path("lrfind-output"),
    svg: Annotated[bool, _output("Also write curve.svg.", "--svg")] = False,
    derivative: Annotated[bool, _output("Add the derivative panel to the plot.")] = True,
    json: Annotated[bool, _output(
        "Print the result JSON to stdout and nothing else (files are still written).", "--json"
    )] = False,
    quiet: Annotated[bool, _output(
        "No progress bar and no report; errors only.", "--quiet", "-q"
    )] = False,
    optimizer: Annotated[str | None, _model(
        "Compile with this Keras optimizer (e.g. adam, sgd); needed, with --loss, for a model "
        "saved uncompiled."
    )] = None,
    loss: Annotated[str | None, _model(
        "Compile with this Keras loss (e.g. mse, sparse_categorical_crossentropy)."
    )] = None,
    unsafe: Annotated[bool, _model(
        "Load models holding Python code (Lambda layers); only for files you trust.", "--unsafe"
    )] = False,
    imports: Annotated[list[str] | None, _model(
        "Import this module first (it registers the model's custom objects). Repeatable.",
        "--import", metavar="MODULE", show_default=False,
    )] = None,
    coordinator: cli_processes.Coordinator = None,
    num_processes: cli_processes.NumProcesses = None,
    process_id: cli_processes.ProcessId = None,
    shard: cli_processes.Shard = cli_processes.DEFAULT_SHARD,
    debug: Annotated[bool, typer.Option(
        "--debug", help="Show the traceback of any failure."
    )] = False,
    version: Annotated[bool, typer.Option(
        "--version", callback=_version, is_eager=True, help="Show lrfind's version and exit."
    )] = False,
) -> None:
    """The ``lrfind`` command (see `COMMAND_HELP`)."""
    options = _Options(
        model=model, data=data, x_key=x_key, y_key=y_key, target=target, image_size=image_size,
        start_lr=start_lr, end_lr=end_lr, steps=steps, epochs=epochs, batch_size=batch_size,
        smoothing=smoothing, stop_factor=stop_factor, repeats=repeats, loss_key=loss_key,
        verify=verify, verify_budget=verify_budget, linear=linear, shuffle=shuffle, seed=seed,
        out=out, svg=svg,
        derivative=derivative, json=json, quiet=quiet, optimizer=optimizer, loss=loss,
        unsafe=unsafe, imports=list(imports or []), debug=debug,
        processes=cli_processes.ProcessRequest(coordinator, num_processes, process_id, shard),
    )
    raise typer.Exit(_guarded_run(options))


def main() -> None:
    """Entry point of the ``lrfind`` console script."""
    app(prog_name="lrfind")


# --------------------------------------------------------------------------- the run
def _guarded_run(options: _Options) -> int:
    """Run, turning every failure into one message on stderr and an exit code.

    The one place where exceptions become exit codes: `_Failure` and `InputError` are bad
    input (the message says what to fix), anything else is a bug or TensorFlow refusing the
    data.
    """
    from rich.console import Console

    from lrfind.cli_checks import InputError

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


@contextmanager
def _bad_input() -> Iterator[None]:
    """A ValueError of lrfind's setting checks (`lrfind._defaults`) is bad input: exit 2."""
    try:
        yield
    except ValueError as error:
        raise _Failure(str(error)) from error


def _check_options(options: _Options) -> _Options:
    """The options, checked before any data or Keras is read (`lrfind._defaults`'s checks,
    worded for the shell); ``--stop-factor inf`` becomes None, never stop early."""
    with _bad_input():
        check_lr_range(options.start_lr, options.end_lr, CLI_NAMES)
        check_run_length(options.steps, options.epochs, CLI_NAMES)
        check_positive_int("batch_size", options.batch_size, CLI_NAMES)
        for name in ("repeats", "verify_budget"):
            if getattr(options, name) is not None:
                check_positive_int(name, getattr(options, name), CLI_NAMES)
        if options.verify_budget is not None and not options.verify:
            raise ValueError("--verify-budget sets the budget of the trials: add --verify.")
        return dataclasses.replace(
            options,
            smoothing=check_beta(options.smoothing, CLI_NAMES),
            stop_factor=check_stop_factor(options.stop_factor, CLI_NAMES),
            image_size=_image_size(options.image_size),
        )


def _image_size(text: Any) -> tuple[int, int] | None:
    """``--image-size 180,180`` as (180, 180)."""
    if text is None:
        return None
    parts = str(text).replace("x", ",").split(",")
    try:
        height, width = (int(part) for part in parts)
    except ValueError:
        height = width = 0
    if height < 1 or width < 1:
        raise ValueError(f"--image-size takes height,width in pixels, e.g. 180,180; got {text!r}.")
    return height, width


def _run(options: _Options, err: Console) -> int:
    from lrfind import cli_inputs as inputs
    from lrfind.cli_model import check_model_path

    options = _check_options(options)
    model_path = check_model_path(options.model)
    data = inputs.open_data(options.data, x_key=options.x_key, y_key=options.y_key,
                            target=options.target)
    inputs.check_output_dir(options.out)
    with _bad_input():  # across processes: join them before the model is loaded
        options = dataclasses.replace(options, processes=cli_processes.join(
            options.processes, verify=options.verify))
    show = not options.quiet and cli_processes.writes(options.processes)
    quiet_keras = keras_warnings_held_back(enabled=not options.debug)
    noise = native_noise_held_back(err, enabled=not options.debug, replay=show)
    with quiet_keras, noise as status_console:
        status = status_console.status("Loading TensorFlow and the model…")
        with status if show else nullcontext():
            training, model = _load(options, model_path, data)
            repeats = _repeats(options)
            with _bad_input():
                planned = plan(
                    math.ceil(len(training) / options.batch_size), options.steps,
                    options.epochs, CLI_NAMES, batch_size=options.batch_size,
                ).num_steps
            from lrfind.finder import LRFinder

        names = compile_names(model)
        with ProgressBar(err, planned * repeats, enabled=show) as progress:
            result = _find(LRFinder(model), training, options, progress, repeats)
    result.settings["run"] = _run_settings(options, model_path, training, names)
    if not cli_processes.writes(options.processes):  # the chief reports and writes
        return cli_processes.worker_exit(result)
    files = _write_outputs(result, options)
    suggestion = result.suggestion
    reliable = suggestion.reliable and suggestion.lr is not None
    if options.json:
        sys.stdout.write(result.to_json() + "\n")
        sys.stdout.flush()
    elif show:
        from rich.console import Console

        report(
            Console(highlight=False, soft_wrap=True), result, model=options.model.name,
            data=options.data.name, samples=len(training), batch_size=options.batch_size,
            files=files.values(), names=names,
        )
    if not reliable and (options.json or options.quiet):
        err.print(f"lrfind: {recommendation(result)}", markup=False)
    return EXIT_OK if reliable else EXIT_NO_SUGGESTION


def _load(options: _Options, model_path: Path, data: Any) -> tuple[TrainingData, Any]:
    """The model, compiled, and the data it takes, checked against it."""
    from lrfind import cli_model
    from lrfind.cli_inputs import select

    cli_model.import_modules(options.imports)
    model = cli_model.load_model(model_path, unsafe=options.unsafe)
    cli_model.compile_model(model, options.optimizer, options.loss)
    training = select(
        model, data, x_key=options.x_key, y_key=options.y_key,
        batch_size=options.batch_size, image_size=options.image_size,  # type: ignore[arg-type]
        seed=options.seed, shuffle=options.shuffle,
    )
    cli_model.probe_model(model, training.x)
    return training, model


def _repeats(options: _Options) -> int:
    """``--repeats``, else the default `LRFinder.find` runs (read from it at run time)."""
    import lrfind.finder

    return options.repeats or lrfind.finder.DEFAULT_REPEATS


def _find(finder: Any, training: TrainingData, options: _Options, progress: ProgressBar,
          repeats: int) -> Any:
    """``finder.find`` with the options, then the trials of ``--verify`` (what
    ``find(verify=True)`` runs, with a progress line per trial); a ValueError (lrfind's own
    checks of the data, or Keras's) becomes bad input."""
    arrays = training.kind != "images"
    batch_size = options.batch_size if arrays else None  # a dataset comes batched
    try:
        result = finder.find(
            training.x,
            training.y,
            options.start_lr,
            options.end_lr,
            batch_size,
            options.epochs,
            steps=options.steps,
            mode="linear" if options.linear else "exponential",
            beta=options.smoothing,
            stop_factor=options.stop_factor,
            shuffle=options.shuffle and arrays,
            seed=options.seed,
            on_point=progress.on_point,
            loss_key=options.loss_key,
            repeats=repeats,
            shard=cli_processes.shard(options.processes),
        )
        progress.finish(len(result), result.stop_reason)
        if options.verify:
            budget = options.verify_budget or DEFAULT_TRIAL_BUDGET
            progress.start_trials(budget)
            try:
                result.verify(finder.model, training.x, training.y, budget=budget,
                              batch_size=batch_size,
                              seed=0 if options.seed is None else options.seed,
                              on_trial=progress.on_trial)
            except ValueError as error:
                from lrfind.cli_model import exception_chain, own_words

                cause = (str(error) if _raised_by_lrfind(error)  # names the fix itself
                         else own_words(exception_chain(error)[-1]))
                raise _Failure(
                    "the range test worked, but the trials of --verify failed: "
                    f"{_sentence((cause.strip().splitlines() or [type(error).__name__])[0])} "
                    "Or run without --verify."
                ) from error
            progress.finish_trials(result.trials.budget)
        return result
    except ValueError as error:
        from lrfind.cli_model import exception_chain, own_words

        deepest = exception_chain(error)[-1]
        lines = [line.strip() for line in str(error).splitlines() if line.strip()]
        message = _sentence(lines[0] if lines else type(error).__name__)
        if not _raised_by_lrfind(error):
            message = f"Keras rejected the data: {message} Hint: {_DATA_MODEL_HINT}."
        elif deepest is not error and not isinstance(deepest, ValueError):
            message = _sentence(f"{message} The cause: {own_words(deepest)}")
        raise _Failure(message) from error


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
        "data_kind": training.kind,
        "image_size": options.image_size,
        "repeats": options.repeats,
        "loss_key": options.loss_key,
        "verify": options.verify,
        "verify_budget": options.verify_budget,
        "optimizer": names["optimizer_class"],
        "loss": names["loss_name"],
    }


def _write_outputs(result: LRFinderResult, options: _Options) -> dict[str, Path]:
    """Write result.json, curve.csv and curve.png (and curve.svg), each atomically."""
    import io

    from lrfind.plotting import result_figure
    from lrfind.result import write_atomic

    out = options.out
    paths = {kind: out / name for kind, name in OUTPUT_FILES.items()}
    if not options.svg:
        del paths["svg"]
    try:
        out.mkdir(parents=True, exist_ok=True)
        result.save(paths["json"])
        write_atomic(paths["csv"], result.to_csv().encode("utf-8"))
        figure = result_figure(result, derivative=options.derivative)
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
