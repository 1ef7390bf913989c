"""`python -m mind_runner bisect`: every step in exact figures narrowed to one commit.

A sparse run (`backfill --every K`) finds the steps cheaply; each step then lies
somewhere between its last commit at the old level and its first at the new one.
This measures the middle commit of that range not yet tried, through `run` (so with
the same asv environment, build cache and carried Cargo.lock as every other run),
reads the steps again, and repeats until every step is a single commit, or its
range holds only commits that were tried and have no figure (they do not build, or
skip): those are reported as such. Changes of state (a clean refusal that becomes a
panic; see `mind_runner.regressions.states`) are narrowed the same way. Only the
benchmark classes of the steps being narrowed are run there. Each measured commit is
one build.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

from mind_runner.commands.config import CONFIG_PATH, results_dir
from mind_runner.commands.regressions import load_exact_steps
from mind_runner.commands.run import run
from mind_runner.commands.workers import measure_in_workers, measured_commits
from mind_runner.regressions.detector import Outcome, Series, Step
from mind_runner.regressions.states import StateChange
from mind_runner.util.errors import UserError

Measure = Callable[[Sequence[str], str, str, Sequence[str]], int]
"""(commits, machine, --bench regex, other asv options) -> asv run's worst exit status."""


def measure_commits(
    commits: Sequence[str],
    machine: str,
    bench: str,
    asv_args: Sequence[str],
    config_path: Path = CONFIG_PATH,
) -> int:
    """These commits, these benchmarks only. One commit goes through `run` (asv run
    COMMIT^!, in place); several go to parallel workers (`backfill`'s), except those that
    already have a result file: a worker's copy of it would hold only the new figures
    and `merge` refuses two different copies, so they are measured in place, one by one."""
    options = ["--machine", machine, "--bench", bench, *asv_args]
    if len(commits) == 1:
        return run(f"{commits[0]}^!", options, config_path=config_path)
    existing = measured_commits(results_dir(config_path), machine)
    fresh = [c for c in commits if c not in existing]
    statuses = [run(f"{c}^!", options, config_path=config_path) for c in commits if c in existing]
    if fresh:
        workers = measure_in_workers(fresh, len(fresh), machine, options[2:], config_path)
        statuses.append(workers)
    return max(statuses)


@dataclass(frozen=True)
class Narrowed:
    """The steps after bisecting, and what it cost."""

    steps: tuple[Step, ...]
    measured: tuple[str, ...]  # commits measured by the bisection, in order: one build each
    changes: tuple[StateChange, ...] = ()  # changes of state (skip, failure, number)


def _class_of(benchmark: str) -> str:
    return benchmark.rsplit(".", 1)[0]


def _untried(step: Step, tried: set[str]) -> list[str]:
    return [c for c, outcome in step.between if outcome is Outcome.NOT_RUN and c not in tried]


def _leading_gap(
    series: Series, history: Sequence[str], tried: set[str], unbuilt: Collection[str]
) -> list[str]:
    """The commits a step could hide in before a figure's first number: a sparse run's
    oldest sample that skips or fails (it cannot differentiate, it does not build) has
    no number to compare with, so the commits between it and the first number are
    measured until that number has a measured neighbour or none is left. The gap starts
    at the last commit before the first number where the figure ran without one (what
    MIND could not do there, it could not do before either, as a step is taken to lie
    in one place); a commit that did not build says nothing, so it does not bound it."""
    usable = [i for i, point in enumerate(series.points) if point.usable]
    if not usable:
        return []
    earlier = [p for p in series.points[: usable[0]] if p.outcome is not Outcome.NOT_RUN]
    if not earlier:
        return []
    bounding = [p for p in earlier if p.commit not in unbuilt] or earlier[:1]
    position = {commit: index for index, commit in enumerate(history)}
    low, high = position[bounding[-1].commit], position[series.points[usable[0]].commit]
    measured = {p.commit for p in series.points if p.outcome is not Outcome.NOT_RUN}
    return [c for c in history[low + 1 : high] if c not in measured and c not in tried]


@dataclass(frozen=True)
class _Work:
    """What is left: a figure's name and the commits not yet tried where its step may be."""

    benchmark: str
    span: str
    untried: list[str]
    size: float = 0.0  # the step's relative change; 1 for a change of state, 0 for a leading gap


STATE_CHANGE_SIZE = 1.0
"""A change of state ranks with a step of 100 %: what a user meets changed, not a cost."""


@dataclass(frozen=True)
class _Found:
    """The steps and changes of state of the results as they stand."""

    steps: list[Step]
    changes: list[StateChange]
    work: list[_Work]


def _work(machine: str, config_path: Path, tried: set[str]) -> _Found:
    """Every step and change of state, and every range one may still hide in (step and
    change ranges, leading gaps)."""
    found, _ = load_exact_steps(config_path)
    mine = [m for m in found if m.history.machine == machine]
    if not mine:
        raise UserError(f"no results of machine {machine}: run `python -m mind_runner run` first")
    if any(m.history.history is None for m in mine):
        raise UserError(
            "bisecting needs MIND's git history: set MIND_REPO to a clone, or run once so that "
            "asv's mirror of MIND exists"
        )
    steps = [step for m in mine for series in m.found for step in series.steps]
    changes = [change for m in mine for change in m.changes]
    work = [
        _Work(s.benchmark, f"{s.last_before[:8]}..{s.first_after[:8]}", untried, abs(s.change))
        for s in steps
        if (untried := _untried(s, tried))
    ]
    work += [
        _Work(c.benchmark, f"{c.last_before[:8]}..{c.first_after[:8]}", untried, STATE_CHANGE_SIZE)
        for c in changes
        if (untried := [commit for commit in c.untried if commit not in tried])
    ]
    # The ranges where most figures step first, then the largest steps: a bisection
    # stopped early has narrowed what matters most.
    figures = Counter(tuple(w.untried) for w in work)
    work.sort(key=lambda w: (-figures[tuple(w.untried)], -w.size))
    for m in mine:
        for series_steps in m.found:
            gap = _leading_gap(series_steps.series, m.history.history or (), tried, m.unbuilt)
            if gap:
                work.append(_Work(series_steps.series.benchmark, f"before {gap[-1][:8]}", gap))
    return _Found(steps, changes, work)


