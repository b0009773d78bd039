"""lrfind.schedules and plot_schedule: exact values, Keras built-ins, saving, use in fit."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from keras import ops
from keras.optimizers import schedules as keras_schedules

from lrfind.plotting import plot_schedule
from lrfind.schedules import (
    DECAY_KINDS,
    CyclicLR,
    LinearWarmup,
    OneCycleLR,
    ScheduleCallback,
    decay_schedule,
    schedule_values,
)


def assert_lrs(schedule, steps, expected):
    np.testing.assert_allclose(schedule_values(schedule, steps), expected, rtol=1e-5, atol=1e-10)


# ---------------------------------------------------------------------------------------------
# Reference formulas, written out independently of the implementation.


def bckenstler_clr(step, base_lr, max_lr, step_size, mode, gamma=1.0):
    """bckenstler/CLR's `clr()` (symmetric cycles, 1-based cycle)."""
    cycle = math.floor(1 + step / (2 * step_size))
    x = abs(step / step_size - 2 * cycle + 1)
    scale = {"triangular": 1.0, "triangular2": 1 / 2.0 ** (cycle - 1), "exp_range": gamma**step}
    return base_lr + (max_lr - base_lr) * max(0.0, 1 - x) * scale[mode]


def torch_cyclic_lr(step, base_lr, max_lr, step_size_up, step_size_down, mode, gamma=1.0):
    """torch.optim.lr_scheduler.CyclicLR.get_lr at `last_epoch == step`."""
    total = step_size_up + step_size_down
    ratio = step_size_up / total
    cycle = math.floor(1 + step / total)
    x = 1.0 + step / total - cycle
    factor = x / ratio if x <= ratio else (x - 1) / (ratio - 1)
    scale = {"triangular": 1.0, "triangular2": 1 / 2.0 ** (cycle - 1), "exp_range": gamma**step}
    return base_lr + (max_lr - base_lr) * factor * scale[mode]


def torch_one_cycle(step, max_lr, total_steps, pct_start, anneal, div_factor, final_div, three):
    """torch.optim.lr_scheduler.OneCycleLR.get_lr at `last_epoch == step`."""
    initial = max_lr / div_factor
    minimum = initial / final_div
    peak = pct_start * total_steps - 1
    if three:
        phases = [(peak, initial, max_lr), (2 * pct_start * total_steps - 2, max_lr, initial)]
        phases.append((total_steps - 1, initial, minimum))
    else:
        phases = [(peak, initial, max_lr), (total_steps - 1, max_lr, minimum)]
    start = 0.0
    for index, (end, start_lr, end_lr) in enumerate(phases):
        if step <= end or index == len(phases) - 1:
            pct = (step - start) / (end - start)
            if anneal == "cos":
                return end_lr + (start_lr - end_lr) / 2.0 * (math.cos(math.pi * pct) + 1)
            return (end_lr - start_lr) * pct + start_lr
        start = end
    raise AssertionError("unreachable")


# ---------------------------------------------------------------------------------------------
# CyclicLR


def test_triangular_starts_peaks_and_slopes():
    clr = CyclicLR(base_lr=1e-3, max_lr=6e-3, step_size=4)
    # cycle starts at 0, 8, 16; peaks at 4, 12; mid-slopes halfway (amplitude 5e-3).
    assert_lrs(
        clr,
        [0, 2, 4, 6, 8, 10, 12, 16],
        [1e-3, 3.5e-3, 6e-3, 3.5e-3, 1e-3, 3.5e-3, 6e-3, 1e-3],
    )


def test_triangular2_halves_the_wave_every_cycle():
    clr = CyclicLR(base_lr=1e-3, max_lr=6e-3, step_size=4, mode="triangular2")
    # peaks at 4, 12, 20: 1e-3 + 5e-3, + 5e-3 / 2, + 5e-3 / 4; step 10 is half of the 2nd peak.
    assert_lrs(
        clr,
        [0, 4, 8, 10, 12, 16, 20, 24],
        [1e-3, 6e-3, 1e-3, 2.25e-3, 3.5e-3, 1e-3, 2.25e-3, 1e-3],
    )


