"""`python -m mind_runner regressions`: the steps in the history a MIND developer acts on.

Two detectors, each where it works: figures that repeat exactly (instruction
counts, IR sizes, saved bytes, incorrect gradients) are compared commit with
measured commit (`regressions.detector`, as rustc-perf does); wall times keep
asv's own step fit, read from the published `regressions.json`. The exact
figures' steps are also written as `steps.json` next to it, for the site and CI.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mind_runner.commands import config as project_config
from mind_runner.hooks.lockfile import BuildRecord, dependency_changes, load_records
from mind_runner.regressions.asv_findings import describe as describe_asv_step
from mind_runner.regressions.asv_findings import load_steps
from mind_runner.regressions.detector import SeriesSteps, describe
from mind_runner.regressions.history import (
    FirstParentLine,
    History,
    detect_history,
    git_history,
    is_exact,
    load_histories,
    rules_from_thresholds,
)
from mind_runner.regressions.states import StateChange, state_changes, unbuilt_commits
from mind_runner.regressions.states import describe as describe_change
from mind_runner.regressions.steps_json import steps_document
from mind_runner.regressions.steps_page import write_steps_page
from mind_runner.results.asv_results import list_machines
from mind_runner.util.errors import UserError
from mind_runner.util.files import write_atomically

STEPS_JSON = "steps.json"


@dataclass(frozen=True)
class MachineSteps:
    """The exact figures' steps of one machine and asv environment."""

    history: History
    found: tuple[SeriesSteps, ...]
    changes: tuple[StateChange, ...] = ()  # where a figure stops or starts having a number
    unbuilt: frozenset[str] = frozenset()  # commits where MIND did not build: nothing ran


def mind_commit_order(conf: Any, config_dir: Path) -> FirstParentLine | None:
    """MIND's first-parent history on disk (MIND_REPO, or asv's mirror), else None:
    without it commits are ordered by date and every step is a range to bisect."""
    for candidate in (Path(str(conf.repo)), config_dir / str(conf.project)):
        if (candidate / ".git").exists() or (candidate / "HEAD").is_file():
            branch = (conf.branches or ["main"])[0]
            return FirstParentLine(branch, tuple(git_history(candidate, branch)))
    return None


def exact_steps(
    results_dir: Path,
    machines: Sequence[str],
    order: FirstParentLine | None,
    records: Mapping[str, BuildRecord],
    thresholds: Mapping[str, float],
) -> list[MachineSteps]:
    """Each machine's steps, under asv.conf.json's `regressions_thresholds`; a step whose
    range holds a change of the crates MIND was built with (results/builds/) says so:
    the step may not be MIND's own."""
    rule_for = rules_from_thresholds(thresholds)
    found = []
    for machine in machines:
        for history in load_histories(results_dir, machine, order):
            along = history.history or history.commits
            changed = [change.commit for change in dependency_changes(records, along)]
            steps = detect_history(history, rule_for, dependency_changes=changed)
            unbuilt = frozenset(unbuilt_commits(history.series))
            found.append(MachineSteps(history, tuple(steps), _changes(history, unbuilt), unbuilt))
    return found


def _changes(history: History, unbuilt: frozenset[str]) -> tuple[StateChange, ...]:
    """Changes of state need the history between commits; by date nothing is known."""
    if history.history is None:
        return ()
    return tuple(
        change
        for series in history.series
        for change in state_changes(series, history.history, unbuilt)
    )


def render(found: list[MachineSteps], everything: bool, hash_length: int = 8) -> tuple[str, int]:
    """Text of the exact figures' steps and how many regressions are still present."""
    blocks: list[str] = []
    present = 0
    for machine in found:
        history = machine.history
        shown = [
            describe(series, step, hash_length)
            for series in machine.found
            for step in (series.steps if everything else series.still_present)
        ]
        shown += [describe_change(change, hash_length) for change in machine.changes]
        present += sum(len(series.still_present) for series in machine.found)
        not_compared = history.not_compared(hash_length)
        if shown or not_compared:
            blocks.append(
                "\n".join(
                    [
                        f"machine {history.machine}, {history.env}: {history.measured} commits "
                        f"measured, ordered by {history.ordered_by}",
                        *not_compared,
                    ]
                )
            )
            blocks += shown
    return "\n\n".join(blocks), present


