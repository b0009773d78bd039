"""The command line's file loader (`lrfind.cli_inputs`), called directly: no CLI run."""

from __future__ import annotations

import sys
import textwrap

import numpy as np
import pytest

from lrfind.cli_inputs import (
    InputError,
    check_arrays,
    check_fits,
    check_model_path,
    check_output_dir,
    import_modules,
    load_model,
    open_data,
    select,
)


def test_models_compiled_with_lrfind_schedules_load_without_importing_lrfind(
    tmp_path, monkeypatch
):
    import keras

    import lrfind
    import lrfind.schedules

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    schedule = lrfind.schedules.CyclicLR(1e-3, 1e-2, step_size=10)
    model.compile(keras.optimizers.SGD(learning_rate=schedule), "mse")
    model.save(tmp_path / "clr.keras")
    # as in a fresh `lrfind` process: lrfind's schedules neither imported nor registered
    monkeypatch.setattr(lrfind, "schedules", lrfind.schedules)
    monkeypatch.delitem(sys.modules, "lrfind.schedules")
    registered = keras.saving.get_custom_objects()
    for name in [name for name in registered if name.startswith("lrfind>")]:
        monkeypatch.delitem(registered, name)
    loaded = load_model(tmp_path / "clr.keras")
    config = loaded.optimizer.get_config()["learning_rate"]
    assert config["class_name"] == "CyclicLR" and config["config"]["max_lr"] == 1e-2


def dense(features: int):
    import keras

    return keras.Sequential([keras.Input((features,)), keras.layers.Dense(1)])


def load_data(path, model=None, **keys):
    """``DATA`` as the command line reads it for ``model`` (a Dense layer on 2 features)."""
    return select(model or dense(2), open_data(path, **keys), **keys)


def test_npy_directory_is_memory_mapped(tmp_path):
    np.save(tmp_path / "x_train.npy", np.ones((256, 4), "float32"))
    np.save(tmp_path / "y_train.npy", np.zeros((256, 1), "float32"))
    data = load_data(tmp_path, dense(4))
    assert isinstance(data.x, np.memmap) and isinstance(data.y, np.memmap)
    assert (data.x_key, data.y_key, len(data)) == ("x_train", "y_train", 256)


def test_named_arrays_are_picked_by_key_and_a_missing_key_names_what_is_there(tmp_path):
    np.savez(tmp_path / "d.npz", inputs=np.ones((4, 2)), labels=np.zeros(4))
    data = load_data(tmp_path / "d.npz", x_key="inputs", y_key="labels")
    assert (data.x_key, data.y_key) == ("inputs", "labels")
    with pytest.raises(InputError, match=r"'inputs', 'labels'.*--x-key NAME"):
        load_data(tmp_path / "d.npz")
    with pytest.raises(InputError, match=r"no array named 'feature' \(from --x-key\)"):
        open_data(tmp_path / "d.npz", x_key="inputs,feature")


def test_nan_scan_works_block_by_block(monkeypatch):
    import lrfind.cli_inputs

    monkeypatch.setattr(lrfind.cli_inputs, "_SCAN_BYTES", 64)  # several blocks of 2 rows
    x = np.ones((50, 8), dtype=np.float32)
    x[37, 5] = np.nan
    x[44, 0] = -np.inf
    with pytest.raises(InputError, match="2 NaN or infinite values \\(the first in sample 37\\)"):
        check_arrays(x, np.zeros(50))
    check_arrays(x[:30], np.zeros(30))  # clean


def test_shape_check_accepts_what_keras_accepts():
    import keras

    flat = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    single = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    sequence = keras.Sequential([keras.Input((None, 3)), keras.layers.Dense(1)])
    accepted = [(flat, (5, 4)), (flat, (5, 4, 1)), (single, (5,)), (sequence, (5, 7, 3))]
    for model, shape in accepted:
        check_fits(model, np.zeros(shape, "float32"))
        model(np.zeros(shape, "float32"))  # and Keras agrees
    for model, shape in [(flat, (5, 3)), (sequence, (5, 7, 2)), (flat, (5, 2, 2))]:
        with pytest.raises(InputError, match="does not fit the model"):
            check_fits(model, np.zeros(shape, "float32"))


def test_output_dir_check_creates_nothing(tmp_path):
    target = tmp_path / "a" / "b"
    assert check_output_dir(target) == target
    assert list(tmp_path.iterdir()) == []


def test_model_path_is_checked_without_loading_it(tmp_path):
    (tmp_path / "notes.keras").write_text("not a model\n")
    with pytest.raises(InputError, match=r"not a valid \.keras archive"):
        check_model_path(tmp_path / "notes.keras")
    (tmp_path / "model.h5").write_bytes(b"\x89HDF\r\n\x1a\n")
    with pytest.raises(InputError, match=r"is not a \.keras file"):
        check_model_path(tmp_path / "model.h5")


def test_import_modules_searches_the_current_directory_first(tmp_path, monkeypatch):
    (tmp_path / "lrfind_inputs_probe.py").write_text(textwrap.dedent("""
        LOADED = True
    """))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    monkeypatch.delitem(sys.modules, "lrfind_inputs_probe", raising=False)
    import_modules(["lrfind_inputs_probe"])
    assert sys.modules.pop("lrfind_inputs_probe").LOADED
    with pytest.raises(InputError, match="cannot import 'no_such_module_here' \\(from --import\\)"):
        import_modules(["no_such_module_here"])
