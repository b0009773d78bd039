"""Tests of lrfind._defaults: one home for every default and every setting check (no Keras)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from lrfind import _defaults as d
from lrfind._defaults import CLI_NAMES, PYTHON_NAMES, RunPlan, plan


def test_names_are_spelled_for_python_and_for_the_shell() -> None:
    assert PYTHON_NAMES("start_lr") == "start_lr"
    assert CLI_NAMES("start_lr") == "--start-lr"
    assert CLI_NAMES("beta") == "--smoothing" and CLI_NAMES("num_steps") == "--steps"
    assert PYTHON_NAMES.example(start_lr="1e-7", end_lr=10) == "start_lr=1e-7, end_lr=10"
    assert CLI_NAMES.example(start_lr="1e-7", end_lr=10) == "--start-lr 1e-7 --end-lr 10"


@pytest.mark.parametrize(
    ("check", "python_words", "cli_words"),
    [
        (lambda n: d.check_lr_range(0.0, 1.0, n), "start_lr must be a positive",
         "--start-lr must be a positive"),
        (lambda n: d.check_lr_range(1.0, 0.1, n), "start_lr (1) must be below end_lr (0.1)",
         "--start-lr (1) must be below --end-lr (0.1)"),
        (lambda n: d.check_lr_range(float("nan"), 1.0, n), "positive, finite", "positive, finite"),
        (lambda n: d.check_num_steps(5, n), "num_steps 5 is too few", "--steps 5 is too few"),
        (lambda n: d.check_beta(1.0, n), "beta must be in [0, 1)", "--smoothing must be in"),
        (lambda n: d.check_stop_factor(1.0, n), "None never stops", "inf never stops"),
        (lambda n: d.check_positive_int("batch_size", 0, n), "batch_size must be a positive",
         "--batch-size must be a positive"),
        (lambda n: d.check_run_length(20, 2, n), "either steps or epochs",
         "either --steps or --epochs"),
    ],
)
def test_each_check_names_the_argument_as_its_caller_spells_it(
    check, python_words, cli_words
) -> None:
    with pytest.raises(ValueError) as python_error:
        check(PYTHON_NAMES)
    assert python_words in str(python_error.value)
    with pytest.raises(ValueError) as cli_error:
        check(CLI_NAMES)
    assert cli_words in str(cli_error.value)


def test_checks_return_the_value_they_accept() -> None:
    assert d.check_num_steps(800) == 800
    assert d.check_beta(0) == 0.0
    assert d.check_stop_factor(4) == 4.0
    assert d.check_stop_factor(None) is None and d.check_stop_factor(float("inf")) is None
    assert d.check_positive_int("epochs", 3) == 3
    with pytest.raises(ValueError):
        d.check_positive_int("epochs", 2.5)
    with pytest.raises(ValueError):
        d.check_positive_int("epochs", True)


@pytest.mark.parametrize(
    ("batches_per_epoch", "steps", "epochs", "expected"),
    [
        (47, None, None, RunPlan(800, 18, None)),  # default length, data cycled
        (47, 100, None, RunPlan(100, 3, None)),
        (47, None, 3, RunPlan(141, 3, None)),
        (None, 300, None, RunPlan(300, 1, 300)),  # unknown length: one long epoch
        (None, None, None, RunPlan(800, 1, 800)),
    ],
)
def test_plan(batches_per_epoch, steps, epochs, expected) -> None:
    assert plan(batches_per_epoch, steps, epochs) == expected


def test_plan_refuses_what_cannot_make_a_curve() -> None:
    with pytest.raises(ValueError, match="no known length"):
        plan(None, None, 2)
    with pytest.raises(ValueError, match="--epochs 1 gives only 2 batches of 128"):
        plan(2, None, 1, CLI_NAMES, batch_size=128)


def test_checks_need_no_keras() -> None:
    code = ("import sys, lrfind._defaults\n"
            "print(sorted(m for m in ('keras', 'tensorflow', 'numpy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
