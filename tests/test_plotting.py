"""plot_result: what the range-test figure draws, checked against the result it was given;
result_figure: the figure the command line saves."""

from __future__ import annotations

import io
import subprocess
import sys

import matplotlib.pyplot as plt  # headless: conftest sets MPLBACKEND=Agg
import numpy as np
import pytest
from matplotlib.figure import Figure

from lrfind.analysis import POINT_LABELS, loss_gradient, smooth_curve
from lrfind.plotting import plot_result, result_figure
from lrfind.result import LRFinderResult


@pytest.fixture(scope="module")
def clean_result() -> LRFinderResult:
    """A textbook curve: flat, a steep descent around 1e-3, a minimum, then divergence."""
    rng = np.random.default_rng(0)
    lrs = np.geomspace(1e-6, 10, 200)
    losses = 1.0 / (1.0 + (lrs / 1e-3) ** 2) + (lrs / 0.3) ** 3 + 0.02 * rng.normal(size=200)
    keep = losses < 4.0
    return LRFinderResult.from_curve(lrs[keep], losses[keep], stop_reason="diverged")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _line_with(ax, y: np.ndarray):
    """The Line2D of `ax` whose y data equals `y` (NaN where `y` is NaN)."""
    for line in ax.get_lines():
        data = np.asarray(line.get_ydata(), dtype=float)
        if data.shape == y.shape and np.allclose(data, y, equal_nan=True):
            return line
    return None


def _markers_at(ax) -> dict[float, float]:
    """x -> y of every single-point marker drawn on `ax`."""
    return {
        float(line.get_xdata()[0]): float(line.get_ydata()[0])
        for line in ax.get_lines()
        if len(line.get_xdata()) == 1 and line.get_marker() not in (None, "None", "")
    }


def test_loss_panel_draws_raw_and_smoothed_curves_on_a_log_axis(clean_result):
    figure = plot_result(clean_result)
    assert isinstance(figure, Figure)
    (ax,) = figure.axes
    assert ax.get_xscale() == "log"
    raw = _line_with(ax, clean_result.losses)
    smooth = _line_with(ax, smooth_curve(clean_result.lrs, clean_result.losses))
    assert raw is not None and smooth is not None
    np.testing.assert_array_equal(raw.get_xdata(), clean_result.lrs)
    assert raw.get_alpha() < 0.5  # faint
    assert smooth.get_linewidth() > 2 * raw.get_linewidth()  # bold


def test_repeats_are_drawn_and_their_suggestions_spanned():
    rng = np.random.default_rng(1)
    lrs = np.geomspace(1e-6, 10, 200)

    def run(shift: float) -> LRFinderResult:
        losses = (1.0 / (1.0 + (lrs / (1e-3 * shift)) ** 2) + (lrs / 0.3) ** 3
                  + 0.02 * rng.normal(size=200))
        keep = losses < 4.0
        return LRFinderResult.from_curve(lrs[keep], losses[keep], stop_reason="diverged")

    result, *repeats = (run(shift) for shift in (1.0, 1.5, 0.7))
    result.repeats = repeats
    (ax,) = plot_result(result).axes
    for repeat in repeats:
        line = _line_with(ax, smooth_curve(repeat.lrs, repeat.losses))
        assert line is not None and line.get_linestyle() == "--"
    low, high = result.suggestion.interval
    labels = [artist.get_label() for artist in ax.get_children()]
    assert any(label.startswith("the repeats' suggestions") for label in labels)
    assert low < high and "(first of 3 range tests)" in ax.get_title(loc="right")


def test_every_named_point_is_marked_on_the_smoothed_curve_and_labelled(clean_result):
    suggestion = clean_result.suggestion
    assert {"steepest", "minimum", "divergence", "descent_start"} <= set(suggestion.points)
    figure = plot_result(clean_result)
    ax = figure.axes[0]
    markers = _markers_at(ax)
    labels = " ".join(text.get_text() for text in ax.texts)
    for name, point in suggestion.points.items():
        assert markers[point.lr] == pytest.approx(point.loss), name
        assert f"{point.lr:.3g}" in labels, name
    for name in suggestion.points:
        assert POINT_LABELS[name] in labels


def test_validation_losses_are_drawn_at_their_learning_rates(clean_result):
    indices = np.arange(0, len(clean_result), 10)
    val_losses = clean_result.losses[indices] + 0.1
    with_validation = LRFinderResult.from_dict(
        {**clean_result.to_dict(), "val_indices": indices.tolist(),
         "val_losses": val_losses.tolist()}
    )
    ax = plot_result(with_validation).axes[0]
    line = _line_with(ax, val_losses)
    assert line is not None
    np.testing.assert_array_equal(line.get_xdata(), clean_result.lrs[indices])
    assert "validation" in line.get_label()
    assert _line_with(plot_result(clean_result).axes[0], val_losses) is None


def test_band_suggestion_and_divergence_are_marked(clean_result):
    suggestion = clean_result.suggestion
    ax = plot_result(clean_result).axes[0]
    spans = [patch for patch in ax.patches if patch.get_label().startswith("suggested min")]
    assert len(spans) == 1
    x_left = spans[0].get_x() if hasattr(spans[0], "get_x") else None
    corners = spans[0].get_xy() if x_left is None else None
    band = (x_left, x_left + spans[0].get_width()) if corners is None else (
        corners[:, 0].min(), corners[:, 0].max())
    assert band == pytest.approx((suggestion.min_lr, suggestion.max_lr))
    vertical = {float(line.get_xdata()[0]) for line in ax.get_lines()
                if len(set(np.ravel(line.get_xdata()))) == 1 and len(line.get_xdata()) == 2}
    assert suggestion.lr in vertical
    assert suggestion.points["divergence"].lr in vertical
    assert f"{suggestion.lr:.3g}" in ax.get_title(loc="left")


