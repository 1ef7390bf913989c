"""The exact figures' steps as JSON: what the site's steps page and CI read."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from mind_runner.regressions.detector import SeriesSteps, Step
from mind_runner.regressions.history import DEFAULT_RULE, History
from mind_runner.regressions.states import StateChange

FORMAT_VERSION = 1


def _finite(value: float | None) -> float | None:
    """JSON has no infinity: a change from 0 is written as null (see `from_zero`)."""
    return value if value is not None and math.isfinite(value) else None


def step_json(series: SeriesSteps, step: Step) -> dict[str, Any]:
    def commit_of(index: int | None) -> str | None:
        return None if index is None else series.steps[index].first_after

    return {
        "benchmark": step.benchmark,
        "params": dict(step.params),
        "unit": step.unit,
        "kind": "regression" if step.regression else "improvement",
        "threshold": series.rule.threshold,
        "last_before": step.last_before,
        "first_after": step.first_after,
        "single_commit": step.single_commit,
        "commits_between": len(step.between),
        "before": step.before,
        "after": step.after,
        "change": _finite(step.change),
        "from_zero": step.before == 0,
        "spread_before_percent": step.spread_before,
        "spread_after_percent": step.spread_after,
        "url": step.url,
        "find_command": step.find_command(),
        "undoes": commit_of(step.undoes),
        "undone_by": commit_of(step.undone_by),
        "still_present": step.still_present,
        "dependency_changes": list(step.dependency_changes),
    }


def change_json(change: StateChange) -> dict[str, Any]:
    return {
        "benchmark": change.benchmark,
        "params": dict(change.params),
        "before": change.before.value,
        "after": change.after.value,
        "last_before": change.last_before,
        "first_after": change.first_after,
        "single_commit": change.single_commit,
        "commits_between": len(change.between),
        "url": change.url,
    }


def _not_compared(history: History) -> list[dict[str, str]]:
    """Measured commits off the first-parent line: listed, so none vanishes unsaid."""
    reason = f"not on the first-parent line of {history.branch}"
    return [{"commit": commit, "reason": reason} for commit in history.unplaced]


def steps_document(
    found: Sequence[tuple[History, Sequence[SeriesSteps], Sequence[StateChange]]],
) -> dict[str, Any]:
    """Each machine's steps, and its changes of state (a figure that stops or starts
    having a number: `regressions.states`)."""
    return {
        "version": FORMAT_VERSION,
        "rule": {
            "threshold": DEFAULT_RULE.threshold,
            "spread_factor": DEFAULT_RULE.spread_factor,
            "meaning": "a step: |change| over the threshold and over spread_factor x the "
            "run-to-run spread (%) at both commits; each step's own `threshold` is "
            "asv.conf.json's regressions_thresholds for its benchmark",
        },
        "machines": [
            {
                "machine": history.machine,
                "env": history.env,
                "ordered_by": history.ordered_by,
                "commits": list(history.commits),
                "measured_not_compared": _not_compared(history),
                "steps": [step_json(series, step) for series in steps for step in series.steps],
                "changes": [change_json(change) for change in changes],
            }
            for history, steps, changes in found
        ],
    }
