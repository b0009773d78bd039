"""Trials: candidate LRs trained from the range test's start, scored on held-out data."""

from __future__ import annotations

import itertools
import json
import math

import keras
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lrfind import LRFinder, LRFinderResult
from lrfind.result import smooth_losses
from lrfind.suggestion import CurvePoint, Suggestion
from lrfind.trial_results import (
    Trial,
    TrialsResult,
    band,
    candidate_limits,
    candidate_lrs,
    candidates_for,
    extension_for,
    rung_plan,
)
from lrfind.trials import _split, run_trials

pytestmark = pytest.mark.backend


# -------------------------------------------------------------------- the plan (pure)
def test_candidates_are_log_spaced_and_hold_the_suggestion() -> None:
    lrs = candidate_lrs(1e-4, 1e-1, 4, include=3e-3)
    assert lrs[0] == pytest.approx(1e-4) and lrs[-1] == pytest.approx(1e-1)
    assert 3e-3 in lrs and len(lrs) == 4
    with pytest.raises(ValueError, match="candidates must be a positive integer"):
        candidate_lrs(1e-4, 1e-1, 0)


@pytest.mark.parametrize(("candidates", "budget"), [(5, 800), (6, 1200), (3, 100), (2, 50)])
def test_successive_halving_doubles_the_rungs_and_keeps_the_budget(candidates, budget) -> None:
    plan = rung_plan(candidates, budget)
    assert plan[0][0] == candidates and plan[-1][0] == min(2, candidates)
    for (n0, t0), (n1, t1) in itertools.pairwise(plan):
        assert n1 == math.ceil(n0 / 2) and t1 == 2 * t0
    spent = sum(n * (t - (plan[i - 1][1] if i else 0)) for i, (n, t) in enumerate(plan))
    assert spent <= budget


@given(divergence=st.floats(-4, 1), below=st.floats(0.25, 4),
       edge=st.sampled_from(("up", "down")))
def test_an_extension_never_leaves_the_span_the_curve_supports(divergence, below,
                                                               edge) -> None:
    """Never above the divergence (less a quarter decade) nor below the ramp's start: the
    wine task's trials once extended to 12, twice where the range test blew up. (The
    suggestion sits ``below`` decades under the divergence.)"""
    ramp = [1e-10, 10.0]
    s = Suggestion(10 ** (divergence - below), 1e-9, 1.0, True, "example",
                   {"divergence": CurvePoint("divergence", 10**divergence, 5.0, 90, "")})
    low, high = candidate_limits(s, ramp)
    assert high == pytest.approx(10 ** (divergence - 0.25))
    candidates = candidates_for(s, ramp, 5)
    assert low <= candidates[0] and candidates[-1] <= high * (1 + 1e-9)
    lr = candidates[-1] if edge == "up" else candidates[0]
    extra = extension_for(s, ramp, candidates)(lr, edge)
    if extra is not None:
        assert low <= extra <= high * (1 + 1e-9)
        assert (extra > lr) == (edge == "up")
    if edge == "up" and lr >= high * (1 - 1e-9):
        assert extra is None


def test_band_holds_the_trials_within_the_tolerance_of_the_best() -> None:
    trials = [Trial(1e-3, [10], [1.0]), Trial(3e-3, [10, 20], [0.5, 0.40]),
              Trial(1e-2, [10, 20], [0.45, 0.41]), Trial(3e-2, [10], [0.9])]
    assert band(trials, 0.05) == (3e-3, 1e-2)


def test_trials_describe_how_far_they_moved_the_curve() -> None:
    result = TrialsResult([Trial(1e-2, [10], [0.3])], 1e-2, 1e-2, 1e-2, "validation_data",
                          10, curve_lr=1e-3)
    assert result.agreement_decades == pytest.approx(1.0)
    assert "1.00 decades above the curve's suggestion 0.001" in result.describe()
    assert TrialsResult.from_dict(json.loads(json.dumps(result.to_dict()))) == result


# ------------------------------------------------------------------------ the runs
def regression(n: int = 1024, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 8)).astype("float32")
    w = rng.normal(size=(8, 1)).astype("float32")
    return x, x @ w


def linear_model() -> keras.Model:
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(1, use_bias=False)])
    model.compile(keras.optimizers.SGD(0.01), "mse")
    return model