def pick(pending: Sequence[_Work], width: int) -> list[str]:
    """Up to `width` commits to measure at once: the middle of each distinct range, in
    order; workers to spare cut the longest ranges into more parts (a lone range into
    `width + 1`), so that rounds of parallel builds still narrow every round."""
    ranges: list[list[str]] = []
    for work in pending:
        if work.untried not in ranges:
            ranges.append(work.untried)
    ranges = ranges[:width]
    parts = [1] * len(ranges)
    for _ in range(width - len(ranges)):
        open_ranges = [i for i, r in enumerate(ranges) if parts[i] < len(r)]
        if not open_ranges:
            break
        longest = max(open_ranges, key=lambda i: len(ranges[i]) / (parts[i] + 1))
        parts[longest] += 1
    chosen: list[str] = []
    for commits, count in zip(ranges, parts, strict=True):
        for index in range(1, count + 1):
            commit = commits[index * len(commits) // (count + 1)]
            if commit not in chosen:
                chosen.append(commit)
    return chosen


def bisect(
    machine: str,
    asv_args: Sequence[str] = (),
    *,
    width: int = 1,
    config_path: Path = CONFIG_PATH,
    measure: Measure = measure_commits,
) -> Narrowed:
    """Measure midpoints, `width` commits a round, until no step's range has an
    untried commit."""
    measured: list[str] = []
    try:
        return _narrow(machine, asv_args, width, config_path, measure, measured)
    except KeyboardInterrupt:
        done = ", ".join(c[:8] for c in measured) or "none"
        print(
            f"mind_runner: bisect stopped; it built and measured {len(measured)} commit(s) in "
            f"full rounds ({done}); `python -m mind_runner regressions --all` shows the steps "
            "as they stand",
            file=sys.stderr,
        )
        raise


def _narrow(
    machine: str,
    asv_args: Sequence[str],
    width: int,
    config_path: Path,
    measure: Measure,
    measured: list[str],
) -> Narrowed:
    """The rounds; `measured` grows with each one, for the summary of a bisect stopped."""
    tried: set[str] = set()
    while True:
        found = _work(machine, config_path, tried)
        pending = found.work
        if not pending:
            return Narrowed(tuple(found.steps), tuple(measured), tuple(found.changes))
        commits = pick(pending, width)
        classes = sorted(
            {_class_of(w.benchmark) for w in pending if any(c in w.untried for c in commits)}
        )
        bench = "|".join(f"^{re.escape(name)}\\." for name in classes)
        print(
            f"mind_runner: bisecting {len(pending)} range(s): measuring "
            f"{', '.join(c[:8] for c in commits)} ({len(pending[0].untried)} untried, "
            f"{pending[0].span}) for {', '.join(classes)}",
            file=sys.stderr,
        )
        status = measure(commits, machine, bench, asv_args)
        if status not in (0, 2):
            raise UserError(
                f"measuring {', '.join(c[:8] for c in commits)} stopped (exit {status}): see "
                "the lines above; run `python -m mind_runner bisect` again to go on from what "
                "is measured"
            )
        tried.update(commits)
        measured.extend(commits)


def render(narrowed: Narrowed, hash_length: int = 8) -> str:
    lines = []
    for step in narrowed.steps:
        if step.single_commit:
            where = f"at {step.first_after[:hash_length]}"
        else:
            blocked = ", ".join(f"{c[:hash_length]} {o.value}" for c, o in step.between)
            where = (
                f"between {step.last_before[:hash_length]} and {step.first_after[:hash_length]}: "
                f"every commit in between has no figure ({blocked})"
            )
        kind = "regression" if step.regression else "improvement"
        lines.append(f"{step.label}: {kind} {100 * step.change:+.1f} % {where}")
    for change in narrowed.changes:
        what = f"{change.before.value} -> {change.after.value}"
        if change.single_commit:
            lines.append(f"{change.label}: {what} at {change.first_after[:hash_length]}")
        else:
            blocked = ", ".join(f"{c[:hash_length]} {o.value}" for c, o in change.between)
            lines.append(
                f"{change.label}: {what} between {change.last_before[:hash_length]} and "
                f"{change.first_after[:hash_length]}: every commit in between has no figure "
                f"({blocked})"
            )
    if narrowed.changes:
        narrowed_changes = sum(1 for c in narrowed.changes if c.single_commit)
        lines.append(
            f"{len(narrowed.changes)} change(s) of state, {narrowed_changes} narrowed to one commit"
        )
    single = sum(1 for s in narrowed.steps if s.single_commit)
    lines.append(
        f"{len(narrowed.steps)} step(s), {single} narrowed to one commit; the bisection built "
        f"and measured {len(narrowed.measured)} commit(s)"
        + (
            f": {', '.join(c[:hash_length] for c in narrowed.measured)}"
            if narrowed.measured
            else ""
        )
    )
    return "\n".join(lines)
