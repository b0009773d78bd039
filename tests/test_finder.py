"""The range test: exact per-batch losses, the ramp, early stops, and a bit-exact restore."""

from __future__ import annotations

import math
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

from lrfind import LRFinder, LRFinderResult, LRRamp, LRRangeTest, ModelState

# The core of lrfind: CI runs this module on the JAX backend too (`pytest -m backend`).
pytestmark = pytest.mark.backend
TENSORFLOW = keras.backend.backend() == "tensorflow"
N, FEATURES, CLASSES = 256, 8, 3


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(N, FEATURES)).astype("float32")
    y = (x[:, :CLASSES].argmax(axis=1)).astype("int32")
    return x, y


def mlp(optimizer: object = "adam", *, batchnorm: bool = False, dropout: bool = False,
        seed: int = 0, **compile_kwargs: object) -> keras.Model:
    keras.utils.set_random_seed(seed)
    layers: list[keras.layers.Layer] = [keras.Input((FEATURES,)), keras.layers.Dense(16)]
    if batchnorm:
        layers.append(keras.layers.BatchNormalization())
    layers.append(keras.layers.Activation("relu"))
    if dropout:
        layers.append(keras.layers.Dropout(0.3))
    layers.append(keras.layers.Dense(CLASSES, activation="softmax"))
    model = keras.Sequential(layers)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", **compile_kwargs)
    return model


def snapshot(model: keras.Model) -> list[np.ndarray]:
    variables = [*model.variables, *model.optimizer.variables]
    return [np.array(v.numpy(), copy=True) for v in variables]


def assert_same_state(model: keras.Model, before: list[np.ndarray]) -> None:
    after = snapshot(model)
    assert len(after) == len(before)
    for a, b in zip(after, before, strict=True):
        np.testing.assert_array_equal(a, b)


class BatchLossProbe(keras.callbacks.Callback):
    """Computes, before each step, the loss that step will see: an independent reference."""

    def __init__(self, x: np.ndarray, y: np.ndarray, batch_size: int) -> None:
        super().__init__()
        self.x, self.y, self.batch_size = x, y, batch_size
        self.step = 0
        self.losses: list[float] = []
        self.lrs: list[float] = []
        self.loss_fn = keras.losses.SparseCategoricalCrossentropy()

    def on_train_batch_begin(self, batch: int, logs: object = None) -> None:
        per_epoch = math.ceil(len(self.x) / self.batch_size)
        start = (self.step % per_epoch) * self.batch_size
        xb, yb = self.x[start : start + self.batch_size], self.y[start : start + self.batch_size]
        self.losses.append(float(self.loss_fn(yb, self.model(xb, training=True))))
        self.lrs.append(float(self.model.optimizer.learning_rate))
        self.step += 1


# ------------------------------------------------------------------------------ ramp
def test_ramp_formula_first_middle_last() -> None:
    ramp = LRRamp(1e-6, 1.0, num_steps=7)
    values = [float(ramp(s)) for s in range(7)]
    np.testing.assert_allclose(values, [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0], rtol=1e-5)
    assert float(ramp(100)) == pytest.approx(1.0, rel=1e-6)  # clamps after the last step
    linear = LRRamp(0.1, 1.1, num_steps=11, mode="linear")
    np.testing.assert_allclose([float(linear(s)) for s in (0, 5, 10)], [0.1, 0.6, 1.1], rtol=1e-6)
    shifted = LRRamp(1e-3, 1e-1, num_steps=3, initial_step=40)
    np.testing.assert_allclose([float(shifted(s)) for s in (40, 41, 42)], [1e-3, 1e-2, 1e-1],
                               rtol=1e-5)


def test_ramp_serializes() -> None:
    ramp = LRRamp(1e-5, 3.0, num_steps=50, mode="linear", initial_step=2)
    clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(ramp))
    assert clone.get_config() == ramp.get_config()


# ---------------------------------------------------------------- the recorded curve
def test_recorded_loss_is_each_batch_own_loss_and_lr_is_applied(data) -> None:
    x, y = data
    model = mlp(keras.optimizers.SGD(0.1))
    probe = BatchLossProbe(x, y, batch_size=32)
    test = LRRangeTest(1e-4, 1.0, num_steps=20, stop_factor=None)
    model.fit(x, y, batch_size=32, epochs=3, shuffle=False, callbacks=[test, probe], verbose=0)
    result = test.result
    assert len(result) == 20
    np.testing.assert_allclose(result.losses, probe.losses[:20], rtol=2e-6, atol=1e-7)
    # Recorded inside the train step; the probe evaluates the same ramp eagerly, and the
    # compiled float32 exp may differ from the eager one in the last few bits.
    np.testing.assert_allclose(result.lrs, probe.lrs[:20], rtol=3e-6)
    # Keras's logs["loss"] is a running mean; the recorded curve is not.
    assert not np.allclose(result.losses, np.cumsum(result.losses) / np.arange(1, 21))


