"""Tests of lrfind.analysis: exact smoothing formulas, named points, refusals, properties.

Pure NumPy/SciPy: nothing here trains a model.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from lrfind.analysis import (
    MIN_POINTS,
    CurvePoint,
    Suggestion,
    descent_start_point,
    divergence_point,
    knee_point,
    loss_gradient,
    minimum_point,
    read_curve,
    smooth_curve,
    steepest_point,
    suggest,
)
from lrfind.rule import (
    DENSITY_SLOPE,
    DIVERGENCE_ANCHOR,
    NO_DIVERGENCE,
    RULE,
    apply_rule,
    density_shift,
    optimizer_kind,
)

PROPERTY = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def range_test_curve(
    n: int = 800,
    start_lr: float = 1e-10,
    end_lr: float = 10.0,
    best_lr: float = 1e-2,
    noise: float = 0.03,
    seed: int = 0,
    diverge: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """A typical curve: plateau at 2.3, a descent around ``best_lr`` to 0.3, an explosion
    one decade later (cut at 4x the best so far, as the finder does), multiplicative noise."""
    lrs = np.geomspace(start_lr, end_lr, n)
    x = np.log10(lrs / best_lr)
    losses = 0.3 + 2.0 / (1.0 + np.exp(3.0 * (x + 0.5)))
    if diverge:
        losses = losses + 0.3 * np.exp(4.0 * (x - 0.7))
    losses = losses * (1.0 + noise * np.random.default_rng(seed).standard_normal(n))
    if diverge:
        over = np.flatnonzero(losses > 4 * np.minimum.accumulate(losses))
        if len(over):
            lrs, losses = lrs[: over[0] + 1], losses[: over[0] + 1]
    return lrs, losses


def assert_consistent(s: Suggestion, lrs: np.ndarray) -> None:
    """What every suggestion must satisfy, whatever the curve."""
    assert isinstance(s.reason, str) and s.reason.strip()
    for point in s.points.values():
        assert 0 <= point.index < len(lrs)
        assert point.lr == lrs[point.index]
    if s.lr is None:
        assert s.reliable is False
        assert s.min_lr is None and s.max_lr is None
        return
    for value in (s.lr, s.min_lr, s.max_lr):
        assert value is not None and math.isfinite(value)
        assert lrs[0] <= value <= lrs[-1]
    assert s.min_lr <= s.lr <= s.max_lr
    if "divergence" in s.points:
        assert s.max_lr <= s.points["divergence"].lr
    json.dumps(s.to_dict(), allow_nan=False)


# ------------------------------------------------------------------- exact formulas
def test_smoothing_keeps_a_straight_line_in_log_lr_exactly() -> None:
    lrs = np.geomspace(1e-6, 1.0, 60)
    losses = 5.0 - 0.25 * np.log10(lrs)
    np.testing.assert_allclose(smooth_curve(lrs, losses), losses, rtol=1e-12)
    np.testing.assert_allclose(loss_gradient(lrs, losses), -0.25, rtol=1e-9)


def test_gradient_is_taken_against_log10_lr_not_linear_lr() -> None:
    # loss = -log10(lr): the slope is -1 per decade everywhere, while d loss / d lr would
    # range over six orders of magnitude.
    lrs = np.geomspace(1e-5, 10.0, 80)
    np.testing.assert_allclose(loss_gradient(lrs, -np.log10(lrs)), -1.0, rtol=1e-9)


def test_a_single_spike_is_removed_before_smoothing() -> None:
    lrs = np.geomspace(1e-4, 1.0, 41)
    losses = 2.0 - 0.1 * np.log10(lrs)
    spiked = losses.copy()
    spiked[20] = 1e6
    # the running median replaces the spike by a neighbour: off by at most two steps (0.02)
    np.testing.assert_allclose(smooth_curve(lrs, spiked), losses, atol=0.0201)


def test_linear_ramp_is_resampled_in_log_space() -> None:
    lrs = np.linspace(1e-4, 1.0, 100)  # uneven in log(lr)
    losses = 3.0 - 0.5 * np.log10(lrs)
    np.testing.assert_allclose(smooth_curve(lrs, losses), losses, rtol=1e-9)
    np.testing.assert_allclose(loss_gradient(lrs, losses), -0.5, rtol=1e-6)


def test_smoothed_values_are_nan_after_a_non_finite_loss() -> None:
    lrs, losses = range_test_curve(diverge=False, n=120)
    losses[100] = np.nan
    smoothed = smooth_curve(lrs, losses)
    assert np.all(np.isfinite(smoothed[:100])) and np.all(np.isnan(smoothed[100:]))


def test_a_curve_rising_from_the_start_is_still_smoothed_for_plotting() -> None:
    lrs = np.geomspace(1e-6, 1.0, 100)
    losses = np.linspace(1.0, 5.0, 100)
    assert suggest(lrs, losses).lr is None
    np.testing.assert_allclose(smooth_curve(lrs, losses), losses, rtol=1e-9)
    np.testing.assert_allclose(loss_gradient(lrs, losses), 4.0 / 6.0, rtol=1e-6)


# ------------------------------------------------------------------ named points
def test_named_points_on_a_typical_curve_are_ordered_and_in_place() -> None:
    lrs, losses = range_test_curve(best_lr=1e-2, noise=0.0)
    start = descent_start_point(lrs, losses)
    steepest = steepest_point(lrs, losses)
    knee = knee_point(lrs, losses)
    minimum = minimum_point(lrs, losses)
    divergence = divergence_point(lrs, losses)
    assert start and steepest and knee and minimum and divergence
    assert start.lr < steepest.lr < knee.lr < minimum.lr < divergence.lr
    # the logistic descent is steepest at its centre, lr = best_lr / 10**0.5
    assert abs(math.log10(steepest.lr) - math.log10(1e-2 / 10**0.5)) < 0.1
    assert all(isinstance(p, CurvePoint) and p.reason for p in (start, steepest, minimum))


def test_knee_is_where_the_loss_is_nine_tenths_of_the_way_down() -> None:
    # a straight descent from 1 to 0 over two decades, flat around it: 90 % down at 10**-2.2
    lrs = np.geomspace(1e-6, 1.0, 601)
    losses = np.clip(-0.5 * np.log10(lrs) - 1.0, 0.0, 1.0)
    knee = knee_point(lrs, losses)
    assert knee is not None and abs(math.log10(knee.lr) - (-2.2)) < 0.05


def test_divergence_at_a_nan_is_the_first_non_finite_lr() -> None:
    lrs, losses = range_test_curve(diverge=False, noise=0.0)
    losses[150:] = np.inf
    point = divergence_point(lrs, losses)
    assert point is not None and point.index == 150 and point.lr == lrs[150]
    assert math.isfinite(point.loss)


def rule_lr(knee: float, top: float, optimizer: str | None, points_per_decade: float,
            momentum: float | None = None) -> float:
    """The rule of lrfind.rule, written out."""
    f, offset = RULE[optimizer_kind(optimizer, momentum)]
    shift = -DENSITY_SLOPE * math.log10(points_per_decade / (800 / 11))
    return 10 ** (math.log10(knee) + f * (math.log10(top) - math.log10(knee)) + offset + shift)


@pytest.mark.parametrize(("optimizer", "momentum"),
                         [("SGD", 0.0), ("SGD", 0.9), ("Adam", None), (None, None)])
def test_suggestion_is_the_rule_between_knee_and_divergence(optimizer, momentum) -> None:
    lrs, losses = range_test_curve(noise=0.05, seed=3)  # 800 batches over 11 decades
    s = suggest(lrs, losses, optimizer=optimizer, momentum=momentum)
    assert s.reliable and s.lr is not None and s.basis == "descent"
    knee, divergence = s.points["knee"].lr, s.points["divergence"].lr
    assert s.lr == pytest.approx(rule_lr(knee, divergence, optimizer, 799 / 11, momentum))
    assert s.max_lr == pytest.approx(divergence / 10**0.5)
    assert s.min_lr == s.points["descent_start"].lr
    assert_consistent(s, lrs)


def test_plain_sgd_gets_an_lr_nearer_the_divergence_than_adam() -> None:
    lrs, losses = range_test_curve(noise=0.03, seed=1)
    assert suggest(lrs, losses, optimizer="SGD").lr > suggest(lrs, losses, optimizer="Adam").lr


def test_a_denser_ramp_moves_the_suggestion_down_by_the_density_slope() -> None:
    lrs, losses = range_test_curve(n=1600, noise=0.0)  # twice the reference density
    s = suggest(lrs, losses, optimizer="Adam")
    knee, divergence = s.points["knee"].lr, s.points["divergence"].lr
    assert s.lr == pytest.approx(rule_lr(knee, divergence, "Adam", 1599 / 11))


@pytest.mark.parametrize("best_lr", [1e-5, 0.3])
def test_without_divergence_a_stand_in_above_the_knee_or_the_ramps_end(best_lr) -> None:
    # NO_DIVERGENCE: 1.5 decades above the knee, or the end of the ramp if that is nearer
    lrs, losses = range_test_curve(best_lr=best_lr, diverge=False, noise=0.01)
    s = suggest(lrs, losses, optimizer="Adam")
    assert "divergence" not in s.points and s.lr is not None
    knee = s.points["knee"].lr
    assert NO_DIVERGENCE == ("knee", 1.5)
    top = min(knee * 10**1.5, lrs[-1])
    assert (top < lrs[-1]) == (best_lr < 0.1)
    assert s.lr == pytest.approx(rule_lr(knee, top, "Adam", 799 / 11))


@pytest.mark.parametrize("best_lr", [1e-4, 1e-2, 1.0])
def test_suggestion_follows_the_curve(best_lr: float) -> None:
    lrs, losses = range_test_curve(best_lr=best_lr, noise=0.03)
    s = suggest(lrs, losses)
    assert s.lr is not None
    assert abs(math.log10(s.lr) - math.log10(best_lr)) < 1.0


def test_suggestion_is_stable_across_noise_seeds() -> None:
    picks = [math.log10(suggest(*range_test_curve(noise=0.1, seed=k)).lr) for k in range(10)]
    assert max(picks) - min(picks) < 0.2


def test_exponential_and_linear_ramps_find_the_same_knee() -> None:
    def loss_at(lrs: np.ndarray) -> np.ndarray:
        x = np.log10(lrs / 0.05)
        return 0.3 + 2.0 / (1.0 + np.exp(3.0 * (x + 0.5))) + 0.3 * np.exp(4.0 * (x - 0.7))

    exp_lrs = np.geomspace(1e-4, 1.0, 300)
    lin_lrs = np.linspace(1e-4, 1.0, 3000)
    a, b = knee_point(exp_lrs, loss_at(exp_lrs)), knee_point(lin_lrs, loss_at(lin_lrs))
    assert a is not None and b is not None
    assert abs(math.log10(a.lr) - math.log10(b.lr)) < 0.1
    assert suggest(lin_lrs, loss_at(lin_lrs)).lr is not None


def test_still_falling_at_the_end_is_flagged_unreliable() -> None:
    lrs, losses = range_test_curve(best_lr=10.0, diverge=False, noise=0.01)
    s = suggest(lrs, losses)
    assert s.lr is not None and not s.reliable
    assert "end_lr" in s.reason


def test_sgd_without_a_recorded_momentum_is_read_as_plain_sgd() -> None:
    lrs, losses = range_test_curve(noise=0.05, seed=3)
    plain, momentum = (suggest(lrs, losses, optimizer="SGD", momentum=m).lr for m in (0.0, 0.9))
    assert plain is not None and momentum is not None and plain != momentum
    assert suggest(lrs, losses, optimizer="SGD").lr == plain  # momentum not recorded: plain


@pytest.mark.parametrize("seed", range(3))
def test_a_shallow_fall_then_a_noisy_late_rise_is_anchored_on_the_divergence(seed) -> None:
    # flat for eight decades, a fall of a few noise units, then from 0.1 a slow rise whose
    # scatter grows, and an explosion past 1 (a tanh MLP on spirals with Adam): the late
    # rise is no rise "from the very first batches", and the curve has an edge to anchor on
    rng = np.random.default_rng(seed)
    lrs = np.geomspace(1e-10, 10.0, 800)
    x = np.log10(lrs)
    scatter = 0.03 + 3.0 * np.clip(x + 1.0, 0, None)
    losses = np.abs(0.7 - 0.03 / (1 + np.exp(-3 * (x + 3))) + 0.15 * np.clip(x + 1.0, 0, None)
                    + 20 * np.clip(x, 0, None) ** 2 + scatter * rng.standard_normal(800))
    s = suggest(lrs, losses, optimizer="Adam", stopped=True)
    assert s.lr is not None and s.basis == "divergence", s.reason
    assert 1e-2 < s.lr < s.points["divergence"].lr / 10


# ---------------------------------------------------------------------- refusals
@pytest.mark.parametrize(
    ("name", "losses", "words"),
    [
        ("constant", np.full(100, 0.7), "constant"),
        ("rising", np.linspace(1.0, 5.0, 100), "rose from the very first"),
        ("too short", np.linspace(2.0, 1.0, MIN_POINTS - 1), "too short"),
        ("nan at once", np.r_[2.0, 1.9, np.full(98, np.nan)], "too short"),
    ],
)
def test_curves_without_a_suggestion_are_refused_with_a_reason(
    name: str, losses: np.ndarray, words: str
) -> None:
    lrs = np.geomspace(1e-6, 1.0, len(losses))
    s = suggest(lrs, losses)
    assert s.lr is None and not s.reliable, name
    assert words in s.reason.lower(), s.reason


@pytest.mark.parametrize("seed", range(40))
def test_pure_noise_is_refused_or_flagged(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(MIN_POINTS, 1000))
    losses = 2.0 + rng.standard_normal(n) * rng.choice([1e-6, 0.1, 10.0])
    s = suggest(np.geomspace(1e-8, 10.0, n), losses)
    assert s.lr is None or not s.reliable, (s.lr, s.reason)


@pytest.mark.parametrize("length", [0, 1, 2, MIN_POINTS - 1])
def test_very_short_curves_are_refused(length: int) -> None:
    s = suggest(np.geomspace(1e-5, 1.0, length) if length else np.array([]), np.ones(length))
    assert s.lr is None and s.reason


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    ("lrs", "losses", "words"),
    [
        (np.geomspace(1e-5, 1, 20), np.ones(19), "same length"),
        (np.geomspace(1e-5, 1, 20)[::-1], np.ones(20), "increasing"),
        (np.r_[0.0, np.geomspace(1e-5, 1, 19)], np.ones(20), "> 0"),
        (np.r_[np.geomspace(1e-5, 1, 19), np.nan], np.ones(20), "finite"),
        (np.ones((4, 5)), np.ones((4, 5)), "1-d"),
    ],
)
def test_bad_input_raises_a_clear_value_error(lrs, losses, words: str) -> None:
    with pytest.raises(ValueError) as info:
        suggest(lrs, losses)
    assert words.lower() in str(info.value).lower()


# ------------------------------------------------------------------ serialisation
def test_suggestion_round_trips_through_json() -> None:
    s = suggest(*range_test_curve())
    again = Suggestion.from_dict(json.loads(json.dumps(s.to_dict(), allow_nan=False)))
    assert again == s
    refused = suggest(np.geomspace(1e-5, 1, 50), np.ones(50))
    assert Suggestion.from_dict(json.loads(json.dumps(refused.to_dict()))) == refused


def test_analysis_does_not_import_keras_or_tensorflow() -> None:
    path = Path(__file__).resolve().parents[1] / "lrfind" / "analysis.py"
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('analysis', {str(path)!r})\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "sys.modules['analysis'] = module\n"
        "spec.loader.exec_module(module)\n"
        "print(sorted(m for m in ('keras', 'tensorflow') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -------------------------------------------------------------------- properties
finite_or_not = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.floats(min_value=-1e300, max_value=1e300),
    st.floats(min_value=-3.0, max_value=3.0),
)


@st.composite
def arbitrary_curves(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    n = draw(st.integers(min_value=0, max_value=250))
    lo = draw(st.floats(min_value=-12, max_value=0))
    hi = lo + draw(st.floats(min_value=0.5, max_value=14))
    lrs = np.geomspace(10**lo, 10**hi, n) if n else np.array([])
    kind = draw(st.sampled_from(["any", "noisy-shape", "monotone", "constant-ish"]))
    if kind == "any":
        losses = np.array(draw(st.lists(finite_or_not, min_size=n, max_size=n)), dtype=float)
    elif kind == "noisy-shape":
        best = draw(st.floats(min_value=lo, max_value=hi))
        noise = draw(st.floats(min_value=0, max_value=2))
        base = range_test_curve(n=max(n, 2), best_lr=10**best, noise=noise, seed=n,
                                diverge=False)[1][:n]
        scale = draw(st.sampled_from([1e-200, 1e-3, 1.0, 1e5, 1e200]))
        shift = draw(st.sampled_from([-1e6, -1.0, 0.0, 3.0]))
        losses = base * scale + shift
    elif kind == "monotone":
        step = draw(st.floats(min_value=-1e3, max_value=1e3))
        losses = np.arange(n) * step
    else:
        losses = np.full(n, draw(st.floats(min_value=-1e10, max_value=1e10)))
        if n:
            losses[draw(st.integers(0, n - 1))] += draw(st.floats(-1.0, 1.0))
    tail = draw(st.integers(min_value=0, max_value=n))
    if draw(st.booleans()) and tail < n:
        losses[tail:] = draw(st.sampled_from([np.nan, np.inf, -np.inf]))
    return lrs, losses


@PROPERTY
@given(arbitrary_curves())
def test_any_curve_gives_a_consistent_suggestion_or_a_refusal(curve) -> None:
    lrs, losses = curve
    with np.errstate(all="ignore"):
        s = suggest(lrs, losses)
        smoothed = smooth_curve(lrs, losses)
        slope = loss_gradient(lrs, losses)
    assert_consistent(s, lrs)
    assert smoothed.shape == slope.shape == lrs.shape


@st.composite
def readable_curves(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    """Curves with a descent, losses on a dyadic grid (so scaling by 2**k and shifting by
    small dyadic amounts is exact in floating point)."""
    n = draw(st.integers(min_value=60, max_value=300))
    best = draw(st.floats(min_value=-7, max_value=0))
    noise = draw(st.floats(min_value=0, max_value=0.3))
    seed = draw(st.integers(0, 2**16))
    lrs, losses = range_test_curve(n=n, best_lr=10**best, noise=noise, seed=seed)
    return lrs, np.round(losses * 1024) / 1024


@PROPERTY
@given(readable_curves(), st.integers(-20, 20), st.integers(-(2**20), 2**20))
def test_scaling_and_shifting_the_losses_changes_nothing(curve, power: int, shift: int) -> None:
    lrs, losses = curve
    base = suggest(lrs, losses)
    scaled = suggest(lrs, losses * 2.0**power)
    shifted = suggest(lrs, losses + shift / 1024)
    for other in (scaled, shifted):
        assert other.lr == base.lr
        assert (other.min_lr, other.max_lr, other.reliable) == (
            base.min_lr, base.max_lr, base.reliable,
        )
        assert {k: p.index for k, p in other.points.items()} == {
            k: p.index for k, p in base.points.items()
        }


@PROPERTY
@given(
    st.floats(min_value=-6, max_value=0),
    st.integers(0, 1000),
    st.floats(min_value=1e-3, max_value=1e3),
    st.floats(min_value=-1e3, max_value=1e3),
)
def test_any_positive_scale_and_any_shift_give_the_same_suggestion(
    best: float, seed: int, factor: float, shift: float
) -> None:
    lrs, losses = range_test_curve(best_lr=10**best, noise=0.05, seed=seed)
    base = suggest(lrs, losses)
    other = suggest(lrs, losses * factor + shift)
    assume(base.lr is not None)
    assert other.lr is not None
    assert abs(math.log10(other.lr) - math.log10(base.lr)) < 1e-6


def test_a_descent_over_too_few_batches_is_flagged_unreliable():
    def curve(n):
        lrs = np.geomspace(1e-10, 10, n)
        x = np.log10(lrs / 1e-3)
        return lrs, 0.3 + 2.0 / (1.0 + np.exp(3.0 * (x + 0.5))) + 0.3 * np.exp(4.0 * (x - 0.7))

    coarse = suggest(*curve(15))  # 15 batches over 11 decades: the descent falls between two
    assert coarse.lr is None or not coarse.reliable
    if coarse.lr is not None:
        assert "too coarse" in coarse.reason
    assert suggest(*curve(800)).reliable


# ------------------------------------------------- the failure kinds of a noisy reading
@PROPERTY
@given(st.integers(0, 10_000), st.floats(min_value=-6, max_value=0),
       st.floats(min_value=0.01, max_value=0.5), st.integers(200, 1200))
def test_noise_then_an_explosion_gets_a_divergence_anchored_lr(seed, edge, noise, n) -> None:
    # flat (pure noise) until `edge`, then the loss blows up: "just below the divergence"
    rng = np.random.default_rng(seed)
    lrs = np.geomspace(1e-8, 10.0, n)
    x = np.log10(lrs)
    losses = 2.3 + noise * rng.standard_normal(n) + np.where(x > edge, 20 * (x - edge) ** 2, 0)
    s = suggest(lrs, losses, optimizer="SGD")
    assert s.lr is not None, s.reason
    assert s.basis == "divergence"
    assert s.lr < 10**edge * 10**0.25  # below where it blew up
    assert_consistent(s, lrs)


def test_the_divergence_anchored_lr_is_the_anchor_below_the_divergence() -> None:
    # flat, then blowing up at 1e-2: plain SGD's anchor (DIVERGENCE_ANCHOR, or the one given)
    # below the read divergence, corrected for the ramp's density like every place
    rng = np.random.default_rng(0)
    lrs = np.geomspace(1e-8, 10.0, 800)
    x = np.log10(lrs)
    losses = 2.3 + 0.05 * rng.standard_normal(800) + np.where(x > -2, 20 * (x + 2) ** 2, 0)
    reading = read_curve(lrs, losses)
    divergence = reading.points["divergence"].lr
    shift = density_shift(reading.curve.points_per_decade)
    for anchors in (None, {**DIVERGENCE_ANCHOR, "sgd": 2.0}):
        s = apply_rule(reading, "SGD", divergence_anchor=anchors)
        anchor = (anchors or DIVERGENCE_ANCHOR)["sgd"]
        assert s.basis == "divergence"
        assert s.lr == pytest.approx(divergence / 10 ** (anchor - shift))


@PROPERTY
@given(st.integers(0, 10_000), st.floats(min_value=-5, max_value=-2))
@example(9348, -2.0)  # its first batch is an outlier far below the start (t, 3 dof: -16 SD)
def test_growing_scatter_around_a_falling_median_is_not_divergence(seed, centre) -> None:
    # the median keeps falling from `centre` to the end; the scatter grows tenfold meanwhile
    rng = np.random.default_rng(seed)
    lrs = np.geomspace(1e-8, 1.0, 800)
    x = np.log10(lrs)
    median = 0.3 + 2.0 / (1.0 + np.exp(2.0 * (x - centre)))
    scatter = 0.02 * 10 ** np.clip((x - centre) / 2, 0, 1)
    losses = median + scatter * rng.standard_t(3, size=len(x))
    reading = read_curve(lrs, losses)
    divergence = reading.points.get("divergence")
    assert divergence is None or divergence.lr > 10 ** (centre + 1.5), divergence


@PROPERTY
@given(st.integers(0, 10_000), st.floats(min_value=-5, max_value=-1))
def test_huge_starting_noise_gives_no_suggestion_in_the_first_decade(seed, best) -> None:
    # MSE on unnormalised inputs: the loss starts in the hundreds with a huge scatter
    rng = np.random.default_rng(seed)
    lrs = np.geomspace(1e-10, 10.0, 800)
    x = np.log10(lrs)
    level = 5.0 + 300.0 / (1.0 + np.exp(3.0 * (x - best)))
    losses = level * np.exp(0.8 * rng.standard_normal(len(x)))  # heavy, multiplicative
    losses += np.where(x > best + 1.5, 1e3 * (x - best - 1.5) ** 2, 0.0)
    s = suggest(lrs, losses, optimizer="Adam")
    if s.lr is not None:
        assert s.lr > 1e-9, s.reason
        assert s.lr > 10 ** (best - 2.0), s.reason


def test_a_dense_run_stopped_as_diverged_agrees_with_its_reading() -> None:
    # 20,000 batches over 11 decades, stopped by the run while the loss rises from its
    # minimum: the reading places the divergence there, it never says "raise end_lr"
    lrs = np.geomspace(1e-10, 10.0, 20_000)[:14_000]
    x = np.log10(lrs / 1e-3)
    rng = np.random.default_rng(0)
    losses = 0.04 + 2.0 / (1.0 + np.exp(4.0 * (x + 0.5))) + np.where(x > 0, 0.3 * x, 0.0)
    losses = losses * (1 + 0.1 * rng.standard_normal(len(x)))
    s = suggest(lrs, losses, optimizer="Adam", stopped=True)
    assert "raise end_lr" not in s.reason
    assert "divergence" in s.points and s.points["divergence"].lr <= lrs[-1]
    assert s.lr is not None and s.lr < s.points["divergence"].lr


# ----------------------- the no-divergence stand-in, and a rise read against local noise
@given(st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=40))
def test_running_argmin_points_at_the_first_minimum_so_far(values) -> None:
    from lrfind.analysis import _running_argmin

    values = np.asarray(values)
    expected = [int(np.argmin(values[: i + 1])) for i in range(len(values))]
    assert _running_argmin(values).tolist() == expected


def _falls_then_flat(n: int = 800, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A loss that falls from 1e-4 to 1e-2 and stays flat to the ramp's end (1e+1)."""
    lrs = np.geomspace(1e-10, 10, n)
    x = np.log10(lrs)
    noise = np.random.default_rng(seed).normal(0, 0.01, n)
    return lrs, 2.0 / (1.0 + np.exp(3.0 * (x + 3.0))) + 0.2 + noise


