"""Tests of lrfind.callback's pure curve helpers and lrfind.state's attribute patch."""

from __future__ import annotations

import keras
import numpy as np

from lrfind.callback import LRRangeTest
from lrfind.curve_points import collapse_accumulation, keep_one_point_per_lr
from lrfind.ramp import LRRamp
from lrfind.state import KerasPatch


def test_collapse_accumulation_gives_one_point_per_update() -> None:
    lrs = np.array([1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 3.0])
    losses = np.array([3.0, 6.0, 9.0, 1.0, 2.0, 3.0, 7.0])
    out_lrs, out_losses, val = collapse_accumulation(lrs, losses, np.array([2, 5]), 3)
    np.testing.assert_array_equal(out_lrs, [1.0, 2.0])
    np.testing.assert_array_equal(out_losses, [6.0, 2.0])  # each update's mean; the 7th dropped
    np.testing.assert_array_equal(val, [0, 1])
    same = collapse_accumulation(lrs, losses, np.array([2]), 1)
    assert same[0] is lrs and same[1] is losses


def test_repeated_lrs_keep_the_later_point_and_validation_follows() -> None:
    lrs = np.array([1.0, 2.0, 2.0, 3.0, 3.0, 4.0])
    losses = np.array([9.0, 8.0, 7.0, 6.0, 5.0, 4.0])
    out_lrs, out_losses, val, dropped = keep_one_point_per_lr(lrs, losses, np.array([0, 1, 4, 5]))
    np.testing.assert_array_equal(out_lrs, [1.0, 2.0, 3.0, 4.0])
    np.testing.assert_array_equal(out_losses, [9.0, 7.0, 5.0, 4.0])
    np.testing.assert_array_equal(val, [0, 1, 2, 3])
    assert dropped == 2
    assert keep_one_point_per_lr(out_lrs, out_losses, val)[3] == 0


def test_keras_patch_swaps_and_puts_back_the_private_attributes() -> None:
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.1), "mse")
    model.fit(np.ones((4, 2)), np.ones((4, 1)), verbose=0)
    learning_rate, tracker = model.optimizer._learning_rate, model._loss_tracker
    train_function = model.train_function
    patch = KerasPatch(model)
    ramp = LRRamp(1e-3, 1.0, num_steps=5)
    replacement = keras.metrics.Mean(name="loss")
    patch.apply(ramp, replacement)
    assert model.optimizer._learning_rate is ramp and model._loss_tracker is replacement
    assert model.train_function is not train_function  # retraced with the patch
    patch.undo()
    patch.undo()  # twice is harmless
    assert model.optimizer._learning_rate is learning_rate
    assert model._loss_tracker is tracker and model.train_function is train_function


def test_run_state_lives_in_reset() -> None:
    test = LRRangeTest(1e-4, 1.0, 20)
    names = set(vars(test))
    test._points.losses.append(1.0)
    test._finished, test._points.best = True, 0.5
    test._reset()
    assert set(vars(test)) == names  # no run state set outside __init__/_reset
    points = test._points
    assert points.losses == [] and not test._finished and points.best == float("inf")
