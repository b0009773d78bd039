"""Learning-rate schedules seeded from a range test: cyclical, one-cycle, warm-up and decay.

Every schedule here is a `keras.optimizers.schedules.LearningRateSchedule`. Two ways to use one:

- pass it to the optimizer, `keras.optimizers.SGD(learning_rate=schedule)`: it is evaluated
  inside the compiled train step at `optimizer.iterations` (the fastest route);
- or keep an optimizer compiled with a float learning rate and drive it batch by batch with
  `callbacks=[ScheduleCallback(schedule)]` (the way Keras-2 code used a `CyclicLR` callback).

`CyclicLR`, `OneCycleLR` and `LinearWarmup` are registered serializable under the package name
"lrfind": a model compiled with one survives `model.save(...)` / `keras.saving.load_model(...)`
once `lrfind` is imported. The decay family (`decay_schedule`) returns Keras's own schedules.

From a range test to a schedule (all bounds come from the finder's suggestion):

| schedule | parameter | set from |
| --- | --- | --- |
| `CyclicLR` | `base_lr`, `max_lr` | the suggestion's `min_lr` and `max_lr` bounds |
| `CyclicLR` | `step_size` | 2–8 epochs of steps (Smith), e.g. `4 * steps_per_epoch` |
| `OneCycleLR` | `max_lr` | the `max_lr` bound |
| `OneCycleLR` | `div_factor` | `max_lr / min_lr`, so the cycle starts at the `min_lr` bound |
| `decay_schedule` | `initial_lr` | the suggested learning rate |
"""

from __future__ import annotations

import inspect
import itertools
import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any

import keras
import numpy as np
from keras import ops
from keras.optimizers import schedules as keras_schedules
from keras.optimizers.schedules import LearningRateSchedule

__all__ = [
    "DECAY_KINDS",
    "CyclicLR",
    "LinearWarmup",
    "OneCycleLR",
    "ScheduleCallback",
    "decay_schedule",
    "schedule_values",
]

# Schedules compute in float32 whatever the model's dtype policy (the optimizer casts the result).
_DTYPE = "float32"


# --------------------------------------------------------------------------------------------
# Argument checks: each returns the cleaned value or raises ValueError naming problem and fix.


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a number, got {value!r}.")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}.")
    return value


def _positive(name: str, value: Any, fix: str = "") -> float:
    value = _number(name, value)
    if value <= 0:
        raise ValueError(f"{name} must be > 0, got {value}.{' ' + fix if fix else ''}")
    return value


def _learning_rate(name: str, value: Any, *, allow_zero: bool = False) -> float:
    value = _number(name, value)
    if value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(
            f"{name} must be {bound}, got {value}; learning rates are positive "
            "(take them from the range test's bounds)."
        )
    return value


def _step_count(name: str, value: Any, fix: str = "") -> int | float:
    """A positive duration in steps: kept an int when it is whole, so configs stay readable."""
    value = _positive(name, value, fix)
    return int(value) if value.is_integer() else value


def _positive_int(name: str, value: Any, fix: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}. {fix}")
    return int(value)


def _choice(name: str, value: Any, choices: Sequence[str]) -> str:
    if value not in choices:
        options = ", ".join(repr(choice) for choice in choices)
        raise ValueError(f"Unknown {name} {value!r}; use one of {options}.")
    return value


# --------------------------------------------------------------------------------------------
# Cyclical learning rate