def test_exp_range_decays_the_height_by_gamma_per_step():
    clr = CyclicLR(base_lr=1e-3, max_lr=6e-3, step_size=4, mode="exp_range", gamma=0.9)
    assert_lrs(
        clr,
        [0, 2, 4, 8, 12],
        [
            1e-3,
            3.025e-3,  # 1e-3 + 5e-3 * 0.5 * 0.9**2
            4.2805e-3,  # 1e-3 + 5e-3 * 0.9**4
            1e-3,
            2.412147682405e-3,  # 1e-3 + 5e-3 * 0.9**12 (0.282429536481)
        ],
    )


def test_exp_range_holds_bckenstlers_formula_over_long_runs():
    # gamma**step in float32 drifted 2e-4 relative by step 10,000 (gamma's own rounding,
    # multiplied by the step); exp(step * log(gamma)) with log(gamma) in float64 does not.
    gamma, step_size = 0.99994, 2000
    clr = CyclicLR(base_lr=1e-4, max_lr=1e-2, step_size=step_size, mode="exp_range",
                   gamma=gamma)
    for step in (1_000, 10_000, 30_000, 61_000):
        expected = bckenstler_clr(step, 1e-4, 1e-2, step_size, "exp_range", gamma)
        assert float(clr(step)) == pytest.approx(expected, rel=2e-6), step


def test_asymmetric_cycle_rises_in_step_size_and_falls_in_step_size_down():
    clr = CyclicLR(base_lr=0.0, max_lr=1.0, step_size=2, step_size_down=6)
    assert_lrs(clr, [0, 1, 2, 3, 5, 8, 9, 10], [0, 0.5, 1, 5 / 6, 0.5, 0, 0.5, 1])


def test_seed_one_liner_works_and_default_gamma_is_triangular():
    clr = CyclicLR(base_lr=0.00001, max_lr=0.001, step_size=8, mode="exp_range")
    assert_lrs(clr, [0, 4, 8, 16], [1e-5, 5.05e-4, 1e-3, 1e-5])
    triangular = CyclicLR(base_lr=0.00001, max_lr=0.001, step_size=8)
    np.testing.assert_allclose(schedule_values(clr, 50), schedule_values(triangular, 50))


@settings(max_examples=30, deadline=None)
@given(
    mode=st.sampled_from(CyclicLR.MODES),
    step_size=st.integers(1, 40),
    step_size_down=st.one_of(st.none(), st.integers(1, 40)),
    gamma=st.floats(0.95, 1.0),
)
def test_cyclic_lr_matches_torch_and_bckenstler(mode, step_size, step_size_down, gamma):
    gamma = gamma if mode == "exp_range" else 1.0
    clr = CyclicLR(1e-4, 1e-2, step_size, mode=mode, gamma=gamma, step_size_down=step_size_down)
    steps = np.arange(200)
    down = step_size if step_size_down is None else step_size_down
    torch = [torch_cyclic_lr(s, 1e-4, 1e-2, step_size, down, mode, gamma) for s in steps]
    actual = schedule_values(clr, steps)
    np.testing.assert_allclose(actual, torch, rtol=1e-4, atol=1e-9)
    if step_size_down is None:
        bckenstler = [bckenstler_clr(s, 1e-4, 1e-2, step_size, mode, gamma) for s in steps]
        np.testing.assert_allclose(actual, bckenstler, rtol=1e-4, atol=1e-9)
    assert np.all((actual >= 1e-4 * (1 - 1e-6)) & (actual <= 1e-2 * (1 + 1e-6)))


# ---------------------------------------------------------------------------------------------
# OneCycleLR: max_lr 1, initial 1 / 25 = 0.04, min 0.04 / 1e4 = 4e-6; total 80 steps, peak at
# step 0.25 * 80 - 1 = 19, last step 79.


