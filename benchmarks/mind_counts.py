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

from dataclasses import dataclass

from benchmarks.mind_cli import prepared
from mind_runner.measure.callgrind import SeededCounts, count_seeded, find_valgrind
from mind_runner.measure.fixed_seed import SEEDS, shim_library
from mind_runner.measure.peak_memory import find_gnu_time, measure_peak_rss
from mind_runner.mind.driver import CannotDifferentiate, MindDriver, PreparedModel, Stage
from mind_runner.mind.models import SEED_MODELS

MODELS = list(SEED_MODELS)
RUNS = 3


@dataclass(frozen=True)
class StageCounts:
    """One program's front-end and gradient calls, each counted under the fixed seeds."""

    front_end: SeededCounts
    gradient: SeededCounts

    @property
    def autodiff(self) -> int:
        """What `--autodiff --emit-grad-ir` adds to `--emit-ir`: the gradient work alone."""
        return self.gradient.median - self.front_end.median

    @property
    def autodiff_spread_percent(self) -> float:
        """How far run-to-run wobble could move the autodiff figure, in % of it."""
        wobble = self.gradient.spread + self.front_end.spread
        return 100.0 * wobble / self.autodiff if self.autodiff > 0 else 0.0


Counted = StageCounts | str
"""Counts, or why there are none (the reason asv shows for the skip)."""


def count_stages(
    driver: MindDriver, case: PreparedModel, seeds: tuple[int, ...] = SEEDS
) -> StageCounts:
    valgrind = find_valgrind()
    return StageCounts(
        front_end=count_seeded(
            driver.command(Stage.FRONT_END, case.program), seeds=seeds, valgrind=valgrind
        ),
        gradient=count_seeded(
            driver.command(Stage.GRADIENT, case.program), seeds=seeds, valgrind=valgrind
        ),
    )


def count_models(models: list[str], seeds: tuple[int, ...] = SEEDS) -> dict[str, Counted]:
    """Every model's counts, or the one reason none can be taken (never raises a skip)."""
    try:
        find_valgrind()
        shim_library()
        driver = MindDriver.locate()
    except NotImplementedError as missing:
        return dict.fromkeys(models, str(missing))
    counted: dict[str, Counted] = {}
    for model in models:
        try:
            case = driver.prepare(SEED_MODELS[model])
        except CannotDifferentiate as reason:
            counted[model] = str(reason)
        else:
            counted[model] = count_stages(driver, case, seeds)
    return counted


def require_counts(counted: dict[str, Counted], model: str) -> StageCounts:
    entry = counted[model]
    if isinstance(entry, str):
        raise NotImplementedError(entry)
    return entry


class InstructionCounts:
    """Tier: gradient generation (one-time), MIND side, as instructions retired.

    Every count is the median over 3 fixed hash seeds (one callgrind run each) of a
    whole `mindc` process with the driver's fixed environment, program path and
    working directory /; the first seed is counted twice to check it repeats.
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
        printing the gradient module (median over 3 fixed hash seeds; the seed shim's
        own loading adds a constant)."""
        return self.counts.gradient.median

    track_gradient_call_instructions.unit = "instructions"  # type: ignore[attr-defined]

    def track_front_end_instructions(self, counted: dict[str, Counted], model: str) -> int:
        """Tier: front end. Instructions of one whole `mindc FILE --emit-ir` process:
        start-up, parse, type-check, lowering, printing the primal IR; no autodiff
        (median over 3 fixed hash seeds; the seed shim's own loading adds a constant)."""
        return self.counts.front_end.median

    track_front_end_instructions.unit = "instructions"  # type: ignore[attr-defined]

    def track_autodiff_instructions(self, counted: dict[str, Counted], model: str) -> int:
        """Tier: gradient generation, the autodiff work alone. Gradient-call instructions
        minus front-end instructions (medians over the same 3 fixed hash seeds): reverse
        pass plus printing the gradient instructions. The figure a 1 % autodiff
        regression moves by 1 %."""
        return self.counts.autodiff

    track_autodiff_instructions.unit = "instructions"  # type: ignore[attr-defined]

    def track_gradient_call_spread_percent(self, counted: dict[str, Counted], model: str) -> float:
        """Tier: measurement quality. Run to run: the gradient call counted twice under
        the first seed, difference in % of the median. 0.00 when the fixed seeds make
        MIND repeatable; anything else means some other source of variation."""
        return self.counts.gradient.spread_percent

    track_gradient_call_spread_percent.unit = "%"  # type: ignore[attr-defined]

    def track_autodiff_spread_percent(self, counted: dict[str, Counted], model: str) -> float:
        """Tier: measurement quality. The two calls' run-to-run spreads added, in % of the
        autodiff figure: how much of a step in track_autodiff_instructions run-to-run
        wobble alone could explain; 0.00 when both calls repeat exactly."""
        return self.counts.autodiff_spread_percent

    track_autodiff_spread_percent.unit = "%"  # type: ignore[attr-defined]


class PeakMemory:
    """Tier: memory of gradient generation (one-time), MIND side."""

    params = [MODELS]
    param_names = ["model"]

    def setup(self, model: str) -> None:
        self.gnu_time = find_gnu_time()
        driver, case = prepared(model)
        self.command = driver.command(Stage.GRADIENT, case.program)

    def track_mindc_peak_rss_bytes(self, model: str) -> int:
        """Tier: gradient generation memory. Peak RSS of the `mindc FILE --autodiff
        --emit-grad-ir --func main` process alone (started by GNU time, not by this
        Python process, whose torch would be counted): median of 3 runs; floor ~1 MiB."""
        return measure_peak_rss(self.command, runs=RUNS, gnu_time=self.gnu_time).median

    track_mindc_peak_rss_bytes.unit = "bytes"  # type: ignore[attr-defined]
