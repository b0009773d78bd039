"""The ``lrfind`` command line, through Typer's CliRunner and the installed console script,
and the pieces it prints with (`lrfind.cli_report`, `lrfind.cli_console`).

One finished run of each kind is shared by the tests that read it (module-scoped fixtures);
those, and the two end-to-end subprocess runs of the ``background`` fixture, are marked
slow (``-m "not slow"`` leaves them out). The loader's own tests are in test_cli_inputs.py.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from lrfind import _defaults, cli, cli_report
from lrfind.analysis import POINT_LABELS
from lrfind.cli import app
from lrfind.cli_console import ProgressBar, native_noise_held_back
from lrfind.result import LRFinderResult

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
SCRIPT = shutil.which("lrfind", path=str(Path(sys.executable).parent)) or shutil.which("lrfind")
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "MPLBACKEND": "Agg", "COLUMNS": "100"}
runner = CliRunner()


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def invoke(*args: object):
    return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "100"})


def error_lines(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("lrfind: error:")]


# ---------------------------------------------------------------- subprocess runs
class _Background:
    """A console-script run started now and collected when a test needs it."""

    def __init__(self, args: list[str], cwd: Path) -> None:
        self.cwd = cwd
        self.process = subprocess.Popen(
            [SCRIPT, *args], cwd=cwd, env=ENV, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
        )
        self._done: tuple[int, str, str] | None = None

    def result(self) -> tuple[int, str, str]:
        if self._done is None:
            stdout, stderr = self.process.communicate(timeout=600)
            self._done = (self.process.returncode, stdout, stderr)
        return self._done


@pytest.fixture(scope="module")
def background(tmp_path_factory):
    """The README's command exactly as written, and a --json run, as real processes."""
    assert SCRIPT, "the lrfind console script is not installed (pip install -e .)"
    readme = tmp_path_factory.mktemp("readme")
    shutil.copytree(EXAMPLES, readme / "examples",
                    ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    json_dir = tmp_path_factory.mktemp("json")
    runs = {
        "readme": _Background(["examples/digits_mlp.keras", "examples/digits.npz"], readme),
        "json": _Background(
            [str(readme / "examples/digits_mlp.keras"), str(readme / "examples/digits.npz"),
             "--json", "--steps", "30", "--start-lr", "1e-5", "--seed", "1", "-o", "out"],
            json_dir,
        ),
    }
    runs["model_sha"] = sha256(readme / "examples/digits_mlp.keras")
    yield runs
    for run in runs.values():
        if isinstance(run, _Background) and run.process.poll() is None:
            run.process.kill()
            run.process.communicate()


# ------------------------------------------------------------------------- inputs
@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """Tiny models (one per kind of problem) and data files."""
    import keras

    root = tmp_path_factory.mktemp("inputs")
    paths: dict[str, Path] = {"root": root}
    rng = np.random.default_rng(0)

    def save(name: str, model, compile_args: tuple | None = ("sgd", "mse")) -> None:
        if compile_args:
            model.compile(*compile_args)
            model.optimizer.build(model.trainable_variables)  # saved with its slots
        paths[name] = root / f"{name}.keras"
        model.save(paths[name])

    def dense(units: int, features: int, *extra) -> keras.Model:
        return keras.Sequential([keras.Input((features,)), *extra, keras.layers.Dense(units)])

    save("tiny", dense(1, 4))
    classifier = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    save("classifier", classifier, ("adam", "sparse_categorical_crossentropy"))
    save("lambda", dense(1, 4, keras.layers.Lambda(lambda v: v * 2.0)))
    save("uncompiled", dense(1, 4), compile_args=None)
    no_bias = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, use_bias=False)])
    save("flat", no_bias)

    module = root / "lrfind_test_layers.py"
    module.write_text(textwrap.dedent("""
        import keras

        @keras.saving.register_keras_serializable(package="lrfind_test")
        class Doubling(keras.layers.Layer):
            def call(self, x):
                return 2.0 * x
    """))
    sys.path.insert(0, str(root))
    try:
        from lrfind_test_layers import Doubling

        save("custom", dense(1, 4, Doubling()))
    finally:
        sys.path.remove(str(root))
        sys.modules.pop("lrfind_test_layers", None)
    keras.saving.get_custom_objects().pop("lrfind_test>Doubling", None)

    x = rng.normal(size=(256, 4)).astype("float32")
    y = (x @ np.array([1.0, -2.0, 3.0, 0.5]))[:, None].astype("float32")
    paths["regression"] = root / "regression.npz"
    np.savez(paths["regression"], x=x, y=y)
    paths["npy_dir"] = root / "arrays"
    paths["npy_dir"].mkdir()
    np.save(paths["npy_dir"] / "x_train.npy", x)
    np.save(paths["npy_dir"] / "y_train.npy", y)
    paths["zeros"] = root / "zeros.npz"
    np.savez(paths["zeros"], x=np.zeros((64, 4), "float32"), y=np.ones((64, 1), "float32"))

    def npz(name: str, **arrays) -> None:
        paths[name] = root / f"{name}.npz"
        np.savez(paths[name], **arrays)

    npz("wrong_keys", inputs=x, labels=y)
    npz("labels_too_big", x=x, y=np.arange(256) % 8)
    npz("one_hot", x=x, y=np.eye(3, dtype="float32")[np.arange(256) % 3])
    npz("mismatch", x=x, y=y[:-3])
    bad = x.copy()
    bad[17, 2], bad[40, 0] = np.nan, np.inf
    npz("nan", x=bad, y=y)
    npz("empty", x=x[:0], y=y[:0])
    npz("wrong_shape", x=x[:, :3], y=y)
    npz("strings", x=x, y=np.array(["cat", "dog"] * 128))
    paths["objects"] = root / "objects.npz"
    np.savez(paths["objects"], x=np.array([[1.0], [1.0, 2.0]], dtype=object), y=y[:2])

    paths["truncated"] = root / "truncated.keras"
    raw = paths["tiny"].read_bytes()
    paths["truncated"].write_bytes(raw[: len(raw) // 2])
    paths["text_keras"] = root / "notes.keras"
    paths["text_keras"].write_text("not a model\n")
    paths["h5"] = root / "model.h5"
    paths["h5"].write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 64)
    paths["a_file"] = root / "a_file.txt"
    paths["a_file"].write_text("I am a file\n")
    paths["single_npy"] = paths["npy_dir"] / "x_train.npy"
    return paths


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    """One finished in-process run on the shipped data, shared by the tests that read it."""
    root = tmp_path_factory.mktemp("digits")
    model = root / "digits_mlp.keras"
    shutil.copy(EXAMPLES / "digits_mlp.keras", model)
    before = sha256(model)
    out = root / "out"
    result = invoke(model, EXAMPLES / "digits.npz", "--steps", "60", "--start-lr", "1e-5",
                    "--seed", "0", "--svg", "-o", out)
    return {"result": result, "out": out, "model": model, "sha": before}


# ------------------------------------------------------------------ the happy path
@pytest.mark.slow
def test_run_reports_the_reading_and_writes_every_file(digits_run):
    result, out = digits_run["result"], digits_run["out"]
    saved = LRFinderResult.load(out / "result.json")
    expected = 0 if saved.suggestion.reliable and saved.suggestion.lr is not None else 3
    assert result.exit_code == expected, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "curve.csv", "curve.png", "curve.svg", "result.json"]  # no temporary files left
    stdout = result.stdout
    assert f"{len(saved)} batches" in stdout
    for name in ("suggested lr", *(POINT_LABELS[n] for n in saved.suggestion.points)):
        assert name in stdout
    for point in saved.suggestion.points.values():
        assert f"{point.lr:.3g}" in stdout
    assert "Traceback" not in result.output
    assert sha256(digits_run["model"]) == digits_run["sha"]


