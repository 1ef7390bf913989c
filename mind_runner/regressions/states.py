"""Changes of state in a figure's history: where it stops or starts having a number.

A figure can change without a number to step: MIND refused a program cleanly (asv's
skip) and panics on it from some commit on (a failure), or a rule it could not
differentiate gets a number. `bisect` narrows these as it narrows steps, so a MIND
developer learns the commit that changed what a user meets, not only what it costs.

A commit where nothing ran (every figure failed: MIND did not build) says nothing
about any one figure, so it is passed over. Changes before a figure's first number are
`bisect`'s leading gap, narrowed there; between two numbers, the step detector's.

Pure logic, like `detector`: series in, changes out.
"""

from __future__ import annotations

import itertools
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from mind_runner.regressions.detector import (
    GITHUB,
    Outcome,
    Series,
    commits_between,
    held_between,
)


@dataclass(frozen=True)
class StateChange:
    """One figure's outcome differs at two consecutive commits where it ran."""

    benchmark: str
    params: tuple[tuple[str, str], ...]
    last_before: str
    first_after: str
    before: Outcome
    after: Outcome
    between: tuple[tuple[str, Outcome], ...]  # the commits in between, from the history

    @property
    def label(self) -> str:
        params = ", ".join(f"{name}={value}" for name, value in self.params)
        return f"{self.benchmark}({params})" if params else self.benchmark

    @property
    def single_commit(self) -> bool:
        return not self.between

    @property
    def url(self) -> str:
        """The commit on GitHub, or GitHub's comparison of the range."""
        if self.single_commit:
            return f"{GITHUB}/commit/{self.first_after}"
        return f"{GITHUB}/compare/{self.last_before}...{self.first_after}"

    @property
    def untried(self) -> list[str]:
        return [commit for commit, outcome in self.between if outcome is Outcome.NOT_RUN]


def unbuilt_commits(series: Sequence[Series]) -> set[str]:
    """Commits where some figure ran and none has a number or a skip: MIND did not build
    there (asv records every benchmark of a failed build as failed)."""
    outcomes: dict[str, set[Outcome]] = {}
    for one in series:
        for point in one.points:
            if point.outcome is not Outcome.NOT_RUN:
                outcomes.setdefault(point.commit, set()).add(point.outcome)
    return {commit for commit, seen in outcomes.items() if seen == {Outcome.FAILED}}


def state_changes(
    series: Series, history: Sequence[str], unbuilt: Collection[str] = ()
) -> list[StateChange]:
    """Every change of outcome between consecutive commits where `series` ran, from its
    first number on (or over the whole series when it never has one)."""
    ran = [
        index
        for index, point in enumerate(series.points)
        if point.outcome is not Outcome.NOT_RUN and point.commit not in unbuilt
    ]
    first_number = next((n for n, index in enumerate(ran) if series.points[index].usable), 0)
    position = {commit: index for index, commit in enumerate(history)}
    changes = []
    for earlier, later in itertools.pairwise(ran[first_number:]):
        before, after = series.points[earlier], series.points[later]
        if before.outcome is after.outcome:
            continue  # the same outcome (two numbers: the step detector's)
        changes.append(
            StateChange(
                benchmark=series.benchmark,
                params=series.params,
                last_before=before.commit,
                first_after=after.commit,
                before=before.outcome,
                after=after.outcome,
                between=commits_between(series, earlier, later, history, position),
            )
        )
    return changes


def describe(change: StateChange, hash_length: int = 8) -> str:
    """A few lines, as the detector's for a step: what changed, where, what to run."""
    first = change.first_after[:hash_length]
    lines = [f"{change.label}: {change.before.value} -> {change.after.value}"]
    if change.single_commit:
        lines.append(f"  commit:  {first} (the change is this one commit)")
    else:
        last = change.last_before[:hash_length]
        lines.append(
            f"  commits: {last}..{first} (last .. first where it ran; "
            f"{held_between(change.between)})"
        )
    lines.append(f"  link:    {change.url}")
    if change.untried:
        lines.append("  bisect:  python -m mind_runner bisect (narrows it with the steps)")
    return "\n".join(lines)
