"""MIND's CLI per model, in figures that are not wall time: instructions and peak RSS.

A whole `mindc` call is about a millisecond, mostly start-up: its wall time hides
the autodiff share. Instructions retired (valgrind's callgrind) do not: the
gradient call minus the front-end call is the autodiff work alone, and it moves
in clear steps from commit to commit. asv.conf.json flags a 1 % step in any
`track_*instructions` figure; spreads are named so that they match no threshold
of their own kind.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from benchmarks.mind_cli import prepared
from mind_runner.measure.callgrind import count_instructions, find_valgrind
from mind_runner.measure.peak_memory import find_gnu_time, measure_peak_rss
from mind_runner.measure.repeated import RepeatedRuns
from mind_runner.mind.driver import (
    CannotDifferentiate,
    MindDriver,
    MindFailed,
    PreparedModel,
    Stage,
)
from mind_runner.mind.models import SEED_MODELS
from mind_runner.util.errors import MachineFault
from mind_runner.util.run_log import record_fault

MODELS = list(SEED_MODELS)
RUNS = 3


@dataclass(frozen=True)
class StageCounts:
    """One program's front-end and gradient calls, each counted RUNS times."""

    front_end: RepeatedRuns
    gradient: RepeatedRuns

    @property
    def autodiff(self) -> int:
        """What `--autodiff --emit-grad-ir` adds to `--emit-ir`: the gradient work alone."""
        return self.gradient.median - self.front_end.median

    @property
    def autodiff_spread_percent(self) -> float:
        """How far run-to-run wobble could move the autodiff figure, in % of it."""
        wobble = self.gradient.spread + self.front_end.spread
        return 100.0 * wobble / self.autodiff if self.autodiff > 0 else 0.0


@dataclass(frozen=True)
class NotCounted:
    """Why a model has no counts: a skip (cannot differentiate, no valgrind), or a
    failure of this commit's MIND (it crashed or hung), which asv records as such."""

    reason: str
    failed: bool = False

    def raise_it(self) -> NoReturn:
        if self.failed:
            raise MindFailed(self.reason)
        raise NotImplementedError(self.reason)


Counted = StageCounts | NotCounted
"""Counts, or why there are none."""


def tool_missing(missing: NotImplementedError) -> NotCounted:
    """A measuring tool this machine lacks: a skip, logged as a fault of the machine so
    that the counts measured before (on this machine, with the tool) are kept."""
    record_fault(
        MachineFault(str(missing), "these figures were not measured: install it and run again")
    )
    return NotCounted(str(missing))


def require_tool(find: Callable[[], Path]) -> Path:
    """`find()`'s tool; when this machine lacks it, the skip is logged as its fault."""
    try:
        return find()
    except NotImplementedError as missing:
        raise NotImplementedError(tool_missing(missing).reason) from None


def count_stages(driver: MindDriver, case: PreparedModel, runs: int = RUNS) -> StageCounts:
    valgrind = find_valgrind()
    return StageCounts(
        front_end=count_instructions(
            driver.command(Stage.FRONT_END, case.program), runs=runs, valgrind=valgrind
        ),
        gradient=count_instructions(
            driver.command(Stage.GRADIENT, case.program), runs=runs, valgrind=valgrind
        ),
    )


def count_models(models: list[str], runs: int = RUNS) -> dict[str, Counted]:
    """Every model's counts, or why not (never raises a skip: one model's does not
    stop the others)."""
    try:
        find_valgrind()
    except NotImplementedError as missing:
        return dict.fromkeys(models, tool_missing(missing))
    try:
        driver = MindDriver.locate()
    except NotImplementedError as missing:
        return dict.fromkeys(models, NotCounted(str(missing)))
    counted: dict[str, Counted] = {}
    for model in models:
        try:
            case = driver.prepare(SEED_MODELS[model])
        except CannotDifferentiate as reason:
            counted[model] = NotCounted(str(reason))
        except MindFailed as failure:
            counted[model] = NotCounted(str(failure), failed=True)
        else:
            counted[model] = count_stages(driver, case, runs)
    return counted