@pytest.mark.slow
def test_run_shows_a_recommendation_and_a_snippet(digits_run):
    saved = LRFinderResult.load(digits_run["out"] / "result.json")
    stdout = digits_run["result"].stdout
    s = saved.suggestion
    if s.lr is None or not s.reliable:
        pytest.skip("the analysis found no reliable suggestion on this run")
    assert f"Recommendation: train at learning_rate={s.lr:.3g}" in stdout
    assert f"lrfind.CyclicLR(\n    base_lr={s.min_lr:.3g},\n    max_lr={s.max_lr:.3g}," in stdout
    assert "steps_per_epoch = 47  # 1500 samples / batch size 32" in stdout


@pytest.mark.slow
def test_progress_bar_on_stderr_reports_batches_lr_and_loss(digits_run):
    saved = LRFinderResult.load(digits_run["out"] / "result.json")
    stderr = digits_run["result"].stderr
    assert f"{len(saved)}/{len(saved)}" in stderr
    assert f"done ({saved.stop_reason})" in stderr
    assert " lr " in stderr and " loss " in stderr
    assert "cudart" not in stderr and "absl" not in stderr  # TensorFlow's start-up noise


@pytest.mark.slow
def test_output_files_agree_with_each_other(digits_run):
    out = digits_run["out"]
    data = json.loads((out / "result.json").read_text())
    saved = LRFinderResult.from_dict(data)
    with open(out / "curve.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["lr", "loss", "smoothed_loss"]
    table = np.array(rows[1:], dtype=np.float64)
    np.testing.assert_array_equal(table[:, 0], saved.lrs)  # exact: floats written round-trip
    np.testing.assert_array_equal(table[:, 1], saved.losses)
    np.testing.assert_array_equal(table[:, 2], saved.smoothed_losses)
    assert data["suggestion"] == saved.suggestion.to_dict()  # the reading is reproducible
    run = data["settings"]["run"]
    assert run["samples"] == 1500 and run["batch_size"] == 32 and run["seed"] == 0
    assert run["x_key"] == "x" and run["y_key"] == "y" and run["optimizer"] == "Adam"
    assert data["settings"]["num_steps"] == 60
    assert saved.lrs[0] == pytest.approx(1e-5, rel=1e-6)
    png = (out / "curve.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 20_000
    import matplotlib.image

    height, width, _ = matplotlib.image.imread(out / "curve.png").shape
    assert width > 1000 and height > 800
    svg = (out / "curve.svg").read_text()
    assert "<svg" in svg and "steepest descent" in svg


def test_json_flag_prints_only_the_result_json(files, tmp_path):
    result = invoke(files["tiny"], files["regression"], "--json", "--steps", "20",
                    "--start-lr", "1e-4", "--linear", "--smoothing", "0.9", "-o", tmp_path)
    assert result.exit_code in (0, 3), result.output
    data = json.loads(result.stdout)  # stdout is the JSON and nothing else
    assert data == json.loads((tmp_path / "result.json").read_text())
    assert data["settings"]["mode"] == "linear" and data["settings"]["beta"] == 0.9
    np.testing.assert_allclose(np.diff(data["lrs"]), np.diff(data["lrs"])[0], rtol=1e-3)
    assert len(LRFinderResult.from_dict(data)) == data["settings"]["num_steps"] == 20 or (
        data["stop_reason"] != "completed")


def test_quiet_prints_nothing_on_success(files, tmp_path):
    result = invoke(files["uncompiled"], files["npy_dir"], "--optimizer", "sgd", "--loss", "mse",
                    "--steps", "12", "--start-lr", "1e-4", "--stop-factor", "inf",
                    "--no-shuffle", "-b", "16", "-q", "-o", tmp_path)
    assert result.exit_code in (0, 3), result.output
    assert result.stdout == ""
    saved = LRFinderResult.load(tmp_path / "result.json")
    assert saved.settings["run"]["x_key"] == "x_train"  # the .npy directory was read
    assert saved.settings["run"]["optimizer"] == "SGD"
    assert saved.settings["stop_factor"] is None and saved.settings["run"]["shuffle"] is False
    assert saved.settings["run"]["batch_size"] == 16 and len(saved) == 12


def test_unsafe_flag_loads_a_lambda_model(files, tmp_path):
    before = sha256(files["lambda"])
    result = invoke(files["lambda"], files["regression"], "--unsafe", "--steps", "12",
                    "--start-lr", "1e-4", "-o", tmp_path)
    assert result.exit_code in (0, 3), result.output
    assert (tmp_path / "result.json").exists()
    assert sha256(files["lambda"]) == before


def test_import_flag_registers_custom_objects(files, tmp_path, monkeypatch):
    monkeypatch.chdir(files["root"])
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(Path.cwd()))])
    result = invoke(files["custom"], files["regression"], "--import", "lrfind_test_layers",
                    "--steps", "12", "--start-lr", "1e-4", "-o", tmp_path)
    sys.modules.pop("lrfind_test_layers", None)
    import keras

    keras.saving.get_custom_objects().pop("lrfind_test>Doubling", None)
    assert result.exit_code in (0, 3), result.output


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
     ["does not fit the model", "each sample of x has shape (3,)", "takes (4,)", "reshape x"],
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


