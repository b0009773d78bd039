"""Real Keras models, written the way Keras's own examples write them, through `find()`.

For each model of `keras_models`: the model is restored bit for bit; the recorded curve
equals each batch's loss computed independently (a twin model trained batch by batch with
``train_on_batch`` at the ramp's learning rates); and a later ``fit`` is bit-identical with
or without the range test before it.
"""

from __future__ import annotations

import keras
import keras_models
import numpy as np
import pytest

from lrfind import LRFinder
from lrfind.loss_source import CurveError

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(keras.backend.backend() != "tensorflow",
                       reason="the examples' train_steps use tf.GradientTape"),
]
STEPS, BATCH = 40, 32
START_LR, END_LR = 1e-5, 1.0


def state(model: keras.Model) -> list[np.ndarray]:
    return [np.array(keras.ops.convert_to_numpy(v), copy=True)
            for v in (*model.variables, *model.optimizer.variables)]


def batches(x, y, count: int):
    """The batches fit takes from arrays with shuffle=False: in order, cycling per epoch."""
    per_epoch = -(-len(keras.tree.flatten(x)[0]) // BATCH)
    for k in range(count):
        start = (k % per_epoch) * BATCH
        yield tuple(keras.tree.map_structure(lambda a, s=start: a[s : s + BATCH], data)
                    for data in (x, y))


def reference_losses(name: str, lrs: np.ndarray, skipped: int = 0,
                     rows: int | None = None) -> np.ndarray:
    """Each batch's loss from a twin of the model trained batch by batch at ``lrs`` (on the
    first ``rows`` of its data, when given)."""
    twin, x, y = keras_models.MODELS[name](seed=0)
    x, y = keras.tree.map_structure(lambda a: a[:rows], (x, y))
    losses = []
    for k, (xb, yb) in enumerate(batches(x, y, len(lrs) + skipped)):
        lr = lrs[max(k - skipped, 0)] if k >= skipped else START_LR
        twin.optimizer.learning_rate.assign(lr)
        if name == "keras2_style_train_step":  # its train_step reports no loss of its own
            loss = twin.compute_loss(y=yb, y_pred=twin(xb, training=True))
            twin.train_on_batch(xb, yb)
        else:
            loss = twin.train_on_batch(xb, yb, return_dict=True)["loss"]
        losses.append(float(keras.ops.convert_to_numpy(loss)))
    return np.array(losses[skipped:])


def assert_restored(model: keras.Model, before: list[np.ndarray]) -> None:
    """Every variable as before; a never-built optimizer is left built, its new slots as
    freshly built (zeros for these optimizers), which is what its first fit makes."""
    after = state(model)
    for a, b in zip(after, before, strict=False):
        np.testing.assert_array_equal(a, b)
    for slot in after[len(before):]:
        assert not np.any(slot)


def run_find(name: str):
    model, x, y = keras_models.MODELS[name](seed=0)
    before = state(model)
    result = LRFinder(model).find(x, y, START_LR, END_LR, BATCH, steps=STEPS, shuffle=False,
                                  stop_factor=None)
    assert_restored(model, before)
    return model, x, y, result


@pytest.mark.parametrize("name", sorted(keras_models.MODELS))
def test_find_restores_and_records_each_batch_loss(name: str) -> None:
    *_, result = run_find(name)
    skipped = int(result.settings.get("unrecorded_batches", 0))
    assert len(result) == STEPS - skipped
    assert np.all(np.isfinite(result.losses))
    if name == "optimizer_with_schedule":  # no float LR to set on a twin: the same curve as
        # the same model compiled with a constant LR (the ramp replaces the schedule)
        twin, tx, ty = keras_models.MODELS["optimizer_with_schedule"](seed=0)
        twin.compile(optimizer=keras.optimizers.Adam(1e-3),
                     loss="sparse_categorical_crossentropy")
        expected = LRFinder(twin).find(tx, ty, START_LR, END_LR, BATCH, steps=STEPS,
                                       shuffle=False, stop_factor=None).losses
    else:
        expected = reference_losses(name, result.lrs, skipped)
    np.testing.assert_allclose(result.losses, expected, rtol=2e-5, atol=1e-6)


@pytest.mark.parametrize("name", sorted(keras_models.MODELS))
def test_a_later_fit_is_identical_with_or_without_the_range_test(name: str) -> None:
    tested, x, y, _ = run_find(name)
    untouched, _, _ = keras_models.MODELS[name](seed=0)
    for model in (tested, untouched):
        keras.utils.set_random_seed(7)
        model.fit(x, y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(state(tested), state(untouched), strict=True):
        np.testing.assert_array_equal(a, b)


def test_sources_of_the_loss_are_reported() -> None:
    *_, trainer = run_find("trainer_pattern")
    assert trainer.settings["loss_source"] == "logs['loss']"
    *_, keras2 = run_find("keras2_style_train_step")
    assert keras2.settings["loss_source"] == "compute_loss"
    assert keras2.settings["unrecorded_batches"] == 1
    # its unrecorded first batch still took a step of the ramp: the ramp ends on time
    assert keras2.stop_reason == "completed" and len(keras2) == STEPS - 1
    assert keras2.lrs[-1] == pytest.approx(END_LR)
    *_, standard = run_find("keras3_custom_train_step")
    assert "loss_source" not in standard.settings


def test_a_keras2_train_step_with_a_smaller_last_batch_is_recorded() -> None:
    """250 rows in batches of 32: the last batch of each epoch has 26, so the step is traced
    with an unknown batch size, and the loss tracker's check of what it was fed (the
    predictions, in this idiom) must not branch on a symbolic shape."""
    model, x, y = keras_models.keras2_style_train_step(seed=0)
    x, y = x[:250], y[:250]
    before = state(model)
    result = LRFinder(model).find(x, y, START_LR, END_LR, BATCH, steps=STEPS, shuffle=False,
                                  stop_factor=None)
    assert_restored(model, before)
    assert result.settings["loss_source"] == "compute_loss"
    assert len(result) == STEPS - 1 and np.all(np.isfinite(result.losses))
    expected = reference_losses("keras2_style_train_step", result.lrs, skipped=1, rows=250)
    np.testing.assert_allclose(result.losses, expected, rtol=2e-5, atol=1e-6)


class NoLossReported(keras_models.Trainer):
    """A GAN-like train_step: its logs hold no 'loss'."""

    def train_step(self, data):
        logs = super().train_step(data)
        return {"d_loss": logs["loss"], "acc": logs["acc"]}


class ReportsAnotherLoss(keras.Model):
    """Feeds the tracker a scalar but reports another value as 'loss'."""

    def train_step(self, data):
        logs = super().train_step(data)
        return {**logs, "loss": logs["loss"] * 0 + 123.0}


def test_a_train_step_without_a_findable_loss_is_an_error_and_restores() -> None:
    trainer, x, y = keras_models.trainer_pattern(seed=0)
    model = NoLossReported(trainer.model)  # the same network, the same initial weights
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    before = state(model)
    with pytest.raises(CurveError, match=r"reports no 'loss'.*'d_loss'.*loss_key="):
        LRFinder(model).find(x, y, steps=20)
    assert_restored(model, before)
    result = LRFinder(model).find(x, y, START_LR, END_LR, BATCH, steps=20, shuffle=False,
                                  loss_key="d_loss")
    assert result.settings["loss_source"] == "logs['d_loss']"
    np.testing.assert_allclose(result.losses[:5], reference_losses("trainer_pattern",
                                                                    result.lrs[:5]), rtol=2e-5)


def test_a_reported_loss_that_is_not_the_tracked_one_is_an_error() -> None:
    x, y = keras_models._classification(0)
    inputs = keras.Input((8,))
    model = ReportsAnotherLoss(inputs, keras.layers.Dense(3, activation="softmax")(inputs))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    before = state(model)
    with pytest.raises(CurveError, match=r"train_step reports \(123\) is not the loss"):
        LRFinder(model).find(x, y, steps=20)
    assert_restored(model, before)