def require_counts(counted: dict[str, Counted], model: str) -> StageCounts:
    entry = counted[model]
    if isinstance(entry, NotCounted):
        entry.raise_it()
    return entry


class InstructionCounts:
    """Tier: gradient generation (one-time), MIND side, as instructions retired.

    Every count is the median of 3 callgrind runs of a whole `mindc` process with
    the driver's fixed environment, program path and working directory /.
    """

    params = [MODELS]
    param_names = ["model"]

    def setup_cache(self) -> dict[str, Counted]:
        """All callgrind runs, once per commit: about 0.3 s each under valgrind."""
        return count_models(MODELS)

    setup_cache.timeout = 600  # type: ignore[attr-defined]

    def setup(self, counted: dict[str, Counted], model: str) -> None:
        self.counts = require_counts(counted, model)

    def track_gradient_call_instructions(self, counted: dict[str, Counted], model: str) -> int:
        """Tier: gradient generation, one-time. Instructions of one whole `mindc FILE
        --autodiff --emit-grad-ir --func main` process: start-up, front end, autodiff,
        printing the gradient module (median of 3 callgrind runs)."""
        return self.counts.gradient.median

    track_gradient_call_instructions.unit = "instructions"  # type: ignore[attr-defined]

    def track_front_end_instructions(self, counted: dict[str, Counted], model: str) -> int:
        """Tier: front end. Instructions of one whole `mindc FILE --emit-ir` process:
        start-up, parse, type-check, lowering, printing the primal IR; no autodiff
        (median of 3 callgrind runs)."""
        return self.counts.front_end.median

    track_front_end_instructions.unit = "instructions"  # type: ignore[attr-defined]

    def track_autodiff_instructions(self, counted: dict[str, Counted], model: str) -> int:
        """Tier: gradient generation, the autodiff work alone. Gradient-call instructions
        minus front-end instructions (medians): reverse pass plus printing the gradient
        instructions. The figure a 1 % autodiff regression moves by 1 %."""
        return self.counts.autodiff

    track_autodiff_instructions.unit = "instructions"  # type: ignore[attr-defined]

    def track_gradient_call_spread_percent(self, counted: dict[str, Counted], model: str) -> float:
        """Tier: measurement quality. (largest - smallest) / median of the 3 gradient-call
        counts, in %: 0 where MIND is deterministic, up to 0.76 at some real commits."""
        return self.counts.gradient.spread_percent

    track_gradient_call_spread_percent.unit = "%"  # type: ignore[attr-defined]

    def track_autodiff_spread_percent(self, counted: dict[str, Counted], model: str) -> float:
        """Tier: measurement quality. The two calls' spreads added, in % of the autodiff
        figure: how much of a step in track_autodiff_instructions run-to-run wobble
        alone could explain."""
        return self.counts.autodiff_spread_percent

    track_autodiff_spread_percent.unit = "%"  # type: ignore[attr-defined]


class PeakMemory:
    """Tier: memory of gradient generation (one-time), MIND side."""

    params = [MODELS]
    param_names = ["model"]

    def setup(self, model: str) -> None:
        self.gnu_time = require_tool(find_gnu_time)
        driver, case = prepared(model)
        self.command = driver.command(Stage.GRADIENT, case.program)

    def track_mindc_peak_rss_bytes(self, model: str) -> int:
        """Tier: gradient generation memory. Peak RSS of the `mindc FILE --autodiff
        --emit-grad-ir --func main` process alone (started by GNU time, not by this
        Python process, whose torch would be counted): median of 3 runs; floor ~1 MiB."""
        return measure_peak_rss(self.command, runs=RUNS, gnu_time=self.gnu_time).median

    track_mindc_peak_rss_bytes.unit = "bytes"  # type: ignore[attr-defined]
