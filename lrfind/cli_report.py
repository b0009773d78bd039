"""What the ``lrfind`` command prints after a run: the reading of the curve as a table, a
recommendation, and a Python snippet that compiles the model with the suggestion.

Rich and Keras are imported by the functions that need them, not with this module.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lrfind._defaults import CYCLE_EPOCHS_PER_HALF, MIN_STEPS

if TYPE_CHECKING:
    from rich.console import Console

    from lrfind.result import LRFinderResult
    from lrfind.suggestion import Suggestion
    from lrfind.trial_results import TrialsResult

EXIT_NO_SUGGESTION = 3
"""The command's exit code when the run worked but the curve supports no reliable suggestion
(`recommendation` names it; `lrfind.cli` exits with it)."""


def format_lr(value: float | None) -> str:
    """A learning rate as the report writes it: 3 significant digits, "-" for none."""
    return "-" if value is None else f"{value:.3g}"


def runs_summary(result: LRFinderResult) -> str:
    """How long each range test ran and how it ended, in a few words.

    >>> from lrfind.result import LRFinderResult
    >>> import numpy as np
    >>> run = lambda n, why: LRFinderResult(np.ones(n), np.ones(n), np.ones(n), {}, why)
    >>> runs_summary(run(200, "completed"))
    '200 batches, stopped: completed'
    >>> first = run(680, "diverged")
    >>> first.repeats = [run(700, "diverged"), run(800, "completed")]
    >>> runs_summary(first)
    '3 range tests: 680, 700 and 800 batches, stopped: diverged, diverged, completed'
    """
    runs = [result, *result.repeats]
    if len(runs) == 1:
        return f"{len(result)} batches, stopped: {result.stop_reason}"
    lengths = [str(len(r)) for r in runs]
    return (f"{len(runs)} range tests: {', '.join(lengths[:-1])} and {lengths[-1]} batches, "
            f"stopped: {', '.join(r.stop_reason for r in runs)}")


def report(
    out: Console,
    result: LRFinderResult,
    *,
    model: str,
    data: str,
    samples: int,
    batch_size: int,
    files: Iterable[Path],
    names: dict[str, str],
) -> None:
    """Print the run's summary line, the reading table, the recommendation, the snippet and
    the files written. ``names`` is `compile_names` of the model."""
    from rich.table import Table

    from lrfind.suggestion import POINT_LABELS

    suggestion = result.suggestion
    out.print(f"lrfind: {model} on {data} ({samples} samples, batch size {batch_size}): "
              f"{runs_summary(result)}", markup=False)
    table = Table(title="Range-test reading", title_justify="left", expand=False)
    table.add_column("point")
    table.add_column("lr", justify="right")
    table.add_column("loss", justify="right")
    table.add_column("why")
    table.add_row("suggested lr", format_lr(suggestion.lr), "", suggestion.reason, style="bold")
    trials = result.trials is not None and getattr(suggestion, "basis", None) == "trials"
    within = f"within {result.trials.tolerance:.0%} of the best" if result.trials else ""
    if suggestion.min_lr is not None:
        table.add_row("band low", format_lr(suggestion.min_lr), "",
                      f"min_lr: the lowest trial LR {within}; base_lr of a cycle." if trials
                      else "min_lr: where the loss starts falling; base_lr of a cycle.")
    if suggestion.max_lr is not None:
        table.add_row("band high", format_lr(suggestion.max_lr), "",
                      f"max_lr: the highest trial LR {within}; max_lr of a cycle." if trials
                      else "max_lr: half a decade below divergence; max_lr of a cycle.")
    for name, point in sorted(suggestion.points.items(), key=lambda item: item[1].lr):
        loss = f"{point.loss:.4g}" if math.isfinite(point.loss) else "-"
        table.add_row(POINT_LABELS.get(name, name), format_lr(point.lr), loss, point.reason)
    out.print(table)
    if result.trials is not None:
        out.print(trials_table(result.trials))
    out.print(recommendation(result), markup=False)
    code = snippet(suggestion, samples, batch_size, names)
    if code:
        out.print("\nPaste into your training script:\n", markup=False)
        out.print(code, markup=False)
    written = ", ".join(str(path) for path in files)
    out.print(f"\nWrote {written}", markup=False)


def trials_table(trials: TrialsResult) -> Any:
    """A Rich table of the trials: each candidate LR, its held-out loss after each rung it
    trained in, whether it was kept to the last rung, and the winner.

    >>> from lrfind.trial_results import Trial, TrialsResult
    >>> done = TrialsResult([Trial(0.01, [10, 20], [0.5, 0.4], True), Trial(0.1, [10], [0.9])],
    ...                     0.01, 0.01, 0.01, "validation_data", 30)
    >>> [column.header for column in trials_table(done).columns]
    ['lr', 'after 10 batches', 'after 20 batches', 'trial']
    """
    from rich.table import Table

    rungs = sorted({batches for trial in trials.trials for batches in trial.batches})
    table = Table(title=f"Trials (held-out loss, scored on {trials.scored_on})",
                  title_justify="left", expand=False)
    table.add_column("lr", justify="right")
    for batches in rungs:
        table.add_column(f"after {batches} batches", justify="right")
    table.add_column("trial")
    for trial in trials.trials:
        losses = dict(zip(trial.batches, trial.losses, strict=True))
        cells = [_loss_cell(losses[b]) if b in losses else "" for b in rungs]
        winner = trial.lr == trials.lr
        verdict = "winner" if winner else "kept" if trial.kept else "dropped"
        if trial.lr == trials.curve_lr:
            verdict += " (the curve's suggestion)"
        table.add_row(format_lr(trial.lr), *cells, verdict, style="bold" if winner else None)
    return table


def _loss_cell(loss: float) -> str:
    return f"{loss:.4g}" if math.isfinite(loss) else "diverged"


def recommendation(result: LRFinderResult) -> str:
    """One sentence: the rate (and band) to train at, or why there is none.

    >>> import numpy as np
    >>> from lrfind.result import LRFinderResult
    >>> flat = LRFinderResult.from_curve(np.geomspace(1e-6, 1, 50), np.ones(50))
    >>> recommendation(flat).startswith("No reliable suggestion (exit code 3)")
    True
    """
    suggestion = result.suggestion
    if suggestion.lr is not None and suggestion.reliable:
        line = f"Recommendation: train at learning_rate={format_lr(suggestion.lr)}"
        if has_band(suggestion):
            line += (
                f", or cycle it between {format_lr(suggestion.min_lr)} and "
                f"{format_lr(suggestion.max_lr)}"
            )
        return line + "."
    hint = ""
    if len(result) < 2 * MIN_STEPS and result.stop_reason in ("diverged", "non_finite"):
        hint = (
            f" The loss blew up after {len(result)} batches: start the ramp lower "
            "(--start-lr) or check the data's scale."
        )
    return f"No reliable suggestion (exit code {EXIT_NO_SUGGESTION}): {suggestion.reason}{hint}"


def has_band(suggestion: Suggestion) -> bool:
    """True when the suggestion has a usable cycle: ``0 < min_lr < max_lr``."""
    low, high = suggestion.min_lr, suggestion.max_lr
    return low is not None and high is not None and 0 < low < high


def compile_names(model: Any) -> dict[str, str]:
    """How the snippet (and ``result.json``) name the model's optimizer and loss.

    Keys: ``optimizer_class`` (e.g. "Adam"), ``optimizer`` (code: "keras.optimizers.Adam"),
    ``loss`` (code: '"mse"', "keras.losses.Huber()" or "..." when it cannot be written) and
    ``loss_name``.
    """
    import keras

    optimizer = getattr(model.optimizer, "inner_optimizer", model.optimizer)
    name = type(optimizer).__name__
    loss = getattr(model, "loss", None)
    loss_name = loss if isinstance(loss, str) else getattr(
        loss, "__name__", type(loss).__name__
    )
    if isinstance(loss, str):
        loss_code = json.dumps(loss)
    elif callable(loss) and getattr(keras.losses, str(loss_name), None) is loss:
        loss_code = json.dumps(loss_name)  # a loss function of keras.losses: its string name
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


def snippet(suggestion: Suggestion, samples: int, batch_size: int, names: dict[str, str]) -> str:
    """Python that compiles the model with the suggested CyclicLR (or constant rate); "" when
    the curve supports no reliable suggestion.

    >>> from lrfind.suggestion import Suggestion
    >>> names = {"optimizer": "keras.optimizers.SGD", "loss": '"mse"'}
    >>> print(snippet(Suggestion(0.01, None, None, True, "example"), 100, 10, names))
    import keras
    <BLANKLINE>
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=0.01),
        loss="mse",
    )
    """
    if suggestion.lr is None or not suggestion.reliable:
        return ""
    optimizer = names["optimizer"]
    lines = ["import keras", *(["import lrfind"] if has_band(suggestion) else []), ""]
    loss = names["loss"]
    if loss.startswith("..."):
        lines.append("loss = ...  # the loss your model is compiled with")
        loss = "loss"
    if has_band(suggestion):
        per_epoch = math.ceil(samples / batch_size)
        lines += [
            f"steps_per_epoch = {per_epoch}  # {samples} samples / batch size {batch_size}",
            "schedule = lrfind.CyclicLR(",
            f"    base_lr={format_lr(suggestion.min_lr)},",
            f"    max_lr={format_lr(suggestion.max_lr)},",
            f"    step_size={CYCLE_EPOCHS_PER_HALF} * steps_per_epoch,  # half a cycle: 2-8 epochs",
            ")",
            "model.compile(",
            f"    optimizer={optimizer}(learning_rate=schedule),",
            f"    loss={loss},",
            ")",
            f"# or a constant rate: optimizer={optimizer}(learning_rate="
            f"{format_lr(suggestion.lr)})",
        ]
    else:
        lines += [
            "model.compile(",
            f"    optimizer={optimizer}(learning_rate={format_lr(suggestion.lr)}),",
            f"    loss={loss},",
            ")",
        ]
    return "\n".join(lines)
