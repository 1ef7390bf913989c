"""MIND's CLI per model, in figures that are not wall time: instructions and peak RSS.

A whole `mindc` call is about a millisecond, mostly start-up: its wall time hides
the autodiff share. Instructions retired (valgrind's callgrind) do not: the
gradient call minus the front-end call is the autodiff work alone, and it moves
in clear steps from commit to commit. Every count is taken with MIND's hash seeds
fixed (mind_runner.measure.fixed_seed), so it is the same every time it is taken.
asv.conf.json flags a 1 % step in any `track_*instructions` figure; spreads are
named so that they match no threshold of their own kind.
"""

from __future__ import annotations

from benchmarks.common import (
    MODELS,
    RUNS,
    NotMeasured,
    StageCounts,
    count_stages,
    prepared,
    require_tool,
    tool_missing,
    with_attributes,
)
from mind_runner.measure.callgrind import find_valgrind
from mind_runner.measure.fixed_seed import SEEDS, shim_library
from mind_runner.measure.peak_memory import find_gnu_time, measure_peak_rss
from mind_runner.mind.driver import CannotDifferentiate, MindDriver, MindFailed, Stage
from mind_runner.mind.models import SEED_MODELS

CountsOrReason = StageCounts | NotMeasured
"""Counts, or why there are none (a skip, or a failure of this commit's MIND)."""


def count_models(models: list[str], seeds: tuple[int, ...] = SEEDS) -> dict[str, CountsOrReason]:
    """Every model's counts, or why not (never raises: one model's reason does not stop
    the others)."""
    try:
        find_valgrind()
        shim_library()
    except NotImplementedError as missing:
        return dict.fromkeys(models, tool_missing(missing))
    try:
        driver = MindDriver.locate()
    except NotImplementedError as missing:
        return dict.fromkeys(models, NotMeasured(str(missing)))
    counted: dict[str, CountsOrReason] = {}
    for model in models:
        try:
            case = driver.prepare(SEED_MODELS[model])
        except CannotDifferentiate as reason:
            counted[model] = NotMeasured(str(reason))
        except MindFailed as failure:
            counted[model] = NotMeasured(str(failure), failed=True)
        else:
            counted[model] = count_stages(driver, case, seeds)
    return counted


def require_counts(counted: dict[str, CountsOrReason], model: str) -> StageCounts:
    entry = counted[model]
    if isinstance(entry, NotMeasured):
        entry.raise_it()
    return entry


class InstructionCounts:
    """Tier: gradient generation (one-time), MIND side, as instructions retired.

    Every count is the median over 3 fixed hash seeds (one callgrind run each) of a
    whole `mindc` process with the driver's fixed environment, program path and
    working directory /; the first seed is counted twice to check it repeats.
    """

    version = 1  # raised only when what a figure means changes (see versions.json)

    params = [MODELS]
    param_names = ["model"]

    @with_attributes(timeout=600)
    def setup_cache(self) -> dict[str, CountsOrReason]:
        """All callgrind runs, once per commit: about 0.3 s each under valgrind."""
        return count_models(MODELS)

    def setup(self, counted: dict[str, CountsOrReason], model: str) -> None:
        self.counts = require_counts(counted, model)

    @with_attributes(unit="instructions")
    def track_gradient_call_instructions(
        self, counted: dict[str, CountsOrReason], model: str
    ) -> int:
        """Tier: gradient generation, one-time. Instructions of one whole `mindc FILE
        --autodiff --emit-grad-ir --func main` process: start-up, front end, autodiff,
        printing the gradient module (median over 3 fixed hash seeds; the seed shim's
        own loading adds a constant)."""
        return self.counts.gradient.median

    @with_attributes(unit="instructions")
    def track_front_end_instructions(self, counted: dict[str, CountsOrReason], model: str) -> int:
        """Tier: front end. Instructions of one whole `mindc FILE --emit-ir` process:
        start-up, parse, type-check, lowering, printing the primal IR; no autodiff
        (median over 3 fixed hash seeds; the seed shim's own loading adds a constant)."""
        return self.counts.front_end.median

    @with_attributes(unit="instructions")
    def track_autodiff_instructions(self, counted: dict[str, CountsOrReason], model: str) -> int:
        """Tier: gradient generation, the autodiff work alone. Gradient-call instructions
        minus front-end instructions (medians over the same 3 fixed hash seeds): reverse
        pass plus printing the gradient instructions. The figure a 1 % autodiff
        regression moves by 1 %."""
        return self.counts.autodiff

    @with_attributes(unit="%")
    def track_gradient_call_spread_percent(
        self, counted: dict[str, CountsOrReason], model: str
    ) -> float:
        """Tier: measurement quality. Run to run: the gradient call counted twice under
        the first seed, difference in % of the median. 0.00 when the fixed seeds make
        MIND repeatable; anything else means some other source of variation."""
        return self.counts.gradient.spread_percent

    @with_attributes(unit="%")
    def track_autodiff_spread_percent(
        self, counted: dict[str, CountsOrReason], model: str
    ) -> float:
        """Tier: measurement quality. The two calls' run-to-run spreads added, in % of the
        autodiff figure: how much of a step in track_autodiff_instructions run-to-run
        wobble alone could explain; 0.00 when both calls repeat exactly."""
        return self.counts.autodiff_spread_percent


class PeakMemory:
    """Tier: memory of gradient generation (one-time), MIND side."""

    version = 1  # raised only when what a figure means changes (see versions.json)

    params = [MODELS]
    param_names = ["model"]

    def setup(self, model: str) -> None:
        self.gnu_time = require_tool(find_gnu_time)
        driver, case = prepared(model)
        self.command = driver.command(Stage.GRADIENT, case.program)

    @with_attributes(unit="bytes")
    def track_mindc_peak_rss_bytes(self, model: str) -> int:
        """Tier: gradient generation memory. Peak RSS of the `mindc FILE --autodiff
        --emit-grad-ir --func main` process alone (started by GNU time, not by this
        Python process, whose torch would be counted): median of 3 runs; floor ~1 MiB."""
        return measure_peak_rss(self.command, runs=RUNS, gnu_time=self.gnu_time).median
