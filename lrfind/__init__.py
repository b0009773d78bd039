"""lrfind: the learning-rate range test for Keras 3, with suggestions you can measure.

>>> from lrfind import LRFinder          # doctest: +SKIP
>>> result = LRFinder(model).find(x, y)  # doctest: +SKIP
>>> result.suggestion.lr                 # doctest: +SKIP
"""

from __future__ import annotations

import os as _os

_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from lrfind.finder import LRFinder, LRRamp, LRRangeTest, ModelState
from lrfind.result import LRFinderResult, SmoothedLoss, smooth_losses

__version__ = "0.1.0"

__all__ = [
    "LRFinder",
    "LRFinderResult",
    "LRRamp",
    "LRRangeTest",
    "ModelState",
    "SmoothedLoss",
    "smooth_losses",
]
