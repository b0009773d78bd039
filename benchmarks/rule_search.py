"""How lrfind's rule constants were chosen, and what that choice is worth on unseen families.

The rule (`lrfind.rule`) places the LR a fraction ``f`` of the way from the knee to the
divergence, ``offset`` decades further, both per optimizer kind (plain SGD, SGD with
momentum, adaptive). This
script reads every recorded curve once (the finds of `curves.FindCache`, at lrfind's
defaults: three range tests per find, finder seeds of `suggestion_quality.FINDER_SEEDS`),
then scores each candidate ``(f, offset)`` for a kind by the geometric-mean regret of the
finds' suggestions (the median of a find's three, or the reading of their mean curve when
most refuse, as `LRFinderResult.curve_suggestion` takes it)
over the tasks of that kind; regret is read off the grid truth (linear in log(LR)), a
refusal scores as the Keras default LR.

* **in-sample**: constants chosen on all the tasks given, scored on the same tasks;
* **leave one family out**: for each family (`tasks.FAMILIES`), constants chosen without
  any of its tasks, scored on its tasks only: the estimate of how the rule does on a kind
  of architecture it has never seen;
* **frozen**: the constants in `lrfind.rule.RULE`, as committed.

Each choice takes the worst of ``(f, offset)`` and its grid neighbours (offset +- 0.1,
f +- 0.1), so that a choice sitting next to a cliff is not rewarded. Three candidates for
the rule's form, one for all kinds, are varied with them (a *variant*): how a rise is read
(`READINGS`: the share of the descent, `lrfind.analysis.RISE_FRACTION`, and the noise it is
measured against, `lrfind.analysis.RISE_AGAINST_LOCAL_NOISE`), the stand-in for the
divergence of a curve that never diverged (`NO_DIVERGENCE`: decades above its knee or
minimum, or the ramp's end, `lrfind.rule.NO_DIVERGENCE`) and the smoothed minimum's weight
(`SMOOTHED_WEIGHTS`, `lrfind.rule.SMOOTHED_MINIMUM_WEIGHT`). For each variant the kinds'
constants are chosen as above. The tables give the variant whose choice fits all the tasks
best (in-sample, and that whole choice made again leaving each family out), then each
variant's own leave-one-family-out score: the one a variant is chosen by. A variant replaces
the frozen one only when it gains `SWITCH_MARGIN` (0.05) or more there (35 variants compared
on 15 families favour one by chance): the "proposed" row is that variant with its constants
chosen on every task given, the rule to freeze next.

``--anchors`` runs only the study of the divergence anchor (`anchor_study`), the constant
the variants leave alone: where a curve moved only just before it diverged, the suggestion
is that many decades below the divergence.

    python -m benchmarks.rule_search              # every group run so far (GROUPS)
    python -m benchmarks.rule_search --anchors    # the divergence anchor alone
    python -m benchmarks.rule_search --groups dev --write-readme
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from contextlib import contextmanager
from dataclasses import dataclass

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from benchmarks.curves import FindCache, curves_of
from benchmarks.grid import Cache, Truth, task_truth
from benchmarks.suggestion_quality import FINDER_SEEDS, GROUPS, geomean, write_readme
from benchmarks.tasks import TASKS, Task, keras_default_lr
from lrfind import analysis
from lrfind.result import LRFinderResult
from lrfind.rule import (
    DIVERGENCE_ANCHOR,
    RULE,
    SMOOTHED_MINIMUM_WEIGHT,
    apply_rule,
    optimizer_kind,
)
from lrfind.rule import NO_DIVERGENCE as NO_DIVERGENCE_FROZEN
from lrfind.suggestion import Suggestion, combine

FRACTIONS = [round(float(f), 2) for f in np.arange(0.0, 1.01, 0.1)]
OFFSETS = [round(float(c), 2) for c in np.arange(-2.0, 0.61, 0.1)]
KINDS = ("sgd", "momentum", "adaptive")
READINGS = tuple((fraction, local) for local in (False, True) for fraction in (0.5, 0.3, 0.15))
"""Candidates for how a rise is read (`lrfind.analysis.RISE_FRACTION`, and whether it is
measured against the local noise, `lrfind.analysis.RISE_AGAINST_LOCAL_NOISE`)."""
NO_DIVERGENCE = (None, ("minimum", 0.5), ("minimum", 1.0), ("knee", 1.0), ("knee", 1.5),
                 ("knee", 2.0))
"""Candidates for `lrfind.rule.NO_DIVERGENCE` (None: the end of the ramp)."""
SMOOTHED_WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)
ANCHORS = [round(float(a), 2) for a in np.arange(0.0, 3.01, 0.25)]
"""Candidates for `lrfind.rule.DIVERGENCE_ANCHOR` (decades below the divergence), per kind."""
SWITCH_MARGIN = 0.05
"""How much lower a variant's leave-one-family-out geometric mean must be than the frozen
variant's for the search to propose it instead (35 variants on 15 families: the best of
them is favoured by chance by about this much)."""
"""Candidates for `lrfind.rule.SMOOTHED_MINIMUM_WEIGHT`."""
Variant = tuple[tuple[float, bool], "tuple[str, float] | None", float]
Choice = tuple[Variant, dict[str, tuple[float, float]]]


@contextmanager
def reading_as(reading: tuple[float, bool]):
    """`lrfind.analysis` reading rises as ``reading`` says, for the duration."""
    saved = analysis.RISE_FRACTION, analysis.RISE_AGAINST_LOCAL_NOISE
    analysis.RISE_FRACTION, analysis.RISE_AGAINST_LOCAL_NOISE = reading
    try:
        yield
    finally:
        analysis.RISE_FRACTION, analysis.RISE_AGAINST_LOCAL_NOISE = saved


def frozen_reading() -> tuple[float, bool]:
    return analysis.RISE_FRACTION, analysis.RISE_AGAINST_LOCAL_NOISE


@dataclass
class TaskCurves:
    """One task's finds (each with its three curves) and what scores them; each way of
    reading the curves is read once."""

    task: Task
    truth: Truth
    finds: list[LRFinderResult]

    def __post_init__(self) -> None:
        self.settings = self.finds[0].optimizer_settings
        self._read: dict[tuple[float, bool], list] = {}

    def readings(self, reading: tuple[float, bool]) -> list:
        """Per find: its curves' readings and the reading of their mean curve."""
        if reading not in self._read:
            with reading_as(reading):
                self._read[reading] = [
                    ([_read(c.curve_inputs()) for c in curves_of(find)], _pooled_reading(find))
                    for find in self.finds
                ]
        return self._read[reading]

    def regret(self, variant: Variant, rule: dict, anchors: dict | None = None) -> float:
        """Median regret over the finds of the suggestion ``rule`` (and the divergence
        ``anchors``, default `lrfind.rule.DIVERGENCE_ANCHOR`) gives."""
        reading, no_divergence, weight = variant

        def rule_on(r: analysis.CurveReading) -> Suggestion:
            return apply_rule(r, **self.settings, rule=rule, no_divergence=no_divergence,
                              smoothed_weight=weight, divergence_anchor=anchors)

        regrets = []
        for curves, pooled in self.readings(reading):
            lr = combine([rule_on(r) for r in curves],
                         pooled=lambda pooled=pooled: None if pooled is None else rule_on(pooled)
                         ).lr
            regrets.append(self.truth.interpolated_regret(
                keras_default_lr(self.task) if lr is None else lr))
        return float(np.median(regrets))


