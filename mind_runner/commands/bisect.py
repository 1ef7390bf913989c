"""`python -m mind_runner bisect`: every step in exact figures narrowed to one commit.

A sparse run (`backfill --every K`) finds the steps cheaply; each step then lies
somewhere between its last commit at the old level and its first at the new one.
This measures the middle commit of that range not yet tried, through `run` (so with
the same asv environment, build cache and carried Cargo.lock as every other run),
reads the steps again, and repeats until every step is a single commit, or its
range holds only commits that were tried and have no figure (they do not build, or
skip): those are reported as such. Only the benchmark classes of the steps being
narrowed are run there. Each measured commit is one build.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from mind_runner.commands.config import CONFIG_PATH
from mind_runner.commands.regressions import load_exact_steps
from mind_runner.commands.run import run
from mind_runner.regressions.detector import Outcome, Step
from mind_runner.util.errors import UserError

Measure = Callable[[str, str, str, Sequence[str]], int]
"""(commit, machine, --bench regex, other asv options) -> asv run's exit status."""


def measure_commit(commit: str, machine: str, bench: str, asv_args: Sequence[str]) -> int:
    """One commit through `run` (asv run COMMIT^!), these benchmarks only."""
    return run(f"{commit}^!", ["--machine", machine, "--bench", bench, *asv_args])


@dataclass(frozen=True)
class Narrowed:
    """The steps after bisecting, and what it cost."""

    steps: tuple[Step, ...]
    measured: tuple[str, ...]  # commits measured by the bisection, in order: one build each


def _class_of(benchmark: str) -> str:
    return benchmark.rsplit(".", 1)[0]


def _untried(step: Step, tried: set[str]) -> list[str]:
    return [c for c, outcome in step.between if outcome is Outcome.NOT_RUN and c not in tried]


def _steps(machine: str, config_path: Path) -> list[Step]:
    found, _ = load_exact_steps(config_path)
    mine = [m for m in found if m.history.machine == machine]
    if not mine:
        raise UserError(f"no results of machine {machine}: run `python -m mind_runner run` first")
    if any(m.history.history is None for m in mine):
        raise UserError(
            "bisecting needs MIND's git history: set MIND_REPO to a clone, or run once so that "
            "asv's mirror of MIND exists"
        )
    return [step for m in mine for series in m.found for step in series.steps]


def bisect(
    machine: str,
    asv_args: Sequence[str] = (),
    *,
    config_path: Path = CONFIG_PATH,
    measure: Measure = measure_commit,
) -> Narrowed:
    """Measure midpoints until no step's range has an untried commit."""
    tried: set[str] = set()
    measured: list[str] = []
    while True:
        steps = _steps(machine, config_path)
        pending = [s for s in steps if _untried(s, tried)]
        if not pending:
            return Narrowed(tuple(steps), tuple(measured))
        candidates = _untried(pending[0], tried)
        commit = candidates[len(candidates) // 2]
        classes = sorted(
            {_class_of(s.benchmark) for s in pending if commit in {c for c, _ in s.between}}
        )
        bench = "|".join(f"^{re.escape(name)}\\." for name in classes)
        print(
            f"mind_runner: bisecting {len(pending)} step(s): measuring {commit[:8]} "
            f"({len(candidates)} untried in {pending[0].last_before[:8]}.."
            f"{pending[0].first_after[:8]}) for {', '.join(classes)}",
            file=sys.stderr,
        )
        status = measure(commit, machine, bench, asv_args)
        if status not in (0, 2):
            raise UserError(
                f"measuring {commit[:8]} stopped (exit {status}): see the lines above; run "
                "`python -m mind_runner bisect` again to go on from what is measured"
            )
        tried.add(commit)
        measured.append(commit)


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


def every_kth(commits_newest_first: Sequence[str], k: int) -> list[str]:
    """Every K-th commit from the oldest, and the newest always: a sparse run's plan."""
    oldest_first = list(reversed(commits_newest_first))
    picked = oldest_first[::k]
    if oldest_first and oldest_first[-1] not in picked:
        picked.append(oldest_first[-1])
    return list(reversed(picked))