# ------------------------------------------------------------------ pieces of it
def test_option_defaults_are_the_shared_defaults():
    import typer.main

    defaults = {param.name: param.default for param in typer.main.get_command(app).params}
    assert defaults["start_lr"] == _defaults.DEFAULT_START_LR
    assert defaults["end_lr"] == _defaults.DEFAULT_END_LR
    assert defaults["batch_size"] == _defaults.DEFAULT_BATCH_SIZE
    assert defaults["smoothing"] == _defaults.DEFAULT_BETA
    assert defaults["stop_factor"] == _defaults.DEFAULT_STOP_FACTOR
    assert defaults["steps"] is None and defaults["epochs"] is None  # the plan decides
    assert f"(default {_defaults.DEFAULT_STEPS})" in invoke("--help").stdout


def test_help_shows_no_value_placeholder_after_a_flag():
    help_text = invoke("--help").stdout
    assert "<bool>" not in help_text
    assert "<float>" in help_text and "<int>" in help_text  # options that take a value
    lines = {line.split()[1]: line for line in help_text.splitlines() if line.startswith("│ --")}
    for flag in ("--debug", "--version", "--help", "--linear", "--svg", "--json", "--quiet",
                 "--unsafe", "--shuffle", "--derivative"):
        assert "<" not in lines[flag], lines[flag]
    assert invoke("m.keras", "d.npz", "--debug=yes").exit_code == 2  # a flag takes no value


