"""lrfind: the learning-rate range test for Keras 3, with suggestions you can measure.

>>> from lrfind import LRFinder          # doctest: +SKIP
>>> result = LRFinder(model).find(x, y)  # doctest: +SKIP
>>> result.suggestion.lr                 # doctest: +SKIP

The names below are imported on first use, so ``import lrfind`` (and the ``lrfind --help``
command line) does not import Keras or TensorFlow until something needs them.
"""

from __future__ import annotations

import importlib as _importlib
import os as _os
from typing import TYPE_CHECKING, Any

_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

if TYPE_CHECKING:
    from lrfind.analysis import suggest
    from lrfind.callback import LRRangeTest
    from lrfind.finder import LRFinder
    from lrfind.plotting import plot_result, plot_schedule, result_figure
    from lrfind.ramp import LRRamp
    from lrfind.result import LRFinderResult, SmoothedLoss, smooth_losses
    from lrfind.schedules import (
        CyclicLR,
        LinearWarmup,
        OneCycleLR,
        ScheduleCallback,
        decay_schedule,
        schedule_values,
    )
    from lrfind.state import ModelState
    from lrfind.suggestion import CurvePoint, Suggestion

__version__ = "0.1.0"

__all__ = [
    "CurvePoint",
    "CyclicLR",
    "LRFinder",
    "LRFinderResult",
    "LRRamp",
    "LRRangeTest",
    "LinearWarmup",
    "ModelState",
    "OneCycleLR",
    "ScheduleCallback",
    "SmoothedLoss",
    "Suggestion",
    "decay_schedule",
    "plot_result",
    "plot_schedule",
    "result_figure",
    "schedule_values",
    "smooth_losses",
    "suggest",
]

_LAZY_NAMES = {
    "LRFinder": "lrfind.finder",
    "LRRamp": "lrfind.ramp",
    "LRRangeTest": "lrfind.callback",
    "ModelState": "lrfind.state",
    "LRFinderResult": "lrfind.result",
    "SmoothedLoss": "lrfind.result",
    "smooth_losses": "lrfind.result",
    "CurvePoint": "lrfind.suggestion",
    "Suggestion": "lrfind.suggestion",
    "suggest": "lrfind.analysis",
    "plot_result": "lrfind.plotting",
    "plot_schedule": "lrfind.plotting",
    "result_figure": "lrfind.plotting",
    "CyclicLR": "lrfind.schedules",
    "LinearWarmup": "lrfind.schedules",
    "OneCycleLR": "lrfind.schedules",
    "ScheduleCallback": "lrfind.schedules",
    "decay_schedule": "lrfind.schedules",
    "schedule_values": "lrfind.schedules",
}


def __getattr__(name: str) -> Any:
    module = _LAZY_NAMES.get(name)
    if module is None:
        raise AttributeError(f"module 'lrfind' has no attribute {name!r}")
    value = getattr(_importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
