import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")
sys.path.insert(0, str(Path(__file__).resolve().parent))  # tests/keras_models.py


import pytest


@pytest.fixture(autouse=True)
def one_range_test_per_find(monkeypatch, request):
    """find() runs DEFAULT_REPEATS (3) range tests; the suite runs one unless a test asks
    for the real default (``@pytest.mark.default_repeats``), to keep CI fast."""
    if request.node.get_closest_marker("default_repeats") is None:
        import lrfind.finder

        monkeypatch.setattr(lrfind.finder, "DEFAULT_REPEATS", 1)
