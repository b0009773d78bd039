"""Tests of lrfind.result: the recorded curve, its smoothing and its JSON form (no Keras)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from lrfind.analysis import pool_curves
from lrfind.result import FORMAT_VERSION, LRFinderResult, SmoothedLoss, smooth_losses
from lrfind.suggestion import Suggestion, combine


def test_smoothed_loss_is_the_bias_corrected_ema_by_hand() -> None:
    ema = SmoothedLoss(beta=0.9)
    # avg1 = 0.1*2 = 0.2 -> 0.2/0.1 = 2; avg2 = 0.18 + 0.4 = 0.58 -> 0.58/0.19
    assert ema.update(2.0) == pytest.approx(2.0)
    assert ema.update(4.0) == pytest.approx(0.58 / 0.19)
    assert smooth_losses([2.0, 4.0], beta=0.9).tolist() == pytest.approx([2.0, 0.58 / 0.19])
    assert smooth_losses([3.0, 1.0], beta=0.0).tolist() == [3.0, 1.0]
    with pytest.raises(ValueError, match=r"beta must be in \[0, 1\)"):
        SmoothedLoss(1.0)


def test_json_round_trip_keeps_every_field(tmp_path) -> None:
    lrs = np.geomspace(1e-5, 1.0, 60)
    losses = 1.0 / (1.0 + 1e3 * lrs) + lrs**2
    result = LRFinderResult(
        lrs=lrs, losses=losses, smoothed_losses=smooth_losses(losses),
        settings={"start_lr": 1e-5, "beta": 0.98, "run": {"seed": 3}},
        stop_reason="diverged", val_indices=[9, 19, 29], val_losses=[0.9, 0.5, 0.4],
    )
    path = result.save(tmp_path / "curve.json")
    loaded = LRFinderResult.load(path)
    np.testing.assert_array_equal(loaded.lrs, result.lrs)
    np.testing.assert_array_equal(loaded.losses, result.losses)
    np.testing.assert_array_equal(loaded.smoothed_losses, result.smoothed_losses)
    np.testing.assert_array_equal(loaded.val_indices, [9, 19, 29])
    np.testing.assert_array_equal(loaded.val_losses, [0.9, 0.5, 0.4])
    assert loaded.settings == result.settings
    assert loaded.stop_reason == "diverged"
    assert loaded.suggestion == result.suggestion
    assert [p.name for p in tmp_path.iterdir()] == ["curve.json"]  # no temporary left over


def test_a_newer_or_foreign_file_is_refused_with_the_fix() -> None:
    data = LRFinderResult.from_curve([1e-3, 1e-2], [1.0, 0.5]).to_dict()
    with pytest.raises(ValueError, match="upgrade lrfind"):
        LRFinderResult.from_dict({**data, "version": FORMAT_VERSION + 1})
    with pytest.raises(ValueError, match="not an lrfind result"):
        LRFinderResult.from_dict({**data, "format": "something else"})


def test_lengths_must_agree() -> None:
    with pytest.raises(ValueError, match="same length"):
        LRFinderResult(lrs=[1e-3, 1e-2], losses=[1.0], smoothed_losses=[1.0])
    with pytest.raises(ValueError, match="pass both or neither"):
        LRFinderResult(lrs=[1e-3], losses=[1.0], smoothed_losses=[1.0], val_indices=[0])


def test_non_finite_losses_are_written_as_null_and_read_back_as_nan() -> None:
    result = LRFinderResult(lrs=[1e-3, 1e-2], losses=[1.0, math.inf], smoothed_losses=[1.0, 1.0])
    text = result.to_json()
    assert json.loads(text)["losses"] == [1.0, None]
    assert math.isnan(LRFinderResult.from_dict(json.loads(text)).losses[1])


def test_a_result_stopped_by_a_nan_reads_the_nan_as_divergence():
    lrs = np.geomspace(1e-6, 1e-1, 300)
    losses = 1.0 / (1.0 + (lrs / 1e-3) ** 2)  # falls, then flattens: no rise before the NaN
    kept = LRFinderResult.from_curve(lrs, losses, stop_reason="non_finite")
    assert "end of the ramp" in kept.suggestion.reason  # without knowing where it blew up
    blown = LRFinderResult.from_curve(lrs, losses, stop_reason="non_finite", non_finite_lr=0.12)
    assert LRFinderResult.from_dict(blown.to_dict()).settings["non_finite_lr"] == 0.12
    divergence = blown.suggestion.points["divergence"]
    assert divergence.lr == pytest.approx(0.12)
    assert "NaN" in divergence.reason
    assert blown.suggestion.lr is not None and blown.suggestion.lr < 0.12


def test_numpy_non_finite_and_array_settings_save_as_strict_json(tmp_path):
    lrs = np.geomspace(1e-5, 1.0, 50)
    result = LRFinderResult.from_curve(lrs, 1.0 / (1.0 + lrs), note=np.float64("nan"),
                                       grid=np.array([1.0, np.inf]))
    result.save(tmp_path / "r.json")
    data = json.loads((tmp_path / "r.json").read_text(), parse_constant=pytest.fail)
    assert data["settings"]["note"] is None and data["settings"]["grid"] == [1.0, None]


# ---------------------------------------------------------------- repeats combined
def shallow_repeats(depth: float) -> LRFinderResult:
    """Three range tests of one shallow descent (centred on 1e-3) in heavy noise."""
    lrs = np.geomspace(1e-8, 1.0, 800)
    x = np.log10(lrs)
    runs = [LRFinderResult.from_curve(
        lrs, 1.0 - depth / (1 + np.exp(-3 * (x + 3)))
        + 0.1 * np.random.default_rng(seed).standard_normal(800), optimizer="Adam")
        for seed in range(3)]
    runs[0].repeats = runs[1:]
    return runs[0]


def test_when_most_repeats_refuse_their_mean_curve_is_read() -> None:
    result = shallow_repeats(0.2)
    own = [run.own_suggestion.lr for run in (result, *result.repeats)]
    assert sum(lr is None for lr in own) == 2  # each curve alone: too noisy, mostly
    s = result.curve_suggestion
    assert s.lr is not None and 1e-4 < s.lr < 1e-1, s.reason
    assert "mean curve" in s.reason and s.interval is not None
    assert all(s.interval[0] <= lr <= s.interval[1] for lr in [s.lr, *filter(None, own)])


def test_repeats_without_a_readable_mean_curve_are_refused() -> None:
    s = shallow_repeats(0.0).curve_suggestion
    assert s.lr is None and not s.reliable and "3 of 3 repeats" in s.reason


def test_pooled_curves_average_each_step_up_to_the_shortest_run() -> None:
    lrs = np.geomspace(1e-6, 1.0, 6)
    pooled = pool_curves([(lrs, np.arange(6.0), False), (lrs[:4], np.full(4, 2.0), True)])
    assert pooled is not None
    assert pooled[0].tolist() == lrs[:4].tolist()
    assert pooled[1].tolist() == [1.0, 1.5, 2.0, 2.5] and pooled[2] is True
    assert pool_curves([(lrs, np.ones(6), False), (lrs * 2, np.ones(6), False)]) is None


def test_repeats_that_disagree_by_more_than_half_a_decade_are_flagged_unreliable() -> None:
    close = [Suggestion(lr, lr / 10, lr * 3, True, "r") for lr in (1e-3, 1.5e-3, 2e-3)]
    far = [Suggestion(lr, lr / 10, lr * 3, True, "r") for lr in (1e-3, 1.5e-3, 1e-2)]
    assert combine(close).reliable
    s = combine(far)
    assert s.lr == 1.5e-3 and not s.reliable and "disagree" in s.reason
