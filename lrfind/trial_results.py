"""What the trials measured (`TrialsResult`), and how they are planned: plain data and pure
functions, no Keras (a saved result with its trials loads and plots anywhere).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lrfind._defaults import (
    CANDIDATE_DECADES,
    CANDIDATES_BELOW_DIVERGENCE_DECADES,
    TRIAL_TOLERANCE,
    check_positive_int,
)


# ------------------------------------------------------------------------ result types
@dataclass
class Trial:
    """One candidate LR: its held-out loss after each rung it trained in.

    Attributes:
        lr: the constant learning rate.
        batches: batches trained by the end of each rung it took part in.
        losses: held-out loss after each of those rungs (inf when it diverged).
        kept: whether it survived to the last rung.
    """

    lr: float
    batches: list[int] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    kept: bool = False

    @property
    def final_loss(self) -> float:
        return self.losses[-1] if self.losses else math.inf

    def to_dict(self) -> dict[str, Any]:
        return {"lr": self.lr, "batches": list(self.batches),
                "losses": [v if math.isfinite(v) else None for v in self.losses],
                "kept": self.kept}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Trial:
        return cls(float(d["lr"]), [int(b) for b in d["batches"]],
                   [math.inf if v is None else float(v) for v in d["losses"]],
                   bool(d.get("kept", False)))


@dataclass
class TrialsResult:
    """What the trials measured.

    Attributes:
        trials: every candidate, in increasing LR.
        lr: the chosen LR: lowest held-out loss in the last rung.
        min_lr, max_lr: the band of candidates whose held-out loss in the last rung they
            reached is within `tolerance` of the best there (bounds for cyclical schedules).
        scored_on: "validation_data" or "held-out training slice (N samples)".
        budget: total batches the trials trained.
        curve_lr: the curve's own suggestion, for comparison (None when it had none).
        tolerance: relative tolerance of the band.
    """

    trials: list[Trial]
    lr: float
    min_lr: float
    max_lr: float
    scored_on: str
    budget: int
    curve_lr: float | None = None
    tolerance: float = TRIAL_TOLERANCE

    @property
    def agreement_decades(self) -> float | None:
        """log10(chosen LR / the curve's suggestion): how far the trials moved it."""
        if self.curve_lr is None:
            return None
        return math.log10(self.lr / self.curve_lr)

    def describe(self) -> str:
        """One sentence: what the trials chose and how it compares with the curve."""
        text = (f"{self.lr:.3g} had the lowest held-out loss of {len(self.trials)} trial LRs "
                f"({self.budget} batches, scored on {self.scored_on})")
        shift = self.agreement_decades
        if shift is None:
            return text + "; the curve gave no suggestion."
        if abs(shift) < 0.13:
            return text + f"; the curve's suggestion {self.curve_lr:.3g} agrees."
        way = "above" if shift > 0 else "below"
        return (text + f"; it is {abs(shift):.2f} decades {way} the curve's suggestion "
                f"{self.curve_lr:.3g}.")

    def to_dict(self) -> dict[str, Any]:
        return {"trials": [t.to_dict() for t in self.trials], "lr": self.lr,
                "min_lr": self.min_lr, "max_lr": self.max_lr, "scored_on": self.scored_on,
                "budget": self.budget, "curve_lr": self.curve_lr, "tolerance": self.tolerance}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrialsResult:
        curve = d.get("curve_lr")
        return cls([Trial.from_dict(t) for t in d["trials"]], float(d["lr"]),
                   float(d["min_lr"]), float(d["max_lr"]), str(d["scored_on"]),
                   int(d["budget"]), None if curve is None else float(curve),
                   float(d.get("tolerance", TRIAL_TOLERANCE)))


# -------------------------------------------------------------------- the plan (pure)
def candidate_lrs(low: float, high: float, count: int, include: float | None = None
                  ) -> list[float]:
    """``count`` LRs log-spaced from ``low`` to ``high``, with ``include`` among them.

    The candidate nearest ``include`` is moved onto it, so the curve's own suggestion is
    always tried.

    >>> [round(v, 6) for v in candidate_lrs(1e-4, 1e-2, 3, include=2e-3)]
    [0.0001, 0.002, 0.01]
    """
    count = check_positive_int("candidates", count)
    if not (0 < low <= high and math.isfinite(high)):
        raise ValueError(f"candidate range must satisfy 0 < low <= high, got {low}, {high}.")
    lrs = list(np.geomspace(low, high, count)) if count > 1 else [math.sqrt(low * high)]
    if include is not None and include > 0:
        nearest = int(np.argmin([abs(math.log10(lr / include)) for lr in lrs]))
        lrs[nearest] = include
    return sorted(float(lr) for lr in set(lrs))


def rung_plan(candidates: int, budget: int) -> list[tuple[int, int]]:
    """Successive halving: ``[(trials in the rung, batches each has trained by its end)]``.

    Every rung doubles the batches and keeps the better half (rounded up), down to two; the
    first rung's length is what the budget allows.

    >>> rung_plan(5, 1200)
    [(5, 100), (3, 200), (2, 400)]
    """
    counts = [candidates]
    while counts[-1] > 2:
        counts.append(math.ceil(counts[-1] / 2))
    # total = sum over rungs of n_i * (t_i - t_(i-1)) with t_i = b * 2**i
    weight = sum(n * (2**i - (2 ** (i - 1) if i else 0)) for i, n in enumerate(counts))
    first = max(1, budget // weight)
    return [(n, first * 2**i) for i, n in enumerate(counts)]


def same_lr(lr: float, other: float | None) -> bool:
    """Whether ``lr`` is ``other`` (the curve's suggestion, None when it had none), to within
    rounding.

    >>> same_lr(1e-3, 1e-3 * (1 + 1e-9)), same_lr(1e-3, 2e-3), same_lr(1e-3, None)
    (True, False, False)
    """
    return other is not None and abs(math.log10(lr / other)) < 1e-6


def choose(trials: Sequence[Trial], curve_lr: float | None, margin: float) -> float:
    """The chosen LR: the lowest held-out loss among the trials that reached the last rung,
    unless the curve's own suggestion is among them within ``margin`` (relative) of that
    loss: then the curve's (a short trial is a noisy measure, and favours high LRs, so the
    curve's reading stands unless it is clearly beaten).

    >>> trials = [Trial(1e-3, [100], [0.50]), Trial(1e-2, [100], [0.49])]
    >>> choose(trials, 1e-3, margin=0.05), choose(trials, 1e-3, margin=0.0)
    (0.001, 0.01)
    """
    rungs = max(len(t.losses) for t in trials)
    last = [t for t in trials if len(t.losses) == rungs] or list(trials)
    best = min(last, key=lambda t: t.final_loss)
    curve = next((t for t in last if same_lr(t.lr, curve_lr)), None)
    if curve is not None and math.isfinite(curve.final_loss) and (
        curve.final_loss <= best.final_loss + margin * abs(best.final_loss)
    ):
        return curve.lr
    return best.lr


def band(trials: Sequence[Trial], tolerance: float) -> tuple[float, float]:
    """(lowest, highest) LR of the trials within ``tolerance`` of the best, compared at
    the last rung each reached against the best of that rung."""
    best_by_rung: dict[int, float] = {}
    for trial in trials:
        for rung, loss in enumerate(trial.losses):
            best_by_rung[rung] = min(best_by_rung.get(rung, math.inf), loss)
    good = []
    for trial in trials:
        rung = len(trial.losses) - 1
        best = best_by_rung.get(rung, math.inf)
        if rung >= 0 and math.isfinite(best) and trial.final_loss <= best + tolerance * abs(best):
            good.append(trial.lr)
    if not good:
        return trials[0].lr, trials[-1].lr
    return min(good), max(good)


def candidate_limits(suggestion: Any, lrs: Sequence[float]) -> tuple[float, float]:
    """The span no trial LR leaves: from the ramp's first LR to a quarter decade
    (``CANDIDATES_BELOW_DIVERGENCE_DECADES``) below where the run blew up, or below the
    ramp's last LR when it did not: the curve has no evidence for an LR above that, only
    against it.

    >>> from lrfind.suggestion import CurvePoint, Suggestion
    >>> s = Suggestion(1e-3, 1e-5, 0.1, True, "example",
    ...                {"divergence": CurvePoint("divergence", 1.0, 5.0, 90, "")})
    >>> [f"{lr:.2g}" for lr in candidate_limits(s, [1e-7, 10.0])]
    ['1e-07', '0.56']
    """
    divergence = suggestion.points.get("divergence")
    high = divergence.lr if divergence is not None else float(lrs[-1])
    return float(lrs[0]), high / 10**CANDIDATES_BELOW_DIVERGENCE_DECADES


def extension_for(suggestion: Any, lrs: Sequence[float],
                  candidates: Sequence[float]) -> Callable[[float, str], float | None]:
    """``extend(lr, "up" | "down")`` for `lrfind.trials.run_trials`: one candidate a step of
    the candidates' own spacing beyond the edge trial ``lr``, never past `candidate_limits`
    (None when the edge is at the limit already). An extension above the divergence would
    try an LR at which the range test blew up, and a small held-out slice can score such a
    run well (wine at batch 4 with Adagrad: a trial at 12, twice the LR where the run blew
    up, scored 0.0 on 30 rows; its regret was 459).

    >>> from lrfind.suggestion import CurvePoint, Suggestion
    >>> s = Suggestion(1e-3, 1e-5, 0.1, True, "example",
    ...                {"divergence": CurvePoint("divergence", 1.0, 5.0, 90, "")})
    >>> extend = extension_for(s, [1e-7, 10.0], [1e-4, 1e-3, 1e-2])
    >>> [f"{extend(1e-2, 'up'):.2g}", f"{extend(1e-4, 'down'):.2g}", f"{extend(0.3, 'up'):.2g}"]
    ['0.1', '1e-05', '0.56']
    >>> extend(10**-0.25, "up") is None  # the highest candidate is at the limit already
    True
    """
    low, high = candidate_limits(suggestion, lrs)
    spacing = ((candidates[-1] / candidates[0]) ** (1 / (len(candidates) - 1))
               if len(candidates) > 1 else 10**0.5)

    def extend(lr: float, edge: str) -> float | None:
        extra = min(lr * spacing, high) if edge == "up" else max(lr / spacing, low)
        return extra if abs(math.log10(extra / lr)) > 1e-3 and (extra > lr) == (
            edge == "up") else None

    return extend


def candidates_for(suggestion: Any, lrs: Sequence[float], count: int) -> list[float]:
    """The trial LRs for a curve: from where the loss first fell measurably to just below
    where the run blew up (or the end of the ramp), at most `CANDIDATE_DECADES` decades
    either side of the suggestion, which is always one of them.

    >>> from lrfind.suggestion import CurvePoint, Suggestion
    >>> points = {"descent_start": CurvePoint("descent_start", 1e-5, 2.0, 10, ""),
    ...           "divergence": CurvePoint("divergence", 1.0, 5.0, 90, "")}
    >>> s = Suggestion(1e-3, 1e-5, 0.1, True, "example", points)
    >>> [f"{lr:.2g}" for lr in candidates_for(s, [1e-7, 10.0], 5)]
    ['3.2e-05', '0.00018', '0.001', '0.0056', '0.032']
    """
    low_end, high = candidate_limits(suggestion, lrs)
    centre = suggestion.lr
    start = suggestion.points.get("descent_start")
    low = start.lr if start is not None else low_end
    if centre is not None:
        low = max(low, centre / 10**CANDIDATE_DECADES)
        high = max(min(high, centre * 10**CANDIDATE_DECADES), centre)
    low = min(max(low, low_end), high)
    return candidate_lrs(low, high, count, include=centre)
