"""Keras models written the way Keras's own examples (keras.io) write them, on small data.

Each builder returns ``(model, x, y)``: a compiled model and data for it, deterministic in
``seed``. The custom classes are registered serializable, so every model survives
``model.save``/``load_model`` (the command line loads this module with ``--import``).
TensorFlow-specific code (``tf.GradientTape`` in a ``train_step``) is what those examples use.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import layers, ops

PACKAGE = "lrfind_test_models"
N = 256


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(1000 + seed)


# ------------------------------------------------------------------ 1. Sequential CNN
def sequential_cnn(seed: int = 0) -> tuple[keras.Model, Any, Any]:
    """keras.io "Simple MNIST convnet", on 12x12 generated images."""
    rng = _rng(seed)
    x = rng.random((N, 12, 12, 1)).astype("float32")
    y = (x[:, :6].mean(axis=(1, 2, 3)) > x[:, 6:].mean(axis=(1, 2, 3))).astype("int32")
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([
        keras.Input(shape=(12, 12, 1)),
        layers.Conv2D(8, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(2, activation="softmax"),
    ])
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam",
                  metrics=["accuracy"])
    return model, x, y


# ------------------------------------------- 2. functional, named dict inputs, two outputs
def dict_inputs_two_outputs(seed: int = 0) -> tuple[keras.Model, Any, Any]:
    """Structured data: named inputs (one categorical via a lookup), two named heads."""
    rng = _rng(seed)
    age = rng.uniform(20, 70, (N, 1)).astype("float32")
    income = rng.uniform(1, 9, (N, 1)).astype("float32")
    city = rng.integers(0, 4, (N, 1)).astype("int64")
    x = {"age": age, "income": income, "city": city}
    y = {
        "spend": (0.02 * age + 0.3 * income + 0.1 * city).astype("float32"),
        "churn": (income < 4).astype("float32"),
    }
    keras.utils.set_random_seed(seed)
    inputs = {
        "age": keras.Input(shape=(1,), name="age"),
        "income": keras.Input(shape=(1,), name="income"),
        "city": keras.Input(shape=(1,), name="city", dtype="int64"),
    }
    city_one_hot = layers.CategoryEncoding(num_tokens=4, output_mode="one_hot")(inputs["city"])
    features = layers.concatenate([
        layers.Rescaling(1 / 70)(inputs["age"]), layers.Rescaling(1 / 9)(inputs["income"]),
        city_one_hot,
    ])
    hidden = layers.Dense(16, activation="relu")(features)
    outputs = {
        "spend": layers.Dense(1, name="spend")(hidden),
        "churn": layers.Dense(1, activation="sigmoid", name="churn")(hidden),
    }
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss={"spend": "mse", "churn": "binary_crossentropy"},
                  loss_weights={"spend": 1.0, "churn": 0.5})
    return model, x, y


# ---------------------------------------------- 3. the trainer pattern (Keras 3 guide)
@keras.saving.register_keras_serializable(package=PACKAGE)
class Trainer(keras.Model):
    """keras.io "Writing a training loop from scratch" / "trainer pattern": a Model that
    wraps another, computes its own loss and reports it through its own Mean metric."""

    def __init__(self, model: keras.Model, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.model = model
        self.loss_fn = keras.losses.SparseCategoricalCrossentropy()
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.accuracy_metric = keras.metrics.SparseCategoricalAccuracy(name="acc")

    @property
    def metrics(self) -> list[Any]:
        return [self.loss_tracker, self.accuracy_metric]

    def train_step(self, data: Any) -> dict[str, Any]:
        import tensorflow as tf

        x, y = data[:2]  # fit gives (x, y); train_on_batch (x, y, sample_weight)
        with tf.GradientTape() as tape:
            y_pred = self.model(x, training=True)
            loss = self.loss_fn(y, y_pred)
        gradients = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_variables, strict=True))
        self.loss_tracker.update_state(loss)
        self.accuracy_metric.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}

    def call(self, x: Any) -> Any:
        return self.model(x)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "model": keras.saving.serialize_keras_object(self.model)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Trainer:
        config["model"] = keras.saving.deserialize_keras_object(config["model"])
        return cls(**config)


def _classification(seed: int, features: int = 8) -> tuple[np.ndarray, np.ndarray]:
    rng = _rng(seed)
    x = rng.normal(size=(N, features)).astype("float32")
    return x, x[:, :3].argmax(axis=1).astype("int32")


def trainer_pattern(seed: int = 0, trainer: type[Trainer] = Trainer
                    ) -> tuple[keras.Model, Any, Any]:
    x, y = _classification(seed)
    keras.utils.set_random_seed(seed)
    inner = keras.Sequential([keras.Input((8,)), layers.Dense(16, activation="relu"),
                              layers.Dense(3, activation="softmax")])
    model = trainer(inner)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    return model, x, y


@keras.saving.register_keras_serializable(package=PACKAGE)
class TrainerWithTestStep(Trainer):
    """The trainer pattern with keras.io's ``test_step`` ("Customizing what happens in
    fit()": "Providing your own evaluation step"): its own loss and metrics, for evaluate."""

    def test_step(self, data: Any) -> dict[str, Any]:
        x, y = data[:2]
        y_pred = self.model(x, training=False)
        self.loss_tracker.update_state(self.loss_fn(y, y_pred))
        self.accuracy_metric.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}


