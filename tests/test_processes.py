"""Range tests across processes: two JAX processes on 127.0.0.1 (gloo CPU collectives).

Each test starts its processes on a free port, with a bounded time, and kills them however
the test ends. The processes run several scenarios in one start (joining the runtime and
importing Keras is most of the time). Each run gets a fresh model, so the scenarios do not
depend on one another.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from lrfind._defaults import check_global_batch_size, check_process_options, check_shard

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 240  # seconds for a whole launch; a run takes about 30 s on 2 shared cores


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def launch(commands: list[list[str]], tmp_path: Path, *, env: dict[str, str] | None = None,
           timeout: float = TIMEOUT) -> list[tuple[int, str, str]]:
    """Run the processes side by side; (return code, stdout, stderr) of each.

    Output goes to files (a full pipe cannot stall a process); every process is killed,
    with its process group, when the time is up or anything fails.
    """
    base = {**os.environ, "KERAS_BACKEND": "jax", "CUDA_VISIBLE_DEVICES": "",
            "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": str(ROOT), **(env or {})}
    base.pop("XLA_FLAGS", None)
    procs, files = [], []
    try:
        for i, command in enumerate(commands):
            out, err = tmp_path / f"stdout{i}", tmp_path / f"stderr{i}"
            files.append((out, err))
            with open(out, "w") as o, open(err, "w") as e:
                procs.append(subprocess.Popen(command, stdout=o, stderr=e, env=base,
                                              cwd=tmp_path, start_new_session=True))
        deadline = time.monotonic() + timeout
        for proc in procs:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        pytest.fail(f"the processes did not finish within {timeout} s:\n"
                    + "\n".join(err.read_text()[-1500:] for _, err in files))
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    return [(proc.returncode, out.read_text(), err.read_text())
            for proc, (out, err) in zip(procs, files, strict=True)]


def last_json(stdout: str) -> dict:
    return json.loads(stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------- the API
WORKER = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import keras
    from lrfind import processes
    from lrfind.finder import LRFinder, is_chief

    index, port = int(sys.argv[1]), sys.argv[2]
    topo = processes.initialize(f"127.0.0.1:{port}", 2, index)

    rng = np.random.default_rng(0)
    x = rng.normal(size=(3200, 8)).astype("float32")
    y = x[:, :3].argmax(axis=1).astype("int32")
    report = {"index": topo.index, "count": topo.count, "chief": is_chief()}

    def run(name, *args, **kwargs):
        # A fresh model (the same weights) for each run: see the note in the module.
        global model
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"),
                                  keras.layers.Dense(3, activation="softmax")])
        model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy")
        model.fit(x[:64], y[:64], batch_size=32, verbose=0)  # a built, trained optimizer
        state = lambda: [np.array(v.value) for v in [*model.variables,
                                                     *model.optimizer.variables]]
        before = state()
        restored = lambda: all(np.array_equal(a, b, equal_nan=True)
                               for a, b in zip(before, state()))
        try:
            result = LRFinder(model).find(*args, start_lr=1e-4, end_lr=10.0, steps=100,
                                          repeats=1, **kwargs)
        except ValueError as error:
            report[name] = {"error": str(error), "restored": restored()}
            return None
        report[name] = {"lrs": result.lrs.tolist(), "losses": result.losses.tolist(),
                        "stop": result.stop_reason, "lr": result.suggestion.lr,
                        "settings": {k: result.settings.get(k) for k in
                                     ("batch_size", "processes", "process_batch_size")},
                        "trials": result.trials and result.trials.to_dict(),
                        "restored": restored()}
        return result

    # The whole data on both processes; each takes its slice.
    result = run("auto", x, y, batch_size=32, seed=0, shard="auto")
    if is_chief(model):
        result.save(f"result{index}.json")
    # The trials too: one held-out loss over both processes' slices, one chosen LR.
    run("verify", x, y, batch_size=32, seed=0, shard="auto", verify=True, budget=120)
    # Each process's own shard: the same slices as "auto" takes, so the same curve.
    mine = slice(index * 1600, (index + 1) * 1600)
    run("given", x[mine], y[mine], batch_size=32, seed=0, shard="given")
    # An infinite loss on process 1's shard only, in its 61st batch (no shuffle): two huge,
    # finite sample weights overflow its weighted sum. Both stop there.
    weights = np.ones(len(y), "float32")
    if index == 1:
        weights[1600 + 60 * 16 + 3 : 1600 + 60 * 16 + 5] = 3e38
    run("overflow", x, y, sample_weight=weights, batch_size=32, shuffle=False,
        stop_factor=None, shard="auto")
    # A NaN in process 1's shard only: refused on both processes, before any step.
    bad = x.copy()
    if index == 1:
        bad[1600 + 60 * 16 + 3, 0] = np.nan
    run("nan", bad, y, batch_size=32, shuffle=False, stop_factor=None, shard="auto")
    # Shards of different lengths: refused on both processes, before any step.
    run("unequal", x[: 1600 + 16 * index], y[: 1600 + 16 * index], batch_size=32,
        shard="given")
    # A shard that does not fit the model on process 1 only: both refuse.
    wrong = x[:1600, :7] if index == 1 else x[:1600]
    run("misfit", wrong, y[:1600], batch_size=32, shard="given")
    print(json.dumps(report))
    """
)


