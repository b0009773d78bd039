"""What the ``lrfind`` command prints, piece by piece (`lrfind.cli_report`,
`lrfind.cli_console`), without a run."""

from __future__ import annotations

import csv
import io
import math
import os
from pathlib import Path

import numpy as np
import pytest

from lrfind import _defaults, cli, cli_report
from lrfind.analysis import POINT_LABELS
from lrfind.cli_console import ProgressBar, native_noise_held_back
from lrfind.result import LRFinderResult


def _cyclic_curve() -> LRFinderResult:
    lrs = np.geomspace(1e-6, 10, 200)
    return LRFinderResult.from_curve(lrs, 1.0 / (1.0 + (lrs / 1e-3) ** 2) + (lrs / 0.3) ** 3)


def test_snippet_builds_the_suggested_cyclic_schedule():
    import keras

    s = _cyclic_curve().suggestion
    assert s.reliable and s.min_lr < s.max_lr
    names = {"optimizer": "keras.optimizers.SGD", "loss": '"mse"'}
    snippet = cli_report.snippet(s, samples=1000, batch_size=64, names=names)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    namespace = {"model": model}
    exec(snippet, namespace)
    config = model.optimizer.get_config()["learning_rate"]["config"]
    assert config["base_lr"] == float(f"{s.min_lr:.3g}")
    assert config["max_lr"] == float(f"{s.max_lr:.3g}")
    assert config["step_size"] == _defaults.CYCLE_EPOCHS_PER_HALF * math.ceil(1000 / 64)
    assert model.loss == "mse"
    assert f"learning_rate={s.lr:.3g}" in snippet
    # no band: a constant rate
    no_band = type(s)(s.lr, None, None, True, s.reason, s.points)
    constant = cli_report.snippet(no_band, samples=1000, batch_size=64, names=names)
    assert "CyclicLR" not in constant
    exec(constant, namespace)
    assert float(model.optimizer.learning_rate) == pytest.approx(float(f"{s.lr:.3g}"))
    # no reliable suggestion: no snippet at all
    flat = LRFinderResult.from_curve(np.geomspace(1e-6, 10, 200), np.ones(200)).suggestion
    assert cli_report.snippet(flat, samples=1000, batch_size=64, names=names) == ""


def test_to_csv_writes_every_point_so_that_it_reads_back_exactly():
    lrs = np.geomspace(1e-6, 1, 37)
    curve = LRFinderResult.from_curve(lrs, np.sin(lrs) + 1 / 3)
    rows = list(csv.reader(io.StringIO(curve.to_csv())))
    assert rows[0] == ["lr", "loss", "smoothed_loss"]
    np.testing.assert_array_equal(
        np.array(rows[1:], dtype=np.float64),
        np.column_stack([curve.lrs, curve.losses, curve.smoothed_losses]),
    )


def _report(result: LRFinderResult) -> str:
    from rich.console import Console

    out = Console(file=io.StringIO(), width=200, highlight=False)
    names = {"optimizer": "keras.optimizers.SGD", "loss": '"mse"'}
    cli_report.report(out, result, model="m.keras", data="d.npz", samples=1000, batch_size=64,
                      files=[Path("o/result.json"), Path("o/curve.csv")], names=names)
    return out.file.getvalue()


def test_report_prints_the_reading_the_recommendation_the_snippet_and_the_files():
    curve = _cyclic_curve()
    s = curve.suggestion
    text = _report(curve)
    assert text.startswith(
        "lrfind: m.keras on d.npz (1000 samples, batch size 64): 200 batches, stopped: completed")
    assert "Range-test reading" in text and "suggested lr" in text
    assert "band low" in text and "band high" in text
    for name, point in s.points.items():
        assert POINT_LABELS[name] in text and f"{point.lr:.3g}" in text
    assert cli_report.recommendation(curve) in text
    assert cli_report.recommendation(curve) == (
        f"Recommendation: train at learning_rate={s.lr:.3g}, or cycle it between "
        f"{s.min_lr:.3g} and {s.max_lr:.3g}.")
    assert "Paste into your training script:\n\n" + cli_report.snippet(
        s, 1000, 64, {"optimizer": "keras.optimizers.SGD", "loss": '"mse"'}) in text
    assert text.rstrip().endswith("Wrote o/result.json, o/curve.csv")


def test_report_of_a_refused_curve_says_why_and_has_no_snippet():
    flat = LRFinderResult.from_curve(np.geomspace(1e-6, 1, 50), np.ones(50))
    text = _report(flat)
    assert f"No reliable suggestion (exit code {cli.EXIT_NO_SUGGESTION}): " in text
    assert flat.suggestion.reason[:40] in text.replace("\n", " ")
    assert "Paste into" not in text and "start the ramp lower" not in text
    blown_up = LRFinderResult.from_curve(np.geomspace(10, 1e3, 12), np.geomspace(1, 1e6, 12),
                                         stop_reason="diverged")
    assert "blew up after 12 batches: start the ramp lower (--start-lr)" in (
        cli_report.recommendation(blown_up))