def test_callback_in_a_fit_with_validation_records_only_training_batches(data) -> None:
    x, y = data
    model = mlp(keras.optimizers.SGD(0.05))
    x_val, y_val = x[:64], y[:64]
    before = model.evaluate(x_val, y_val, verbose=0)
    probe = BatchLossProbe(x, y, batch_size=32)
    test = LRRangeTest(1e-4, 1e-2, num_steps=20, stop_factor=None)
    # 8 batches an epoch: validation runs twice inside the ramp.
    model.fit(x, y, batch_size=32, epochs=5, shuffle=False, validation_data=(x_val, y_val),
              callbacks=[test, probe], verbose=0)
    assert len(test.result) == 20 and test.result.stop_reason == "completed"
    np.testing.assert_allclose(test.result.losses, probe.losses[:20], rtol=2e-6, atol=1e-7)
    # Restored, and evaluate reports through the model's own loss tracker again.
    assert model.evaluate(x_val, y_val, verbose=0) == pytest.approx(before, rel=1e-6)


def test_callback_restores_with_finish_after_a_failed_fit(data) -> None:
    x, y = data
    model = mlp(keras.optimizers.SGD(0.1))
    before = snapshot(model)
    test = LRRangeTest(1e-4, 1.0, num_steps=40)

    class Boom(keras.callbacks.Callback):
        def on_train_batch_end(self, batch: int, logs: object = None) -> None:
            if batch == 5:
                raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        model.fit(x, y, batch_size=32, epochs=5, callbacks=[test, Boom()], verbose=0)
    assert test.finish() is test.result and len(test.result) == 6
    assert_same_state(model, before)
    model.optimizer.learning_rate = 0.01  # settable again: the ramp is gone


def test_runs_eagerly(data) -> None:
    x, y = data
    model = mlp(keras.optimizers.SGD(0.05), run_eagerly=True)
    before = snapshot(model)
    result = LRFinder(model).find(x, y, 1e-4, 1.0, 32, steps=12, stop_factor=None)
    assert len(result) == 12
    assert_same_state(model, before)


def test_callback_says_when_the_fit_ends_before_the_ramp(data) -> None:
    x, y = data
    model = mlp(keras.optimizers.SGD(0.1))
    before = [v.numpy() if hasattr(v, "numpy") else np.asarray(v) for v in model.weights]
    test = LRRangeTest(1e-4, 1.0, num_steps=10 * len(x), stop_factor=None)
    with pytest.warns(UserWarning, match=r"fit ended after 8 of the range test's"):
        model.fit(x[:128], y[:128], batch_size=32, epochs=2, callbacks=[test], verbose=0)
    assert test.result.stop_reason == "fit_ended"
    assert len(test.result) == 8
    for old, new in zip(before, model.weights, strict=True):
        np.testing.assert_array_equal(old, keras.ops.convert_to_numpy(new))


def test_buffer_only_where_the_callback_can_miss_a_batch() -> None:
    from lrfind.finder import _needs_buffer

    model = mlp("sgd")
    on_tensorflow = keras.backend.backend() == "tensorflow"
    assert _needs_buffer(model, steps_per_execution=1) is not on_tensorflow
    assert _needs_buffer(model, steps_per_execution=4)


def test_ramp_reaches_end_lr_on_last_planned_batch(data) -> None:
    x, y = data
    result = LRFinder(mlp("sgd")).find(x, y, 1e-5, 1e-1, 16, steps=41, stop_factor=None)
    assert len(result) == 41
    assert result.lrs[0] == pytest.approx(1e-5, rel=1e-6)
    assert result.lrs[20] == pytest.approx(1e-3, rel=1e-5)
    assert result.lrs[-1] == pytest.approx(1e-1, rel=1e-5)
    np.testing.assert_allclose(np.diff(np.log(result.lrs)), np.log(10) / 10, rtol=1e-4)


def test_linear_mode(data) -> None:
    x, y = data
    result = LRFinder(mlp("sgd")).find(x, y, 0.01, 0.2, 32, steps=20, mode="linear",
                                       stop_factor=None)
    np.testing.assert_allclose(np.diff(result.lrs), 0.01, rtol=1e-4)


