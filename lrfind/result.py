"""The recorded curve of a learning-rate range test, and its JSON form.

Nothing here imports Keras: a result loaded from JSON can be re-analysed and plotted on a
machine without TensorFlow.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from lrfind.analysis import CurveReading
    from lrfind.suggestion import Suggestion
    from lrfind.trial_results import TrialsResult

FORMAT_VERSION = 1


class SmoothedLoss:
    """Bias-corrected exponential moving average of a loss, one value at a time.

        avg = beta * avg + (1 - beta) * loss
        smoothed = avg / (1 - beta ** t)        # t = number of losses seen

    Example:

    >>> ema = SmoothedLoss(beta=0.5)
    >>> ema.update(2.0), ema.update(4.0)
    (2.0, 3.3333333333333335)
    """

    def __init__(self, beta: float = 0.98) -> None:
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"beta must be in [0, 1), got {beta}; 0.98 is the usual choice.")
        self.beta = float(beta)
        self._avg = 0.0
        self._count = 0

    def update(self, loss: float) -> float:
        self._count += 1
        self._avg = self.beta * self._avg + (1.0 - self.beta) * float(loss)
        return self._avg / (1.0 - self.beta**self._count)


def smooth_losses(losses: np.ndarray | list[float], beta: float = 0.98) -> np.ndarray:
    """The bias-corrected EMA of every prefix of ``losses`` (see `SmoothedLoss`).

    >>> smooth_losses([2.0, 4.0], beta=0.5).round(4).tolist()
    [2.0, 3.3333]
    """
    ema = SmoothedLoss(beta)
    return np.array([ema.update(loss) for loss in losses], dtype=np.float64)


@dataclass
class LRFinderResult:
    """The curve recorded by a range test: one point per training batch.

    Attributes:
        lrs: the learning rate applied to each batch.
        losses: each batch's own loss (not Keras's running mean).
        smoothed_losses: bias-corrected EMA of ``losses`` (``settings["beta"]``).
        settings: the settings the test ran with (start/end LR, steps, mode, ...).
        stop_reason: ``"completed"``, ``"diverged"``, ``"non_finite"`` or ``"fit_ended"``
            (the fit that ran the `LRRangeTest` callback ended before the ramp did).
        val_indices, val_losses: when the test evaluated a validation subset, the point
            indices at which it did and the loss there (``val_lrs`` gives their LRs).

    Example:

    >>> import numpy as np
    >>> lrs = np.geomspace(1e-5, 1.0, 100)
    >>> r = LRFinderResult.from_curve(lrs, 1.0 / (1.0 + 1e3 * lrs) + lrs**2)
    >>> r.stop_reason, len(r)
    ('completed', 100)
    """

    lrs: np.ndarray
    losses: np.ndarray
    smoothed_losses: np.ndarray
    settings: dict[str, Any] = field(default_factory=dict)
    stop_reason: str = "completed"
    val_indices: np.ndarray | None = None
    val_losses: np.ndarray | None = None
    trials: TrialsResult | None = None
    repeats: list[LRFinderResult] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.lrs = np.asarray(self.lrs, dtype=np.float64)
        self.losses = np.asarray(self.losses, dtype=np.float64)
        self.smoothed_losses = np.asarray(self.smoothed_losses, dtype=np.float64)
        if not (len(self.lrs) == len(self.losses) == len(self.smoothed_losses)):
            raise ValueError(
                "lrs, losses and smoothed_losses must have the same length, got "
                f"{len(self.lrs)}, {len(self.losses)} and {len(self.smoothed_losses)}."
            )
        if (self.val_indices is None) != (self.val_losses is None):
            raise ValueError("val_indices and val_losses go together: pass both or neither.")
        if self.val_indices is not None:
            self.val_indices = np.asarray(self.val_indices, dtype=np.int64)
            self.val_losses = np.asarray(self.val_losses, dtype=np.float64)
            if len(self.val_indices) != len(self.val_losses):
                raise ValueError("val_indices and val_losses must have the same length.")

    @classmethod
    def from_curve(
        cls,
        lrs: np.ndarray | list[float],
        losses: np.ndarray | list[float],
        beta: float = 0.98,
        stop_reason: str = "completed",
        **settings: Any,
    ) -> LRFinderResult:
        """A result from any recorded (lr, loss) curve, smoothed with ``beta``; other
        keyword arguments are kept as settings."""
        return cls(
            lrs=np.asarray(lrs),
            losses=np.asarray(losses),
            smoothed_losses=smooth_losses(losses, beta),
            settings={"beta": beta, **settings},
            stop_reason=stop_reason,
        )

    def __len__(self) -> int:
        return len(self.lrs)

    # ----------------------------------------------------------------- analysis
    @property
    def suggestion(self) -> Suggestion:
        """The suggested learning rate and bounds: measured by the trials when they ran
        (`verify`), else read off the curve (`curve_suggestion`)."""
        from lrfind.suggestion import Suggestion

        curve = self.curve_suggestion
        if self.trials is None:
            return curve
        trials = self.trials
        return Suggestion(trials.lr, trials.min_lr, trials.max_lr, True,
                          "Trials: " + trials.describe(), curve.points, basis="trials")

    @cached_property
    def curve_suggestion(self) -> Suggestion:
        """The suggestion read off the curve alone (`lrfind.analysis.suggest`); with
        repeated range tests, the median of theirs, or when most of them support none, the
        reading of their mean curve (`lrfind.suggestion.combine`)."""
        if not self.repeats:
            return self.own_suggestion
        from lrfind.suggestion import combine

        return combine([self.own_suggestion, *(r.own_suggestion for r in self.repeats)],
                       pooled=self._pooled_suggestion)

    def _pooled_suggestion(self) -> Suggestion | None:
        """The suggestion read off `pooled_reading` (None without one)."""
        from lrfind.rule import apply_rule

        reading = self.pooled_reading
        return None if reading is None else apply_rule(reading, **self.optimizer_settings)

    @cached_property
    def pooled_reading(self) -> CurveReading | None:
        """The reading of the mean, step by step, of this run's and its repeats' losses
        (`lrfind.analysis.pool_curves`); None without repeats or when their ramps differ."""
        from lrfind.analysis import pool_curves, read_curve

        if not self.repeats:
            return None
        pooled = pool_curves([run.curve_inputs() for run in (self, *self.repeats)])
        if pooled is None:
            return None
        lrs, losses, stopped = pooled
        return read_curve(lrs, losses, stopped=stopped)

    @cached_property
    def own_suggestion(self) -> Suggestion:
        """The suggestion read off this run's curve alone, whatever its repeats say."""
        from lrfind.rule import apply_rule

        return apply_rule(self.reading, **self.optimizer_settings)

    @property
    def optimizer_settings(self) -> dict[str, Any]:
        """What the rule needs to know of the optimizer: its class name and momentum (None
        when not recorded, as in results saved before lrfind recorded it)."""
        return {"optimizer": self.settings.get("optimizer"),
                "momentum": self.settings.get("momentum")}

    @cached_property
    def reading(self) -> CurveReading:
        """What `lrfind.analysis.read_curve` finds on this run's curve (its named points,
        noise, divergence): what `own_suggestion` is made from."""
        from lrfind.analysis import read_curve

        lrs, losses, stopped = self.curve_inputs()
        return read_curve(lrs, losses, stopped=stopped)

    def curve_inputs(self) -> tuple[np.ndarray, np.ndarray, bool]:
        """(lrs, losses, stopped) as `lrfind.analysis.read_curve` takes them: the point where
        the loss turned NaN/Inf is not kept, but it is where the curve diverged, so it is
        handed on as a non-finite loss at its LR; ``stopped``: the run stopped as diverged."""
        lrs, losses = self.lrs, self.losses
        blown_up_at = self.settings.get("non_finite_lr")
        if self.stop_reason == "non_finite" and blown_up_at is not None and (
            len(lrs) == 0 or blown_up_at > lrs[-1]
        ):
            lrs, losses = np.append(lrs, blown_up_at), np.append(losses, np.nan)
        return lrs, losses, self.stop_reason == "diverged"

    @property
    def val_lrs(self) -> np.ndarray | None:
        """The learning rates at which the validation loss was evaluated."""
        return None if self.val_indices is None else self.lrs[self.val_indices]

    @cached_property
    def validation_suggestion(self) -> Suggestion | None:
        """The same analysis applied to the validation-loss curve (None without one)."""
        from lrfind.analysis import suggest

        if self.val_indices is None:
            return None
        return suggest(self.val_lrs, self.val_losses, **self.optimizer_settings)

    @property
    def suggested_lr(self) -> float | None:
        """The recommended learning rate, or None when the curve supports none."""
        return self.suggestion.lr

    def point_lr(self, name: str) -> float | None:
        """LR of a named point (a key of `analysis.POINT_LABELS`, e.g. "knee"), or None."""
        point = self.suggestion.points.get(name)
        return None if point is None else point.lr

    @property
    def steepest_lr(self) -> float | None:
        """LR where the smoothed loss falls fastest against log(lr)."""
        return self.point_lr("steepest")

    @property
    def minimum_lr(self) -> float | None:
        """LR at the minimum of the smoothed loss."""
        return self.point_lr("minimum")

    @property
    def divergence_lr(self) -> float | None:
        """LR where the loss has clearly diverged (None if it never did)."""
        return self.point_lr("divergence")

    def verify(
        self,
        model: Any,
        x: Any,
        y: Any = None,
        *,
        budget: int | None = None,
        candidates: int | None = None,
        batch_size: int | None = None,
        validation_data: Any = None,
        seed: int = 0,
        on_trial: Any = None,
        shard: str | None = None,
    ) -> TrialsResult:
        """Measure the suggestion: train a few candidate LRs from the curve for a short
        budget each and keep the one with the lowest held-out loss (`lrfind.trials`).

        ``model`` must be in the state the range test started from (``LRFinder.find``
        leaves it so); it is restored bit for bit afterwards. The trials are kept in
        ``self.trials`` (and saved with the result); ``suggestion`` then reports them.

        Args:
            model, x, y: the model and training data of the range test.
            budget: batches the trials train in all (default `DEFAULT_TRIAL_BUDGET`).
            candidates: how many LRs to start with (default `DEFAULT_TRIAL_CANDIDATES`).
            batch_size: batch size for array data (the run's, by default).
            validation_data: score on it; else on a held-out slice of the training data.
            seed: order of the training batches (the same for every trial).
            on_trial: called as ``on_trial(rung, lr, batches, held_out_loss)``.
            shard: across processes, as in `LRFinder.find` (``batch_size`` is then the
                global batch): every process holds out a slice of its own share, and each
                trial's held-out loss is the one loss over all of them, the same on every
                process, as is the chosen LR. Ignored on one process.
        """
        from lrfind._defaults import DEFAULT_TRIAL_BUDGET, DEFAULT_TRIAL_CANDIDATES
        from lrfind.processes import agree, shard_inputs
        from lrfind.trial_results import candidates_for, extension_for
        from lrfind.trials import run_trials

        curve = self.curve_suggestion
        if len(self.lrs) < 2:
            raise ValueError("the curve has fewer than two points: no LRs to try.")
        lrs = candidates_for(curve, self.lrs, candidates or DEFAULT_TRIAL_CANDIDATES)
        extend = extension_for(curve, self.lrs, lrs)
        shares = shard_inputs(x, y, None, batch_size=batch_size or self.settings.get(
            "batch_size"), shard=shard, validation_data=validation_data)
        agree(shares.topology, "the trials' data (give every process a shard of the same "
              "length, or shard='auto')", rows=shares.rows)
        with shares.fit_scope():
            self.trials = run_trials(
                model, shares.x, shares.y, lrs=lrs, budget=budget or DEFAULT_TRIAL_BUDGET,
                batch_size=shares.process_batch_size, validation_data=validation_data,
                seed=seed, curve_lr=curve.lr, extend=extend, on_trial=on_trial,
            )
        agree(shares.topology, "the trials' outcome", lr=self.trials.lr,
              trained=self.trials.budget)
        if shares.multi:
            self.trials.scored_on += f" on each of {shares.topology.count} processes"
        return self.trials

    def plot(self, ax: Any = None, *, derivative: bool = False) -> Figure:
        """Loss vs LR on a log axis with the named points marked (see `lrfind.plotting`)."""
        from lrfind.plotting import plot_result

        return plot_result(self, ax=ax, derivative=derivative)

    # --------------------------------------------------------------------- JSON
    def to_dict(self, *, with_suggestion: bool = True) -> dict[str, Any]:
        """A JSON-ready dict: the curve, the settings, and (by default) the suggestion."""
        data: dict[str, Any] = {
            "format": "lrfind.result",
            "version": FORMAT_VERSION,
            "stop_reason": self.stop_reason,
            "settings": _jsonable(self.settings),
            "lrs": [float(v) for v in self.lrs],
            "losses": [_finite_or_none(v) for v in self.losses],
            "smoothed_losses": [_finite_or_none(v) for v in self.smoothed_losses],
        }
        if self.val_indices is not None:
            data["val_indices"] = [int(i) for i in self.val_indices]
            data["val_losses"] = [_finite_or_none(v) for v in self.val_losses]
        if self.repeats:
            data["repeats"] = [r.to_dict(with_suggestion=False) for r in self.repeats]
        if self.trials is not None:
            data["trials"] = self.trials.to_dict()
        if with_suggestion:
            data["suggestion"] = self.suggestion.to_dict()
            if self.trials is not None:
                data["curve_suggestion"] = self.curve_suggestion.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LRFinderResult:
        """Inverse of `to_dict`; the suggestion is recomputed from the curve."""
        if data.get("format") != "lrfind.result":
            raise ValueError("not an lrfind result: the 'format' field is missing or wrong.")
        if int(data.get("version", 0)) > FORMAT_VERSION:
            raise ValueError(
                f"result format version {data['version']} is newer than this lrfind "
                f"understands ({FORMAT_VERSION}); upgrade lrfind."
            )

        def floats(key: str) -> np.ndarray:
            return np.array([np.nan if v is None else v for v in data[key]], dtype=np.float64)

        return cls(
            lrs=floats("lrs"),
            losses=floats("losses"),
            smoothed_losses=floats("smoothed_losses"),
            settings=dict(data.get("settings", {})),
            stop_reason=str(data.get("stop_reason", "completed")),
            val_indices=data.get("val_indices"),
            val_losses=floats("val_losses") if "val_indices" in data else None,
            trials=_trials_from(data.get("trials")),
            repeats=[cls.from_dict(r) for r in data.get("repeats", [])],
        )

    def to_json(self, *, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    def to_csv(self) -> str:
        """The curve as CSV text: a header ``lr,loss,smoothed_loss``, then one row a point.

        Every number is written with ``repr``, so it reads back to the same float.

        >>> r = LRFinderResult.from_curve([0.001, 0.01], [2.0, 1.5], beta=0.5)
        >>> print(r.to_csv(), end="")
        lr,loss,smoothed_loss
        0.001,2.0,2.0
        0.01,1.5,1.6666666666666667
        """
        rows = ["lr,loss,smoothed_loss"]
        rows += [
            f"{lr!r},{loss!r},{smoothed!r}"
            for lr, loss, smoothed in zip(
                self.lrs.tolist(), self.losses.tolist(), self.smoothed_losses.tolist(),
                strict=True,
            )
        ]
        return "\n".join(rows) + "\n"

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the result as JSON, atomically (no half-written file after Ctrl-C)."""
        path = Path(path)
        write_atomic(path, self.to_json().encode("utf-8"))
        return path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> LRFinderResult:
        """Read a result written by `save` (or by the ``lrfind`` command)."""
        with open(path, encoding="utf-8") as f:
            return cls.from_dict(json.load(f))


def _trials_from(data: dict[str, Any] | None) -> TrialsResult | None:
    if data is None:
        return None
    from lrfind.trial_results import TrialsResult

    return TrialsResult.from_dict(data)


def write_atomic(path: Path, payload: bytes) -> None:
    """Write ``payload`` to ``path`` through a temporary file and an atomic rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0o022)  # mkstemp makes the file 0600; give it the usual mode
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _finite_or_none(value: float) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
