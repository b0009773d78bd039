"""The benchmark's cached truth belongs to the tasks as defined: a task whose definition
(its data included) changed since its grid was run has no truth, and a holdout scored
against it would be scored against nothing."""

from __future__ import annotations

import ast
import json
from collections import Counter
from pathlib import Path

import pytest

from benchmarks import rule_search
from benchmarks.curves import FindCache
from benchmarks.suggestion_quality import GROUPS
from benchmarks.tasks import TASKS

GRID_TRUTH = Path(__file__).parents[1] / "benchmarks" / "grid_truth.json"
TASKS_PY = Path(__file__).parents[1] / "benchmarks" / "tasks.py"


def test_every_task_run_has_its_grid_truth_under_its_current_definition():
    # a holdout being defined has no truth yet; one that has been run must keep it
    cached = json.loads(GRID_TRUTH.read_text())["tasks"]
    missing = [t.name for t in TASKS
               if t.group in GROUPS and not cached.get(t.key(), {}).get("grid")]
    assert missing == []


def test_task_names_and_data_names_are_unique():
    names = [t.name for t in TASKS]
    assert len(names) == len(set(names))
    cached = json.loads(GRID_TRUTH.read_text())["tasks"]
    digests: dict[str, set[str]] = {}
    for t in TASKS:
        definition = cached[t.key()]["definition"] if t.key() in cached else t.definition()
        if "data_digest" in definition:
            digests.setdefault(t.data, set()).add(definition["data_digest"])
    assert {name: d for name, d in digests.items() if len(d) > 1} == {}


def test_no_data_recipe_is_defined_twice_and_no_data_name_is_loaded_twice():
    # twice a new data set took an old one's name: a second recipe of the same name
    # silently replaced the first (the old tasks' data changed), or a second branch of
    # `load_data` was never reached (the new tasks trained on the old data)
    module = ast.parse(TASKS_PY.read_text())
    functions = Counter(node.name for node in module.body if isinstance(node, ast.FunctionDef))
    assert [name for name, n in functions.items() if n > 1] == []
    load_data = next(node for node in module.body
                     if isinstance(node, ast.FunctionDef) and node.name == "load_data")
    names: Counter[str] = Counter()
    for branch in (node for node in load_data.body if isinstance(node, ast.If)):
        while True:  # the if/elif chain: one branch for each data name
            names.update(node.value for node in ast.walk(branch.test)
                         if isinstance(node, ast.Constant) and isinstance(node.value, str))
            if len(branch.orelse) != 1 or not isinstance(branch.orelse[0], ast.If):
                break
            branch = branch.orelse[0]
    assert [name for name, n in names.items() if n > 1] == []


def test_the_rule_search_refuses_a_group_no_range_test_has_run_on(monkeypatch):
    # a holdout is run once, by suggestion_quality, with the frozen rule; a search that
    # recorded its range tests itself would choose on it first (it did, on holdout 9)
    monkeypatch.setattr(FindCache, "recorded", lambda self, task, seed: task.group != "holdout9")
    monkeypatch.setattr(FindCache, "get", lambda *args, **kwargs: pytest.fail(
        "the search recorded a range test"))  # without the guard: fail now, not hours later
    with pytest.raises(SystemExit, match="no range test has been recorded on holdout9"):
        rule_search.load(["dev", "holdout9"])
