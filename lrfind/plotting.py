"""Matplotlib figures for lrfind.

matplotlib (and Keras, for schedules) are imported inside the functions, so importing this
module costs nothing. Figures go through pyplot, whose automatic backend choice already falls
back to the non-interactive Agg backend when no display is available; a backend the user
configured (`MPLBACKEND`, matplotlibrc, `%matplotlib inline`) is left alone.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from lrfind.analysis import POINT_LABELS

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from lrfind.result import LRFinderResult
    from lrfind.trial_results import TrialsResult


def _figure_and_axes(ax: Axes | None) -> tuple[Figure, Axes]:
    """`ax` and its figure, or a new figure with one axes when `ax` is None."""
    if ax is not None:
        return ax.figure, ax
    import matplotlib.pyplot as plt

    figure, ax = plt.subplots()
    return figure, ax


def plot_schedule(
    schedule: Callable[[int], Any],
    steps: int | Sequence[int],
    ax: Axes | None = None,
    label: str | None = None,
) -> Figure:
    """Plot a learning-rate schedule against the optimizer step; returns the Figure.

    Example:

    ```python
    import matplotlib.pyplot as plt
    from lrfind.schedules import CyclicLR
    figure = plot_schedule(CyclicLR(1e-4, 1e-2, step_size=500, mode="triangular2"), 3000)
    figure.savefig("clr.png")
    # several schedules on one axes, each with its label
    figure, ax = plt.subplots()
    for mode in ("triangular", "triangular2"):
        plot_schedule(CyclicLR(1e-4, 1e-2, step_size=500, mode=mode), 3000, ax=ax, label=mode)
    ax.legend()
    ```

    Args:
        schedule: A `keras.optimizers.schedules.LearningRateSchedule` (lrfind's or Keras's) or
            any callable from step to learning rate.
        steps: Number of steps to plot from step 0, or the steps themselves.
        ax: Axes to draw into; a new figure is made when None. Several schedules can share
            one axes: call once per schedule with a `label` each, then ``ax.legend()``.
        label: The line's legend label and, on a new figure, the title; by default the
            schedule's name or class.
    """
    import numpy as np

    from lrfind.schedules import schedule_values

    step_values = np.arange(steps) if isinstance(steps, numbers.Integral) else np.asarray(steps)
    learning_rates = schedule_values(schedule, step_values)
    new_figure = ax is None
    figure, ax = _figure_and_axes(ax)
    name = label or getattr(schedule, "name", None) or getattr(
        schedule, "__name__", type(schedule).__name__
    )
    ax.plot(step_values, learning_rates, label=name)
    ax.set_xlabel("step")
    ax.set_ylabel("learning rate")
    if new_figure:
        ax.set_title(f"Learning-rate schedule: {name}")
    return figure


# ------------------------------------------------------------------- range-test curve
_POINT_MARKS = {  # name: (colour, marker)
    "descent_start": ("#2a9d8f", "^"),
    "steepest": ("#e76f51", "v"),
    "knee": ("#f4a261", "s"),
    "minimum": ("#6a4c93", "o"),
    "smoothed_minimum": ("#8d99ae", "D"),
    "divergence": ("#c1121f", "X"),
}
_POINT_STYLES = {  # name: (label, colour, marker), in the order they appear on a curve
    name: (label, *_POINT_MARKS[name]) for name, label in POINT_LABELS.items()
}
_LOSS_COLOUR = "#1d3557"
_SUGGESTION_COLOUR = "#2b9348"
_VALIDATION_COLOUR = "#f77f00"


def plot_result(
    result: LRFinderResult,
    ax: Axes | Sequence[Axes] | None = None,
    derivative: bool = False,
) -> Figure:
    """Plot a range test: loss against learning rate (log axis) with its reading marked.

    Draws each batch's loss (faint), the smoothed curve the suggestion is read from (bold),
    every named point of `result.suggestion` (marked and labelled), the suggested LR, the
    suggested min–max band (shaded) and the divergence point. With ``derivative=True`` a
    second panel shows d loss / d log10(lr), whose most negative value is the steepest point.

    Example:

    ```python
    result = LRFinder(model).find(x, y)
    figure = plot_result(result, derivative=True)   # same as result.plot(derivative=True)
    figure.savefig("lr_range_test.png", dpi=150)
    ```

    Args:
        result: A finished range test (`LRFinderResult`, also one loaded from JSON).
        ax: Axes to draw the loss into; a new figure is made when None. With
            ``derivative=True`` either a pair of axes (loss, derivative) or one axes,
            below which the derivative panel is appended.
        derivative: Add the panel with the derivative of the smoothed loss.
    """
    loss_ax, slope_ax = _result_axes(ax, derivative)
    curve = _CurveView(result)
    _draw_loss_panel(loss_ax, curve)
    if slope_ax is not None:
        _draw_derivative_panel(slope_ax, curve)
        if loss_ax.get_shared_x_axes().joined(loss_ax, slope_ax):  # stacked: one x-axis
            loss_ax.tick_params(labelbottom=False)
            loss_ax.set_xlabel("")
    return loss_ax.figure


_FIGSIZE = {True: (8, 6.5), False: (8, 5)}  # with the derivative panel, and without
_STACKED = {"sharex": True, "height_ratios": (3, 1.2)}  # loss above, derivative below


def result_figure(result: LRFinderResult, derivative: bool = True) -> Figure:
    """A new figure of the range test, made without pyplot: nothing to close, no GUI.

    The figure the ``lrfind`` command saves: 8 x 6.5 inches with the derivative panel below
    the loss, 8 x 5 without, constrained layout, drawn by `plot_result`. When the result has
    trials (``find(verify=True)``), a panel of them (`plot_trials`) stands to the right of
    the curve, and the figure is 4.5 inches wider.

    Example:

    ```python
    figure = result_figure(LRFinderResult.load("lrfind-output/result.json"))
    figure.savefig("curve.png", dpi=150)
    ```
    """
    from matplotlib.figure import Figure

    width, height = _FIGSIZE[bool(derivative)]
    trials = result.trials
    figure = Figure(figsize=(width + (4.5 if trials else 0), height), layout="constrained")
    if trials is None:
        axes = figure.subplots(2, 1, **_STACKED) if derivative else figure.subplots()
        plot_result(result, ax=axes, derivative=derivative)
        return figure
    layout = [["loss", "trials"], ["slope", "trials"]] if derivative else [["loss", "trials"]]
    panels = figure.subplot_mosaic(
        layout, width_ratios=(width, 4.5),
        height_ratios=_STACKED["height_ratios"] if derivative else None,
    )
    if derivative:
        panels["slope"].sharex(panels["loss"])
    plot_result(result, ax=[panels["loss"], panels["slope"]] if derivative else panels["loss"],
                derivative=derivative)
    plot_trials(trials, ax=panels["trials"])
    return figure


_RUNG_COLOURS = ("#a8dadc", "#457b9d", "#1d3557", "#0b132b")


def plot_trials(trials: TrialsResult, ax: Axes | None = None) -> Figure:
    """Plot the trials of a verified suggestion: held-out loss against the trial LR (log
    axis), one line per rung of successive halving, the winner and the curve's own
    suggestion marked, the trials' band shaded. Returns the figure.

    Example:

    ```python
    result = LRFinder(model).find(x, y, verify=True)
    plot_trials(result.trials).savefig("trials.png")
    ```
    """
    import math

    figure, ax = _figure_and_axes(ax)
    ax.set_xscale("log")
    ax.grid(True, which="major", alpha=0.3)
    ax.set_xlabel("learning rate (log scale)")
    ax.set_ylabel("held-out loss")
    ax.axvspan(trials.min_lr, trials.max_lr, color=_SUGGESTION_COLOUR, alpha=0.10, lw=0,
               label=f"within {trials.tolerance:.0%} of the best")
    rungs = sorted({b for trial in trials.trials for b in trial.batches})
    for index, batches in enumerate(rungs):
        points = [(t.lr, t.losses[t.batches.index(batches)]) for t in trials.trials
                  if batches in t.batches]
        finite = [(lr, loss) for lr, loss in points if math.isfinite(loss)]
        if finite:
            lrs, losses = zip(*finite, strict=True)
            ax.plot(lrs, losses, marker="o", ms=5, lw=1.4,
                    color=_RUNG_COLOURS[min(index, len(_RUNG_COLOURS) - 1)],
                    label=f"after {batches} batches")
    finite_losses = [v for t in trials.trials for v in t.losses if math.isfinite(v)]
    if finite_losses and min(finite_losses) > 0 and max(finite_losses) > 20 * min(finite_losses):
        ax.set_yscale("log")  # a blown-up trial would flatten the others
    diverged = [t.lr for t in trials.trials if not math.isfinite(t.final_loss)]
    if diverged:
        ax.plot(diverged, [1.0] * len(diverged), "x", color=_POINT_STYLES["divergence"][1],
                transform=ax.get_xaxis_transform(), clip_on=False, label="diverged")
    winner = next(t for t in trials.trials if t.lr == trials.lr)
    if math.isfinite(winner.final_loss):
        ax.plot([winner.lr], [winner.final_loss], marker="*", ms=16, color=_SUGGESTION_COLOUR,
                mec="white", ls="none", zorder=5, label=f"kept: {_format_lr(winner.lr)}")
    if trials.curve_lr is not None:
        ax.axvline(trials.curve_lr, color=_LOSS_COLOUR, lw=1.2, ls=":",
                   label=f"curve's suggestion {_format_lr(trials.curve_lr)}")
    ax.legend(loc="best", fontsize="small", framealpha=0.9)
    ax.set_title(f"Trials: {len(trials.trials)} LRs, {trials.budget} batches", loc="left",
                 fontsize="medium")
    return figure


def _result_axes(ax: Any, derivative: bool) -> tuple[Axes, Axes | None]:
    import numpy as np

    if ax is None:
        import matplotlib.pyplot as plt

        if not derivative:
            _, loss_ax = plt.subplots(figsize=_FIGSIZE[False], layout="constrained")
            return loss_ax, None
        _, (loss_ax, slope_ax) = plt.subplots(
            2, 1, figsize=_FIGSIZE[True], layout="constrained", **_STACKED
        )
        return loss_ax, slope_ax
    if isinstance(ax, (list, tuple)) or getattr(ax, "ndim", 0) >= 1:
        axes = list(np.ravel(np.asarray(ax, dtype=object)))
        if len(axes) != (2 if derivative else 1):
            raise ValueError(
                f"got {len(axes)} axes; pass one axes, or two (loss, derivative) together "
                "with derivative=True."
            )
        return axes[0], (axes[1] if derivative else None)
    if not derivative:
        return ax, None
    from mpl_toolkits.axes_grid1 import make_axes_locatable

    slope_ax = make_axes_locatable(ax).append_axes("bottom", size="40%", pad=0.15, sharex=ax)
    return ax, slope_ax


class _CurveView:
    """What the panels draw, computed once: the curve, its smoothing and its reading."""

    def __init__(self, result: LRFinderResult) -> None:
        import numpy as np

        from lrfind.analysis import loss_gradient, smooth_curve

        self.lrs = np.asarray(result.lrs, dtype=np.float64)
        self.losses = np.asarray(result.losses, dtype=np.float64)
        self.suggestion = result.suggestion
        self.stop_reason = result.stop_reason
        self.beta = result.settings.get("beta")
        self.val_lrs = result.val_lrs
        self.val_losses = result.val_losses
        try:  # the curve the named points were read from
            self.smoothed = smooth_curve(self.lrs, self.losses)
            self.slope = loss_gradient(self.lrs, self.losses)
        except ValueError:  # too odd a curve for the analysis: fall back to the recorded EMA
            self.smoothed = np.asarray(result.smoothed_losses, dtype=np.float64)
            self.slope = np.full(len(self.lrs), np.nan)
        divergence = self.suggestion.points.get("divergence")
        self.usable = len(self.lrs) if divergence is None else max(divergence.index, 1)
        self.repeats = []  # (lrs, smoothed loss) of each repeated range test
        for repeat in result.repeats:
            try:
                self.repeats.append((np.asarray(repeat.lrs, dtype=np.float64),
                                     smooth_curve(repeat.lrs, repeat.losses)))
            except ValueError:
                continue

    def loss_limits(self) -> tuple[float, float] | None:
        """y-limits that show the descent in full and the divergence as it takes off."""
        import numpy as np

        head = slice(0, max(self.usable, 2) + 1)
        values = np.concatenate([self.smoothed[head], self.losses[head]])
        values = values[np.isfinite(values)]
        if len(values) == 0:
            return None
        low = float(np.min(values))
        high = float(np.percentile(values, 98))
        start = self.smoothed[np.isfinite(self.smoothed)]
        if len(start):
            high = max(high, float(np.max(start[: max(self.usable, 1)])))
        span = high - low or abs(high) or 1.0
        return low - 0.08 * span, high + 0.12 * span


def _format_lr(lr: float) -> str:
    return f"{lr:.3g}"


def _draw_loss_panel(ax: Axes, curve: _CurveView) -> None:
    import numpy as np

    suggestion = curve.suggestion
    ax.set_xscale("log")
    ax.grid(True, which="major", alpha=0.3)
    ax.set_xlabel("learning rate (log scale)")
    ax.set_ylabel("loss")
    if len(curve.lrs) == 0:
        ax.text(0.5, 0.5, "no finite loss was recorded", ha="center", va="center",
                transform=ax.transAxes)
        ax.set_title("Learning-rate range test: no curve")
        return
    if suggestion.min_lr is not None and suggestion.max_lr is not None:
        ax.axvspan(suggestion.min_lr, suggestion.max_lr, color=_SUGGESTION_COLOUR, alpha=0.10,
                   lw=0, label=f"suggested min–max {_format_lr(suggestion.min_lr)} – "
                   f"{_format_lr(suggestion.max_lr)}")
    ax.plot(curve.lrs, curve.losses, color=_LOSS_COLOUR, alpha=0.28, lw=0.8,
            label="loss of each batch")
    ax.plot(curve.lrs, curve.smoothed, color=_LOSS_COLOUR, lw=2.2, label="smoothed loss")
    for i, (lrs, smoothed) in enumerate(curve.repeats):
        ax.plot(lrs, smoothed, color=_LOSS_COLOUR, lw=1.0, alpha=0.6, ls="--",
                label=f"the {len(curve.repeats)} other repeats" if i == 0 else None)
    if suggestion.interval is not None and suggestion.lr is not None:
        low, high = suggestion.interval
        ax.axvspan(low, high, ymin=0.96, ymax=1.0, color=_SUGGESTION_COLOUR, alpha=0.6, lw=0,
                   label=f"the repeats' suggestions {_format_lr(low)} – {_format_lr(high)}")
    if curve.val_losses is not None and len(curve.val_losses):
        ax.plot(curve.val_lrs, curve.val_losses, color=_VALIDATION_COLOUR, lw=1.2, marker=".",
                ms=4, label="validation loss (cached subset)")
    if suggestion.lr is not None:
        ax.axvline(suggestion.lr, color=_SUGGESTION_COLOUR, lw=2.0,
                   label=f"suggested lr {_format_lr(suggestion.lr)}")
    divergence = suggestion.points.get("divergence")
    if divergence is not None:
        ax.axvline(divergence.lr, color=_POINT_STYLES["divergence"][1], lw=1.2, ls="--")
    limits = curve.loss_limits()
    if limits is not None:
        ax.set_ylim(*limits)
    _mark_points(ax, curve, np.asarray(curve.smoothed))
    ax.legend(loc="lower left", fontsize="small", framealpha=0.9)
    if suggestion.lr is not None and suggestion.reliable:
        headline = f"suggested learning rate {_format_lr(suggestion.lr)}"
    elif suggestion.lr is not None:
        headline = f"{_format_lr(suggestion.lr)} (not reliable)"
    else:
        headline = "no reliable suggestion"
    ax.set_title(f"Learning-rate range test: {headline}", loc="left", fontsize="medium")
    runs = f" (first of {len(curve.repeats) + 1} range tests)" if curve.repeats else ""
    ax.set_title(f"{len(curve.lrs)} batches, {curve.stop_reason}{runs}", loc="right",
                 fontsize="small", color="0.4")
    if not suggestion.reliable:
        import textwrap

        ax.text(0.98, 0.96, textwrap.fill(suggestion.reason, 60), transform=ax.transAxes,
                ha="right", va="top", fontsize="small", multialignment="left",
                bbox={"boxstyle": "round", "fc": "#fff3cd", "ec": "#d4a017"})


def _mark_points(ax: Axes, curve: _CurveView, smoothed: Any) -> None:
    """Mark every named point on the smoothed curve and label it.

    Points closer than 3 % of the axis width share one label; a label sits below-left of its
    marker (the curve falls from the upper left), or left of it near the bottom of the axes.
    """
    import math

    order = list(_POINT_STYLES)
    points = sorted(
        curve.suggestion.points.items(),
        key=lambda item: (item[1].lr, order.index(item[0]) if item[0] in order else len(order)),
    )
    x_low, x_high = (math.log10(v) for v in ax.get_xlim())
    y_low, y_high = ax.get_ylim()
    groups: list[list[tuple[str, Any, float]]] = []
    for name, point in points:
        y = point.loss if math.isfinite(point.loss) else _nearest_finite(smoothed, point.index)
        if y is None:
            continue
        y = min(max(y, y_low), y_high)
        position = (math.log10(point.lr) - x_low) / (x_high - x_low)
        if groups and position - groups[-1][0][2] < 0.03:
            groups[-1].append((name, point, position))
        else:
            groups.append([(name, point, position)])
        _, colour, marker = _POINT_STYLES.get(name, (name, "0.3", "D"))
        ax.plot([point.lr], [y], marker=marker, ms=9, color=colour, mec="white", mew=1.2,
                ls="none", zorder=5)
    for group in groups:
        name, point, _ = group[0]
        lines = []
        for member_name, member, _ in group:
            label = _POINT_STYLES.get(member_name, (member_name,))[0]
            lines.append(f"{label} {_format_lr(member.lr)}")
        colour = _POINT_STYLES.get(name, (name, "0.3"))[1] if len(group) == 1 else "0.15"
        y = min(max(point.loss if math.isfinite(point.loss) else y_low, y_low), y_high)
        low = (y - y_low) / ((y_high - y_low) or 1.0) < 0.3
        ax.annotate(
            "\n".join(lines),
            xy=(point.lr, y),
            xytext=(-12, 4 if low else -12),
            textcoords="offset points",
            ha="right",
            va="bottom" if low else "top",
            fontsize="small",
            color=colour,
            bbox={"boxstyle": "round,pad=0.25", "fc": "white", "ec": colour, "lw": 0.6,
                  "alpha": 0.9},
            zorder=6,
        )


def _nearest_finite(values: Any, index: int) -> float | None:
    import numpy as np

    finite = np.flatnonzero(np.isfinite(values[: index + 1]))
    return float(values[finite[-1]]) if len(finite) else None


def _draw_derivative_panel(ax: Axes, curve: _CurveView) -> None:
    import math

    import numpy as np

    ax.set_xscale("log")
    ax.grid(True, which="major", alpha=0.3)
    ax.axhline(0.0, color="0.5", lw=0.8)
    ax.plot(curve.lrs, curve.slope, color=_LOSS_COLOUR, lw=1.6)
    ax.set_xlabel("learning rate (log scale)")
    ax.set_ylabel("d loss / d log10(lr)")
    minimum = curve.suggestion.points.get("minimum")
    head = curve.slope[: (curve.usable if minimum is None else minimum.index) + 1]
    head = head[np.isfinite(head)]
    if len(head):  # the descent fills the panel; the rise after the minimum may leave it
        low, high = float(np.min(head)), float(max(np.max(head), 0.0))
        high = max(high, 0.4 * abs(low))
        span = high - low or 1.0
        ax.set_ylim(low - 0.15 * span, high + 0.15 * span)
    steepest = curve.suggestion.points.get("steepest")
    if steepest is not None and np.isfinite(curve.slope[steepest.index]):
        label, colour, marker = _POINT_STYLES["steepest"]
        ax.plot([steepest.lr], [curve.slope[steepest.index]], marker=marker, ms=9,
                color=colour, mec="white", mew=1.2, ls="none", zorder=5)
        right_half = steepest.lr > math.sqrt(ax.get_xlim()[0] * ax.get_xlim()[1])
        ax.annotate(f"{label} {_format_lr(steepest.lr)}",
                    xy=(steepest.lr, curve.slope[steepest.index]),
                    xytext=(-10 if right_half else 10, 0), textcoords="offset points",
                    ha="right" if right_half else "left", va="center", fontsize="small",
                    color=colour)
    if curve.suggestion.lr is not None:
        ax.axvline(curve.suggestion.lr, color=_SUGGESTION_COLOUR, lw=1.5)
    divergence = curve.suggestion.points.get("divergence")
    if divergence is not None:
        ax.axvline(divergence.lr, color=_POINT_STYLES["divergence"][1], lw=1.2, ls="--")