def _read(inputs: tuple[np.ndarray, np.ndarray, bool]) -> analysis.CurveReading:
    """`lrfind.analysis.read_curve` of ``(lrs, losses, stopped)``, read afresh (not the
    result's cached reading, which was made with the frozen constants)."""
    lrs, losses, stopped = inputs
    return analysis.read_curve(lrs, losses, stopped=stopped)


def _pooled_reading(find: LRFinderResult) -> analysis.CurveReading | None:
    pooled = analysis.pool_curves([run.curve_inputs() for run in curves_of(find)])
    return None if pooled is None else _read(pooled)


def load(groups: list[str]) -> list[TaskCurves]:
    """Every task of ``groups`` with its truth and finds. A group none of whose finds has
    been recorded has not been run: a holdout is run once, by `suggestion_quality`, before
    any search may see it, so the search stops rather than record its range tests."""
    cache, finds = Cache(), FindCache()
    unrun = [group for group in groups
             if not any(finds.recorded(task, FINDER_SEEDS[0])
                        for task in TASKS if task.group == group)]
    if unrun:
        raise SystemExit(f"no range test has been recorded on {', '.join(unrun)}: run "
                         "`python -m benchmarks.suggestion_quality --group GROUP` on it first "
                         "(a holdout is run once, with the frozen rule, before a search sees "
                         "it), or leave it out with --groups")
    return [TaskCurves(task, task_truth(cache, task),
                       [finds.get(task, seed)[0] for seed in FINDER_SEEDS])
            for task in TASKS if task.group in groups]