def test_smoothed_loss_is_bias_corrected_ema(data) -> None:
    x, y = data
    result = LRFinder(mlp()).find(x, y, 1e-4, 1e-2, 32, steps=15, beta=0.9)
    avg, expected = 0.0, []
    for t, loss in enumerate(result.losses, start=1):
        avg = 0.9 * avg + 0.1 * loss
        expected.append(avg / (1 - 0.9**t))
    np.testing.assert_allclose(result.smoothed_losses, expected, rtol=1e-12)


def test_a_batch_size_above_the_data_warns_and_runs_full_batches(data) -> None:
    x, y = data
    model = mlp()
    with pytest.warns(UserWarning, match=rf"batch_size {2 * N} is more than the {N} samples"):
        result = LRFinder(model).find(x, y, batch_size=2 * N, steps=20, repeats=1)
    assert len(result) == 20  # one full batch per step, cycled
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        LRFinder(model).find(x, y, batch_size=N, steps=20, repeats=1)
    assert not [w for w in caught if "more than the" in str(w.message)]


def test_a_generator_is_refused_with_the_way_to_pass_it(data) -> None:
    x, y = data
    model = mlp()
    before = snapshot(model)
    batches = ((x[i : i + 32], y[i : i + 32]) for i in range(0, N, 32))
    with pytest.raises(ValueError, match="can be read only once") as caught:
        LRFinder(model).find(batches, steps=20)
    assert "Dataset.from_generator" in str(caught.value) and "PyDataset" in str(caught.value)
    np.testing.assert_array_equal(next(batches)[0], x[:32])  # not a batch was taken from it
    assert_same_state(model, before)


@pytest.mark.skipif(keras.backend.backend() == "torch",
                    reason="Keras's torch backend requires steps_per_execution=1")
def test_steps_per_execution_gives_one_point_per_batch(data) -> None:
    x, y = data
    plain = LRFinder(mlp()).find(x, y, 1e-4, 1.0, 32, steps=30, shuffle=False, stop_factor=None)
    fused = LRFinder(mlp(steps_per_execution=4)).find(
        x, y, 1e-4, 1.0, 32, steps=30, shuffle=False, stop_factor=None
    )
    assert len(fused) == 30
    np.testing.assert_allclose(fused.lrs, plain.lrs)
    np.testing.assert_allclose(fused.losses, plain.losses, rtol=1e-5)


# -------------------------------------------------------------------------- stops
def regression_data(n: int = 256) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(n, 4)).astype("float32")
    return x, (x @ np.array([1.0, -2.0, 0.5, 3.0], dtype="float32"))[:, None]


def linear_model(loss: object = "mse") -> keras.Model:
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.01), loss)
    return model


def test_stops_when_the_loss_diverges() -> None:
    x, y = regression_data()
    result = LRFinder(linear_model()).find(x, y, 1e-4, 10.0, 16, steps=100)
    assert result.stop_reason == "diverged"
    assert len(result) < 100
    best = result.smoothed_losses.min()
    assert result.smoothed_losses[-1] > 4 * best
    assert (result.smoothed_losses[:-1] <= 4 * np.minimum.accumulate(result.smoothed_losses)[:-1]
            ).all()


def test_stops_on_nan_and_keeps_only_finite_points() -> None:
    x, y = regression_data()
    result = LRFinder(linear_model()).find(x, y, 1e-3, 1e12, 16, steps=100, stop_factor=None)
    assert result.stop_reason == "non_finite"
    assert 0 < len(result) < 100
    assert np.isfinite(result.losses).all() and np.isfinite(result.smoothed_losses).all()
    # The LR at which the loss blew up is kept apart, and the analysis reads it as the
    # divergence: a NaN stop is not mistaken for a curve that never diverged.
    blown_up_at = result.settings["non_finite_lr"]
    assert blown_up_at > result.lrs[-1]
    divergence = result.suggestion.points.get("divergence")  # none when nothing descends
    assert divergence is None or divergence.lr <= blown_up_at * (1 + 1e-6)
    assert "end of the ramp" not in result.suggestion.reason


def test_divergence_rule_works_for_negative_losses() -> None:
    x, y = regression_data()

    def shifted_mse(y_true, y_pred):  # the same curve, 1000 lower: every loss is negative
        return keras.ops.mean(keras.ops.square(y_true - y_pred), axis=-1) - 1000.0

    result = LRFinder(linear_model(shifted_mse)).find(x, y, 1e-4, 1e6, 16, steps=100)
    assert (result.losses[:5] < 0).all()
    assert result.stop_reason in {"diverged", "non_finite"}
    assert len(result) < 100


