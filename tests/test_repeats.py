"""Repeated range tests: several from the same start, one suggestion, one traced step."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from test_finder import CLASSES, FEATURES, N, assert_same_state, mlp, snapshot

from lrfind import LRFinder, LRFinderResult

# CI runs this module on the JAX backend too (`pytest -m backend`).
pytestmark = pytest.mark.backend


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(N, FEATURES)).astype("float32")
    return x, (x[:, :CLASSES].argmax(axis=1)).astype("int32")


def test_repeats_give_an_interval_holding_each_repeats_suggestion(data, tmp_path) -> None:
    x, y = data
    model = mlp()
    model.optimizer.build(model.trainable_variables)
    before = snapshot(model)
    result = LRFinder(model).find(x, y, 1e-6, 10.0, 16, steps=200, seed=3, repeats=3)
    assert len(result.repeats) == 2
    assert [r.settings["repeat"] for r in (result, *result.repeats)] == [0, 1, 2]
    own = [r.own_suggestion.lr for r in (result, *result.repeats)]
    s = result.suggestion
    assert s.lr is not None and s.interval is not None
    assert all(s.interval[0] <= lr <= s.interval[1] for lr in own if lr is not None)
    assert s.lr in own  # the median of three
    assert s.spread_decades == pytest.approx(np.log10(s.interval[1] / s.interval[0]))
    assert_same_state(model, before)
    loaded = LRFinderResult.load(result.save(tmp_path / "r.json"))
    assert loaded.suggestion == s and len(loaded.repeats) == 2


@pytest.mark.skipif(keras.backend.backend() != "tensorflow",
                    reason="TensorFlow's global seed pins Keras's array shuffle")
def test_unseeded_repeats_are_shuffled_apart_under_a_global_seed(data) -> None:
    """A script that calls ``keras.utils.set_random_seed`` (as keras.io's examples do) pins
    the order Keras's array pipeline draws for every new run: the unseeded repeats must
    still differ, and the user's global seed must stay as it was."""
    import tensorflow as tf
    from tensorflow.python.eager import context

    x, y = data
    model = mlp()
    model.optimizer.build(model.trainable_variables)
    before = snapshot(model)
    keras.utils.set_random_seed(42)
    try:
        result = LRFinder(model).find(x, y, 1e-6, 10.0, 16, steps=60, stop_factor=None,
                                      repeats=3)
        assert context.global_seed() == 42
    finally:
        tf.random.set_seed(None)
    curves = [run.losses[:40] for run in (result, *result.repeats)]
    assert not np.array_equal(curves[0], curves[1])
    assert not np.array_equal(curves[1], curves[2])
    assert_same_state(model, before)


@pytest.mark.default_repeats
def test_find_runs_three_range_tests_by_default(data) -> None:
    x, y = data
    points = []
    result = LRFinder(mlp()).find(x, y, 1e-5, 1.0, 32, steps=20, stop_factor=None,
                                  on_point=lambda n, *rest: points.append(n))
    assert len(result.repeats) == 2
    assert points == list(range(1, 61))  # one progress count over the three repeats


def count_traces(model: keras.Model) -> list[int]:
    """Python runs of ``model.train_step``: one per trace on TensorFlow and JAX."""
    calls = [0]
    step = model.train_step

    def counted(*args, **kwargs):
        calls[0] += 1
        return step(*args, **kwargs)

    model.train_step = counted
    return calls


@pytest.mark.skipif(keras.backend.backend() == "torch", reason="torch runs the step eagerly")
def test_repeats_run_through_one_traced_step_and_record_what_single_runs_record(data) -> None:
    x, y = data
    single = [LRFinder(mlp(seed=2)).find(x, y, 1e-5, 10.0, 16, steps=120, seed=seed,
                                         repeats=1) for seed in (7, 8, 9)]
    model = mlp(seed=2)
    model.optimizer.build(model.trainable_variables)
    before = snapshot(model)
    calls = count_traces(model)
    repeated = LRFinder(model).find(x, y, 1e-5, 10.0, 16, steps=120, seed=7, repeats=3)
    three_runs, calls[0] = calls[0], 0
    LRFinder(model).find(x, y, 1e-5, 10.0, 16, steps=120, seed=7, repeats=1)
    assert three_runs == calls[0] >= 1  # three range tests trace what one does
    del model.train_step
    assert_same_state(model, before)
    for run, reference in zip((repeated, *repeated.repeats), single, strict=True):
        assert run.stop_reason == reference.stop_reason
        np.testing.assert_array_equal(run.lrs, reference.lrs)
        np.testing.assert_array_equal(run.losses, reference.losses)


def test_a_second_find_on_the_same_model_traces_its_own_step(data) -> None:
    # On JAX a trace made for an earlier run (its step still alive until garbage
    # collection) would be reused by a new jit of the same model's train_step, with that
    # run's ramp and none of this run's checks.
    rng = np.random.default_rng(1)
    x = rng.normal(size=(64 * 32, FEATURES)).astype("float32")
    y = (x[:, :CLASSES].argmax(axis=1)).astype("int32")
    model = mlp(seed=4)
    model.fit(x, y, batch_size=32, epochs=1, verbose=0)
    runs = []
    for steps in (64, 32, 64):  # each one pass over its data, as a user's own would be
        n = steps * 32
        runs.append(LRFinder(model).find(x[:n], y[:n], 1e-5, 1.0, 32, steps=steps,
                                         stop_factor=None, repeats=1))
        model.fit(x[:n], y[:n], batch_size=32, epochs=1, verbose=0)
    assert [len(r) for r in runs] == [64, 32, 64]
    assert all(r.lrs[-1] == pytest.approx(1.0) for r in runs)
    assert "train_step" not in model.__dict__  # the fresh step of the run is gone
