"""The ``lrfind`` command line, through Typer's CliRunner and the installed console script:
runs that work, and the options that shape them.

One finished run of each kind is shared by the tests that read it (module-scoped fixtures);
those, and the two end-to-end subprocess runs of the ``background`` fixture, are marked
slow (``-m "not slow"`` leaves them out). Bad input is test_cli_errors.py's, the printed
pieces test_cli_report.py's, the loader's own tests test_cli_inputs.py's and real models
test_cli_models.py's.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from cli_support import ENV, EXAMPLES, SCRIPT, error_lines, invoke, make_files, sha256

from lrfind import _defaults
from lrfind.analysis import POINT_LABELS
from lrfind.cli import app
from lrfind.cli_console import ProgressBar
from lrfind.cli_report import runs_summary
from lrfind.result import LRFinderResult


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
    return make_files(tmp_path_factory.mktemp("inputs"))


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
    assert runs_summary(saved) in stdout
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


def find_calls(files, tmp_path, monkeypatch, *runs: list[str]) -> list[dict]:
    """The keyword arguments `LRFinder.find` is called with, one run per list of options."""
    from lrfind.finder import LRFinder

    calls = []

    def find(self, *args, **kwargs):
        calls.append(kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(LRFinder, "find", find)
    for options in runs:
        invoke(files["tiny"], files["regression"], "-o", tmp_path / "out", *options)
    return calls


def test_the_run_feeds_the_progress_bar_through_on_point(files, tmp_path, monkeypatch):
    first, second = find_calls(files, tmp_path, monkeypatch, [],
                               ["--stop-factor", "inf", "--smoothing", "0.5"])
    assert isinstance(first["on_point"].__self__, ProgressBar)
    assert "callbacks" not in first  # no Keras callback of the CLI's own
    assert first["stop_factor"] == _defaults.DEFAULT_STOP_FACTOR
    assert first["beta"] == _defaults.DEFAULT_BETA
    assert second["stop_factor"] is None and second["beta"] == 0.5  # inf: never stop early



# ----------------------------------------------------------- the installed script
def test_help_answers_without_importing_tensorflow():
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
    heavy = done.stderr.split("RESULT ")[1].rsplit(" ", 1)[0]
    assert heavy == "[]", heavy  # what keeps it fast (timed by benchmarks/cli_phases.py)
    assert "Exit codes" in done.stdout and "--start-lr" in done.stdout
    script = subprocess.run([SCRIPT, "--help"], env=ENV, capture_output=True, text=True,
                            timeout=60)
    assert script.returncode == 0 and "Usage: lrfind" in script.stdout


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
    done = subprocess.run([SCRIPT, *args], cwd=tmp_path, env=ENV, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2
    assert done.stdout == ""
    assert [line for line in done.stderr.splitlines() if line.strip()] == [
        line for line in done.stderr.splitlines() if line.startswith("lrfind: error:")]
    assert phrase in done.stderr and "Traceback" not in done.stderr
    assert sha256(model) == before
    probe = (  # fails fast: refused before TensorFlow is imported
        "import sys\nfrom lrfind.cli import main\n"
        f"sys.argv = ['lrfind', *{args!r}]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('RESULT', 'tensorflow' in sys.modules, file=sys.stderr)\n"
    )
    imported = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=ENV,
                              capture_output=True, text=True, timeout=120)
    assert "RESULT False" in imported.stderr, imported.stderr[-2000:]


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
    assert runs_summary(saved) in stdout  # e.g. "3 range tests: 776, 692 and 770 batches"
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


# --------------------------------------------------- repeats, loss key, verification
def test_repeats_and_loss_key_reach_find(files, tmp_path, monkeypatch):
    default, given = find_calls(files, tmp_path, monkeypatch, [],
                                ["--repeats", "2", "--loss-key", "total_loss"])
    import lrfind.finder

    assert default["repeats"] == lrfind.finder.DEFAULT_REPEATS and default["loss_key"] is None
    assert given["repeats"] == 2 and given["loss_key"] == "total_loss"
    assert f"(default {_defaults.DEFAULT_REPEATS})" in invoke("--help").stdout
    assert f"(default {_defaults.DEFAULT_TRIAL_BUDGET})" in invoke("--help").stdout


@pytest.mark.parametrize(("arguments", "phrase"), [
    (["--repeats", "0"], "--repeats must be a positive integer"),
    (["--verify-budget", "50"], "add --verify"),
    (["--verify", "--verify-budget", "0"], "--verify-budget must be a positive integer"),
    (["--image-size", "big"], "--image-size takes height,width"),
    (["--target", "label"], "--target names a column of a .csv table"),
])
def test_bad_option_values_exit_2(files, tmp_path, arguments, phrase):
    result = invoke(files["tiny"], files["regression"], *arguments, "-o", tmp_path / "out")
    assert result.exit_code == 2, result.output
    (message,) = error_lines(result)
    assert phrase in message


def test_repeats_run_and_are_saved(files, tmp_path):
    result = invoke(files["tiny"], files["regression"], "--steps", "15", "--start-lr", "1e-4",
                    "--repeats", "2", "--seed", "3", "-q", "-o", tmp_path)
    assert result.exit_code in (0, 3), result.output
    saved = LRFinderResult.load(tmp_path / "result.json")
    assert len(saved.repeats) == 1 and saved.settings["run"]["repeats"] == 2


@pytest.fixture(scope="module")
def verified_run(files, tmp_path_factory):
    out = tmp_path_factory.mktemp("verified")
    result = invoke(files["classifier_data_model"], files["classes"], "--steps", "30",
                    "--start-lr", "1e-4", "--seed", "0", "--verify", "--verify-budget", "60",
                    "-o", out)
    return result, out


@pytest.mark.slow
def test_verify_runs_trials_reports_them_and_saves_them(verified_run):
    result, out = verified_run
    assert result.exit_code == 0, result.output
    saved = LRFinderResult.load(out / "result.json")
    trials = saved.trials
    assert trials is not None and saved.suggestion.basis == "trials"
    assert saved.settings["run"]["verify"] and saved.settings["run"]["verify_budget"] == 60
    assert 0 < trials.budget <= 60 + 60  # the budget, and at most one edge extension
    stdout = result.stdout
    assert "Trials (held-out loss" in stdout and "winner" in stdout
    for trial in trials.trials:
        assert f"{trial.lr:.3g}" in stdout
    assert f"Recommendation: train at learning_rate={trials.lr:.3g}" in stdout
    assert "trials done" in result.stderr  # the trials' progress line
    import matplotlib.image

    height, width, _ = matplotlib.image.imread(out / "curve.png").shape
    assert width > 1.4 * height  # the trials panel beside the curve