# ------------------------------------------------------------------------ restore
@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: mlp(keras.optimizers.Adam(1e-3)), id="adam"),
        pytest.param(lambda: mlp(keras.optimizers.SGD(0.01, momentum=0.9)), id="sgd-momentum"),
        pytest.param(lambda: mlp("rmsprop", batchnorm=True, dropout=True), id="batchnorm-dropout"),
        pytest.param(
            lambda: mlp(keras.optimizers.Adam(keras.optimizers.schedules.ExponentialDecay(
                1e-3, decay_steps=10, decay_rate=0.5))),
            id="schedule",
        ),
    ],
)
def test_restores_model_bit_for_bit(data, make) -> None:
    x, y = data
    model = make()
    model.fit(x, y, epochs=1, verbose=0)  # slots, BN statistics and iterations are non-trivial
    before = snapshot(model)
    lr_object = model.optimizer._learning_rate
    train_function = model.train_function
    result = LRFinder(model).find(x, y, 1e-5, 10.0, 32, steps=40)
    assert len(result) > 5
    assert_same_state(model, before)
    assert model.optimizer._learning_rate is lr_object
    assert model.train_function is train_function
    assert model.stop_training is False
    # ... and training goes on exactly as if the finder had never run (on torch, dropout
    # draws from torch's global generator, so each model trains right after its own setup).
    model.fit(x, y, epochs=1, shuffle=False, verbose=0)
    twin = make()
    twin.fit(x, y, epochs=1, verbose=0)
    twin.fit(x, y, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(model.get_weights(), twin.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


class Explode(keras.callbacks.Callback):
    def __init__(self, error: BaseException, at: int = 5) -> None:
        super().__init__()
        self.error, self.at = error, at

    def on_train_batch_end(self, batch: int, logs: object = None) -> None:
        if batch == self.at:
            raise self.error


@pytest.mark.parametrize("error", [RuntimeError("boom"), KeyboardInterrupt()],
                         ids=["exception", "keyboard-interrupt"])
def test_restores_after_a_failure_mid_run(data, error) -> None:
    x, y = data
    model = mlp(keras.optimizers.SGD(0.05, momentum=0.9), batchnorm=True)
    model.fit(x, y, epochs=1, verbose=0)
    before = snapshot(model)
    lr_object = model.optimizer._learning_rate
    tracker = model._loss_tracker
    with pytest.raises(type(error)):
        LRFinder(model).find(x, y, 1e-4, 10.0, 32, steps=50, callbacks=[Explode(error)])
    assert_same_state(model, before)
    assert model.optimizer._learning_rate is lr_object
    assert model._loss_tracker is tracker


def test_restores_global_random_state(data) -> None:
    import random

    from keras.src.random.seed_generator import global_seed_generator

    x, y = data
    model = mlp(dropout=True)
    keras.random.normal((2,))  # makes sure Keras's global seed generator exists
    generator = global_seed_generator()
    keras_state = keras.ops.convert_to_numpy(generator.state)
    np.random.seed(123)
    random.seed(123)
    expected = (np.random.rand(), random.random(),
                keras.ops.convert_to_numpy(keras.random.normal((3,))))
    np.random.seed(123)
    random.seed(123)
    generator.state.assign(keras_state)
    LRFinder(model).find(x, y, 1e-4, 1.0, 32, steps=20, seed=7)
    assert np.random.rand() == expected[0]
    assert random.random() == expected[1]
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(keras.random.normal((3,))),
                                  expected[2])


def test_find_twice_and_after_training_gives_the_same_curve(data) -> None:
    x, y = data
    model = mlp()
    first = LRFinder(model).find(x, y, 1e-5, 1.0, 32, steps=30, seed=3)  # shuffled, seeded
    second = LRFinder(model).find(x, y, 1e-5, 1.0, 32, steps=30, seed=3)
    np.testing.assert_array_equal(first.losses, second.losses)
    other_seed = LRFinder(model).find(x, y, 1e-5, 1.0, 32, steps=30, seed=4)
    assert not np.array_equal(first.losses, other_seed.losses)  # the seed picks the order
    model.fit(x, y, epochs=2, verbose=0)
    trained = LRFinder(model).find(x, y, 1e-5, 1.0, 32, steps=30, seed=3)
    assert trained.losses[0] < first.losses[0]  # it starts from the trained weights
    model.fit(x, y, epochs=1, verbose=0)  # and the model still trains afterwards


def test_state_capture_restores_when_used_directly(data) -> None:
    x, y = data
    model = mlp()
    state = ModelState.capture(model)
    model.fit(x, y, epochs=1, verbose=0)
    assert not state.matches()
    state.restore()
    assert state.matches()


# ---------------------------------------------------------------------- data kinds
def test_positional_keras_lr_finder_call(data) -> None:
    x, y = data
    result = LRFinder(mlp()).find(x, y, 0.0001, 1, 200, 5)
    assert result.settings["num_steps"] == 5 * math.ceil(N / 200)
    assert result.lrs[0] == pytest.approx(1e-4, rel=1e-6)


def test_tf_data_dataset_cycles_when_shorter_than_the_run(data) -> None:
    x, y = data
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(64)  # 4 batches
    result = LRFinder(mlp()).find(dataset, start_lr=1e-4, end_lr=1.0, steps=20, stop_factor=None)
    assert len(result) == 20


def test_dataset_of_unknown_length_cycles_too(data) -> None:
    x, y = data
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).filter(lambda a, b: True).batch(64)
    assert int(dataset.cardinality()) == tf.data.UNKNOWN_CARDINALITY
    result = LRFinder(mlp()).find(dataset, start_lr=1e-4, end_lr=1.0, steps=20, stop_factor=None)
    assert len(result) == 20 and result.stop_reason == "completed"


