"""Every example in lrfind's docstrings runs and prints what it says."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["lrfind.analysis", "lrfind.finder", "lrfind.plotting", "lrfind.result",
           "lrfind.schedules", "lrfind.cli_inputs", "lrfind.cli_console", "lrfind.cli_report"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    failures, attempted = doctest.testmod(module, optionflags=doctest.ELLIPSIS, verbose=False)
    assert failures == 0, f"{failures} of {attempted} docstring examples failed in {name}"
