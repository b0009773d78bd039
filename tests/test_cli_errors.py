"""The ``lrfind`` command on bad input: one message naming the problem and the fix, exit code
2 (or 3 when the run worked but the curve supports no suggestion), nothing written, the model
file untouched; Ctrl-C and unexpected errors."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from cli_support import error_lines, invoke, make_files, sha256

from lrfind import _defaults, cli
from lrfind.result import LRFinderResult


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    return make_files(tmp_path_factory.mktemp("inputs"))


# ----------------------------------------------------------------- bad-input table
# (id, arguments, exit code, phrases the single error message must contain, model file)
BAD_INPUTS = [
    ("missing model file", ["{root}/nope.keras", "{regression}"], 2,
     ["does not exist", "model.save('model.keras')"], None),
    ("directory as model", ["{root}", "{regression}"], 2,
     ["is a directory, not a file", "model.save"], None),
    ("non-Keras model file", ["{h5}", "{regression}"], 2,
     ["is not a .keras file", "re-save"], "h5"),
    ("data file as model", ["{regression}", "{regression}"], 2,
     ["is not a .keras file"], "regression"),
    ("corrupt .keras (truncated)", ["{truncated}", "{regression}"], 2,
     ["not a valid .keras archive", "corrupt, truncated", "save the model again"],
     "truncated"),
    ("text file named .keras", ["{text_keras}", "{regression}"], 2,
     ["not a valid .keras archive", "not a zip file"], "text_keras"),
    ("model needs unsafe deserialization", ["{lambda}", "{regression}"], 2,
     ["Python code", "Lambda", "--unsafe"], "lambda"),
    ("unregistered custom class", ["{custom}", "{regression}"], 2,
     ["Doubling", "--import MODULE", "register_keras_serializable"], "custom"),
    ("uncompiled model without --optimizer/--loss", ["{uncompiled}", "{regression}"], 2,
     ["without its compile state", "--optimizer adam --loss"], "uncompiled"),
    ("uncompiled model with --optimizer only",
     ["{uncompiled}", "{regression}", "--optimizer", "sgd"], 2,
     ["needs both --optimizer and --loss", "add --loss"], "uncompiled"),
    ("unknown optimizer name", ["{tiny}", "{regression}", "--optimizer", "adamm"], 2,
     ["unknown optimizer 'adamm' (from --optimizer)", "such as sgd, adam"], "tiny"),
    ("unknown loss name", ["{tiny}", "{regression}", "--loss", "msee"], 2,
     ["unknown loss 'msee' (from --loss)", "such as mse"], "tiny"),
    ("missing data file", ["{tiny}", "{root}/nope.npz"], 2,
     ["does not exist", "np.savez"], "tiny"),
    ("npz without usable keys", ["{tiny}", "{wrong_keys}"], 2,
     ["no inputs array", "'x' or 'x_train'", "'inputs', 'labels'", "--x-key"], "tiny"),
    ("--x-key not in the npz", ["{tiny}", "{regression}", "--x-key", "features"], 2,
     ["no array named 'features'", "'x', 'y'"], "tiny"),
    ("a single .npy as data", ["{tiny}", "{single_npy}"], 2,
     ["single .npy array", "x.npy and y.npy"], "tiny"),
    ("x/y length mismatch", ["{tiny}", "{mismatch}"], 2,
     ["x has 256 samples but y has 253", "one target per sample"], "tiny"),
    ("data shape does not fit the model", ["{tiny}", "{wrong_shape}"], 2,
     ["does not fit the model", "each sample of x has shape (3,)", "takes (4,)",
      "no reshape turns 3 values a sample", "--x-key"],
     "tiny"),
    ("labels outside the model's classes", ["{classifier}", "{labels_too_big}"], 2,
     ["TensorFlow rejected the data", "label value of", "valid range of [0, 3)",
      "integer labels 0..N-1"], "classifier"),
    ("one-hot targets for a sparse loss", ["{classifier}", "{one_hot}"], 2,
     ["Keras rejected the data", "must have rank", "one-hot rows for"],
     "classifier"),
    ("NaN/Inf in the data", ["{tiny}", "{nan}"], 2,
     ["x contains 2 NaN or infinite values", "sample 17", "remove or fix"], "tiny"),
    ("empty arrays", ["{tiny}", "{empty}"], 2,
     ["x is empty (0 samples)"], "tiny"),
    ("non-numeric targets", ["{tiny}", "{strings}"], 2,
     ["dtype <U3", "np.unique"], "tiny"),
    ("pickled object arrays", ["{tiny}", "{objects}"], 2,
     ["Python objects", "does not unpickle"], "tiny"),
    ("start LR >= end LR", ["{tiny}", "{regression}", "--start-lr", "1", "--end-lr", "0.1"], 2,
     ["--start-lr (1) must be below --end-lr (0.1)", "--start-lr 1e-7 --end-lr 10"], "tiny"),
    ("non-positive LR", ["{tiny}", "{regression}", "--start-lr", "0"], 2,
     ["--start-lr must be a positive", "got 0"], "tiny"),
    ("too few steps", ["{tiny}", "{regression}", "--steps", "5"], 2,
     ["--steps 5 is too few", "at least 10"], "tiny"),
    ("--steps and --epochs", ["{tiny}", "{regression}", "--steps", "20", "--epochs", "1"], 2,
     ["either --steps or --epochs"], "tiny"),
    ("--epochs too short for a curve",
     ["{tiny}", "{regression}", "--epochs", "1", "--batch-size", "128"], 2,
     ["gives only 2 batches of 128", "at least 10", f"--steps {_defaults.DEFAULT_STEPS}"], "tiny"),
    ("smoothing out of range", ["{tiny}", "{regression}", "--smoothing", "1"], 2,
     ["--smoothing must be in [0, 1)", "0.98"], "tiny"),
    ("output directory is a file", ["{tiny}", "{regression}", "-o", "{a_file}"], 2,
     ["is a file", "pass --out a directory"], "tiny"),
    ("output directory inside a file", ["{tiny}", "{regression}", "-o", "{a_file}/out"], 2,
     ["is inside", "a file", "pass --out a directory"], "tiny"),
    ("curve diverges at once",
     ["{tiny}", "{regression}", "--steps", "30", "--start-lr", "10", "--end-lr", "1e6"], 3,
     ["No reliable suggestion", "start the ramp lower (--start-lr)"], "tiny"),
    ("flat curve", ["{flat}", "{zeros}", "--steps", "20"], 3,
     ["No reliable suggestion", "constant"], "flat"),
]


@pytest.mark.parametrize(
    ("arguments", "code", "phrases", "model"),
    [case[1:] for case in BAD_INPUTS],
    ids=[case[0] for case in BAD_INPUTS],
)
def test_bad_input(files, tmp_path, arguments, code, phrases, model):
    args = [a.format(**{k: str(v) for k, v in files.items()}) for a in arguments]
    if "-o" not in args:
        args += ["-o", str(tmp_path / "out")]
    before = sha256(files[model]) if model else None
    result = invoke(*args)
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    if code == cli.EXIT_BAD_INPUT:
        (message,) = error_lines(result)  # exactly one message
        assert result.stdout == ""
        assert not (tmp_path / "out").exists()  # nothing written
    else:  # the run worked: files written, the report says why there is no suggestion
        message = result.stdout
        assert (tmp_path / "out" / "result.json").exists()
        assert not LRFinderResult.load(tmp_path / "out" / "result.json").suggestion.reliable
    for phrase in phrases:
        assert phrase in message
    if model:
        assert sha256(files[model]) == before


def test_usage_errors_exit_2_and_version_needs_no_model():
    assert invoke("only-one-argument.keras").exit_code == 2
    assert invoke("m.keras", "d.npz", "--steps", "many").exit_code == 2
    version = invoke("--version")
    assert version.exit_code == 0 and version.stdout.startswith("lrfind ")


def test_bad_input_table_covers_the_issue():
    assert len(BAD_INPUTS) >= 16
    assert {case[2] for case in BAD_INPUTS} == {2, 3}


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                    reason="root can write to read-only directories")
def test_read_only_output_directory(files, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        result = invoke(files["tiny"], files["regression"], "-o", locked / "out")
    finally:
        locked.chmod(0o700)
    assert result.exit_code == 2
    (message,) = error_lines(result)
    assert "cannot write to the output directory" in message


def test_json_mode_explains_exit_code_3_on_stderr(files, tmp_path):
    result = invoke(files["flat"], files["zeros"], "--steps", "20", "--json", "-o", tmp_path)
    assert result.exit_code == 3
    assert json.loads(result.stdout)["suggestion"]["lr"] is None
    assert "No reliable suggestion" in result.stderr


# --------------------------------------------------------- interruptions and bugs
def _failing_find(error: BaseException):
    def find(self, *args, **kwargs):
        raise error

    return find


def test_ctrl_c_exits_130_and_writes_nothing(files, tmp_path, monkeypatch):
    from lrfind.finder import LRFinder

    monkeypatch.setattr(LRFinder, "find", _failing_find(KeyboardInterrupt()))
    before = sha256(files["tiny"])
    result = invoke(files["tiny"], files["regression"], "-o", tmp_path / "out")
    assert result.exit_code == cli.EXIT_INTERRUPTED
    assert "interrupted" in error_lines(result)[0]
    assert not (tmp_path / "out").exists()
    assert sha256(files["tiny"]) == before


def test_unexpected_error_exits_1_with_a_message_and_debug_shows_the_traceback(
    files, tmp_path, monkeypatch
):
    from lrfind.finder import LRFinder

    monkeypatch.setattr(LRFinder, "find", _failing_find(RuntimeError("boom")))
    result = invoke(files["tiny"], files["regression"], "-o", tmp_path)
    assert result.exit_code == cli.EXIT_UNEXPECTED
    (message,) = error_lines(result)
    assert "unexpected error: RuntimeError: boom" in message and "--debug" in message
    assert "Traceback" not in result.output
    debug = invoke(files["tiny"], files["regression"], "-o", tmp_path, "--debug")
    assert debug.exit_code == cli.EXIT_UNEXPECTED
    assert "Traceback (most recent call last)" in debug.stderr


def test_debug_shows_the_traceback_of_an_expected_failure(files, tmp_path):
    result = invoke(files["tiny"], files["mismatch"], "--debug", "-o", tmp_path)
    assert result.exit_code == 2
    assert "Traceback (most recent call last)" in result.stderr
    assert "InputError" in result.stderr




# ------------------------------------------------------------ the deepest cause
@pytest.fixture(scope="module")
def broken_models(tmp_path_factory):
    """Models that load or run only to fail deep inside Keras."""
    import keras

    root = tmp_path_factory.mktemp("broken")

    @keras.saving.register_keras_serializable(package="lrfind_cli_errors")
    class NoKwargs(keras.layers.Layer):
        def __init__(self, units=2):
            super().__init__()
            self.units = units

        def call(self, x):
            return x * 2.0

        def get_config(self):
            return {**super().get_config(), "units": self.units}

    def save(name, inputs, outputs):
        model = keras.Model(inputs, outputs)
        model.compile("sgd", "mse")
        model.save(root / f"{name}.keras")

    i = keras.Input((4,))
    save("no_kwargs", i, keras.layers.Dense(1)(NoKwargs()(i)))
    i = keras.Input((4,))
    doubled = keras.layers.Lambda(lambda v: keras.ops.concatenate([v, v], axis=-1))(i)
    save("lambda_shape", i, keras.layers.Dense(1)(doubled))
    model = keras.Sequential([keras.Input((4,)),
                              keras.layers.Lambda(lambda v: keras.ops.abs(v)),
                              keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    model.save(root / "lambda_name.keras")
    return root


@pytest.mark.parametrize(("name", "unsafe", "phrases"), [
    ("no_kwargs", False, ["got an unexpected keyword argument", "accept **kwargs",
                          "super().__init__(**kwargs)"]),
    ("lambda_shape", True, ["could not infer the output shape of a Lambda", "Error: ",
                            "output_shape=", "import them inside the function"]),
    ("lambda_name", True, ["the model's own code fails", "Error: ",
                           "import them inside the function"]),
])
def test_failures_deep_inside_keras_report_the_deepest_cause(
    broken_models, files, tmp_path, name, unsafe, phrases
):
    model = broken_models / f"{name}.keras"
    before = sha256(model)
    result = invoke(model, files["regression"], *(["--unsafe"] if unsafe else []),
                    "-o", tmp_path / "out")
    assert result.exit_code == 2, result.output
    (message,) = error_lines(result)
    for phrase in phrases:
        assert phrase in message
    assert "could not be deserialized properly" not in message
    assert "Reshape the data" not in message and "Traceback" not in result.output
    assert sha256(model) == before


def test_data_refused_inside_find_prints_no_progress_and_no_keras_warnings(files, tmp_path):
    result = invoke(files["classifier"], files["one_hot"], "-o", tmp_path / "out")
    assert result.exit_code == 2
    assert [line for line in result.stderr.splitlines() if line.strip()] == error_lines(result)
    assert "Warning" not in result.output


def test_quiet_prints_nothing_and_debug_shows_keras_warnings(files, tmp_path):
    import warnings

    import keras

    def noisy(*args, **kwargs):
        warnings.warn("a Keras warning", UserWarning, stacklevel=1)
        return load(*args, **kwargs)

    load = keras.saving.load_model
    args = [files["tiny"], files["regression"], "--steps", "12", "--start-lr", "1e-4",
            "-o", tmp_path]
    shown = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(keras.saving, "load_model", noisy)
        for mode in ("-q", "--debug"):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                shown[mode] = (invoke(*args, mode), [str(w.message) for w in caught])
    (quiet, quiet_warnings), (debug, debug_warnings) = shown["-q"], shown["--debug"]
    assert quiet.exit_code in (0, 3) and debug.exit_code in (0, 3)
    assert (quiet.output if quiet.exit_code == 0 else quiet.stdout) == ""
    assert "a Keras warning" not in quiet.output and "a Keras warning" not in quiet_warnings
    assert "a Keras warning" in debug_warnings  # shown, not held back


def test_a_batch_size_above_the_data_is_warned_of(files, tmp_path):
    result = invoke(files["tiny"], files["regression"], "--batch-size", "512", "--steps", "20",
                    "--repeats", "1", "-o", tmp_path / "out")
    assert result.exit_code in (cli.EXIT_OK, cli.EXIT_NO_SUGGESTION), result.output
    assert ("lrfind: warning: --batch-size 512 is more than the 256 samples: every batch is "
            "all of them") in result.stderr
    assert "--batch-size 256 or less" in result.stderr
    quiet = invoke(files["tiny"], files["regression"], "--steps", "20", "--repeats", "1",
                   "-o", tmp_path / "out2")
    assert "warning" not in quiet.stderr