def kind_of(t: TaskCurves) -> str:
    return optimizer_kind(**t.settings) or "adaptive"


class Search:
    """Regrets of every (f, offset) per task, for one way of reading rises and one
    no-divergence stand-in, computed once."""

    def __init__(self, tasks: list[TaskCurves], variant: Variant) -> None:
        self.tasks = tasks
        self.table: dict[str, dict[tuple[float, float], float]] = {}
        for t in tasks:
            kind = kind_of(t)
            self.table[t.task.name] = {
                (f, c): t.regret(variant, {**RULE, kind: (f, c)})
                for f in FRACTIONS for c in OFFSETS
            }

    def choose(self, kind: str, names: list[str]) -> tuple[float, float]:
        """The (f, offset) of ``kind`` with the lowest worst-of-neighbours geometric mean."""
        names = [n for n in names if kind_of(self._task(n)) == kind]
        if not names:
            return RULE[kind]
        gm = {key: geomean([self.table[n][key] for n in names]) for key in self.table[names[0]]}

        def worst_nearby(key: tuple[float, float]) -> float:
            f, c = key
            return max(gm.get((round(f + df, 2), round(c + dc, 2)), gm[key])
                       for df in (-0.1, 0.0, 0.1) for dc in (-0.1, 0.0, 0.1))

        return min(gm, key=worst_nearby)

    def _task(self, name: str) -> TaskCurves:
        return next(t for t in self.tasks if t.task.name == name)

    def regret(self, name: str, key: tuple[float, float]) -> float:
        return self.table[name][key]

    def choose_all(self, names: list[str]) -> dict[str, tuple[float, float]]:
        return {kind: self.choose(kind, names) for kind in KINDS}

    def score(self, names: list[str], constants: dict[str, tuple[float, float]]) -> float:
        """Geometric-mean regret over ``names`` with each kind's ``constants``."""
        return geomean([self.regret(n, constants[kind_of(self._task(n))]) for n in names])


def choose(searches: dict[Variant, Search], names: list[str]) -> Choice:
    """The reading of rises, the no-divergence stand-in and the kinds' constants chosen on
    ``names``."""
    choices = {d: search.choose_all(names) for d, search in searches.items()}
    best = min(choices, key=lambda d: searches[d].score(names, choices[d]))
    return best, choices[best]


