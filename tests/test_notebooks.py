"""The notebooks run top to bottom, and the committed copies hold the outputs of a clean run.

Each notebook is executed with nbclient in a fresh ``python3`` kernel of the current
interpreter, with ``notebooks/`` as the working directory, exactly as ``notebooks/run_all.py``
does (this module uses its `execute`), but nothing is written back. Any cell that raises fails
the test with the cell's source and traceback.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.slow

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
EXPECTED = [
    "01_quickstart.ipynb",
    "02_cyclical_learning_rates.ipynb",
    "03_decay_schedules.ipynb",
    "04_your_own_pipeline.ipynb",
]
CELL_TIMEOUT = 180  # seconds; each notebook takes well under a minute on 2 CPU cores
MAX_BYTES = 1_000_000


def _load_runner():
    spec = importlib.util.spec_from_file_location("notebooks_run_all", NOTEBOOKS / "run_all.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


run_all = _load_runner()
PATHS = [NOTEBOOKS / name for name in EXPECTED]


def _code_cells(notebook: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def _errors(notebook: nbformat.NotebookNode) -> list[str]:
    return [
        f"{output.ename}: {output.evalue}"
        for cell in _code_cells(notebook)
        for output in cell.get("outputs", [])
        if output.output_type == "error"
    ]


def test_the_notebooks_are_the_expected_ones() -> None:
    assert [path.name for path in run_all.notebook_paths()] == EXPECTED


@pytest.mark.parametrize("path", PATHS, ids=lambda path: path.stem)
def test_notebook_runs_top_to_bottom(path: Path) -> None:
    notebook, _ = run_all.execute(path, timeout=CELL_TIMEOUT)  # raises at a failing cell
    assert not _errors(notebook)
    assert all(cell.execution_count is not None for cell in _code_cells(notebook))


@pytest.mark.parametrize("path", PATHS, ids=lambda path: path.stem)
def test_committed_notebook_shows_a_clean_run(path: Path) -> None:
    assert path.stat().st_size < MAX_BYTES, "strip or shrink figures: keep notebooks under 1 MB"
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    cells = _code_cells(notebook)
    counts = [cell.execution_count for cell in cells]
    assert counts == list(range(1, len(cells) + 1)), (
        "run it top to bottom with `python notebooks/run_all.py` before committing"
    )
    assert not _errors(notebook)
    figures = [
        output
        for cell in cells
        for output in cell.get("outputs", [])
        if "image/png" in output.get("data", {})
    ]
    assert figures, "the committed notebook should show its figures (embedded PNG)"