def test_derivative_panel_shows_the_slope_the_steepest_point_comes_from(clean_result):
    figure = plot_result(clean_result, derivative=True)
    loss_ax, slope_ax = figure.axes
    assert slope_ax.get_xscale() == "log"
    assert loss_ax.get_shared_x_axes().joined(loss_ax, slope_ax)
    slope = loss_gradient(clean_result.lrs, clean_result.losses)
    assert _line_with(slope_ax, slope) is not None
    steepest = clean_result.suggestion.points["steepest"]
    assert _markers_at(slope_ax)[steepest.lr] == pytest.approx(slope[steepest.index])
    # the marked point is the most negative slope before the minimum
    minimum = clean_result.suggestion.points["minimum"]
    assert steepest.index == int(np.argmin(slope[: minimum.index + 1]))
    low, high = slope_ax.get_ylim()
    assert low < slope[steepest.index] < 0 < high


def test_draws_into_given_axes(clean_result):
    figure, ax = plt.subplots()
    assert plot_result(clean_result, ax=ax) is figure
    assert figure.axes == [ax]
    # one given axes and derivative=True: the derivative panel is appended below it
    figure, ax = plt.subplots()
    plot_result(clean_result, ax=ax, derivative=True)
    assert len(figure.axes) == 2 and figure.axes[0] is ax
    # a pair of axes: loss into the first, derivative into the second
    figure = Figure()
    axes = figure.subplots(2, 1)
    assert plot_result(clean_result, ax=axes, derivative=True) is figure
    assert axes[1].get_ylabel().startswith("d loss")
    with pytest.raises(ValueError, match="two"):
        plot_result(clean_result, ax=axes, derivative=False)


def test_result_plot_is_plot_result(clean_result):
    figure = clean_result.plot(derivative=True)
    assert len(figure.axes) == 2


def test_refused_curve_says_why_on_the_figure():
    flat = LRFinderResult.from_curve(np.geomspace(1e-6, 1, 50), np.full(50, 0.7))
    assert flat.suggestion.lr is None
    ax = plot_result(flat).axes[0]
    assert "no reliable suggestion" in ax.get_title(loc="left")
    assert any(flat.suggestion.reason[:30] in text.get_text().replace("\n", " ")
               for text in ax.texts)
    assert not ax.patches  # no band without a suggestion


@pytest.mark.parametrize("n", [0, 1, 3])
def test_empty_and_tiny_curves_still_plot(n):
    result = LRFinderResult.from_curve(np.geomspace(1e-3, 1, n), np.linspace(2, 1, n))
    figure = plot_result(result, derivative=True)
    figure.savefig(io.BytesIO(), format="png")


def test_png_and_svg_render_headless(clean_result):
    figure = plot_result(clean_result, derivative=True)
    png, svg = io.BytesIO(), io.BytesIO()
    figure.savefig(png, format="png", dpi=80)
    figure.savefig(svg, format="svg")
    assert png.getvalue().startswith(b"\x89PNG")
    assert b"<svg" in svg.getvalue()


def test_a_pair_of_side_by_side_axes_keeps_both_x_axes_labelled(clean_result):
    figure, axes = plt.subplots(1, 2)
    assert plot_result(clean_result, ax=list(axes), derivative=True) is figure
    assert axes[0].get_xlabel() and axes[1].get_xlabel()
    stacked = plot_result(clean_result, derivative=True)  # shared x: only the bottom one
    assert not stacked.axes[0].get_xlabel() and stacked.axes[1].get_xlabel()
    column = plt.subplots(2, 1, squeeze=False)[1]  # shape (2, 1)
    assert plot_result(clean_result, ax=column, derivative=True) is column[0, 0].figure


@pytest.mark.parametrize(
    ("derivative", "size", "panels"), [(True, (8, 6.5), 2), (False, (8, 5), 1)]
)
def test_result_figure_is_the_command_lines_figure(clean_result, derivative, size, panels):
    before = plt.get_fignums()
    figure = result_figure(clean_result, derivative=derivative)
    assert type(figure) is Figure and plt.get_fignums() == before  # not pyplot's: no closing
    assert tuple(figure.get_size_inches()) == size
    assert type(figure.get_layout_engine()).__name__ == "ConstrainedLayoutEngine"
    assert len(figure.axes) == panels
    loss_ax = figure.axes[0]
    assert _line_with(loss_ax, clean_result.losses) is not None
    if derivative:  # stacked on one x-axis, the loss panel the taller
        slope_ax = figure.axes[1]
        assert loss_ax.get_shared_x_axes().joined(loss_ax, slope_ax)
        assert slope_ax.get_ylabel().startswith("d loss")
        assert loss_ax.get_position().height > 2 * slope_ax.get_position().height
    png = io.BytesIO()
    figure.savefig(png, format="png", dpi=50)
    assert png.getvalue().startswith(b"\x89PNG")
    assert result_figure(clean_result).get_size_inches().tolist() == [8, 6.5]  # the default


def test_importing_plotting_does_not_import_matplotlib():
    code = "import sys, lrfind.plotting; print('matplotlib' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "False"
