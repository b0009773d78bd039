"""The benchmark's cached truth belongs to the tasks as defined: a task whose definition
(its data included) changed since its grid was run has no truth, and a holdout scored
against it would be scored against nothing."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.tasks import TASKS

GRID_TRUTH = Path(__file__).parents[1] / "benchmarks" / "grid_truth.json"


def test_every_task_has_its_grid_truth_under_its_current_definition():
    cached = json.loads(GRID_TRUTH.read_text())["tasks"]
    missing = [t.name for t in TASKS if not cached.get(t.key(), {}).get("grid")]
    assert missing == []


def test_task_names_and_data_names_are_unique():
    names = [t.name for t in TASKS]
    assert len(names) == len(set(names))
    cached = json.loads(GRID_TRUTH.read_text())["tasks"]
    digests: dict[str, set[str]] = {}
    for t in TASKS:
        definition = cached[t.key()]["definition"]
        if "data_digest" in definition:
            digests.setdefault(t.data, set()).add(definition["data_digest"])
    assert {name: d for name, d in digests.items() if len(d) > 1} == {}