def anchor_study(tasks: list[TaskCurves]) -> list[str]:
    """The divergence anchor (`lrfind.rule.DIVERGENCE_ANCHOR`) per kind, with the frozen
    reading and constants: only tasks with a divergence-anchored call (a curve that moved
    only just before it diverged) depend on it. For each kind: the frozen anchor's
    geometric-mean regret over those tasks, the anchor chosen on all of them, and each
    family's tasks scored with the anchor chosen without that family."""
    variant = (frozen_reading(), NO_DIVERGENCE_FROZEN, SMOOTHED_MINIMUM_WEIGHT)

    def regret(t: TaskCurves, anchor: float) -> float:
        return t.regret(variant, RULE, {**DIVERGENCE_ANCHOR, kind_of(t): anchor})

    lines = ["| kind | tasks with an anchored call | frozen anchor | geometric mean | chosen "
             "on all (geometric mean) | leaving each family out: geometric mean, worst |",
             "|---|---|---|---|---|---|"]
    for kind in KINDS:
        table = {t.task.name: {a: regret(t, a) for a in ANCHORS}
                 for t in tasks if kind_of(t) == kind}
        affected = [n for n, by in table.items() if len(set(by.values())) > 1]
        if not affected:
            continue
        by_name = {t.task.name: t for t in tasks}

        def best(names: list[str], table: dict = table) -> float:
            return min(ANCHORS, key=lambda anchor: geomean([table[n][anchor] for n in names]))

        frozen_anchor = DIVERGENCE_ANCHOR[kind]
        frozen = geomean([regret(by_name[n], frozen_anchor) for n in affected])
        chosen = best(affected)
        left_out = [table[n][best([m for m in affected
                                    if by_name[m].task.family != by_name[n].task.family]
                                   or affected)]
                    for n in affected]
        lines.append(
            f"| {kind} | {len(affected)} ({', '.join(sorted(affected))}) | {frozen_anchor:g} | "
            f"{frozen:.3f} | {chosen:g} ({geomean([table[n][chosen] for n in affected]):.3f}) "
            f"| {geomean(left_out):.3f}, {max(left_out):.2f} |")
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--groups", nargs="*", default=list(reversed(GROUPS)),
                        help="groups to choose on (default: every group run so far)")
    parser.add_argument("--anchors", action="store_true",
                        help="only the divergence anchor's study (`anchor_study`)")
    parser.add_argument("--write-readme", action="store_true")
    args = parser.parse_args(argv)
    from benchmarks.training import configure_tensorflow

    configure_tensorflow(1)
    tasks = load(args.groups)
    if args.anchors:
        text = "\n".join(anchor_study(tasks))
        print(text)
        if args.write_readme:
            write_readme(text, "anchors")
        return
    # every stand-in and weight with the frozen reading; the other readings with the frozen
    # stand-in and weight (they lost every comparison so far; all combinations would take
    # hours)
    variants = [(frozen_reading(), d, w) for d in NO_DIVERGENCE for w in SMOOTHED_WEIGHTS]
    variants += [(reading, NO_DIVERGENCE_FROZEN, SMOOTHED_MINIMUM_WEIGHT) for reading in READINGS
                 if reading != frozen_reading()]
    frozen_variant = (frozen_reading(), NO_DIVERGENCE_FROZEN, SMOOTHED_MINIMUM_WEIGHT)
    if frozen_variant not in variants:
        variants.append(frozen_variant)
    searches = {v: Search(tasks, v) for v in variants}
    frozen = searches[frozen_variant]
    names = [t.task.name for t in tasks]
    chosen_d, chosen = choose(searches, names)
    families = sorted({t.task.family for t in tasks})
    left_out: dict[str, Choice] = {
        family: choose(searches, [n for n in names if frozen._task(n).task.family != family])
        for family in families
    }
    by_family = {family: [n for n in names if frozen._task(n).task.family == family]
                 for family in families}
    variant_rows = []
    for v, search in searches.items():
        regrets = []
        for family in families:
            constants = search.choose_all([n for n in names if n not in by_family[family]])
            regrets += [search.regret(n, constants[kind_of(search._task(n))])
                        for n in by_family[family]]
        variant_rows.append((geomean(regrets), float(np.median(regrets)), max(regrets),
                             sum(r <= 1.1 for r in regrets), v))
    proposed_d = proposed_variant(variant_rows, frozen_variant)
    proposed = searches[proposed_d].choose_all(names)
    rows = []
    for t in tasks:
        name, kind, family = t.task.name, kind_of(t), t.task.family
        out_d, out = left_out[family]
        rows.append((family, name, kind, frozen.regret(name, tuple(RULE[kind])),
                     searches[chosen_d].regret(name, chosen[kind]),
                     searches[out_d].regret(name, out[kind]), (out_d, out[kind]),
                     searches[proposed_d].regret(name, proposed[kind])))
    lines = [
        f"{len(tasks)} tasks ({', '.join(args.groups)}), {len(families)} families, "
        f"{len(FINDER_SEEDS)} finds each. Constants (f, offset): frozen "
        + ", ".join(f"{k} {RULE[k]}" for k in KINDS)
        + f", {_words(frozen_variant)}; chosen in-sample "
        + ", ".join(f"{k} {chosen[k]}" for k in KINDS)
        + f", {_words(chosen_d)}; proposed (the variant by its leave-one-family-out score, "
        f"switching only for a gain of {SWITCH_MARGIN:g}, its constants chosen on every task) "
        + ", ".join(f"{k} {proposed[k]}" for k in KINDS)
        + f", {_words(proposed_d)}.",
        "",
        "Geometric-mean regret in-sample for each way of reading rises and no-divergence "
        "stand-in (each with its own chosen constants): " + "; ".join(
            f"{_words(v)} {search.score(names, search.choose_all(names)):.3f}"
            for v, search in searches.items()) + ".",
        "",
        "| regret | median | geometric mean | worst | tasks ≤ 1.10 |",
        "|---|---|---|---|---|",
    ]
    for label, column in (("frozen rule (lrfind.rule)", 3), ("chosen in-sample", 4),
                          ("chosen leaving the task's family out", 5),
                          ("proposed (in-sample)", 7)):
        values = [r[column] for r in rows]
        lines.append(f"| {label} | {np.median(values):.3f} | {geomean(values):.3f} | "
                     f"{max(values):.2f} | {sum(v <= 1.1 for v in values)}/{len(values)} |")
    lines += ["", "Each way of reading, stand-in and weight alone, its constants chosen leaving "
              "each family out and scored on that family (best first):", "",
              "| variant | geometric mean | median | worst | tasks ≤ 1.10 |",
              "|---|---|---|---|---|"]
    for gm, median, worst, good, v in sorted(variant_rows, key=lambda r: r[0]):
        lines.append(f"| {_words(v)} | {gm:.3f} | {median:.3f} | {worst:.2f} | "
                     f"{good}/{len(names)} |")
    lines += ["", "| family | task | kind | frozen | in-sample | family left out | stand-in, "
              "constants chosen without the family |", "|---|---|---|---|---|---|---|"]
    for family, name, kind, frozen_regret, inside, left, (d, key), _ in sorted(rows):
        lines.append(f"| {family} | {name} | {kind} | {frozen_regret:.3f} | {inside:.3f} | "
                     f"{left:.3f} | {_words(d)}, {key} |")
    text = "\n".join(lines)
    print(text)
    if not math.isfinite(sum(r[3] for r in rows)):
        print("some regrets are infinite (a suggestion where training diverges)")
    if args.write_readme:
        write_readme(text, "search")


def proposed_variant(variant_rows: list[tuple], frozen_variant: Variant) -> Variant:
    """The variant with the lowest leave-one-family-out geometric mean when it beats the
    frozen variant's by `SWITCH_MARGIN` or more, else the frozen variant."""
    scores = {row[-1]: row[0] for row in variant_rows}
    best = min(scores, key=scores.get)
    return best if scores[best] <= scores[frozen_variant] - SWITCH_MARGIN else frozen_variant


def _words(variant: Variant) -> str:
    (fraction, local), no_divergence, weight = variant
    stand_in = ("the ramp's end" if no_divergence is None
                else f"{no_divergence[0]} + {no_divergence[1]:g}")
    return (f"rise > {fraction:g} of the descent, against the "
            f"{'local' if local else 'start'} noise, no divergence: {stand_in}, "
            f"smoothed minimum's weight {weight:g}")


if __name__ == "__main__":
    main(sys.argv[1:])