@keras.saving.register_keras_serializable(package="lrfind")
class CyclicLR(LearningRateSchedule):
    """Cyclical learning rate (Smith, 2017): triangular waves between two bounds.

    The learning rate climbs linearly from `base_lr` to `max_lr` in `step_size` steps, falls back
    to `base_lr` in `step_size_down` steps (default: `step_size`) and starts again. `mode` scales
    the height of each wave, with the formulas of bckenstler/CLR and
    `torch.optim.lr_scheduler.CyclicLR` (`cycle` counts from 0 here, from 1 there):

    ```python
    cycle, position = divmod(step, step_size + step_size_down)
    height = min(position / step_size, (step_size + step_size_down - position) / step_size_down)
    lr = base_lr + (max_lr - base_lr) * height * scale  # scale: see `mode`
    ```

    `mode="triangular"`: `scale = 1`; `"triangular2"`: `scale = 1 / 2**cycle` (the wave halves
    every cycle); `"exp_range"`: `scale = gamma**step`. Smith sets `base_lr` and `max_lr` to the
    bounds of a range test and `step_size` to 2–8 epochs of steps.

    Example:

    ```python
    steps_per_epoch = len(x_train) // batch_size
    clr = CyclicLR(base_lr=1e-4, max_lr=1e-2, step_size=4 * steps_per_epoch, mode="triangular2")
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=clr), loss="mse")
    ```

    With `mode="exp_range"` choose `gamma` slightly below 1 (e.g. `0.99994`); the default
    `gamma=1.0` makes it the same as `"triangular"`, as in bckenstler/CLR. For a policy of your
    own, subclass and override `scale(cycle, step)` (and register the subclass serializable).

    Args:
        base_lr: Lower bound of the cycle, >= 0.
        max_lr: Upper bound of the cycle, > `base_lr`. `"exp_range"` and `"triangular2"` reach it
            only in the first cycle.
        step_size: Steps (optimizer iterations, i.e. batches) from `base_lr` up to `max_lr`.
        mode: `"triangular"`, `"triangular2"` or `"exp_range"`.
        gamma: Decay per step of the wave height in `"exp_range"` mode, in (0, 1].
        step_size_down: Steps from `max_lr` back down to `base_lr`; `None` means `step_size`.
        name: Name of the schedule's operations.
    """

    MODES = ("triangular", "triangular2", "exp_range")

    def __init__(
        self,
        base_lr: float,
        max_lr: float,
        step_size: float,
        mode: str = "triangular",
        gamma: float = 1.0,
        step_size_down: float | None = None,
        name: str = "CyclicLR",
    ) -> None:
        super().__init__()
        self.base_lr = _learning_rate("base_lr", base_lr, allow_zero=True)
        self.max_lr = _learning_rate("max_lr", max_lr)
        if self.max_lr <= self.base_lr:
            raise ValueError(
                f"max_lr ({self.max_lr}) must be greater than base_lr ({self.base_lr}); "
                "pass the range test's lower bound as base_lr and its upper bound as max_lr."
            )
        fix = "It counts optimizer steps (batches); Smith suggests 2-8 epochs of steps."
        self.step_size = _step_count("step_size", step_size, fix)
        self.step_size_down = (
            None if step_size_down is None else _step_count("step_size_down", step_size_down, fix)
        )
        self.mode = _choice("mode", mode, self.MODES)
        self.gamma = _positive("gamma", gamma)
        if self.gamma > 1:
            raise ValueError(
                f"gamma must be in (0, 1], got {self.gamma}; it shrinks the cycle's height "
                "each step in 'exp_range' mode (try 0.99994)."
            )
        if self.gamma != 1 and self.mode != "exp_range":
            raise ValueError(
                f"gamma={self.gamma} has no effect in mode={self.mode!r}; "
                "use mode='exp_range' or drop gamma."
            )
        self.name = name

    def scale(self, cycle: Any, step: Any) -> Any:
        """Height factor of the wave for the 0-based `cycle` containing `step` (float tensors)."""
        if self.mode == "triangular2":
            return ops.power(0.5, cycle)
        if self.mode == "exp_range":
            # gamma**step as exp(step * log(gamma)), log taken in float64: a float32 gamma
            # near 1 carries a relative error of ~5e-4 in log(gamma), which gamma**step
            # multiplies by the step (2e-4 relative drift at step 10,000).
            return ops.exp(step * math.log(self.gamma))
        return ops.ones_like(step)

    def __call__(self, step: Any) -> Any:
        with keras.name_scope(self.name):
            step = ops.cast(step, _DTYPE)
            up = self.step_size
            down = self.step_size if self.step_size_down is None else self.step_size_down
            cycle = ops.floor(step / (up + down))
            position = step - cycle * (up + down)
            height = ops.clip(ops.minimum(position / up, (up + down - position) / down), 0.0, 1.0)
            amplitude = self.max_lr - self.base_lr
            return self.base_lr + amplitude * height * self.scale(cycle, step)

    def get_config(self) -> dict[str, Any]:
        return {
            "base_lr": self.base_lr,
            "max_lr": self.max_lr,
            "step_size": self.step_size,
            "mode": self.mode,
            "gamma": self.gamma,
            "step_size_down": self.step_size_down,
            "name": self.name,
        }