@pytest.mark.parametrize("source", ["tf.data", "PyDataset"])
def test_unbuilt_model_is_built_from_the_first_batch(data, source) -> None:
    x, y = data
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(CLASSES, activation="softmax")])  # no Input
    model.compile("adam", "sparse_categorical_crossentropy")
    dataset = (tf.data.Dataset.from_tensor_slices((x, y)).batch(32) if source == "tf.data"
               else ArrayPyDataset(x, y, 32))
    result = LRFinder(model).find(dataset, start_lr=1e-4, end_lr=1.0, steps=12)
    assert len(result) == 12
    model.fit(dataset, epochs=1, verbose=0)  # the model still trains afterwards


def test_infinite_tf_data_dataset(data) -> None:
    x, y = data
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).repeat().batch(32)
    result = LRFinder(mlp()).find(dataset, start_lr=1e-4, end_lr=1.0, steps=25, stop_factor=None)
    assert len(result) == 25


class ArrayPyDataset(keras.utils.PyDataset):
    def __init__(self, x: np.ndarray, y: np.ndarray, batch_size: int) -> None:
        super().__init__()
        self.x, self.y, self.batch_size = x, y, batch_size

    def __len__(self) -> int:
        return math.ceil(len(self.x) / self.batch_size)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        part = slice(index * self.batch_size, (index + 1) * self.batch_size)
        return self.x[part], self.y[part]


def test_pydataset(data) -> None:
    x, y = data
    result = LRFinder(mlp()).find(ArrayPyDataset(x, y, 32), start_lr=1e-4, end_lr=1.0,
                                  epochs=2, stop_factor=None)
    assert len(result) == 16


def multi_input_model() -> keras.Model:
    keras.utils.set_random_seed(0)
    left, right = keras.Input((5,), name="left"), keras.Input((3,), name="right")
    hidden = keras.layers.Dense(8, activation="relu")(keras.layers.Concatenate()([left, right]))
    model = keras.Model({"left": left, "right": right}, keras.layers.Dense(1)(hidden))
    model.compile("adam", "mse")
    return model


def test_multi_input_dict_and_list(data) -> None:
    x, _ = data
    inputs = {"left": x[:, :5], "right": x[:, 5:]}
    target = x.sum(axis=1, keepdims=True)
    result = LRFinder(multi_input_model()).find(inputs, target, 1e-4, 1.0, 32, steps=20)
    assert len(result) >= 2
    left, right = keras.Input((5,)), keras.Input((3,))
    out = keras.layers.Dense(1)(keras.layers.Concatenate()([left, right]))
    model = keras.Model([left, right], out)
    model.compile("sgd", "mse")
    result = LRFinder(model).find([x[:, :5], x[:, 5:]], target, 1e-4, 1e-1, 32, steps=20)
    assert len(result) == 20


class Subclassed(keras.Model):
    def __init__(self) -> None:
        super().__init__()
        self.hidden = keras.layers.Dense(8, activation="relu")
        self.out = keras.layers.Dense(CLASSES, activation="softmax")

    def call(self, inputs: object) -> object:
        return self.out(self.hidden(inputs))