def trainer_with_test_step(seed: int = 0) -> tuple[keras.Model, Any, Any]:
    """`trainer_pattern` with a ``test_step`` (not in `MODELS`: the trials use it)."""
    return trainer_pattern(seed, TrainerWithTestStep)


# --------------------------------------------- 4. a Keras 2 style train_step (EDSR-like)
@keras.saving.register_keras_serializable(package=PACKAGE)
class Keras2StyleModel(keras.Model):
    """keras.io's EDSR keeps a Keras 2 ``train_step``: ``self.compiled_loss`` and
    ``self.compiled_metrics.update_state(y, y_pred)``."""

    def train_step(self, data: Any) -> dict[str, Any]:
        import tensorflow as tf

        x, y = data[:2]  # fit gives (x, y); train_on_batch (x, y, sample_weight)
        with tf.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compiled_loss(y, y_pred, regularization_losses=self.losses)
        gradients = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_variables, strict=True))
        self.compiled_metrics.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}


def keras2_style_train_step(seed: int = 0) -> tuple[keras.Model, Any, Any]:
    rng = _rng(seed)
    x = rng.uniform(1, 10, (N, 4)).astype("float32")
    y = (x @ np.array([[3.0], [-2.0], [1.0], [0.5]], "float32") + 5.0).astype("float32")
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((4,))
    hidden = layers.Dense(16, activation="relu")(inputs)
    model = Keras2StyleModel(inputs, layers.Dense(1)(hidden))
    model.compile(optimizer="adam", loss="mae")
    return model, x, y


# ---------------------------------------------------- 5. a registered custom layer
@keras.saving.register_keras_serializable(package=PACKAGE)
class WeightedSum(layers.Layer):
    """keras.io "Making new layers and models via subclassing": a layer with its weights."""

    def __init__(self, units: int = 8, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape: Any) -> None:
        self.w = self.add_weight(shape=(input_shape[-1], self.units),
                                 initializer="glorot_uniform", trainable=True)
        self.b = self.add_weight(shape=(self.units,), initializer="zeros", trainable=True)

    def call(self, inputs: Any) -> Any:
        return ops.relu(ops.matmul(inputs, self.w) + self.b)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "units": self.units}


def custom_layer(seed: int = 0) -> tuple[keras.Model, Any, Any]:
    x, y = _classification(seed)
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((8,))
    outputs = layers.Dense(3, activation="softmax")(WeightedSum(16)(inputs))
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy")
    return model, x, y


# ----------------------------------------------------------------- 6. an RNN on tokens
def bilstm_tokens(seed: int = 0) -> tuple[keras.Model, Any, Any]:
    """keras.io "Bidirectional LSTM on IMDB", on generated token sequences."""
    rng = _rng(seed)
    x = rng.integers(1, 50, (N, 12)).astype("int32")
    y = (np.isin(x, np.arange(1, 10)).sum(axis=1) >= 3).astype("int32")
    keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape=(None,), dtype="int32")
    hidden = layers.Embedding(50, 8)(inputs)
    hidden = layers.Bidirectional(layers.LSTM(8))(hidden)
    model = keras.Model(inputs, layers.Dense(1, activation="sigmoid")(hidden))
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    return model, x, y