def _cyclic_curve() -> LRFinderResult:
    lrs = np.geomspace(1e-6, 10, 200)
    return LRFinderResult.from_curve(lrs, 1.0 / (1.0 + (lrs / 1e-3) ** 2) + (lrs / 0.3) ** 3)


def test_snippet_builds_the_suggested_cyclic_schedule():
    import keras

    s = _cyclic_curve().suggestion
    assert s.reliable and s.min_lr < s.max_lr
    names = {"optimizer": "keras.optimizers.SGD", "loss": '"mse"'}
    snippet = cli_report.snippet(s, samples=1000, batch_size=64, names=names)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    namespace = {"model": model}
    exec(snippet, namespace)
    config = model.optimizer.get_config()["learning_rate"]["config"]
    assert config["base_lr"] == float(f"{s.min_lr:.3g}")
    assert config["max_lr"] == float(f"{s.max_lr:.3g}")
    assert config["step_size"] == _defaults.CYCLE_EPOCHS_PER_HALF * math.ceil(1000 / 64)
    assert model.loss == "mse"
    assert f"learning_rate={s.lr:.3g}" in snippet
    # no band: a constant rate
    no_band = type(s)(s.lr, None, None, True, s.reason, s.points)
    constant = cli_report.snippet(no_band, samples=1000, batch_size=64, names=names)
    assert "CyclicLR" not in constant
    exec(constant, namespace)
    assert float(model.optimizer.learning_rate) == pytest.approx(float(f"{s.lr:.3g}"))
    # no reliable suggestion: no snippet at all
    flat = LRFinderResult.from_curve(np.geomspace(1e-6, 10, 200), np.ones(200)).suggestion
    assert cli_report.snippet(flat, samples=1000, batch_size=64, names=names) == ""


def test_to_csv_writes_every_point_so_that_it_reads_back_exactly():
    lrs = np.geomspace(1e-6, 1, 37)
    curve = LRFinderResult.from_curve(lrs, np.sin(lrs) + 1 / 3)
    rows = list(csv.reader(io.StringIO(curve.to_csv())))
    assert rows[0] == ["lr", "loss", "smoothed_loss"]
    np.testing.assert_array_equal(
        np.array(rows[1:], dtype=np.float64),
        np.column_stack([curve.lrs, curve.losses, curve.smoothed_losses]),
    )


def _report(result: LRFinderResult) -> str:
    from rich.console import Console

    out = Console(file=io.StringIO(), width=200, highlight=False)
    names = {"optimizer": "keras.optimizers.SGD", "loss": '"mse"'}
    cli_report.report(out, result, model="m.keras", data="d.npz", samples=1000, batch_size=64,
                      files=[Path("o/result.json"), Path("o/curve.csv")], names=names)
    return out.file.getvalue()