def test_subclassed_model_never_built_before(data) -> None:
    x, y = data
    model = Subclassed()
    model.compile("adam", "sparse_categorical_crossentropy")
    result = LRFinder(model).find(x, y, 1e-4, 1.0, 32, steps=20)
    assert len(result) >= 2
    before = snapshot(model)
    LRFinder(model).find(x, y, 1e-4, 1.0, 32, steps=20)
    assert_same_state(model, before)


# ---------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"start_lr": 0.0}, "start_lr must be a positive"),
        ({"start_lr": -1e-3}, "start_lr must be a positive"),
        ({"start_lr": 1.0, "end_lr": 1e-3}, "must be below end_lr"),
        ({"start_lr": float("nan")}, "positive, finite"),
        ({"steps": 5}, "at least 10"),
        ({"steps": 20, "epochs": 2}, "not both"),
        ({"batch_size": 0}, "batch_size must be a positive"),
    ],
)
def test_bad_arguments(data, kwargs, message) -> None:
    x, y = data
    with pytest.raises(ValueError, match=message):
        LRFinder(mlp()).find(x, y, **kwargs)


def test_bad_data(data) -> None:
    x, y = data
    model = mlp()
    before = snapshot(model)
    with pytest.raises(ValueError, match="same length"):
        LRFinder(model).find(x, y[:-3])
    with pytest.raises(ValueError, match="empty"):
        LRFinder(model).find(x[:0], y[:0])
    with pytest.raises(ValueError, match="does not fit the model") as error:
        LRFinder(model).find(x[:, :5], y)
    # the layer's own words, not Keras's "Exception encountered when calling" wrapper
    assert "Exception encountered" not in str(error.value)
    assert "incompatible with the layer" in str(error.value)
    with pytest.raises(ValueError, match="at least 10"):
        LRFinder(model).find(x[:64], y[:64], batch_size=32, epochs=1)
    poisoned = x.copy()
    poisoned[50, 1] = np.nan  # its loss is NaN at any LR: not a divergence to read
    with pytest.raises(ValueError, match=r"^x contains 1 NaN .* sample 50\); remove or fix"):
        LRFinder(model).find(poisoned, y)
    weights = np.ones(len(y), "float32")
    weights[7] = np.inf
    with pytest.raises(ValueError, match=r"^sample_weight contains 1 NaN .* sample 7\)"):
        LRFinder(model).find(x, y, sample_weight=weights)
    assert_same_state(model, before)


def test_a_dict_keyed_otherwise_than_the_inputs_names_the_keys() -> None:
    age, bmi = keras.Input((3,), name="age"), keras.Input((2,), name="bmi")
    model = keras.Model({"age": age, "bmi": bmi},
                        keras.layers.Dense(1)(keras.layers.concatenate([age, bmi])))
    model.compile("adam", "mse")
    x = {"age": np.ones((64, 3), "float32"), "bmj": np.ones((64, 2), "float32")}
    with pytest.raises(ValueError, match=r"missing \['bmi'\], not inputs \['bmj'\]\. Key"):
        LRFinder(model).find(x, np.ones((64, 1), "float32"))


def test_uncompiled_model_is_refused() -> None:
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    with pytest.raises(ValueError, match=r"not compiled.*model.compile"):
        LRFinder(model).find(np.ones((64, 3)), np.ones((64, 1)))
    with pytest.raises(TypeError, match=r"keras\.Model"):
        LRFinder("model.keras")  # type: ignore[arg-type]


# ------------------------------------------------- mixed precision, gradient accumulation
def test_mixed_precision_loss_scale_optimizer(data) -> None:
    x, y = data
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = mlp(keras.optimizers.Adam(1e-3))
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    model.fit(x, y, epochs=1, verbose=0)
    before = snapshot(model)
    probe = BatchLossProbe(x, y, batch_size=32)
    result = LRFinder(model).find(x, y, 1e-4, 1e-2, 32, steps=20, shuffle=False,
                                  stop_factor=None, callbacks=[probe])
    # The LR reaches the inner optimizer; the recorded loss is the unscaled loss. A step
    # skipped for overflow (the dynamic loss scale starts high) applies no update, so the
    # ramp does not advance on it and the next batch runs at the same LR: the result keeps
    # one point per LR, the later one, and says how many steps were skipped.
    skipped = result.settings.get("skipped_steps", 0)
    assert len(result) == 20 - skipped
    ramp = np.geomspace(1e-4, 1e-2, 20)
    assert (np.diff(result.lrs) > 0).all()
    assert all(np.isclose(ramp, lr, rtol=1e-5).any() for lr in result.lrs)
    for loss in result.losses:
        assert np.isclose(probe.losses[:20], loss, rtol=2e-3).any()
    if TENSORFLOW:  # the LR is read in the step there; JAX counts batches instead
        assert skipped >= 1
    assert result.suggestion.reason  # the analysis reads the curve
    assert_same_state(model, before)