@pytest.mark.slow
def test_two_processes_record_one_curve_stop_together_and_restore(tmp_path: Path) -> None:
    pytest.importorskip("jax")
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    port = str(free_port())
    outputs = launch([[sys.executable, str(script), str(i), port] for i in range(2)], tmp_path)
    for code, _, stderr in outputs:
        assert code == 0, stderr[-3000:]
    first, second = (last_json(stdout) for _, stdout, _ in outputs)
    assert [first["chief"], second["chief"]] == [True, False]
    assert (tmp_path / "result0.json").exists() and not (tmp_path / "result1.json").exists()

    auto = first["auto"]
    assert len(auto["losses"]) == 100 and auto["stop"] == "completed"
    assert auto["settings"] == {"batch_size": 32, "processes": 2, "process_batch_size": 16}
    for name in ("auto", "given", "overflow", "verify"):
        # The global batch loss: the same numbers, bit for bit, on both processes.
        assert first[name]["losses"] == second[name]["losses"], name
        assert first[name]["lrs"] == second[name]["lrs"], name
        assert first[name]["lr"] == second[name]["lr"], name
        assert first[name]["stop"] == second[name]["stop"], name
        assert first[name]["restored"] and second[name]["restored"], name
    np.testing.assert_allclose(first["given"]["losses"], auto["losses"], rtol=1e-6)
    assert first["verify"]["losses"] == auto["losses"]  # the same range test, then trials
    trials = first["verify"]["trials"]
    assert trials == second["verify"]["trials"]  # losses, choice, band: bit for bit
    assert trials["scored_on"].endswith("on each of 2 processes")
    assert trials["lr"] in [t["lr"] for t in trials["trials"]]
    assert all(None not in t["losses"] for t in trials["trials"])
    assert first["given"]["lr"] == pytest.approx(auto["lr"], rel=1e-6)

    # The overflow was on process 1's shard only; both stopped cleanly at the batch before it.
    for report in (first, second):
        assert report["overflow"]["stop"] == "non_finite"
        assert len(report["overflow"]["losses"]) == 60
        assert all(np.isfinite(report["overflow"]["losses"]))
    # The NaN in process 1's data is refused there, and so on process 0, before any step.
    assert "contains 1 NaN or infinite value" in second["nan"]["error"]
    assert "failed on process 1" in first["nan"]["error"]
    assert first["nan"]["restored"] and second["nan"]["restored"]

    assert "disagree on the run's plan" in first["unequal"]["error"]
    assert first["unequal"]["error"] == second["unequal"]["error"]
    assert "does not fit the model" in second["misfit"]["error"]
    assert "failed on process 1" in first["misfit"]["error"]
    assert first["misfit"]["restored"] and second["misfit"]["restored"]


# ------------------------------------------------------------ the command line
LRFIND = [sys.executable, "-c", "from lrfind.cli import main; main()"]