def test_report_prints_the_reading_the_recommendation_the_snippet_and_the_files():
    curve = _cyclic_curve()
    s = curve.suggestion
    text = _report(curve)
    assert text.startswith(
        "lrfind: m.keras on d.npz (1000 samples, batch size 64): 200 batches, stopped: completed")
    assert "Range-test reading" in text and "suggested lr" in text
    assert "band low" in text and "band high" in text
    for name, point in s.points.items():
        assert POINT_LABELS[name] in text and f"{point.lr:.3g}" in text
    assert cli_report.recommendation(curve) in text
    assert cli_report.recommendation(curve) == (
        f"Recommendation: train at learning_rate={s.lr:.3g}, or cycle it between "
        f"{s.min_lr:.3g} and {s.max_lr:.3g}.")
    assert "Paste into your training script:\n\n" + cli_report.snippet(
        s, 1000, 64, {"optimizer": "keras.optimizers.SGD", "loss": '"mse"'}) in text
    assert text.rstrip().endswith("Wrote o/result.json, o/curve.csv")


def test_report_of_a_refused_curve_says_why_and_has_no_snippet():
    flat = LRFinderResult.from_curve(np.geomspace(1e-6, 1, 50), np.ones(50))
    text = _report(flat)
    assert f"No reliable suggestion (exit code {cli.EXIT_NO_SUGGESTION}): " in text
    assert flat.suggestion.reason[:40] in text.replace("\n", " ")
    assert "Paste into" not in text and "start the ramp lower" not in text
    blown_up = LRFinderResult.from_curve(np.geomspace(10, 1e3, 12), np.geomspace(1, 1e6, 12),
                                         stop_reason="diverged")
    assert "blew up after 12 batches: start the ramp lower (--start-lr)" in (
        cli_report.recommendation(blown_up))


def test_compile_names_name_the_optimizer_and_loss_as_code():
    import keras

    def my_loss(y_true, y_pred):
        return keras.ops.mean((y_true - y_pred) ** 2)

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile("adam", "mse")
    assert cli_report.compile_names(model) == {
        "optimizer_class": "Adam", "optimizer": "keras.optimizers.Adam", "loss": '"mse"',
        "loss_name": "mse"}
    model.compile(keras.optimizers.SGD(), keras.losses.Huber())
    names = cli_report.compile_names(model)
    assert names["optimizer"] == "keras.optimizers.SGD"
    assert names["loss"] == "keras.losses.Huber()"
    model.compile("sgd", my_loss)
    assert cli_report.compile_names(model)["loss"] == "..."
    assert cli_report.compile_names(model)["loss_name"] == "my_loss"
    snippet = cli_report.snippet(_cyclic_curve().suggestion, 100, 10,
                                 cli_report.compile_names(model))
    assert "loss = ...  # the loss your model is compiled with" in snippet
    assert "    loss=loss," in snippet


def test_progress_bar_shows_each_point_it_is_given():
    from rich.console import Console

    with ProgressBar(Console(file=io.StringIO()), total=5, enabled=True) as bar:
        for points in (1, 2, 3):
            bar.on_point(points, 10.0**-points, 2.0, 1.5 / points)
        (task,) = bar.bar.tasks
        assert task.completed == 3 and task.description == "range test"
        assert task.fields == {"lr": "1.00e-03", "loss": "0.5"}  # the smoothed loss
        bar.on_point(9, 1.0, 1.0, 1.0)
        assert task.completed == 5  # never past the planned total
        bar.finish(4, "diverged")
        assert task.description == "done (diverged)" and task.total == task.completed == 4