def test_without_a_divergence_the_stand_in_caps_the_suggestion() -> None:
    from lrfind.rule import apply_rule, density_shift

    reading = read_curve(*_falls_then_flat())
    assert "divergence" not in reading.points
    ramp_end = apply_rule(reading, "SGD", momentum=0.9, no_divergence=None)
    knee = reading.points["knee"].lr
    capped = apply_rule(reading, "SGD", momentum=0.9, no_divergence=("knee", 1.0))
    f, offset = RULE["momentum"]
    offset += density_shift(reading.curve.points_per_decade)
    assert ramp_end.lr == pytest.approx(10 ** (math.log10(10.0) * f
                                               + (1 - f) * math.log10(knee) + offset))
    assert capped.lr == pytest.approx(10 ** (math.log10(knee) + f * 1.0 + offset), rel=1e-6)
    assert "stands in for the divergence" in capped.reason


def test_a_rise_to_a_plateau_read_against_the_local_noise(monkeypatch) -> None:
    """A loss that starts high and scattered (raw inputs), falls 25x, then jumps to a dead
    network's plateau a third of the way back up: a divergence only when the rise is read
    against its own local noise and a smaller share of the descent."""
    import lrfind.analysis as analysis

    rng = np.random.default_rng(1)
    lrs = np.geomspace(1e-10, 10, 800)
    x = np.log10(lrs)
    level = np.where(x < -1.5, 0.25 + 6.0 / (1.0 + np.exp(3.0 * (x + 4.0))), 2.3)
    losses = level * np.exp(rng.normal(0, 0.05, 800)) + np.where(x < -7, rng.normal(0, 1.5, 800), 0)
    assert "divergence" not in read_curve(lrs, losses).points
    monkeypatch.setattr(analysis, "RISE_AGAINST_LOCAL_NOISE", True)
    monkeypatch.setattr(analysis, "RISE_FRACTION", 0.3)
    divergence = read_curve(lrs, losses).points["divergence"]
    assert 10**-1.6 < divergence.lr < 10**-1.2


