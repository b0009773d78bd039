"""The command line's file loaders (`lrfind.cli_inputs`, `cli_tables`, `cli_checks`,
`cli_model`), called directly: no CLI run."""

from __future__ import annotations

import sys
import textwrap

import numpy as np
import pytest

from lrfind.cli_checks import InputError, check_arrays, check_fits
from lrfind.cli_inputs import check_output_dir, open_data, select
from lrfind.cli_model import check_model_path, import_modules, load_model


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
    picks = {k: v for k, v in keys.items() if k != "target"}
    return select(model or dense(2), open_data(path, **keys), **picks)


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
    import lrfind._defaults

    monkeypatch.setattr(lrfind._defaults, "SCAN_BYTES", 64)  # several blocks of 2 rows
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


def test_shape_error_suggests_only_a_reshape_that_works():
    import keras

    image = keras.Sequential(
        [keras.Input((4, 2, 1)), keras.layers.Flatten(), keras.layers.Dense(1)])
    rows = keras.Sequential([keras.Input((None, 4)), keras.layers.Dense(1)])
    for model, x in [(image, np.zeros((5, 8), "float32")), (rows, np.zeros((5, 12), "float32"))]:
        with pytest.raises(InputError, match="does not fit the model") as caught:
            check_fits(model, x)
        call = str(caught.value).split("(e.g. ")[1].split(") or pick")[0]
        reshaped = eval(call, {"x": x, "len": len})  # the message's own code, run
        check_fits(model, reshaped)
        model(reshaped)  # and Keras agrees
    wrong_size = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    with pytest.raises(InputError, match="no reshape turns 3 values a sample") as caught:
        check_fits(wrong_size, np.zeros((5, 3), "float32"))
    assert "reshape(" not in str(caught.value)


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


# ----------------------------------------------------- several inputs, tables, images
def test_arrays_named_after_a_models_inputs_and_outputs_are_matched(tmp_path):
    import keras_models

    model, x, y = keras_models.dict_inputs_two_outputs()
    np.savez(tmp_path / "d.npz", **x, **y)
    data = load_data(tmp_path / "d.npz", model)
    assert isinstance(data.x, dict) and sorted(data.x) == ["age", "city", "income"]
    assert isinstance(data.y, dict) and sorted(data.y) == ["churn", "spend"]
    np.testing.assert_array_equal(data.x["city"], x["city"])
    assert len(data) == len(x["age"])
    model(data.x)  # Keras takes them as they are
    picked = load_data(tmp_path / "d.npz", model, x_key="income,age,city", y_key="spend,churn")
    assert sorted(picked.x) == ["age", "city", "income"]
    np.savez(tmp_path / "renamed.npz", years=x["age"], income=x["income"], city=x["city"], **y)
    with pytest.raises(InputError) as refused:
        load_data(tmp_path / "renamed.npz", model)
    message = str(refused.value)
    for phrase in ("the model's inputs ('age', 'income', 'city')", "'years'",
                   "--x-key age,income,city"):
        assert phrase in message


def test_several_x_keys_give_a_list_in_their_order(tmp_path):
    import keras

    a, b = keras.Input((2,), name="a"), keras.Input((3,), name="b")
    model = keras.Model([a, b], keras.layers.Dense(1)(keras.layers.concatenate([a, b])))
    np.savez(tmp_path / "d.npz", left=np.ones((8, 2)), right=np.ones((8, 3)), y=np.zeros(8))
    data = load_data(tmp_path / "d.npz", model, x_key="left,right")
    assert isinstance(data.x, list) and [v.shape for v in data.x] == [(8, 2), (8, 3)]
    assert data.x_key == "left,right"
    with pytest.raises(InputError, match=r"input 'left'.*takes \(3,\)"):
        load_data(tmp_path / "d.npz", model, x_key="left,left")
    with pytest.raises(InputError, match="takes 2 inputs"):
        load_data(tmp_path / "d.npz", model, x_key="left")


def test_a_csv_table_gives_its_numeric_columns_and_the_target(tmp_path):
    table = tmp_path / "t.csv"
    table.write_text("a,b,name,label\n1,2,x,cat\n3,4.5,y,dog\n5,6,z,cat\n")
    data = load_data(table, target="label")
    np.testing.assert_array_equal(data.x, [[1, 2], [3, 4.5], [5, 6]])
    np.testing.assert_array_equal(data.y, [0, 1, 0])  # classes in sorted order
    assert data.x.dtype == np.float32 and data.x_key == "a,b" and data.y_key == "label"
    with pytest.raises(InputError, match=r"columns 'a', 'b', 'name', 'label'.*--target"):
        open_data(table)
    with pytest.raises(InputError, match="has no column 'kind' \\(from --target\\)"):
        open_data(table, target="kind")
    with pytest.raises(InputError, match="--image-size resizes a folder of images"):
        open_data(table, target="label", image_size="32,32")
    (tmp_path / "gap.csv").write_text("a,b,y\n1,,0\n2,3,1\n")
    with pytest.raises(InputError, match="a,b contains 1 NaN"):
        load_data(tmp_path / "gap.csv", target="y")


def test_a_csv_feeds_named_inputs_column_by_column(tmp_path):
    import keras

    a, b = keras.Input((1,), name="a"), keras.Input((1,), name="b")
    model = keras.Model({"a": a, "b": b}, keras.layers.Dense(1)(keras.layers.concatenate([a, b])))
    (tmp_path / "t.csv").write_text("b,a,y\n1,2,0.5\n3,4,0.25\n")
    data = load_data(tmp_path / "t.csv", model, target="y")
    assert sorted(data.x) == ["a", "b"] and data.x["a"].shape == (2, 1)
    np.testing.assert_array_equal(data.y, [0.5, 0.25])


def test_a_folder_of_class_folders_is_read_as_images(tmp_path):
    import keras

    from lrfind.cli_tables import IMAGE_SUFFIXES

    rng = np.random.default_rng(0)
    for label in ("cats", "dogs"):
        (tmp_path / label).mkdir()
        for k in range(5):
            pixels = rng.integers(0, 255, (10, 14, 3)).astype("uint8")
            keras.utils.save_img(tmp_path / label / f"{k}.png", pixels)
    assert ".png" in IMAGE_SUFFIXES
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(2, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    data = select(model, open_data(tmp_path), batch_size=4)
    assert (data.kind, len(data), data.y_key) == ("images", 10, "cats,dogs")
    images, labels = next(iter(data.x))
    assert tuple(images.shape) == (4, 8, 8, 1)  # the model's size and channels
    assert set(np.asarray(labels)) <= {0, 1}
    sized = select(model, open_data(tmp_path), batch_size=4, image_size=(6, 7))
    assert tuple(next(iter(sized.x))[0].shape) == (4, 6, 7, 1)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match=r"neither \.npy files nor class sub-folders"):
        open_data(tmp_path / "empty")