def state(model: keras.Model) -> list[np.ndarray]:
    return [np.array(keras.ops.convert_to_numpy(v), copy=True)
            for v in (*model.variables, *model.optimizer.variables)]


def test_successive_halving_keeps_the_best_lr_of_a_known_curvature() -> None:
    # MSE of a linear model on features of standard deviations s_j from 1 to 0.2: the
    # Hessian is 2 diag(s_j**2), eigenvalues 0.08 .. 2. Plain SGD contracts the slowest
    # direction by |1 - 0.08 lr| a step and blows up past lr = 2 / 2 = 1: of these
    # candidates 0.75 converges fastest, and 1.5 diverges.
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(2048, 8)) * np.linspace(1.0, 0.2, 8)).astype("float32")
    y = x @ rng.normal(size=(8, 1)).astype("float32")
    model = linear_model()
    before = state(model)
    result = run_trials(model, x, y, lrs=[0.1, 0.25, 0.5, 0.75, 1.5], budget=300,
                        batch_size=256)
    assert result.lr == 0.75
    assert [t.lr for t in result.trials if t.kept] == [0.5, 0.75]
    assert result.trials[-1].final_loss > 1e6  # diverged
    for a, b in zip(state(model), before, strict=True):
        np.testing.assert_array_equal(a, b)


def test_the_curves_suggestion_goes_on_to_the_last_rung() -> None:
    # the same problem: 0.1 converges slowest and would be dropped after the first rung,
    # but as the curve's suggestion it trains to the end and is compared there
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(2048, 8)) * np.linspace(1.0, 0.2, 8)).astype("float32")
    y = x @ rng.normal(size=(8, 1)).astype("float32")
    result = run_trials(linear_model(), x, y, lrs=[0.1, 0.25, 0.5, 0.75, 1.5], budget=300,
                        batch_size=256, curve_lr=0.1)
    rungs = max(len(t.losses) for t in result.trials)
    assert len(result.trials[0].losses) == rungs and result.trials[0].kept
    assert [t.lr for t in result.trials if t.kept] == [0.1, 0.75]  # still two in the end
    assert result.lr == 0.75  # clearly beaten there: the trials' best


@pytest.mark.parametrize(("rows", "held"), [(120, 30), (400, 64), (1000, 100), (60000, 2048)])
def test_small_data_holds_out_enough_rows_to_tell_lrs_apart(rows: int, held: int) -> None:
    x = np.zeros((rows, 1), "float32")
    split = _split(x, x, 16, None, seed=0)
    assert len(split.held_out[0]) == held
    assert split.scored_on == f"held-out training slice ({held} samples)"


def test_held_out_rows_are_never_trained_on() -> None:
    n = 500
    x = np.arange(n, dtype="float32")[:, None]  # each row's value is its index
    split = _split(x, x, 32, None, seed=3)
    held = set(split.held_out[0][:, 0].astype(int))
    trained = set()
    batches = split.train(0, 60)  # several passes over the training rows
    for i in range(len(batches)):
        trained |= set(batches[i][0][:, 0].astype(int))
    assert held and not held & trained
    assert held | trained == set(range(n))


@pytest.mark.parametrize("error", [RuntimeError("boom"), KeyboardInterrupt()],
                         ids=["exception", "ctrl-c"])
def test_trials_restore_the_model_after_a_failure_in_a_trial(error, monkeypatch) -> None:
    x, y = regression()
    model = linear_model()
    model.fit(x, y, epochs=1, verbose=0)  # optimizer state to restore too
    before = state(model)
    calls = []
    original = model.evaluate

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise error
        return original(*args, **kwargs)

    monkeypatch.setattr(model, "evaluate", failing)
    with pytest.raises(type(error)):
        run_trials(model, x, y, lrs=[0.01, 0.1, 0.5, 1.0], budget=120, batch_size=64)
    for a, b in zip(state(model), before, strict=True):
        np.testing.assert_array_equal(a, b)


