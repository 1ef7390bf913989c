"""Steps between consecutive measured commits, for figures that repeat exactly.

asv's step fit looks for a few level changes in a whole series at once; on
instruction counts, byte counts and other figures that come out the same run
after run it misses real steps (real MIND's history: none of its steps found).
This module does what rustc-perf does instead: each measured commit is compared
with the previous measured one (same machine, same environment), and a change is
a step when it is larger than

- the figure's threshold, relative to the value before (1 % for counts), and
- `spread_factor` times the run-to-run spread recorded at *both* commits (the
  spread is in % of the figure; a figure that repeats exactly has spread 0).

Commits whose figure is not a number (asv's NaN: skipped; null: failed) or was
not run are not measured: a step across them, or between commits that are not
adjacent in the history the caller gives, is a range, with the `find` command
that narrows it. Higher is worse for these figures: an upward step is a
regression, a downward one an improvement.

Pure logic: no file, no git, no asv. `mind_runner.regressions.history` builds the series.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from enum import Enum

from mind_runner.util.numbers import format_with_unit

GITHUB = "https://github.com/star-ga/mind"
FIND = "python -m mind_runner find"


class Outcome(Enum):
    """What a commit holds for one figure."""

    MEASURED = "measured"
    SKIPPED = "skipped"  # asv's NaN: setup raised NotImplementedError
    FAILED = "failed"  # asv's null: the benchmark raised, timed out, or MIND did not build
    NOT_RUN = "not run"  # no result for this commit


@dataclass(frozen=True)
class Point:
    """One commit of a series.

    `value`: the figure, NaN where asv recorded a skip, None where it recorded a
    failure (or where `measured` is False). `spread_percent`: the run-to-run spread
    recorded at this commit in % of the figure; 0 for a figure that repeats exactly,
    None where it was not recorded (then counted as 0). `measured`: whether the
    benchmark ran at this commit at all.
    """

    commit: str
    value: float | None
    spread_percent: float | None = 0.0
    measured: bool = True

    @property
    def outcome(self) -> Outcome:
        if not self.measured:
            return Outcome.NOT_RUN
        if self.value is None:
            return Outcome.FAILED
        if not math.isfinite(self.value):
            return Outcome.SKIPPED
        return Outcome.MEASURED

    @property
    def usable(self) -> bool:
        return self.outcome is Outcome.MEASURED


@dataclass(frozen=True)
class Series:
    """One figure (benchmark at one parameter combination), oldest commit first."""

    benchmark: str
    params: tuple[tuple[str, str], ...]
    points: tuple[Point, ...]
    unit: str = ""
    env: str = ""
    higher_is_worse: bool = True

    @property
    def label(self) -> str:
        params = ", ".join(f"{name}={value}" for name, value in self.params)
        return f"{self.benchmark}({params})" if params else self.benchmark


@dataclass(frozen=True)
class Rule:
    """When a change between two measured commits is a step.

    `threshold`: relative (0.01 = 1 % of the value before). `spread_factor`: the
    change must also exceed this many times the spread (in %) at each commit.
    """

    threshold: float = 0.01
    spread_factor: float = 2.0

    def is_step(self, before: Point, after: Point) -> bool:
        assert before.value is not None and after.value is not None
        change = relative_change(before.value, after.value)
        if abs(change) <= self.threshold:
            return False
        noise = self.spread_factor * max(before.spread_percent or 0.0, after.spread_percent or 0.0)
        return 100.0 * abs(change) > noise


def relative_change(before: float, after: float) -> float:
    """(after - before) / before; from 0 any change is infinite (0 -> 1 wrong gradient)."""
    if before == 0:
        return 0.0 if after == 0 else math.copysign(math.inf, after)
    return (after - before) / abs(before)


@dataclass(frozen=True)
class Step:
    """A change between two consecutive measured commits that the rule counts.

    `last_before` is the last measured commit at the old level, `first_after` the
    first at the new one. `between`: the commits in between and what each holds
    (from the history the caller gave; without one, only the series' own points).
    `undoes` / `undone_by`: positions in the series' steps of the step this one
    returns to the level before of, and of the later step that does so to this one.
    """

    benchmark: str
    params: tuple[tuple[str, str], ...]
    unit: str
    last_before: str
    first_after: str
    before: float
    after: float
    spread_before: float | None
    spread_after: float | None
    between: tuple[tuple[str, Outcome], ...]
    history_known: bool
    higher_is_worse: bool = True
    dependency_changes: tuple[str, ...] = ()
    undoes: int | None = None
    undone_by: int | None = None
    still_present: bool = False

    @property
    def label(self) -> str:
        params = ", ".join(f"{name}={value}" for name, value in self.params)
        return f"{self.benchmark}({params})" if params else self.benchmark

    @property
    def ratio(self) -> float:
        return self.after / self.before if self.before else math.inf

    @property
    def change(self) -> float:
        return relative_change(self.before, self.after)

    @property
    def regression(self) -> bool:
        return (self.after > self.before) == self.higher_is_worse

    @property
    def single_commit(self) -> bool:
        """The step is `first_after` alone: its parent in the history is `last_before`."""
        return self.history_known and not self.between

    @property
    def commit_url(self) -> str:
        return f"{GITHUB}/commit/{self.first_after}"

    @property
    def compare_url(self) -> str:
        return f"{GITHUB}/compare/{self.last_before}...{self.first_after}"

    @property
    def url(self) -> str:
        """The commit on GitHub, or GitHub's comparison of the range."""
        return self.commit_url if self.single_commit else self.compare_url

    def find_command(self, hash_length: int = 8) -> str | None:
        """The command that bisects the range; None for a single commit."""
        if self.single_commit:
            return None
        good, bad = self.last_before[:hash_length], self.first_after[:hash_length]
        return f"{FIND} {good}..{bad} {self.benchmark}"


@dataclass(frozen=True)
class SeriesSteps:
    """Every step of one series, oldest first, and its newest measured point."""

    series: Series
    steps: tuple[Step, ...]
    latest: Point | None
    rule: Rule = Rule()  # the rule the steps were found under

    @property
    def regressions(self) -> list[Step]:
        return [step for step in self.steps if step.regression]

    @property
    def improvements(self) -> list[Step]:
        return [step for step in self.steps if not step.regression]

    @property
    def still_present(self) -> list[Step]:
        """Regressions not undone whose level persists to the newest measured commit."""
        return [step for step in self.steps if step.still_present]


def detect(
    series: Series,
    rule: Rule | None = None,
    history: Sequence[str] | None = None,
    dependency_changes: Collection[str] = (),
) -> SeriesSteps:
    """The steps of `series` under `rule`.

    `history`: every commit of the branch, oldest first (e.g. `git rev-list
    --first-parent --reverse main`); it tells a step of one commit from a range.
    Without it nothing is known about what lies between two points, so every step
    is a range to bisect. `dependency_changes`: commits at which the dependency set
    changed; a step whose commit or range holds one says so.
    """
    rule = rule or Rule()
    position = _positions(series, history)
    usable = [index for index, point in enumerate(series.points) if point.usable]
    steps: list[Step] = []
    for earlier, later in itertools.pairwise(usable):
        before, after = series.points[earlier], series.points[later]
        if not rule.is_step(before, after):
            continue
        between = commits_between(series, earlier, later, history, position)
        assert before.value is not None and after.value is not None
        in_range = {after.commit, *(commit for commit, _ in between)}
        steps.append(
            Step(
                benchmark=series.benchmark,
                params=series.params,
                unit=series.unit,
                last_before=before.commit,
                first_after=after.commit,
                before=before.value,
                after=after.value,
                spread_before=before.spread_percent,
                spread_after=after.spread_percent,
                between=between,
                history_known=history is not None,
                higher_is_worse=series.higher_is_worse,
                dependency_changes=tuple(
                    commit for commit in dependency_changes if commit in in_range
                ),
            )
        )
    latest = series.points[usable[-1]] if usable else None
    steps = _pair_undoing_steps(steps, rule)
    steps = _mark_still_present(steps, latest, rule)
    return SeriesSteps(series=series, steps=tuple(steps), latest=latest, rule=rule)


def _positions(series: Series, history: Sequence[str] | None) -> dict[str, int]:
    if history is None:
        return {}
    position = {commit: index for index, commit in enumerate(history)}
    placed = []
    for point in series.points:
        if point.commit not in position:
            raise ValueError(f"{series.label}: commit {point.commit} is not in the history given")
        placed.append(position[point.commit])
    if placed != sorted(placed) or len(set(placed)) != len(placed):
        raise ValueError(f"{series.label}: points are not in the order of the history given")
    return position


def commits_between(
    series: Series,
    earlier: int,
    later: int,
    history: Sequence[str] | None,
    position: dict[str, int],
) -> tuple[tuple[str, Outcome], ...]:
    """The commits strictly between two points and what each holds for this figure."""
    known = {point.commit: point.outcome for point in series.points[earlier + 1 : later]}
    if history is None:
        return tuple(known.items())
    first = position[series.points[earlier].commit] + 1
    last = position[series.points[later].commit]
    return tuple((commit, known.get(commit, Outcome.NOT_RUN)) for commit in history[first:last])


def _level_kept(rule: Rule, level: Point, other: Point) -> bool:
    """Whether `other` is at the level of `level`: the change between them is no step."""
    return not rule.is_step(level, other)


def _pair_undoing_steps(steps: list[Step], rule: Rule) -> list[Step]:
    """Pair each step with the nearest earlier opposite step whose old level it restores.

    A revert: the later step goes the other way and lands where the earlier one
    started, within the same rule (threshold and spreads) that finds steps. A step
    can undo one step and be undone by one (a revert, then the change re-landed).
    """
    undoes: dict[int, int] = {}
    undone_by: dict[int, int] = {}
    for later, step in enumerate(steps):
        for earlier in range(later - 1, -1, -1):
            candidate = steps[earlier]
            if earlier in undone_by or (candidate.after > candidate.before) == (
                step.after > step.before
            ):
                continue
            old_level = Point(candidate.last_before, candidate.before, candidate.spread_before)
            restored = Point(step.first_after, step.after, step.spread_after)
            if _level_kept(rule, old_level, restored):
                undoes[later] = earlier
                undone_by[earlier] = later
                break
    return [
        replace(step, undoes=undoes.get(index), undone_by=undone_by.get(index))
        for index, step in enumerate(steps)
    ]


def _mark_still_present(steps: list[Step], latest: Point | None, rule: Rule) -> list[Step]:
    """A regression not undone is still present when the newest measured commit is
    still a step worse than the level before it."""
    if latest is None or latest.value is None:
        return steps
    marked = []
    for step in steps:
        present = False
        if step.regression and step.undone_by is None:
            old_level = Point(step.last_before, step.before, step.spread_before)
            worse = (latest.value > step.before) == step.higher_is_worse
            present = worse and rule.is_step(old_level, latest)
        marked.append(replace(step, still_present=present))
    return marked


def format_change(change: float) -> str:
    return "from 0" if math.isinf(change) else f"{100.0 * change:+.1f} %"


def describe(found: SeriesSteps, step: Step, hash_length: int = 8) -> str:
    """A few lines a MIND developer can act on: where, how much, the link, what else."""
    kind = "regression" if step.regression else "improvement"
    good, bad = step.last_before[:hash_length], step.first_after[:hash_length]
    lines = [f"{step.label}: {kind} {format_change(step.change)}"]
    if step.single_commit:
        lines.append(f"  commit:  {bad} (the step is this one commit)")
    else:
        lines.append(f"  commits: {good}..{bad} ({_range_reason(step)})")
    lines.append(
        f"  before:  {format_with_unit(step.before, step.unit)}   "
        f"after: {format_with_unit(step.after, step.unit)}   ratio: {step.ratio:.3f}x"
        f"{_spreads(step)}"
    )
    lines.append(f"  link:    {step.url}")
    command = step.find_command(hash_length)
    if command:
        lines.append(f"  bisect:  {command}")
    if step.dependency_changes:
        changed = ", ".join(commit[:hash_length] for commit in step.dependency_changes)
        lines.append(f"  note:    the dependency set changed at {changed}")
    if step.undoes is not None:
        undone = found.steps[step.undoes]
        residual = relative_change(undone.before, step.after)
        lines.append(
            f"  undoes:  {undone.first_after[:hash_length]} ({format_change(undone.change)}): "
            f"back to the level before it ({format_change(residual)} from it), as a revert "
            "or a re-land does (or an unrelated change of the same size)"
        )
    if step.undone_by is not None:
        later = found.steps[step.undone_by]
        lines.append(
            f"  undone:  by {later.first_after[:hash_length]} ({format_change(later.change)}), "
            "back to the level before this step"
        )
    if step.still_present and found.latest is not None and found.latest.value is not None:
        lines.append(
            f"  STILL PRESENT at the newest measured commit {found.latest.commit[:hash_length]}: "
            f"{format_with_unit(found.latest.value, step.unit)}"
        )
    return "\n".join(lines)


def _range_reason(step: Step) -> str:
    if not step.history_known:
        return "last measured .. first measured; the history between them is not known here"
    return f"last measured .. first measured; {held_between(step.between)}"


def held_between(between: Sequence[tuple[str, Outcome]]) -> str:
    """'3 commits between: 2 not run, 1 failed'."""
    counts: dict[Outcome, int] = {}
    for _, outcome in between:
        counts[outcome] = counts.get(outcome, 0) + 1
    held = ", ".join(f"{count} {outcome.value}" for outcome, count in counts.items())
    noun = "commit" if len(between) == 1 else "commits"
    return f"{len(between)} {noun} between: {held}"


def _spreads(step: Step) -> str:
    spreads = (step.spread_before, step.spread_after)
    if all(spread == 0 for spread in spreads):
        return ""
    shown = ["not recorded" if s is None else f"{s:.2g} %" for s in spreads]
    return f"   spread: {shown[0]} -> {shown[1]}"


def report(found: Sequence[SeriesSteps], hash_length: int = 8) -> tuple[str, int]:
    """Every step, oldest first per series; status 1 if a regression is still present."""
    blocks = [describe(series, step, hash_length) for series in found for step in series.steps]
    present = sum(len(series.still_present) for series in found)
    if not blocks:
        return "no steps between consecutive measured commits", 0
    header = (
        f"{len(blocks)} step(s) between consecutive measured commits; "
        f"{present} regression(s) still present at the newest commit"
    )
    return "\n\n".join([header, *blocks]), 1 if present else 0
