"""The ``lrfind`` command: a learning-rate range test on a saved Keras model, from the shell.

    lrfind model.keras data.npz [options]

This module is the shell: the options and the exit codes (every failure becomes one in
`_guarded_run`). The run itself, from checked options to written files, is
`lrfind.cli_run`'s; its steps live beside it: `lrfind.cli_model` loads the model,
`lrfind.cli_inputs` reads the data (tables and images: `lrfind.cli_tables`) and
`lrfind.cli_checks` checks it, `lrfind.cli_console` shows progress on stderr and
`lrfind.cli_report` prints the reading; the defaults and option checks are
`lrfind._defaults`'s, shared with the Python API.

Only Typer, the standard library and those Keras-free defaults are imported up front: NumPy,
Keras and TensorFlow are imported when a run starts, so ``lrfind --help`` answers at once.
Exit codes: see `EXIT_CODES_HELP`.
"""

from __future__ import annotations

import sys
import traceback
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperCommand

from lrfind import cli_processes, cli_run
from lrfind._defaults import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_BETA,
    DEFAULT_END_LR,
    DEFAULT_REPEATS,
    DEFAULT_START_LR,
    DEFAULT_STEPS,
    DEFAULT_STOP_FACTOR,
    DEFAULT_TRIAL_BUDGET,
)
from lrfind.cli_report import EXIT_NO_SUGGESTION
from lrfind.cli_run import EXIT_OK

if TYPE_CHECKING:
    from rich.console import Console

EXIT_UNEXPECTED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130

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
    options = cli_run.Options(
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


# --------------------------------------------------------------------------- the exit codes
def _guarded_run(options: cli_run.Options) -> int:
    """Run, turning every failure into one message on stderr and an exit code.

    The one place where exceptions become exit codes: `cli_run.Failure` and `InputError` are bad
    input (the message says what to fix), anything else is a bug or TensorFlow refusing the
    data.
    """
    from rich.console import Console

    from lrfind.cli_checks import InputError

    err = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        return cli_run.run(options, err)
    except KeyboardInterrupt:
        _print_error(err, "interrupted; nothing was written and the model file is untouched.")
        return EXIT_INTERRUPTED
    except cli_run.Failure as failure:
        _print_error(err, str(failure), debug=options.debug)
        return EXIT_BAD_INPUT
    except InputError as error:
        _print_error(err, str(error), debug=options.debug)
        return EXIT_BAD_INPUT
    except Exception as error:
        if type(error).__name__ == "InvalidArgumentError":  # TensorFlow refused the data
            _print_error(
                err,
                f"TensorFlow rejected the data during the run ({_tf_error_summary(error)}); "
                f"{cli_run.DATA_MODEL_HINT}.",
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


def _tf_error_summary(error: BaseException) -> str:
    """The line of a TensorFlow graph error that says what went wrong (no stack, no node)."""
    skip = ("Graph execution error", "Detected at node", "[[", "Traceback")
    for line in str(error).splitlines():
        if line.strip() and not line[0].isspace() and not line.startswith(skip):
            return line.split("  Label values:")[0].strip()[:300]
    return type(error).__name__
