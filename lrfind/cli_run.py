"""One run of the ``lrfind`` command, from checked options to written files.

`run` checks the options (`lrfind._defaults`'s checks, worded for the shell), opens the data,
joins the processes, loads the model (`_load`), runs the range tests and the trials of
``--verify`` (`_find`), writes result.json, curve.csv and the plot (`_write_outputs`) and
prints the report; it returns the run's exit code (`EXIT_OK`, or
`lrfind.cli_report.EXIT_NO_SUGGESTION`). An expected failure raises `Failure`, whose message
says what to fix; `lrfind.cli` turns every exception into an exit code.

Like `lrfind.cli`, only the standard library and Keras-free modules are imported up front.
"""

from __future__ import annotations

import dataclasses
import math
import sys
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lrfind import cli_processes
from lrfind._defaults import (
    CLI_NAMES,
    DEFAULT_TRIAL_BUDGET,
    batch_exceeds_data,
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

OUTPUT_FILES = {"json": "result.json", "csv": "curve.csv", "png": "curve.png", "svg": "curve.svg"}


class Failure(Exception):
    """An expected failure (bad input, or outputs that cannot be written): printed as one
    message, no traceback; `lrfind.cli` exits with ``EXIT_BAD_INPUT``."""


@dataclass(frozen=True)
class Options:
    """The command's options, as `lrfind.cli.run` collects them."""

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


DATA_MODEL_HINT = (
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


@contextmanager
def _bad_input() -> Iterator[None]:
    """A ValueError of lrfind's setting checks (`lrfind._defaults`) is bad input: exit 2."""
    try:
        yield
    except ValueError as error:
        raise Failure(str(error)) from error


def _check_options(options: Options) -> Options:
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


def run(options: Options, err: Console) -> int:
    """Run the command with ``options``; its exit code (`EXIT_OK` or `EXIT_NO_SUGGESTION`)."""
    from lrfind import cli_inputs as inputs
    from lrfind.cli_model import check_model_path

    options = _check_options(options)
    model_path = check_model_path(options.model)
    data = inputs.open_data(options.data, x_key=options.x_key, y_key=options.y_key,
                            target=options.target, image_size=options.image_size)
    inputs.check_output_dir(options.out)
    with _bad_input():  # across processes: join them before the model is loaded
        options = dataclasses.replace(options, processes=cli_processes.join(
            options.processes))
    show = not options.quiet and cli_processes.writes(options.processes)
    quiet_keras = keras_warnings_held_back(enabled=not options.debug)
    noise = native_noise_held_back(err, enabled=not options.debug, replay=show)
    with quiet_keras, noise as status_console:
        status = status_console.status("Loading TensorFlow and the model…")
        with status if show else nullcontext():
            training, model = _load(options, model_path, data)
            note = (batch_exceeds_data(options.batch_size, len(training), CLI_NAMES)
                    if training.kind != "images" else None)
            if note and show:
                status_console.print(f"lrfind: warning: {note}", markup=False)
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


def _load(options: Options, model_path: Path, data: Any) -> tuple[TrainingData, Any]:
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


def _repeats(options: Options) -> int:
    """``--repeats``, else the default `LRFinder.find` runs (read from it at run time)."""
    import lrfind.finder

    return options.repeats or lrfind.finder.DEFAULT_REPEATS


def _find(finder: Any, training: TrainingData, options: Options, progress: ProgressBar,
          repeats: int) -> Any:
    """``finder.find`` with the options (``verify=True`` for ``--verify``, a progress line
    per trial); a ValueError (lrfind's own checks of the data, or Keras's) becomes bad
    input, one raised once the range test is done says that the trials failed."""
    arrays = training.kind != "images"
    batch_size = options.batch_size if arrays else None  # a dataset comes batched
    budget = options.verify_budget or DEFAULT_TRIAL_BUDGET

    def range_test_done() -> None:
        progress.finish(len(finder.result), finder.result.stop_reason)
        if options.verify:
            progress.start_trials(budget)

    def on_trial(rung: int, lr: float, batches: int, loss: float) -> None:
        if progress.trials_task is None:
            range_test_done()
        progress.on_trial(rung, lr, batches, loss)

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
            verify=options.verify,
            budget=budget if options.verify else None,
            on_trial=on_trial,
            repeats=repeats,
            shard=cli_processes.shard(options.processes),
        )
    except ValueError as error:
        from lrfind.cli_model import exception_chain, own_words

        if options.verify and finder.result is not None:  # the range test was done
            cause = (str(error) if _raised_by_lrfind(error)  # names the fix itself
                     else own_words(exception_chain(error)[-1]))
            raise Failure(
                "the range test worked, but the trials of --verify failed: "
                f"{_sentence((cause.strip().splitlines() or [type(error).__name__])[0])} "
                "Or run without --verify."
            ) from error
        deepest = exception_chain(error)[-1]
        lines = [line.strip() for line in str(error).splitlines() if line.strip()]
        message = _sentence(lines[0] if lines else type(error).__name__)
        if not _raised_by_lrfind(error):
            message = f"Keras rejected the data: {message} Hint: {DATA_MODEL_HINT}."
        elif deepest is not error and not isinstance(deepest, ValueError):
            message = _sentence(f"{message} The cause: {own_words(deepest)}")
        raise Failure(message) from error
    if options.verify:
        if progress.trials_task is None:
            range_test_done()
        progress.finish_trials(result.trials.budget)
    else:
        progress.finish(len(result), result.stop_reason)
    return result


def _run_settings(
    options: Options, model_path: Path, training: TrainingData, names: dict[str, str]
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


def _write_outputs(result: LRFinderResult, options: Options) -> dict[str, Path]:
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
        raise Failure(
            f"cannot write the outputs to {str(out)!r} ({error.strerror or error}); "
            "pass --out a directory you can write to."
        ) from error
    return paths