def test_gradient_accumulation_ramps_per_update(data) -> None:
    x, y = data
    model = mlp(keras.optimizers.SGD(0.1, gradient_accumulation_steps=2))
    model.fit(x, y, epochs=1, verbose=0)
    before = snapshot(model)
    result = LRFinder(model).find(x, y, 1e-4, 1.0, 32, steps=24, shuffle=False, stop_factor=None)
    assert len(result) == 12  # 24 batches, 12 applied updates, one point each
    np.testing.assert_allclose(result.lrs, np.geomspace(1e-4, 1.0, 12), rtol=1e-5)
    assert result.settings["gradient_accumulation_steps"] == 2
    assert result.settings["points"] == "updates"
    assert_same_state(model, before)


# ------------------------------------------------------------------ validation loss
def test_validation_loss_every_k_batches_on_a_cached_subset(data, tmp_path) -> None:
    x, y = data
    x_val, y_val = x[:100], y[:100]
    model = mlp()
    model.fit(x, y, epochs=1, verbose=0)
    before = snapshot(model)
    evaluated: list[float] = []

    class Reference(keras.callbacks.Callback):
        # The validation loss computed independently, at the same points of the run.
        seen = 0

        def on_train_batch_end(self, batch: int, logs: object = None) -> None:
            self.seen += 1  # `batch` restarts every epoch
            if self.seen % 5 == 0:
                # the cached subset: val_batches=2 batches of the run's batch size, 32
                pred = self.model(x_val[:32], training=False)
                first = keras.losses.sparse_categorical_crossentropy(y_val[:32], pred)
                pred = self.model(x_val[32:64], training=False)
                second = keras.losses.sparse_categorical_crossentropy(y_val[32:64], pred)
                first, second = (float(np.mean(keras.ops.convert_to_numpy(loss)))
                                 for loss in (first, second))
                evaluated.append((first + second) / 2)

    result = LRFinder(model).find(
        x, y, 1e-4, 1.0, 32, steps=20, stop_factor=None, callbacks=[Reference()],
        validation_data=(x_val, y_val), val_every=5, val_batches=2,
    )
    np.testing.assert_array_equal(result.val_indices, [4, 9, 14, 19])
    np.testing.assert_allclose(result.val_losses, evaluated, rtol=1e-5)
    np.testing.assert_array_equal(result.val_lrs, result.lrs[[4, 9, 14, 19]])
    assert_same_state(model, before)
    loaded = LRFinderResult.load(result.save(tmp_path / "val.json"))
    np.testing.assert_array_equal(loaded.val_losses, result.val_losses)


# ---------------------------------------------------------------- memory-mapped data
def test_memory_mapped_arrays_are_streamed(data, tmp_path, monkeypatch) -> None:
    import lrfind.finder as finder_module

    x, y = data
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    x_map = np.load(tmp_path / "x.npy", mmap_mode="r")
    y_map = np.load(tmp_path / "y.npy", mmap_mode="r")
    seen: list[int] = []
    original = finder_module.MemmapBatches.__getitem__

    def spy(self, index):
        batch = original(self, index)
        seen.append(len(batch[0]))
        return batch

    monkeypatch.setattr(finder_module.MemmapBatches, "__getitem__", spy)
    streamed = LRFinder(mlp()).find(x_map, y_map, 1e-4, 1.0, 32, steps=20, shuffle=False,
                                    stop_factor=None)
    in_memory = LRFinder(mlp()).find(x, y, 1e-4, 1.0, 32, steps=20, shuffle=False,
                                     stop_factor=None)
    assert seen and max(seen) == 32  # fit read batches, not the whole array
    np.testing.assert_allclose(streamed.losses, in_memory.losses, rtol=1e-5)


def test_memmap_batches_read_the_right_rows(tmp_path) -> None:
    from lrfind.finder import MemmapBatches

    x = np.arange(300 * 3, dtype="float32").reshape(300, 3)
    np.save(tmp_path / "x.npy", x)
    mapped = np.load(tmp_path / "x.npy", mmap_mode="r")
    for source in (mapped, mapped[37:250]):  # a memmap and a view into one
        expected = np.asarray(source)
        batches = MemmapBatches(source, source[:, 0], batch_size=32, shuffle=True, seed=1)
        seen = []
        for index in range(len(batches)):
            xb, yb = batches[index]
            start = int(batches._order[index]) * 32
            np.testing.assert_array_equal(xb, expected[start : start + 32])
            np.testing.assert_array_equal(yb, expected[start : start + 32, 0])
            seen.append(start)
        assert sorted(seen) == list(range(0, len(expected), 32))