def test_compile_names_name_the_optimizer_and_loss_as_code():
    import keras

    def my_loss(y_true, y_pred):
        return keras.ops.mean((y_true - y_pred) ** 2)

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile("adam", "mse")
    assert cli_report.compile_names(model) == {
        "optimizer_class": "Adam", "optimizer": "keras.optimizers.Adam", "loss": '"mse"',
        "loss_name": "mse"}
    model.compile(keras.optimizers.SGD(), keras.losses.Huber())
    names = cli_report.compile_names(model)
    assert names["optimizer"] == "keras.optimizers.SGD"
    assert names["loss"] == "keras.losses.Huber()"
    model.compile("sgd", keras.losses.sparse_categorical_crossentropy)  # as --loss compiles
    assert cli_report.compile_names(model)["loss"] == '"sparse_categorical_crossentropy"'
    model.compile("sgd", my_loss)
    assert cli_report.compile_names(model)["loss"] == "..."
    assert cli_report.compile_names(model)["loss_name"] == "my_loss"
    snippet = cli_report.snippet(_cyclic_curve().suggestion, 100, 10,
                                 cli_report.compile_names(model))
    assert "loss = ...  # the loss your model is compiled with" in snippet
    assert snippet.index("import lrfind") < snippet.index("loss = ...")  # imports first
    assert "    loss=loss," in snippet


def test_progress_bar_shows_each_point_it_is_given():
    from rich.console import Console

    with ProgressBar(Console(file=io.StringIO()), total=5, enabled=True) as bar:
        for points in (1, 2, 3):
            bar.on_point(points, 10.0**-points, 2.0, 1.5 / points)
        (task,) = bar.bar.tasks
        assert task.completed == 3 and task.description == "range test"
        assert task.fields == {"lr": "1.00e-03", "loss": "0.5"}  # the smoothed loss
        bar.on_point(9, 1.0, 1.0, 1.0)
        assert task.completed == 5  # never past the planned total
        bar.finish(4, "diverged")
        assert task.description == "done (diverged)" and task.total == task.completed == 4


def test_native_noise_is_held_back_and_the_rest_is_replayed(capfd):
    from rich.console import Console

    err = Console(file=io.StringIO())
    with native_noise_held_back(err, enabled=True):
        os.write(2, b"I0000 cudart_stub.cc:31] Could not find cuda drivers on your machine\n"
                    b"W0000 a warning worth reading\n")
    captured = capfd.readouterr().err
    assert "a warning worth reading" in captured and "cudart_stub" not in captured
    with native_noise_held_back(err, enabled=False) as console:  # --debug: nothing held back
        assert console is err
        os.write(2, b"I0000 cudart_stub.cc:31] shown\n")
    assert "cudart_stub.cc:31] shown" in capfd.readouterr().err




def test_the_figure_the_command_saves_is_exported_lazily():
    import lrfind
    import lrfind.plotting

    assert "result_figure" in lrfind.__all__
    assert lrfind.result_figure is lrfind.plotting.result_figure


def _verified() -> LRFinderResult:
    from lrfind.trial_results import Trial, TrialsResult

    curve = _cyclic_curve()
    curve.trials = TrialsResult(
        [Trial(1e-4, [10], [0.9]), Trial(1e-3, [10, 20], [0.5, 0.3], True),
         Trial(1e-2, [10, 20], [0.6, 0.31], True), Trial(1e-1, [10], [math.inf])],
        1e-3, 1e-3, 1e-2, "validation_data", 70, curve_lr=1e-2)
    return curve


def test_report_of_trials_shows_each_candidate_rung_and_winner():
    text = _report(_verified())
    assert "Trials (held-out loss, scored on validation_data)" in text
    assert "after 10 batches" in text and "after 20 batches" in text
    rows = {line.split("│")[1].strip(): line for line in text.splitlines()
            if line.startswith("│") and line.split("│")[1].strip() in ("0.0001", "0.001", "0.1")}
    assert "winner" in rows["0.001"] and "0.3" in rows["0.001"]
    assert "dropped" in rows["0.0001"] and "diverged" in rows["0.1"]
    assert "(the curve's suggestion)" in text
    assert "Recommendation: train at learning_rate=0.001, or cycle it between 0.001 and 0.01" in (
        text)


def test_the_figure_of_a_verified_result_has_a_trials_panel():
    from lrfind.plotting import result_figure

    figure = result_figure(_verified())
    titles = [ax.get_title(loc="left") for ax in figure.axes]
    assert any(title.startswith("Trials: 4 LRs, 70 batches") for title in titles)
    (trials_ax,) = [ax for ax in figure.axes if ax.get_ylabel() == "held-out loss"]
    assert trials_ax.get_xscale() == "log"
    assert figure.get_figwidth() > result_figure(_cyclic_curve()).get_figwidth()