def test_one_cycle_cos_phase_boundaries():
    one_cycle = OneCycleLR(max_lr=1.0, total_steps=80, pct_start=0.25)
    assert one_cycle.initial_lr == 0.04 and one_cycle.min_lr == pytest.approx(4e-6)
    rising_5 = 1.0 + (0.04 - 1.0) / 2 * (1 + math.cos(math.pi * 5 / 19))
    falling_20 = 4e-6 + (1.0 - 4e-6) / 2 * (1 + math.cos(math.pi * 1 / 60))
    assert_lrs(
        one_cycle,
        [0, 5, 19, 20, 49, 79, 80, 500],
        [0.04, rising_5, 1.0, falling_20, 0.500002, 4e-6, 4e-6, 4e-6],
    )


def test_one_cycle_linear_anneal():
    one_cycle = OneCycleLR(max_lr=1.0, total_steps=80, pct_start=0.25, anneal_strategy="linear")
    assert_lrs(
        one_cycle,
        [0, 5, 19, 34, 49, 79],
        [0.04, 0.04 + 0.96 * 5 / 19, 1.0, 0.750001, 0.500002, 4e-6],
    )


def test_one_cycle_three_phase_returns_to_initial_lr_before_annealing():
    # phases end at 0.25 * 80 - 1 = 19 (max), 2 * 0.25 * 80 - 2 = 38 (initial), 79 (min).
    one_cycle = OneCycleLR(max_lr=1.0, total_steps=80, pct_start=0.25, three_phase=True)
    falling_30 = 0.04 + (1.0 - 0.04) / 2 * (1 + math.cos(math.pi * 11 / 19))
    final_60 = 4e-6 + (0.04 - 4e-6) / 2 * (1 + math.cos(math.pi * 22 / 41))
    assert_lrs(
        one_cycle,
        [0, 19, 30, 38, 60, 79, 90],
        [0.04, 1.0, falling_30, 0.04, final_60, 4e-6, 4e-6],
    )


@settings(max_examples=30, deadline=None)
@given(
    total_steps=st.integers(20, 400),
    pct_start=st.floats(0.1, 0.45),
    anneal=st.sampled_from(OneCycleLR.ANNEAL_STRATEGIES),
    div_factor=st.floats(2.0, 100.0),
    three_phase=st.booleans(),
)
def test_one_cycle_matches_torch(total_steps, pct_start, anneal, div_factor, three_phase):
    one_cycle = OneCycleLR(
        0.1, total_steps, pct_start, anneal, div_factor, 1e4, three_phase=three_phase
    )
    steps = np.arange(total_steps)
    torch = [
        torch_one_cycle(s, 0.1, total_steps, pct_start, anneal, div_factor, 1e4, three_phase)
        for s in steps
    ]
    np.testing.assert_allclose(schedule_values(one_cycle, steps), torch, rtol=1e-4, atol=1e-8)


# ---------------------------------------------------------------------------------------------
# LinearWarmup


def test_warmup_to_a_constant():
    assert_lrs(LinearWarmup(0.1, warmup_steps=10), [0, 5, 10, 50], [0.0, 0.05, 0.1, 0.1])
    assert_lrs(LinearWarmup(0.1, 10, initial_lr=0.01), [0, 5, 10], [0.01, 0.055, 0.1])


def test_warmup_delays_a_keras_schedule():
    warm_cosine = LinearWarmup(keras_schedules.CosineDecay(0.1, decay_steps=100), warmup_steps=10)
    # warm-up to cosine(0) = 0.1, then cosine(step - 10): halfway at 60, 0 from 110 on.
    assert_lrs(warm_cosine, [0, 5, 10, 60, 110, 500], [0.0, 0.05, 0.1, 0.05, 0.0, 0.0])


def test_warmup_in_front_of_a_cycle():
    warm_cycle = LinearWarmup(CyclicLR(0.1, 0.5, step_size=4), warmup_steps=10, initial_lr=0.02)
    # up to the cycle's start (base_lr 0.1), then the cycle: peak 4 steps later.
    assert_lrs(warm_cycle, [0, 5, 10, 12, 14, 18], [0.02, 0.06, 0.1, 0.3, 0.5, 0.1])