def test_an_outlying_first_batch_is_not_the_minimum() -> None:
    # a flat start whose very first batch is far below the rest, then a clear descent and
    # an explosion: the minimum is the descent's, and no divergence is read before it
    lrs = np.geomspace(1e-8, 1.0, 800)
    x = np.log10(lrs)
    losses = 0.3 + 2.0 / (1.0 + np.exp(2.0 * (x + 3.0))) + np.where(x > -0.5, 10 * (x + 0.5), 0)
    losses[0] = losses[1] - 1.5
    reading = read_curve(lrs, losses)
    assert reading.points["minimum"].lr > 1e-3
    assert reading.points["divergence"].lr > 10**-0.6


def test_smoothed_minimum_is_the_lowest_moving_average_past_the_first_tenth() -> None:
    lrs, losses = range_test_curve(noise=0.05, seed=7)
    reading = read_curve(lrs, losses)
    average, avg = [], 0.0
    for t, loss in enumerate(losses, start=1):  # fastai's AvgSmoothLoss, written out
        avg = 0.98 * avg + 0.02 * loss
        average.append(avg / (1 - 0.98**t))
    first, end = len(losses) // 10, len(losses) - 5
    expected = first + int(np.argmin(average[first:end]))
    point = reading.points["smoothed_minimum"]
    assert point.index == expected and point.lr == lrs[expected]
    assert point.loss == pytest.approx(average[expected])
    # the average lags the batches: its minimum comes after the level's
    assert point.lr > reading.points["minimum"].lr