def test_find_verify_reports_the_trials_and_saves_them(tmp_path) -> None:
    x, y = regression()
    model = linear_model()
    before = state(model)
    finder, seen = LRFinder(model), []

    def on_trial(rung: int, lr: float, batches: int, loss: float) -> None:
        assert finder.result is not None  # the range test is done before the first trial
        seen.append((rung, lr, batches, loss))

    result = finder.find(x, y, 1e-6, 10.0, 64, steps=120, seed=0, verify=True, budget=240,
                         candidates=4, on_trial=on_trial)
    assert result.trials is not None and result.suggestion.basis == "trials"
    assert len(seen) == sum(len(t.losses) for t in result.trials.trials)
    assert {(lr, loss) for _, lr, _, loss in seen} == {
        (t.lr, v) for t in result.trials.trials for v in t.losses}
    assert result.suggestion.lr == result.trials.lr
    assert result.curve_suggestion.basis != "trials"
    assert "Trials:" in result.suggestion.reason
    assert result.trials.scored_on.startswith("held-out training slice")
    for a, b in zip(state(model), before, strict=True):
        np.testing.assert_array_equal(a, b)
    loaded = LRFinderResult.load(result.save(tmp_path / "r.json"))
    assert loaded.trials == result.trials and loaded.suggestion == result.suggestion


def test_verify_never_tries_an_lr_above_where_the_curve_blew_up() -> None:
    # a curve that blew up near 0.009 on a problem that plain SGD trains fastest near 0.75:
    # the highest candidate, a quarter decade below the divergence, wins its rung, and the
    # trials would extend above it; `verify` must hold them to `candidate_limits`
    lrs = np.geomspace(1e-6, 2e-2, 300)
    losses = 1.0 / (1.0 + 3e3 * lrs) + (lrs / 1e-2) ** 6
    result = LRFinderResult(lrs=lrs, losses=losses, smoothed_losses=smooth_losses(losses),
                            settings={"start_lr": 1e-6, "beta": 0.98, "batch_size": 64,
                                      "optimizer": "SGD"}, stop_reason="diverged")
    _, high = candidate_limits(result.curve_suggestion, result.lrs)
    x, y = regression()
    trials = result.verify(linear_model(), x, y, budget=240, candidates=4)
    tried = [t.lr for t in trials.trials]
    assert trials.lr == max(tried)  # the edge won: an extension was wanted
    assert max(tried) <= high * (1 + 1e-9)


# ------------------------------------------- models that compute their own loss (trainer)
on_tensorflow = pytest.mark.skipif(keras.backend.backend() != "tensorflow",
                                   reason="keras.io's trainer pattern uses tf.GradientTape")


@on_tensorflow
def test_a_trainer_pattern_model_is_scored_by_its_own_test_step() -> None:
    import keras_models

    model, x, y = keras_models.trainer_with_test_step()
    held = (x[:64], y[:64])
    before = [np.array(v) for v in model.variables]
    by_hand = []

    def on_trial(rung, lr, batches, loss):  # the model is still in the trial's state here
        by_hand.append((loss, float(model.loss_fn(held[1], model.model(held[0])))))

    result = run_trials(model, x[64:], y[64:], lrs=[1e-3, 1e-2, 1e-1], budget=60,
                        batch_size=32, validation_data=held, on_trial=on_trial)
    assert result.scored_on == "validation_data" and len(by_hand) >= 3
    for reported, expected in by_hand:
        assert reported == pytest.approx(expected, rel=1e-5)
    for a, b in zip(model.variables, before, strict=True):
        np.testing.assert_array_equal(np.array(a), b)


@on_tensorflow
def test_trials_name_the_cause_and_fix_for_a_model_they_cannot_score() -> None:
    import keras_models

    model, x, y = keras_models.trainer_pattern()  # its own loss, no test_step, no compiled loss
    before = [np.array(v) for v in model.variables]
    with pytest.raises(ValueError, match=r"no compiled loss and no test_step of its own.*"
                       r"give the model a test_step that computes its loss and returns "
                       r"\{'loss': \.\.\.\}.*or compile it with a loss"):
        run_trials(model, x, y, lrs=[1e-3, 1e-2], budget=20, batch_size=32)
    for a, b in zip(model.variables, before, strict=True):
        np.testing.assert_array_equal(np.array(a), b)

    class AccuracyOnly(keras_models.TrainerWithTestStep):
        def test_step(self, data):
            return {"acc": super().test_step(data)["acc"]}

    model, x, y = keras_models.trainer_pattern(trainer=AccuracyOnly)
    with pytest.raises(ValueError, match=r"its test_step reports no 'loss' \(it reports 'acc'\)"):
        run_trials(model, x, y, lrs=[1e-3, 1e-2], budget=20, batch_size=32)