# --------------------------------------------------------------------------------------------
# One-cycle


@keras.saving.register_keras_serializable(package="lrfind")
class OneCycleLR(LearningRateSchedule):
    """One-cycle policy (Smith & Topin, 2017), step for step as torch's `OneCycleLR`.

    The learning rate rises from `initial_lr = max_lr / div_factor` to `max_lr` over the first
    `pct_start` of `total_steps`, then anneals to `min_lr = initial_lr / final_div_factor` at step
    `total_steps - 1` and stays there. With torch's phase boundaries (`peak`, fractional in
    general) and `anneal` cosine or linear:

    ```python
    peak = pct_start * total_steps - 1
    rising, falling = step / peak, (step - peak) / (total_steps - 1 - peak)
    lr = anneal(initial_lr, max_lr, rising) if step <= peak else anneal(max_lr, min_lr, falling)
    ```

    `anneal(a, b, t)` is `b + (a - b) / 2 * (1 + cos(pi * t))` for `"cos"` and `a + (b - a) * t`
    for `"linear"`. With `three_phase=True` the learning rate falls back to `initial_lr` at step
    `2 * pct_start * total_steps - 2` (symmetric about the peak) and only the third phase anneals
    to `min_lr` (the paper's version; the default two phases are fastai's). Momentum is not
    cycled. Where torch raises past `total_steps`, this schedule stays at `min_lr`.

    Example:

    ```python
    total_steps = epochs * steps_per_epoch
    one_cycle = OneCycleLR(max_lr=1e-2, total_steps=total_steps, div_factor=1e-2 / 1e-4)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=one_cycle), loss="mse")
    model.fit(x, y, epochs=epochs)
    ```

    Args:
        max_lr: Peak learning rate (the range test's upper bound).
        total_steps: Length of the cycle in optimizer steps, `epochs * steps_per_epoch`.
        pct_start: Fraction of the cycle spent rising, in (0, 1).
        anneal_strategy: `"cos"` or `"linear"`.
        div_factor: `initial_lr = max_lr / div_factor`; `max_lr / min_lr` of a range test starts
            the cycle at its lower bound.
        final_div_factor: `min_lr = initial_lr / final_div_factor`.
        three_phase: Return to `initial_lr` before the final anneal (see above).
        name: Name of the schedule's operations.
    """

    ANNEAL_STRATEGIES = ("cos", "linear")

    def __init__(
        self,
        max_lr: float,
        total_steps: int,
        pct_start: float = 0.3,
        anneal_strategy: str = "cos",
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        three_phase: bool = False,
        name: str = "OneCycleLR",
    ) -> None:
        super().__init__()
        self.max_lr = _learning_rate("max_lr", max_lr)
        self.total_steps = _positive_int(
            "total_steps", total_steps, "Use epochs * steps_per_epoch."
        )
        self.pct_start = _number("pct_start", pct_start)
        if not 0 < self.pct_start < 1:
            raise ValueError(
                f"pct_start must be in (0, 1), got {self.pct_start}; it is the fraction of "
                "total_steps spent raising the learning rate (0.3 is usual, 0.25-0.45 common)."
            )
        self.anneal_strategy = _choice("anneal_strategy", anneal_strategy, self.ANNEAL_STRATEGIES)
        self.div_factor = _positive("div_factor", div_factor, "initial_lr = max_lr / div_factor.")
        self.final_div_factor = _positive(
            "final_div_factor", final_div_factor, "min_lr = initial_lr / final_div_factor."
        )
        self.three_phase = bool(three_phase)
        self.name = name
        self._check_phases()

    @property
    def initial_lr(self) -> float:
        """Learning rate at step 0, `max_lr / div_factor`."""
        return self.max_lr / self.div_factor

    @property
    def min_lr(self) -> float:
        """Learning rate at the last step, `initial_lr / final_div_factor`."""
        return self.initial_lr / self.final_div_factor

    def phases(self) -> list[tuple[float, float, float]]:
        """`(end_step, start_lr, end_lr)` per phase; each starts where the previous one ends."""
        peak = self.pct_start * self.total_steps - 1
        last = float(self.total_steps - 1)
        if self.three_phase:
            back = 2 * self.pct_start * self.total_steps - 2
            return [
                (peak, self.initial_lr, self.max_lr),
                (back, self.max_lr, self.initial_lr),
                (last, self.initial_lr, self.min_lr),
            ]
        return [(peak, self.initial_lr, self.max_lr), (last, self.max_lr, self.min_lr)]

    def _check_phases(self) -> None:
        ends = [end for end, _, _ in self.phases()]
        if ends[0] <= 0:
            raise ValueError(
                f"pct_start * total_steps = {self.pct_start * self.total_steps:g} leaves the "
                "rising phase no step (it must exceed 1); raise total_steps or pct_start."
            )
        if any(later <= earlier for earlier, later in itertools.pairwise(ends)):
            raise ValueError(
                f"three_phase with pct_start={self.pct_start} and total_steps={self.total_steps} "
                "leaves no step for the final anneal; use pct_start below 0.5."
            )

    def _anneal(self, start: float, end: float, fraction: Any) -> Any:
        if self.anneal_strategy == "cos":
            fraction = (1.0 - ops.cos(math.pi * fraction)) / 2.0
        # Weighted sum rather than start + (end - start) * fraction: exact at both ends in
        # float32, where 1.0 + (4e-6 - 1.0) loses the small end value.
        return start * (1.0 - fraction) + end * fraction

    def __call__(self, step: Any) -> Any:
        with keras.name_scope(self.name):
            step = ops.minimum(ops.cast(step, _DTYPE), float(self.total_steps - 1))
            phase_values = []
            start = ops.convert_to_tensor(0.0, _DTYPE)
            for end, start_lr, end_lr in self.phases():
                # float32 ends on both sides of the division, so fractions reach exactly 0 and 1
                end = ops.convert_to_tensor(end, _DTYPE)
                fraction = ops.clip((step - start) / (end - start), 0.0, 1.0)
                phase_values.append((end, self._anneal(start_lr, end_lr, fraction)))
                start = end
            learning_rate = phase_values[-1][1]
            for end, value in reversed(phase_values[:-1]):
                learning_rate = ops.where(step <= end, value, learning_rate)
            return learning_rate

    def get_config(self) -> dict[str, Any]:
        return {
            "max_lr": self.max_lr,
            "total_steps": self.total_steps,
            "pct_start": self.pct_start,
            "anneal_strategy": self.anneal_strategy,
            "div_factor": self.div_factor,
            "final_div_factor": self.final_div_factor,
            "three_phase": self.three_phase,
            "name": self.name,
        }