def test_one_step_per_execution_reads_no_variable_per_batch(data, monkeypatch) -> None:
    # The fast path: each batch's point arrives in the logs Keras already converts; reading
    # the tracker's variables every batch cost ~0.6 ms a step (a regression seen once).
    import lrfind.tracker as tracker_module

    reads = []
    original = tracker_module.BatchLossTracker.recorded
    monkeypatch.setattr(tracker_module.BatchLossTracker, "recorded",
                        lambda self, since: reads.append(1) or original(self, since))
    x, y = data
    test = LRRangeTest(1e-4, 1e-2, num_steps=30, stop_factor=None)
    mlp().fit(x, y, batch_size=32, epochs=4, callbacks=[test], verbose=0)
    assert len(test.result) == 30
    if TENSORFLOW:  # JAX and torch read the tracker's buffer
        assert not reads


# ------------------------------------------------------- several steps per execution
SEVERAL_STEPS = pytest.mark.skipif(keras.backend.backend() == "torch",
                                   reason="torch takes one step per execution")


@SEVERAL_STEPS
def test_find_runs_several_steps_per_execution_and_records_the_same_curve(data) -> None:
    from lrfind._defaults import RUN_STEPS_PER_EXECUTION

    x, y = data
    seen = []

    class Executions(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(self.model.steps_per_execution)

    fast_model, slow_model = mlp(seed=1), mlp(seed=1)
    fast = LRFinder(fast_model).find(x, y, 1e-5, 1.0, 32, steps=50, shuffle=False,
                                     stop_factor=None, on_point=lambda *a: None)
    # with a callback of the user's, one step per execution: the reference curve
    slow = LRFinder(slow_model).find(x, y, 1e-5, 1.0, 32, steps=50, shuffle=False,
                                     stop_factor=None, callbacks=[Executions()])
    assert set(seen) == {1} and RUN_STEPS_PER_EXECUTION > 1
    np.testing.assert_array_equal(fast.lrs, slow.lrs)
    np.testing.assert_allclose(fast.losses, slow.losses, rtol=1e-6)
    assert fast_model.steps_per_execution == 1 and fast_model.train_function is None


@SEVERAL_STEPS
def test_the_stop_comes_within_one_execution_of_the_divergence() -> None:
    from lrfind._defaults import RUN_STEPS_PER_EXECUTION

    x, y = regression_data(2048)
    model = linear_model()
    stops = []
    result = LRFinder(model).find(x, y, 1e-4, 1e4, 16, steps=400, shuffle=False,
                                  on_point=lambda n, lr, loss, s: stops.append(n))
    assert result.stop_reason in {"diverged", "non_finite"} and len(result) < 400
    # the execution that saw the stop ran at most RUN_STEPS_PER_EXECUTION - 1 batches more,
    # and they are not in the result
    ran = len(result) + (1 if result.stop_reason == "non_finite" else 0)
    assert ran <= stops[-1] + 1 <= len(result) + 1
    assert int(keras.ops.convert_to_numpy(model.optimizer.iterations)) == 0  # restored
    assert RUN_STEPS_PER_EXECUTION > 1


@SEVERAL_STEPS
def test_the_users_steps_per_execution_and_train_function_are_put_back(data) -> None:
    x, y = data
    model = mlp(steps_per_execution=4)
    model.fit(x, y, epochs=1, verbose=0)
    train_function = model.train_function
    result = LRFinder(model).find(x, y, 1e-4, 1.0, 32, steps=24, stop_factor=None)
    assert len(result) == 24
    assert model.steps_per_execution == 4 and model.train_function is train_function


def test_the_result_records_the_optimizers_momentum_for_the_rule() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, FEATURES)).astype("float32")
    y = x[:, :CLASSES].argmax(axis=1).astype("int32")
    for optimizer, name, momentum in ((keras.optimizers.SGD(momentum=0.9), "SGD", 0.9),
                                      (keras.optimizers.SGD(), "SGD", 0.0),
                                      ("adam", "Adam", None)):
        result = LRFinder(mlp(optimizer)).find(x, y, 1e-5, 10.0, 32, steps=40, repeats=1)
        assert result.optimizer_settings == {"optimizer": name, "momentum": momentum}