def test_the_run_feeds_the_progress_bar_through_on_point(files, tmp_path, monkeypatch):
    from lrfind.finder import LRFinder

    calls = []

    def find(self, *args, **kwargs):
        calls.append(kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(LRFinder, "find", find)
    invoke(files["tiny"], files["regression"], "-o", tmp_path / "out")
    invoke(files["tiny"], files["regression"], "-o", tmp_path / "out", "--stop-factor", "inf",
           "--smoothing", "0.5")
    first, second = calls
    assert isinstance(first["on_point"].__self__, ProgressBar)
    assert "callbacks" not in first  # no Keras callback of the CLI's own
    assert first["stop_factor"] == _defaults.DEFAULT_STOP_FACTOR
    assert first["beta"] == _defaults.DEFAULT_BETA
    assert second["stop_factor"] is None and second["beta"] == 0.5  # inf: never stop early


def test_native_noise_is_held_back_and_the_rest_is_replayed(capfd):
    from rich.console import Console

    err = Console(file=io.StringIO())
    with native_noise_held_back(err, enabled=True):
        os.write(2, b"I0000 cudart_stub.cc:31] Could not find cuda drivers on your machine\n"
                    b"W0000 a warning worth reading\n")
    captured = capfd.readouterr().err
    assert "a warning worth reading" in captured and "cudart_stub" not in captured
    with native_noise_held_back(err, enabled=False) as console:  # --debug: nothing held back
        assert console is err
        os.write(2, b"I0000 cudart_stub.cc:31] shown\n")
    assert "cudart_stub.cc:31] shown" in capfd.readouterr().err


# ----------------------------------------------------------- the installed script
def test_help_answers_fast_without_importing_tensorflow():
    code = (
        "import sys, time\n"
        "start = time.perf_counter()\n"
        "from lrfind.cli import main\n"
        "sys.argv = ['lrfind', '--help']\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as exit:\n"
        "    assert exit.code == 0, exit.code\n"
        "elapsed = time.perf_counter() - start\n"
        "heavy = sorted(m for m in ('tensorflow', 'keras', 'matplotlib', 'scipy')"
        " if m in sys.modules)\n"
        "print('RESULT', heavy, elapsed, file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], env=ENV, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    heavy, elapsed = done.stderr.split("RESULT ")[1].rsplit(" ", 1)
    assert heavy == "[]", heavy
    assert float(elapsed) < 1.0
    assert "Exit codes" in done.stdout and "--start-lr" in done.stdout
    start = time.perf_counter()
    script = subprocess.run([SCRIPT, "--help"], env=ENV, capture_output=True, text=True,
                            timeout=60)
    wall = time.perf_counter() - start
    assert script.returncode == 0 and "Usage: lrfind" in script.stdout
    assert wall < 3.0  # interpreter start-up included; without TensorFlow this is ~0.3 s


@pytest.mark.parametrize(
    ("arguments", "phrase"),
    [
        (["missing.keras", "data.npz"], "does not exist"),
        (["{model}", "{data}", "--start-lr", "1", "--end-lr", "1"], "must be below --end-lr"),
    ],
    ids=["missing model", "start LR equals end LR"],
)
def test_script_bad_input_fails_fast_with_one_message(arguments, phrase, tmp_path):
    model = EXAMPLES / "digits_mlp.keras"
    before = sha256(model)
    args = [a.format(model=model, data=EXAMPLES / "digits.npz") for a in arguments]
    start = time.perf_counter()
    done = subprocess.run([SCRIPT, *args], cwd=tmp_path, env=ENV, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2
    assert done.stdout == ""
    assert [line for line in done.stderr.splitlines() if line.strip()] == [
        line for line in done.stderr.splitlines() if line.startswith("lrfind: error:")]
    assert phrase in done.stderr and "Traceback" not in done.stderr
    assert time.perf_counter() - start < 5.0  # no TensorFlow import for these
    assert sha256(model) == before


@pytest.mark.slow
def test_readme_example_end_to_end(background):
    code, stdout, stderr = background["readme"].result()
    out = background["readme"].cwd / "lrfind-output"
    assert out.is_dir(), stderr
    saved = LRFinderResult.load(out / "result.json")
    reliable = saved.suggestion.reliable and saved.suggestion.lr is not None
    assert code == (0 if reliable else 3), stderr
    assert "Traceback" not in stderr
    assert "Range-test reading" in stdout
    assert f"{len(saved)} batches" in stdout
    assert saved.settings["num_steps"] == _defaults.DEFAULT_STEPS
    assert saved.settings["start_lr"] == _defaults.DEFAULT_START_LR
    with open(out / "curve.csv") as f:
        assert sum(1 for _ in f) == len(saved) + 1
    assert (out / "curve.png").read_bytes().startswith(b"\x89PNG")
    model = background["readme"].cwd / "examples/digits_mlp.keras"
    assert sha256(model) == background["model_sha"]


@pytest.mark.slow
def test_script_json_stdout_is_only_json(background):
    code, stdout, stderr = background["json"].result()
    assert code in (0, 3), stderr
    data = json.loads(stdout)
    saved = LRFinderResult.from_dict(data)
    assert data == json.loads((background["json"].cwd / "out" / "result.json").read_text())
    assert saved.settings["num_steps"] == 30
    assert code == (0 if saved.suggestion.reliable and saved.suggestion.lr else 3)