def test_cli_across_processes_needs_jax(tmp_path: Path) -> None:
    np.savez(tmp_path / "data.npz", x=np.zeros((8, 2)), y=np.zeros(8))
    with zipfile.ZipFile(tmp_path / "model.keras", "w") as archive:  # looks like a model
        archive.writestr("config.json", "{}")
    proc = subprocess.run(
        [*LRFIND, "model.keras", "data.npz", "--coordinator", "127.0.0.1:1", "--num-processes",
         "2", "--process-id", "0"], cwd=tmp_path, capture_output=True, text=True, timeout=120,
        env={**os.environ, "KERAS_BACKEND": "tensorflow", "PYTHONPATH": str(ROOT)},
    )
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "KERAS_BACKEND=jax" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.slow
def test_cli_on_two_processes_chief_reports_and_writes(tmp_path: Path) -> None:
    pytest.importorskip("jax")
    make = textwrap.dedent(
        """
        import numpy as np, keras
        rng = np.random.default_rng(0)
        x = rng.normal(size=(2048, 8)).astype("float32")
        np.savez("data.npz", x=x, y=x[:, :3].argmax(axis=1).astype("int32"))
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"),
                                  keras.layers.Dense(3, activation="softmax")])
        model.compile("adam", "sparse_categorical_crossentropy")
        model.save("model.keras")
        """
    )
    subprocess.run([sys.executable, "-c", make], cwd=tmp_path, check=True, timeout=120,
                   env={**os.environ, "KERAS_BACKEND": "jax"})
    port = str(free_port())
    commands = [[*LRFIND, "model.keras", "data.npz", "--steps", "100", "--verify",
                 "--verify-budget", "120", "--seed", "0", "--repeats", "1", "--out", f"out{i}",
                 "--json",
                 "--coordinator", f"127.0.0.1:{port}", "--num-processes", "2",
                 "--process-id", str(i)] for i in range(2)]
    outputs = launch(commands, tmp_path)
    for code, _, stderr in outputs:
        assert code in (0, 3), stderr[-3000:]
    (chief_code, chief_out, _), (worker_code, worker_out, _) = outputs
    assert chief_code == worker_code
    chief = json.loads(chief_out)
    assert chief["settings"]["processes"] == 2 and len(chief["lrs"]) == 100
    assert chief["trials"]["scored_on"].endswith("on each of 2 processes")
    assert chief["suggestion"]["lr"] is not None
    assert worker_out.strip() == ""  # the report is the chief's
    assert (tmp_path / "out0" / "result.json").exists()
    assert not (tmp_path / "out1").exists()


# ------------------------------------------------------------ checks, no processes
def test_shard_is_required_across_processes_and_checked() -> None:
    assert check_shard(None, 1) is None
    assert check_shard("given", 4) == "given"
    with pytest.raises(ValueError, match="shard='auto'"):
        check_shard(None, 2)
    with pytest.raises(ValueError, match="must be one of"):
        check_shard("strided", 2)


def test_global_batch_divides_over_processes() -> None:
    assert check_global_batch_size(64, 4) == 16
    with pytest.raises(ValueError, match="global batch"):
        check_global_batch_size(30, 4)


def test_process_options_from_arguments_or_environment() -> None:
    env = {"KERAS_DISTRIBUTION_JOB_ADDRESSES": "h:1234", "KERAS_DISTRIBUTION_NUM_PROCESSES": "3",
           "KERAS_DISTRIBUTION_PROCESS_ID": "2"}
    options = check_process_options(None, None, None, env=env)
    assert (options.coordinator, options.num_processes, options.process_id) == ("h:1234", 3, 2)
    assert check_process_options(None, None, 1, env=env).process_id == 1  # the option wins
    with pytest.raises(ValueError, match="missing"):
        check_process_options("h:1", 2, None, env={})
    with pytest.raises(ValueError, match=r"in 0\.\.1"):
        check_process_options("h:1", 2, 2, env={})


def test_one_process_leaves_the_data_alone() -> None:
    from lrfind.processes import Topology, shard_inputs

    x = np.zeros((10, 2))
    data = shard_inputs(x, None, None, batch_size=None, shard=None, topo=Topology())
    assert data.x is x and data.batch_size is None and data.settings() == {}