# -------------------------------------------------- 7. preprocessing inside the model
def preprocessing_layers(seed: int = 0) -> tuple[keras.Model, Any, Any]:
    """An adapted Normalization layer inside the model (raw features of different scales)."""
    rng = _rng(seed)
    x = (rng.normal(size=(N, 5)) * np.array([1, 10, 100, 1000, 0.1])).astype("float32")
    y = (x[:, 0] + x[:, 1] / 10 + x[:, 2] / 100 > 0).astype("float32")
    keras.utils.set_random_seed(seed)
    normalizer = layers.Normalization()
    normalizer.adapt(x)
    model = keras.Sequential([keras.Input((5,)), normalizer, layers.Dense(8, activation="relu"),
                              layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    return model, x, y


# ------------------------------------------------ 8. augmentation + separable convolutions
def augmentation_separable_cnn(seed: int = 0) -> tuple[keras.Model, Any, Any]:
    """keras.io "Image classification from scratch" in miniature: augmentation layers,
    SeparableConv2D, BatchNormalization and a residual add."""
    rng = _rng(seed)
    x = rng.random((N, 16, 16, 3)).astype("float32")
    y = (x[..., 0].mean(axis=(1, 2)) > x[..., 2].mean(axis=(1, 2))).astype("int32")
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((16, 16, 3))
    hidden = layers.RandomFlip("horizontal")(inputs)
    hidden = layers.RandomTranslation(0.1, 0.1)(hidden)
    hidden = layers.Conv2D(8, 3, padding="same")(hidden)
    previous = hidden
    hidden = layers.Activation("relu")(hidden)
    hidden = layers.SeparableConv2D(8, 3, padding="same")(hidden)
    hidden = layers.BatchNormalization()(hidden)
    hidden = layers.add([hidden, previous])
    hidden = layers.GlobalAveragePooling2D()(hidden)
    model = keras.Model(inputs, layers.Dense(2, activation="softmax")(hidden))
    model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9),
                  loss="sparse_categorical_crossentropy")
    return model, x, y


# ---------------------------------------------- 9. an optimizer compiled with a schedule
def optimizer_with_schedule(seed: int = 0) -> tuple[keras.Model, Any, Any]:
    x, y = _classification(seed)
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((8,)), layers.Dense(16, activation="relu"),
                              layers.Dense(3, activation="softmax")])
    schedule = keras.optimizers.schedules.ExponentialDecay(1e-2, decay_steps=100,
                                                           decay_rate=0.9)
    model.compile(optimizer=keras.optimizers.Adam(schedule),
                  loss="sparse_categorical_crossentropy")
    return model, x, y


# -------------------------------- 10. Keras 3's own custom train_step (compute_loss + metrics)
@keras.saving.register_keras_serializable(package=PACKAGE)
class CustomFitModel(keras.Model):
    """keras.io "Customizing what happens in fit() with TensorFlow", first example."""

    def train_step(self, data: Any) -> dict[str, Any]:
        import tensorflow as tf

        x, y = data[:2]  # fit gives (x, y); train_on_batch (x, y, sample_weight)
        with tf.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(y=y, y_pred=y_pred)
        gradients = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply(gradients, self.trainable_variables)
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
            else:
                metric.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}


def keras3_custom_train_step(seed: int = 0) -> tuple[keras.Model, Any, Any]:
    x, y = _classification(seed)
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((8,))
    hidden = layers.Dense(16, activation="relu")(inputs)
    model = CustomFitModel(inputs, layers.Dense(3, activation="softmax")(hidden))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model, x, y


MODELS = {
    "sequential_cnn": sequential_cnn,
    "dict_inputs_two_outputs": dict_inputs_two_outputs,
    "trainer_pattern": trainer_pattern,
    "keras2_style_train_step": keras2_style_train_step,
    "custom_layer": custom_layer,
    "bilstm_tokens": bilstm_tokens,
    "preprocessing_layers": preprocessing_layers,
    "augmentation_separable_cnn": augmentation_separable_cnn,
    "optimizer_with_schedule": optimizer_with_schedule,
    "keras3_custom_train_step": keras3_custom_train_step,
}
"""Every model of this module by name."""