# --------------------------------------------------------------------------------------------
# Warm-up


@keras.saving.register_keras_serializable(package="lrfind")
class LinearWarmup(LearningRateSchedule):
    """Linear warm-up in front of any schedule (Keras built-ins included) or constant rate.

    For `warmup_steps` steps the learning rate rises linearly from `initial_lr` to the value the
    wrapped schedule starts at; then the wrapped schedule runs, delayed by `warmup_steps`:

    ```python
    if step < warmup_steps:
        return initial_lr + (schedule(0) - initial_lr) * step / warmup_steps
    return schedule(step - warmup_steps)
    ```

    Example:

    ```python
    cosine = keras.optimizers.schedules.CosineDecay(1e-2, decay_steps=10_000)
    lr = LinearWarmup(cosine, warmup_steps=500)        # 0 -> 1e-2 in 500 steps, then cosine
    model.compile(optimizer=keras.optimizers.AdamW(learning_rate=lr), loss="mse")
    ```

    The wrapped schedule is saved inside this one's config, so it must be serializable itself
    (every Keras and lrfind schedule is).

    Args:
        schedule: A `LearningRateSchedule`, or a float for a constant rate after the warm-up.
        warmup_steps: Length of the warm-up in optimizer steps.
        initial_lr: Learning rate at step 0, >= 0.
        name: Name of the schedule's operations.
    """

    def __init__(
        self,
        schedule: LearningRateSchedule | float,
        warmup_steps: int,
        initial_lr: float = 0.0,
        name: str = "LinearWarmup",
    ) -> None:
        super().__init__()
        if not isinstance(schedule, LearningRateSchedule):
            schedule = _learning_rate("schedule (a constant learning rate)", schedule)
        self.schedule = schedule
        self.warmup_steps = _positive_int(
            "warmup_steps", warmup_steps, "It counts optimizer steps (batches)."
        )
        self.initial_lr = _learning_rate("initial_lr", initial_lr, allow_zero=True)
        self.name = name

    def _after(self, step: Any) -> Any:
        if isinstance(self.schedule, LearningRateSchedule):
            return ops.cast(self.schedule(step), _DTYPE)
        return ops.full_like(step, self.schedule)

    def __call__(self, step: Any) -> Any:
        with keras.name_scope(self.name):
            step = ops.cast(step, _DTYPE)
            target = self._after(ops.zeros_like(step))
            fraction = ops.minimum(step / self.warmup_steps, 1.0)
            warming = self.initial_lr * (1.0 - fraction) + target * fraction
            after = self._after(ops.maximum(step - self.warmup_steps, 0.0))
            return ops.where(step < self.warmup_steps, warming, after)

    def get_config(self) -> dict[str, Any]:
        return {
            "schedule": keras.saving.serialize_keras_object(self.schedule),
            "warmup_steps": self.warmup_steps,
            "initial_lr": self.initial_lr,
            "name": self.name,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> LinearWarmup:
        config = dict(config)
        if isinstance(config["schedule"], dict):
            config["schedule"] = keras.saving.deserialize_keras_object(config["schedule"])
        return cls(**config)


# --------------------------------------------------------------------------------------------
# The decay vocabulary, as Keras built-ins configured from the usual formulas.
# Each builder takes (initial_lr, steps_per_unit, total_steps) and keyword-only parameters;
# `t` in the formulas counts epochs when steps_per_epoch is given (steps_per_unit), else steps.


def _needs_total_steps(kind: str, total_steps: int | None) -> int:
    if total_steps is None:
        raise ValueError(
            f"decay_schedule({kind!r}) ends after total_steps steps; "
            "pass total_steps=epochs * steps_per_epoch."
        )
    return _positive_int("total_steps", total_steps, "Use epochs * steps_per_epoch.")


def _end_fraction(initial_lr: float, end_lr: float) -> float:
    end_lr = _learning_rate("end_lr", end_lr, allow_zero=True)
    if end_lr >= initial_lr:
        raise ValueError(
            f"end_lr ({end_lr}) must be below initial_lr ({initial_lr}) for a decay; "
            "lower end_lr (0 is the default)."
        )
    return end_lr / initial_lr


def _step_decay(lr0, unit, total_steps, *, drop_every, factor=0.5):
    factor = _positive("factor", factor, "It multiplies the rate at every drop (0.5 halves it).")
    drop_steps = _step_count("drop_every", _positive("drop_every", drop_every) * unit)
    return keras_schedules.ExponentialDecay(
        lr0, drop_steps, factor, staircase=True, name="StepDecay"
    )


def _linear_decay(lr0, unit, total_steps, *, end_lr=0.0):
    return _polynomial_decay(lr0, unit, total_steps, power=1.0, end_lr=end_lr, kind="linear")


def _polynomial_decay(lr0, unit, total_steps, *, power, end_lr=0.0, kind="polynomial"):
    total_steps = _needs_total_steps(kind, total_steps)
    end_lr = lr0 * _end_fraction(lr0, end_lr)
    power = _positive("power", power, "power=1 is linear decay; larger powers drop faster.")
    return keras_schedules.PolynomialDecay(
        lr0, total_steps, end_lr, power=power, name=f"{kind.capitalize()}Decay"
    )


def _exponential_decay(lr0, unit, total_steps, *, k, staircase=False):
    k = _positive("k", k, "lr = initial_lr * exp(-k * t).")
    return keras_schedules.ExponentialDecay(
        lr0, _step_count("steps_per_epoch", unit), math.exp(-k), staircase=bool(staircase)
    )


def _time_based_decay(lr0, unit, total_steps, *, decay, staircase=False):
    decay = _positive("decay", decay, "lr = initial_lr / (1 + decay * t); Keras 2 used lr/epochs.")
    return keras_schedules.InverseTimeDecay(
        lr0,
        _step_count("steps_per_epoch", unit),
        decay,
        staircase=bool(staircase),
        name="TimeBasedDecay",
    )


def _cosine_decay(lr0, unit, total_steps, *, end_lr=0.0):
    total_steps = _needs_total_steps("cosine", total_steps)
    return keras_schedules.CosineDecay(lr0, total_steps, alpha=_end_fraction(lr0, end_lr))


def _cosine_restarts_decay(
    lr0, unit, total_steps, *, first_period, t_mul=2.0, m_mul=1.0, end_lr=0.0
):
    first_steps = _step_count("first_period", _positive("first_period", first_period) * unit)
    return keras_schedules.CosineDecayRestarts(
        lr0,
        first_steps,
        t_mul=_positive("t_mul", t_mul),
        m_mul=_positive("m_mul", m_mul),
        alpha=_end_fraction(lr0, end_lr),
        name="CosineDecayRestarts",
    )


def _piecewise_decay(lr0, unit, total_steps, *, boundaries, factors):
    boundaries, factors = list(boundaries), list(factors)
    if len(boundaries) != len(factors) or not boundaries:
        raise ValueError(
            f"piecewise needs one factor per boundary, got {len(boundaries)} boundaries and "
            f"{len(factors)} factors; factors[i] * initial_lr applies from boundaries[i] on."
        )
    # Keras switches to values[i + 1] when step > boundaries[i]; we switch at t >= boundary.
    starts = [math.ceil(_positive("boundaries[i]", b) * unit) for b in boundaries]
    if any(later <= earlier for earlier, later in itertools.pairwise(starts)):
        raise ValueError(f"boundaries must increase strictly, got {boundaries}; sort them.")
    values = [lr0] + [lr0 * _positive("factors[i]", factor) for factor in factors]
    return keras_schedules.PiecewiseConstantDecay(
        [start - 1 for start in starts], values, name="PiecewiseConstantDecay"
    )


_DECAY_BUILDERS: dict[str, Callable[..., LearningRateSchedule]] = {
    "step": _step_decay,
    "linear": _linear_decay,
    "polynomial": _polynomial_decay,
    "exponential": _exponential_decay,
    "time_based": _time_based_decay,
    "cosine": _cosine_decay,
    "cosine_restarts": _cosine_restarts_decay,
    "piecewise": _piecewise_decay,
}
_DECAY_ALIASES = {
    "poly": "polynomial",
    "exp": "exponential",
    "time": "time_based",
    "standard": "time_based",
    "inverse_time": "time_based",
    "sgdr": "cosine_restarts",
    "piecewise_constant": "piecewise",
}
DECAY_KINDS: tuple[str, ...] = tuple(_DECAY_BUILDERS)


def _public_parameters(builder: Callable[..., Any]) -> dict[str, inspect.Parameter]:
    parameters = inspect.signature(builder).parameters
    return {
        name: parameter
        for name, parameter in parameters.items()
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY and name != "kind"
    }


def decay_schedule(
    kind: str,
    initial_lr: float,
    *,
    total_steps: int | None = None,
    steps_per_epoch: int | None = None,
    **params: Any,
) -> LearningRateSchedule:
    """A Keras built-in decay schedule configured from the usual formula for `kind`.

    `t` is the epoch (`step / steps_per_epoch`, fractional within an epoch) when
    `steps_per_epoch` is given, else the optimizer step. `lr0` is `initial_lr`; durations in
    `params` (`drop_every`, `first_period`, `boundaries`) are in units of `t`, `total_steps` in
    steps. Everything returned is a Keras schedule, so it saves and loads without lrfind.

    | kind | learning rate at step `s` (`T = total_steps`) | returns (Keras) |
    | --- | --- | --- |
    | `"step"` | `lr0 * factor**floor(t / drop_every)` | `ExponentialDecay`, staircase |
    | `"linear"` | `end_lr + (lr0 - end_lr) * (1 - s / T)` | `PolynomialDecay(power=1)` |
    | `"polynomial"` | `end_lr + (lr0 - end_lr) * (1 - s / T)**power` | `PolynomialDecay` |
    | `"exponential"` | `lr0 * exp(-k * t)` | `ExponentialDecay` |
    | `"time_based"` | `lr0 / (1 + decay * t)` | `InverseTimeDecay` |
    | `"cosine"` | `end_lr + (lr0 - end_lr) * (1 + cos(pi * s / T)) / 2` | `CosineDecay` |
    | `"cosine_restarts"` | cosine, `lr0` to `end_lr`, with restarts (*) | `CosineDecayRestarts` |
    | `"piecewise"` | `lr0 * [1, *factors][sum(b <= t for b in boundaries)]` | `PiecewiseConstant` |

    (*) Period `i` (from 0) lasts `first_period * t_mul**i`; its height above `end_lr` is scaled
    by `m_mul**i`.

    Parameters per kind (defaults after `=`): step: `drop_every`, `factor=0.5`; linear:
    `end_lr=0`; polynomial: `power`, `end_lr=0`; exponential: `k`, `staircase=False`;
    time_based: `decay`, `staircase=False`; cosine: `end_lr=0`; cosine_restarts:
    `first_period`, `t_mul=2`, `m_mul=1`, `end_lr=0`; piecewise: `boundaries`, `factors`.
    Aliases: `"poly"`, `"exp"`, `"time"`, `"standard"` and `"inverse_time"` (time_based),
    `"sgdr"` (cosine_restarts), `"piecewise_constant"`.

    The finite kinds (linear, polynomial, cosine) hold their last value after `total_steps`.
    `staircase=True` keeps `t` whole (one value per epoch, like the per-epoch
    `LearningRateScheduler` functions of Keras-2 tutorials). Keras 2's built-in "standard"
    decay, `SGD(lr, decay=d)`, is `decay_schedule("time_based", lr, decay=d)` (per step).

    Example:

    ```python
    step_decay = decay_schedule("step", 1e-2, steps_per_epoch=390, drop_every=10, factor=0.5)
    cosine = decay_schedule("cosine", 1e-2, total_steps=40 * 390)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=cosine), loss="mse")
    ```

    Args:
        kind: One of the kinds above (or an alias).
        initial_lr: Learning rate at step 0 (the range test's suggested rate).
        total_steps: Length of the finite kinds in optimizer steps; ignored by the others.
        steps_per_epoch: Steps per epoch, to read `t` (and durations) in epochs; ignored by
            linear, polynomial and cosine, which count steps.
        **params: The kind's parameters (see the table).
    """
    canonical = _DECAY_ALIASES.get(kind, kind)
    if canonical not in _DECAY_BUILDERS:
        kinds = ", ".join(repr(name) for name in [*DECAY_KINDS, *_DECAY_ALIASES])
        raise ValueError(f"Unknown decay kind {kind!r}; use one of {kinds}.")
    builder = _DECAY_BUILDERS[canonical]
    accepted = _public_parameters(builder)
    unknown = sorted(set(params) - set(accepted))
    missing = [
        name
        for name, parameter in accepted.items()
        if parameter.default is inspect.Parameter.empty and name not in params
    ]
    if unknown or missing:
        problem = f"does not take {unknown}" if unknown else f"needs {missing}"
        raise ValueError(
            f"decay_schedule({kind!r}) {problem}; its parameters are {list(accepted)} "
            "(see the table in decay_schedule's docstring)."
        )
    initial_lr = _learning_rate("initial_lr", initial_lr)
    unit = 1.0 if steps_per_epoch is None else _positive("steps_per_epoch", steps_per_epoch)
    return builder(initial_lr, unit, total_steps, **params)


# --------------------------------------------------------------------------------------------
# Driving a float learning rate from a schedule, and evaluating schedules.


class ScheduleCallback(keras.callbacks.Callback):
    """Set a compiled model's learning rate from a schedule before every training batch.

    For optimizers built with a float learning rate (the model is already compiled, or the
    schedule should be swapped without recompiling). Before each batch it does

    ```python
    step = int(model.optimizer.iterations)      # optimizer steps so far, across epochs and fits
    model.optimizer.learning_rate = float(schedule(step))
    ```

    so the optimizer applies exactly what the same schedule would give passed as
    `learning_rate`. At the end of each epoch the current rate is logged as `"learning_rate"`.
    Passing the schedule to the optimizer is faster (no host round trip per batch); with
    `steps_per_execution=N` this callback can only change the rate every N steps.

    Example:

    ```python
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    clr = CyclicLR(base_lr=1e-5, max_lr=1e-3, step_size=8, mode="exp_range", gamma=0.999)
    model.fit(x, y, epochs=5, callbacks=[ScheduleCallback(clr)])
    ```

    Args:
        schedule: A `LearningRateSchedule` or any callable from step (int) to learning rate.
    """

    def __init__(self, schedule: LearningRateSchedule | Callable[[int], Any]) -> None:
        super().__init__()
        if not callable(schedule):
            raise ValueError(
                f"schedule must be a LearningRateSchedule or a callable step -> lr, got "
                f"{schedule!r}; for a constant rate compile the optimizer with it instead."
            )
        self.schedule = schedule

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        if not isinstance(self.model.optimizer.learning_rate, keras.Variable):
            raise ValueError(
                "ScheduleCallback needs an optimizer compiled with a float learning_rate, but "
                "this one has a schedule. Compile with a float, or pass your schedule as the "
                "optimizer's learning_rate and drop the callback."
            )

    def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        # Always go through self.model: on JAX a cached optimizer reference goes stale in fit.
        optimizer = self.model.optimizer
        step = int(ops.convert_to_numpy(optimizer.iterations))
        optimizer.learning_rate = float(ops.convert_to_numpy(self.schedule(step)))

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if logs is not None:
            logs["learning_rate"] = float(ops.convert_to_numpy(self.model.optimizer.learning_rate))


def schedule_values(
    schedule: LearningRateSchedule | Callable[[int], Any], steps: int | Sequence[int]
) -> np.ndarray:
    """The learning rates a schedule gives at `steps` (an int n means steps 0..n-1), as float64.

    Example:

    >>> schedule_values(CyclicLR(0.1, 0.5, step_size=2), 5).round(6).tolist()
    [0.1, 0.3, 0.5, 0.3, 0.1]
    """
    steps = np.arange(steps) if isinstance(steps, numbers.Integral) else np.asarray(steps)
    try:  # one vectorised call; schedules built on ops.cond or plain Python need one per step
        values = np.asarray(ops.convert_to_numpy(schedule(steps)), dtype=np.float64)
        if values.shape == steps.shape:
            return values
    except Exception:  # any failure means "not vectorisable": evaluate step by step
        pass
    return np.array([float(ops.convert_to_numpy(schedule(step.item()))) for step in steps.ravel()])
