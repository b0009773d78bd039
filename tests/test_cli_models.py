"""Real Keras models (`keras_models`, written the way keras.io writes them) through the
``lrfind`` command line: each is saved to a ``.keras`` file, run in-process with a short ramp
and ``--import keras_models`` for its registered classes; the run ends with exit 0 and a
result.json, or a clear refusal, and the model file is unchanged."""

from __future__ import annotations

import keras
import keras_models
import numpy as np
import pytest
from cli_support import error_lines, invoke, sha256

from lrfind.result import LRFinderResult

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(keras.backend.backend() != "tensorflow",
                       reason="the examples' train_steps use tf.GradientTape"),
]
RUN = ["--steps", "40", "--start-lr", "1e-5", "--end-lr", "1", "--seed", "0",
       "--import", "keras_models", "-q"]


def save(name: str, root):
    model, x, y = getattr(keras_models, name)(seed=0)
    path = root / f"{name}.keras"
    model.save(path)
    arrays = {**x, **y} if isinstance(x, dict) else {"x": x, "y": y}
    np.savez(root / f"{name}.npz", **arrays)
    return path, root / f"{name}.npz"


@pytest.mark.parametrize("name", [
    "sequential_cnn", "dict_inputs_two_outputs", "trainer_pattern", "custom_layer",
    "bilstm_tokens", "preprocessing_layers", "optimizer_with_schedule",
    "keras3_custom_train_step",
])
def test_a_keras_io_model_runs_through_the_command_line(name, tmp_path):
    model, data = save(name, tmp_path)
    before = sha256(model)
    result = invoke(model, data, *RUN, "-o", tmp_path / "out")
    assert result.exit_code in (0, 3), result.output
    saved = LRFinderResult.load(tmp_path / "out" / "result.json")
    assert len(saved) >= 10 and np.all(np.isfinite(saved.losses[:10]))
    if result.exit_code == 0:
        lr = saved.suggestion.lr
        assert lr is not None and 1e-5 <= lr <= 1
    assert result.stdout == ""
    assert sha256(model) == before


def test_named_dict_inputs_are_matched_and_recorded(tmp_path):
    model, data = save("dict_inputs_two_outputs", tmp_path)
    result = invoke(model, data, *RUN, "-o", tmp_path / "out")
    assert result.exit_code in (0, 3), result.output
    run = LRFinderResult.load(tmp_path / "out" / "result.json").settings["run"]
    assert sorted(run["x_key"].split(",")) == ["age", "city", "income"]
    assert sorted(run["y_key"].split(",")) == ["churn", "spend"]


def test_a_keras2_style_train_step_is_refused_or_recorded_right(tmp_path):
    model, data = save("keras2_style_train_step", tmp_path)
    before = sha256(model)
    result = invoke(model, data, *RUN, "-o", tmp_path / "out")
    if result.exit_code == 2:  # a clear refusal naming train_step
        (message,) = error_lines(result)
        assert "train_step" in message
    else:
        assert result.exit_code in (0, 3), result.output
        saved = LRFinderResult.load(tmp_path / "out" / "result.json")
        assert saved.losses[0] > 1.0  # the MAE of an untrained model, not a mean prediction
    assert sha256(model) == before


def test_verify_on_custom_train_steps(tmp_path):
    model, data = save("keras3_custom_train_step", tmp_path)
    result = invoke(model, data, *RUN, "--verify", "--verify-budget", "40",
                    "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    saved = LRFinderResult.load(tmp_path / "out" / "result.json")
    assert saved.trials is not None and saved.suggestion.basis == "trials"
    # the trainer pattern is scored by its own test_step; without one, a clear refusal
    model, data = save("trainer_with_test_step", tmp_path)
    scored = invoke(model, data, *RUN, "--verify", "--verify-budget", "40",
                    "-o", tmp_path / "scored")
    assert scored.exit_code == 0, scored.output
    trials = LRFinderResult.load(tmp_path / "scored" / "result.json").trials
    assert trials is not None and all(np.isfinite(t.final_loss) for t in trials.trials)
    model, data = save("trainer_pattern", tmp_path)
    refused = invoke(model, data, *RUN, "--verify", "--verify-budget", "40",
                     "-o", tmp_path / "refused")
    assert refused.exit_code == 2
    (message,) = error_lines(refused)
    for phrase in ("trials of --verify failed", "no compiled loss and no test_step of its own",
                   "returns {'loss': ...}", "compile it with a loss", "run without --verify"):
        assert phrase in message
