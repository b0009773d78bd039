"""The range test under tf.distribute.MirroredStrategy over two logical CPU devices.

Logical devices must be configured before TensorFlow starts, so this runs in a subprocess.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import json, os
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras, numpy as np
    from lrfind import LRFinder

    rng = np.random.default_rng(0)
    x = rng.normal(size=(512, 6)).astype("float32")
    y = (x[:, :3].argmax(axis=1)).astype("int32")
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(16, activation="relu"),
                                  keras.layers.Dense(3, activation="softmax")])
        model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=64, epochs=1, verbose=0)
    before = [v.numpy().copy() for v in [*model.variables, *model.optimizer.variables]]

    class Probe(keras.callbacks.Callback):
        # Global batch loss computed independently, before each step, on the same batch.
        def __init__(self):
            super().__init__(); self.losses = []; self.step = 0
        def on_train_batch_begin(self, batch, logs=None):
            i = (self.step % 8) * 64
            pred = self.model(x[i:i + 64], training=True)
            loss = keras.losses.sparse_categorical_crossentropy(y[i:i + 64], pred)
            self.losses.append(float(np.mean(loss))); self.step += 1

    probe = Probe()
    result = LRFinder(model).find(x, y, 1e-4, 1.0, 64, steps=24, shuffle=False,
                                  stop_factor=None, callbacks=[probe])
    after = [v.numpy() for v in [*model.variables, *model.optimizer.variables]]
    print(json.dumps({
        "replicas": strategy.num_replicas_in_sync,
        "mirrored_lr": type(model.optimizer._learning_rate).__name__,
        "n": len(result),
        "losses": result.losses.tolist(),
        "probe": probe.losses[:len(result)],
        "lr0": float(result.lrs[0]), "lr_last": float(result.lrs[-1]),
        "restored": all(np.array_equal(a, b) for a, b in zip(before, after)),
    }))
    """
)


def test_mirrored_strategy_records_global_batch_loss_and_restores() -> None:
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["replicas"] == 2
    assert report["n"] == 24
    assert report["restored"]
    assert abs(report["lr0"] - 1e-4) < 1e-9 and abs(report["lr_last"] - 1.0) < 1e-5
    # Each replica computes half the batch; the recorded value is their mean.
    for recorded, probe in zip(report["losses"], report["probe"], strict=True):
        assert abs(recorded - probe) <= 1e-5 * abs(probe)