def load_exact_steps(config: Path) -> tuple[list[MachineSteps], Path]:
    """Every machine's exact-figure steps, and the site folder; an error if none was measured."""
    conf = project_config.load_config(config)
    results_dir = config.parent / str(conf.results_dir)
    machines = list_machines(results_dir)
    if not machines:
        raise UserError(
            f"no results in {results_dir}: nothing to judge; run `python -m mind_runner run` first"
        )
    records = load_records(project_config.build_record_dir(config))
    found = exact_steps(
        results_dir,
        machines,
        mind_commit_order(conf, config.parent),
        records,
        dict(conf.regressions_thresholds or {}),
    )
    if not any(m.history.commits for m in found):
        raise UserError(
            "; ".join(
                [
                    f"no measured commits in {results_dir}: nothing to judge",
                    *left_out(found),
                    "run `python -m mind_runner run` first",
                ]
            )
        )
    return found, config.parent / str(conf.html_dir)


def left_out(found: Sequence[MachineSteps]) -> list[str]:
    """The results files asv cannot read, each named once with what to do."""
    return list(dict.fromkeys(line for m in found for line in m.history.unreadable))


def judgeable(found: Sequence[MachineSteps]) -> bool:
    """Whether some exact figure has numbers at two commits: else no step can be found,
    and "no regression" would be a false all-clear."""
    return any(
        sum(1 for point in series.points if point.usable) >= 2
        for machine in found
        for series in machine.history.series
    )


def write_steps(html_dir: Path, found: list[MachineSteps]) -> Path:
    """steps.json next to asv's regressions.json; the steps page once the site exists."""
    document = steps_document([(m.history, m.found, m.changes) for m in found if m.history.commits])
    path = write_atomically(html_dir / STEPS_JSON, json.dumps(document, indent=1) + "\n")
    if (html_dir / "index.html").is_file():
        write_steps_page(html_dir, document)
    return path


def run_regressions(
    *, machine: str | None, everything: bool, config_path: Path | None = None
) -> tuple[str, int]:
    """The text to print and the exit status: 1 if a regression is still present."""
    found, html_dir = load_exact_steps(config_path or project_config.CONFIG_PATH)
    written = write_steps(html_dir, found)
    if machine is not None:
        found = [m for m in found if m.history.machine == machine]
        if not found:
            raise UserError(f"no results of machine {machine}: see `ls results/`")
    for line in left_out(found):
        print(f"mind_runner: left out: {line}", file=sys.stderr)
    if not judgeable(found):
        raise UserError(
            "nothing to judge: no figure that repeats exactly has results at two commits of "
            "one machine, and a step needs two; run `python -m mind_runner run RANGE` first"
        )
    exact_text, present = render(found, everything)
    total = sum(len(series.steps) for m in found for series in m.found)
    changes = sum(len(m.changes) for m in found)
    scope = "every step" if everything else "the regressions still present"
    sections = [
        f"Exact figures, each measured commit against the previous one: {total} step(s) in "
        f"the history, {present} regression(s) still present at the newest commit"
        + (
            f", {changes} change(s) of state (a figure that stops or starts having a number, "
            "shown in either case)"
            if changes
            else ""
        )
        + f". Shown: {scope} (all of them: --all). Written to {written}.",
    ]
    if exact_text:
        sections.append(exact_text)
    asv_text, asv_count = _asv_findings(html_dir)
    sections.append(asv_text)
    return "\n\n".join(sections), 1 if present or asv_count else 0


def _asv_findings(html_dir: Path) -> tuple[str, int]:
    """asv's own steps for the figures that do not repeat exactly (wall times, RSS)."""
    if not (html_dir / "regressions.json").is_file():
        return (
            "Wall times: asv's step detection runs at publish; no "
            f"{html_dir / 'regressions.json'} yet (`python -m mind_runner publish`).",
            0,
        )
    steps = [step for step in load_steps(html_dir) if not is_exact(step.benchmark)]
    source = html_dir / "regressions.json"
    if not steps:
        return f"Wall times and other noisy figures: asv flagged nothing ({source}).", 0
    blocks = [describe_asv_step(step) for step in steps]
    header = (
        f"Wall times and other noisy figures: {len(steps)} regression(s) flagged by asv "
        f"({source}), largest ratio first:"
    )
    return "\n\n".join([header, *blocks]), len(steps)