# ---------------------------------------------------------------------------------------------
# decay_schedule: the Keras object it returns, and the hand formula it must follow.

LR0, SPE = 0.1, 10  # initial learning rate, steps per epoch


def sgdr(step, first_steps=10, t_mul=2.0):
    start, length = 0, first_steps
    while step >= start + length:
        start, length = start + length, length * t_mul
    return LR0 * (1 + math.cos(math.pi * (step - start) / length)) / 2


DECAY_CASES = {
    "step": (
        dict(steps_per_epoch=SPE, drop_every=3, factor=0.5),
        lambda s: LR0 * 0.5 ** np.floor((s // SPE) / 3),
        keras_schedules.ExponentialDecay(LR0, 30, 0.5, staircase=True, name="StepDecay"),
    ),
    "linear": (
        dict(total_steps=100),
        lambda s: LR0 * (1 - np.minimum(s, 100) / 100),
        keras_schedules.PolynomialDecay(LR0, 100, 0.0, power=1.0, name="LinearDecay"),
    ),
    "polynomial": (
        dict(total_steps=100, power=2.0, end_lr=0.001),
        lambda s: 0.001 + (LR0 - 0.001) * (1 - np.minimum(s, 100) / 100) ** 2,
        keras_schedules.PolynomialDecay(LR0, 100, 0.001, power=2.0, name="PolynomialDecay"),
    ),
    "exponential": (
        dict(steps_per_epoch=SPE, k=0.1),
        lambda s: LR0 * np.exp(-0.1 * s / SPE),
        keras_schedules.ExponentialDecay(LR0, SPE, math.exp(-0.1)),
    ),
    "exponential-per-epoch": (
        dict(steps_per_epoch=SPE, k=0.1, staircase=True),
        lambda s: LR0 * np.exp(-0.1 * (s // SPE)),
        keras_schedules.ExponentialDecay(LR0, SPE, math.exp(-0.1), staircase=True),
    ),
    "time_based": (
        dict(decay=0.01),
        lambda s: LR0 / (1 + 0.01 * s),
        keras_schedules.InverseTimeDecay(LR0, 1, 0.01, name="TimeBasedDecay"),
    ),
    "cosine": (
        dict(total_steps=100, end_lr=0.001),
        lambda s: 0.001 + (LR0 - 0.001) * (1 + np.cos(np.pi * np.minimum(s, 100) / 100)) / 2,
        keras_schedules.CosineDecay(LR0, 100, alpha=0.01),
    ),
    "cosine_restarts": (
        dict(steps_per_epoch=SPE, first_period=1),
        lambda s: np.array([sgdr(step) for step in s]),
        keras_schedules.CosineDecayRestarts(LR0, 10, name="CosineDecayRestarts"),
    ),
    "piecewise": (
        dict(steps_per_epoch=SPE, boundaries=[2, 5], factors=[0.1, 0.01]),
        lambda s: LR0 * np.select([s < 20, s < 50], [1.0, 0.1], 0.01),
        keras_schedules.PiecewiseConstantDecay(
            [19, 49], [LR0, LR0 * 0.1, LR0 * 0.01], name="PiecewiseConstantDecay"
        ),
    ),
}


@pytest.mark.parametrize("case", DECAY_CASES)
def test_decay_schedule_is_the_keras_builtin_following_the_formula(case):
    params, formula, keras_equivalent = DECAY_CASES[case]
    schedule = decay_schedule(case.split("-")[0], LR0, **params)
    assert type(schedule) is type(keras_equivalent)
    assert schedule.get_config() == keras_equivalent.get_config()
    steps = np.arange(160)
    # atol: Keras computes in float32 (1e-7 of LR0), e.g. the restart index through a log
    np.testing.assert_allclose(
        schedule_values(schedule, steps), formula(steps), rtol=1e-5, atol=1e-8
    )


def test_every_decay_kind_is_covered():
    assert {case.split("-")[0] for case in DECAY_CASES} == set(DECAY_KINDS)


@pytest.mark.parametrize(
    ("alias", "kind", "params"),
    [
        ("poly", "polynomial", dict(total_steps=50, power=3.0)),
        ("exp", "exponential", dict(k=0.01)),
        ("time", "time_based", dict(decay=0.01)),
        ("standard", "time_based", dict(decay=0.01)),
        ("inverse_time", "time_based", dict(decay=0.01)),
        ("sgdr", "cosine_restarts", dict(first_period=20)),
        ("piecewise_constant", "piecewise", dict(boundaries=[10], factors=[0.5])),
    ],
)
def test_decay_aliases(alias, kind, params):
    assert decay_schedule(alias, LR0, **params).get_config() == (
        decay_schedule(kind, LR0, **params).get_config()
    )


def test_keras2_standard_decay_is_per_step_time_based_decay():
    # Keras 2: lr = lr0 / (1 + decay * iterations), iterations counted in batches.
    schedule = decay_schedule("standard", 0.01, decay=0.01 / 40)
    assert_lrs(schedule, [0, 400, 4000], [0.01, 0.01 / 1.1, 0.01 / 2.0])


# ---------------------------------------------------------------------------------------------
# Saving and loading a model compiled with each lrfind schedule.

SAVED_SCHEDULES = {
    "cyclic-exp_range-asymmetric": CyclicLR(
        1e-4, 1e-2, 4, mode="exp_range", gamma=0.99, step_size_down=6
    ),
    "cyclic-triangular2": CyclicLR(1e-4, 1e-2, 2.5, mode="triangular2"),
    "one_cycle-three_phase-linear": OneCycleLR(
        1e-2, 60, pct_start=0.25, anneal_strategy="linear", three_phase=True
    ),
    "one_cycle": OneCycleLR(1e-2, 60),
    "warmup-constant": LinearWarmup(1e-2, 5),
    "warmup-keras_cosine": LinearWarmup(keras_schedules.CosineDecay(1e-2, 50), 5, 1e-4),
    "warmup-cyclic": LinearWarmup(CyclicLR(1e-3, 1e-2, 3, mode="triangular2"), 5),
}


@pytest.fixture(scope="module")
def tiny_model():
    return keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])


def test_a_fresh_process_loads_the_model_after_importing_a_schedule(tiny_model, tmp_path):
    import subprocess
    import sys

    tiny_model.compile(optimizer=keras.optimizers.SGD(CyclicLR(1e-3, 1e-2, 4)), loss="mse")
    tiny_model.save(tmp_path / "m.keras")
    load = (
        "import sys, keras\n"
        "from lrfind import CyclicLR  # registers lrfind's schedules, as the README says\n"
        "model = keras.saving.load_model(sys.argv[1])\n"
        "print(type(model.optimizer._learning_rate).__name__)\n"
    )
    done = subprocess.run([sys.executable, "-c", load, str(tmp_path / "m.keras")],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "CyclicLR"


@pytest.mark.parametrize("case", SAVED_SCHEDULES)
def test_model_save_and_load_keep_the_schedule(case, tiny_model, tmp_path):
    schedule = SAVED_SCHEDULES[case]
    tiny_model.compile(optimizer=keras.optimizers.SGD(learning_rate=schedule), loss="mse")
    tiny_model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")

    saved_config = loaded.optimizer.get_config()["learning_rate"]
    assert saved_config["registered_name"] == f"lrfind>{type(schedule).__name__}"
    assert saved_config == tiny_model.optimizer.get_config()["learning_rate"]
    steps = [0, 1, 3, 5, 7, 20, 44, 59, 100]
    loaded_lrs = []
    for step in steps:
        loaded.optimizer.iterations.assign(step)
        loaded_lrs.append(float(ops.convert_to_numpy(loaded.optimizer.learning_rate)))
    np.testing.assert_allclose(loaded_lrs, schedule_values(schedule, steps), rtol=1e-6)


def test_get_config_round_trips_through_keras_serialization():
    for schedule in SAVED_SCHEDULES.values():
        restored = keras.saving.deserialize_keras_object(
            keras.saving.serialize_keras_object(schedule)
        )
        assert type(restored) is type(schedule)
        assert restored.get_config() == schedule.get_config()


# ---------------------------------------------------------------------------------------------
# In model.fit: a one-weight model whose loss has gradient exactly 1, so that with plain SGD
# each step moves the weight by exactly the learning rate the optimizer applied.


class WeightTrace(keras.callbacks.Callback):
    """The model's single weight before training and after every batch, across fits."""

    def __init__(self):
        super().__init__()
        self.kernel_values = []

    def on_train_begin(self, logs=None):
        if not self.kernel_values:
            self.kernel_values.append(self._kernel())

    def on_train_batch_end(self, batch, logs=None):
        self.kernel_values.append(self._kernel())

    def _kernel(self):
        return float(ops.convert_to_numpy(self.model.layers[0].kernel)[0, 0])

    def applied_learning_rates(self):
        return -np.diff(self.kernel_values)


@pytest.fixture(scope="module")
def unit_gradient_model():
    # float64 weights, so that differences of weights resolve small learning rates exactly
    dense = keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros", dtype="float64")
    return keras.Sequential([keras.Input((1,), dtype="float64"), dense])


def compile_from_zero(model, optimizer):
    """Loss = mean prediction = the weight (inputs are 1): d loss / d weight = 1 at every step."""
    model.layers[0].kernel.assign(np.zeros((1, 1)))
    model.compile(optimizer=optimizer, loss=lambda y_true, y_pred: ops.mean(y_pred))


def fit(model, epochs, callbacks):
    """5 batches per epoch."""
    x, y = np.ones((10, 1)), np.zeros((10, 1))
    return model.fit(
        x, y, batch_size=2, epochs=epochs, shuffle=False, verbose=0, callbacks=callbacks
    )


IN_FIT_SCHEDULES = {
    "cyclic": CyclicLR(0.01, 0.1, step_size=3, mode="triangular2"),
    "one_cycle": OneCycleLR(0.1, total_steps=20, pct_start=0.3),
    "warmup-cyclic": LinearWarmup(CyclicLR(0.01, 0.1, step_size=3), warmup_steps=4),
}


@pytest.mark.parametrize("case", IN_FIT_SCHEDULES)
def test_optimizer_applies_the_schedule_inside_fit(case, unit_gradient_model):
    schedule = IN_FIT_SCHEDULES[case]
    compile_from_zero(unit_gradient_model, keras.optimizers.SGD(learning_rate=schedule))
    trace = WeightTrace()
    fit(unit_gradient_model, epochs=4, callbacks=[trace])
    expected = schedule_values(schedule, 20)  # 4 epochs x 5 batches, counted across epochs
    # atol 1e-7 of the peak rate: the traced graph rounds float32 a little differently
    np.testing.assert_allclose(trace.applied_learning_rates(), expected, rtol=1e-6, atol=1e-8)


def test_schedule_callback_drives_a_float_learning_rate_across_fits(unit_gradient_model):
    schedule = CyclicLR(0.01, 0.1, step_size=3, mode="exp_range", gamma=0.95)
    compile_from_zero(unit_gradient_model, keras.optimizers.SGD(learning_rate=0.5))
    callbacks = [ScheduleCallback(schedule), WeightTrace()]
    history = fit(unit_gradient_model, epochs=2, callbacks=callbacks)
    fit(unit_gradient_model, epochs=1, callbacks=callbacks)  # continues from step 10, not 0
    expected = schedule_values(schedule, 15)
    applied = callbacks[1].applied_learning_rates()
    np.testing.assert_allclose(applied, expected, rtol=1e-6, atol=1e-12)
    # the rate logged at each epoch end is the one of the epoch's last batch (steps 4 and 9)
    np.testing.assert_allclose(history.history["learning_rate"], expected[[4, 9]], rtol=1e-6)


def test_schedule_callback_takes_a_keras_decay(unit_gradient_model):
    step_decay = decay_schedule("step", 0.1, steps_per_epoch=5, drop_every=1, factor=0.5)
    compile_from_zero(unit_gradient_model, keras.optimizers.SGD(learning_rate=0.5))
    trace = WeightTrace()
    fit(unit_gradient_model, epochs=2, callbacks=[ScheduleCallback(step_decay), trace])
    np.testing.assert_allclose(trace.applied_learning_rates(), [0.1] * 5 + [0.05] * 5, rtol=1e-6)


def test_schedule_callback_rejects_an_optimizer_with_a_schedule(unit_gradient_model):
    schedule = CyclicLR(0.01, 0.1, step_size=3)
    unit_gradient_model.compile(optimizer=keras.optimizers.SGD(schedule), loss="mse")
    callback = ScheduleCallback(schedule)
    callback.set_model(unit_gradient_model)
    with pytest.raises(ValueError, match="compiled with a float learning_rate"):
        callback.on_train_begin()


# ---------------------------------------------------------------------------------------------
# plot_schedule


def test_plot_schedule_draws_lr_against_step():
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    figure = plot_schedule(CyclicLR(0.1, 0.5, step_size=2), 9)
    assert isinstance(figure, Figure)
    (line,) = figure.axes[0].lines
    np.testing.assert_array_equal(line.get_xdata(), np.arange(9))
    np.testing.assert_allclose(line.get_ydata(), [0.1, 0.3, 0.5, 0.3, 0.1, 0.3, 0.5, 0.3, 0.1])
    assert figure.axes[0].get_xlabel() == "step"
    plt.close(figure)


def test_plot_schedule_labels_lines_sharing_one_axes():
    import matplotlib.pyplot as plt

    figure, ax = plt.subplots()
    ax.set_title("mine")
    assert plot_schedule(CyclicLR(0.1, 0.5, step_size=2), 9, ax=ax, label="triangular") is figure
    plot_schedule(CyclicLR(0.1, 0.5, step_size=2, mode="triangular2"), 9, ax=ax,
                  label="triangular2")
    assert [line.get_label() for line in ax.get_lines()] == ["triangular", "triangular2"]
    assert ax.get_title() == "mine"  # a given axes keeps its title
    new = plot_schedule(CyclicLR(0.1, 0.5, step_size=2), 9, label="clr")
    assert new.axes[0].get_title() == "Learning-rate schedule: clr"
    plt.close("all")


def test_plot_schedule_into_given_axes_with_unvectorisable_schedules():
    import matplotlib.pyplot as plt

    figure, ax = plt.subplots()
    # Keras's warm-up CosineDecay uses ops.cond (one step per call), a seed-style function too.
    keras_warmup = keras_schedules.CosineDecay(0.0, 100, warmup_target=0.1, warmup_steps=10)
    assert plot_schedule(keras_warmup, [0, 5, 10, 60], ax=ax) is figure

    def step_decay(epoch):
        return 0.1 * 0.5 ** math.floor(epoch / 10)

    plot_schedule(step_decay, 25, ax=ax)
    first, second = ax.lines
    np.testing.assert_allclose(first.get_ydata(), [0.0, 0.05, 0.1, 0.05], atol=1e-7)
    np.testing.assert_allclose(second.get_ydata(), [0.1] * 10 + [0.05] * 10 + [0.025] * 5)
    plt.close(figure)


# ---------------------------------------------------------------------------------------------
# Bad arguments


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: CyclicLR(1e-2, 1e-3, 4), "greater than base_lr"),
        (lambda: CyclicLR(1e-3, 1e-3, 4), "greater than base_lr"),
        (lambda: CyclicLR(-1e-4, 1e-2, 4), "base_lr must be >= 0"),
        (lambda: CyclicLR(1e-4, 1e-2, 0), "step_size must be > 0.*2-8 epochs"),
        (lambda: CyclicLR(1e-4, 1e-2, -4), "step_size must be > 0"),
        (lambda: CyclicLR(1e-4, 1e-2, 4, step_size_down=0), "step_size_down must be > 0"),
        (lambda: CyclicLR(1e-4, 1e-2, 4, mode="triangle"), "Unknown mode 'triangle'; use one"),
        (lambda: CyclicLR(1e-4, 1e-2, 4, mode="exp_range", gamma=1.5), "gamma must be in"),
        (lambda: CyclicLR(1e-4, 1e-2, 4, gamma=0.9), "no effect in mode='triangular'"),
        (lambda: CyclicLR(1e-4, float("nan"), 4), "max_lr must be finite"),
        (lambda: OneCycleLR(0.0, 100), "max_lr must be > 0"),
        (lambda: OneCycleLR(1e-2, 0), "total_steps must be a positive integer"),
        (lambda: OneCycleLR(1e-2, 100.5), "total_steps must be a positive integer"),
        (lambda: OneCycleLR(1e-2, 100, pct_start=0.0), r"pct_start must be in \(0, 1\)"),
        (lambda: OneCycleLR(1e-2, 100, pct_start=1.0), r"pct_start must be in \(0, 1\)"),
        (lambda: OneCycleLR(1e-2, 100, anneal_strategy="cosine"), "Unknown anneal_strategy"),
        (lambda: OneCycleLR(1e-2, 100, div_factor=0), "div_factor must be > 0"),
        (lambda: OneCycleLR(1e-2, 3), "raise total_steps or pct_start"),
        (lambda: OneCycleLR(1e-2, 100, 0.6, three_phase=True), "use pct_start below 0.5"),
        (lambda: LinearWarmup(-0.1, 10), "must be > 0"),
        (lambda: LinearWarmup(0.1, 0), "warmup_steps must be a positive integer"),
        (lambda: LinearWarmup(0.1, 10, initial_lr=-1e-3), "initial_lr must be >= 0"),
        (lambda: decay_schedule("stepp", 0.1), "Unknown decay kind 'stepp'"),
        (lambda: decay_schedule("step", 0.1), r"needs \['drop_every'\]"),
        (lambda: decay_schedule("linear", 0.1, total_steps=9, power=2), r"not take \['power'\]"),
        (lambda: decay_schedule("cosine", 0.1), "pass total_steps="),
        (lambda: decay_schedule("exp", -0.1, k=0.1), "initial_lr must be > 0"),
        (lambda: decay_schedule("exp", 0.1, k=0.1, steps_per_epoch=0), "steps_per_epoch must"),
        (lambda: decay_schedule("cosine", 0.1, total_steps=9, end_lr=0.2), "end_lr.*below"),
        (lambda: decay_schedule("piecewise", 0.1, boundaries=[5], factors=[]), "one factor per"),
        (lambda: decay_schedule("piecewise", 0.1, boundaries=[5, 2], factors=[1, 2]), "sort"),
        (lambda: ScheduleCallback(0.1), "schedule must be a LearningRateSchedule"),
    ],
)
def test_bad_arguments_raise_value_error(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_suggestion_seeds_each_schedule_as_documented():
    from lrfind.analysis import Suggestion

    suggestion = Suggestion(lr=1e-2, min_lr=1e-3, max_lr=5e-2, reliable=True, reason="",
                            points={})
    cyclic = suggestion.cyclic(steps_per_epoch=100, mode="triangular2")
    assert (cyclic.base_lr, cyclic.max_lr, cyclic.step_size, cyclic.mode) == (
        1e-3, 5e-2, 400, "triangular2")  # half a cycle: 4 epochs
    one_cycle = suggestion.one_cycle(total_steps=1000)
    assert one_cycle.max_lr == 5e-2
    assert float(schedule_values(one_cycle, [0])[0]) == pytest.approx(1e-3, rel=1e-6)
    cosine = suggestion.decay("cosine", total_steps=1000)
    assert float(schedule_values(cosine, [0])[0]) == pytest.approx(1e-2, rel=1e-6)
    for bad in (0, -4):
        with pytest.raises(ValueError, match="epochs_per_half_cycle must be positive"):
            suggestion.cyclic(steps_per_epoch=100, epochs_per_half_cycle=bad)
