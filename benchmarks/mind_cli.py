"""MIND's CLI per model: gradient generation, and the stages that surround it.

Every timing is of a whole `mindc` process started from Python, because that is
the only way MIND's CLI can be asked for gradients. Which stage a number
belongs to is in each docstring; the differences between stages isolate a cost.
"""

from __future__ import annotations

from benchmarks.common import (
    MODELS,
    prepared,
    run_mindc,
    with_attributes,
)
from mind_runner.mind.driver import Stage


class GradientGeneration:
    """Tier: gradient generation (one-time cost), MIND side."""

    version = 1  # raised only when what a figure means changes (see versions.json)

    params = [MODELS]
    param_names = ["model"]

    def setup(self, model: str) -> None:
        driver, case = prepared(model)
        self.command = driver.command(Stage.GRADIENT, case.program)
        self.gradient_instructions = len(case.module.gradient)

    def time_mind_gradient_ir(self, model: str) -> None:
        """Tier: gradient generation, one-time. Timer: one whole `mindc FILE --autodiff
        --emit-grad-ir --func main` process (spawn, start-up, parse, type-check,
        lowering, autodiff, printing), the seed's "MIND (compile)" done right: the
        program is the dialect this commit differentiates correctly, checked in setup."""
        run_mindc(self.command)

    @with_attributes(unit="instructions")
    def track_gradient_ir_instructions(self, model: str) -> int:
        """Tier: gradient IR content. The number of gradient instructions MIND emits
        after the primal outputs: a change in what MIND emits shows here."""
        return self.gradient_instructions


class CliStages:
    """Tier: process and front end, MIND side: what surrounds gradient generation."""

    version = 1  # raised only when what a figure means changes (see versions.json)

    params = [MODELS]
    param_names = ["model"]

    def setup(self, model: str) -> None:
        driver, case = prepared(model)
        self.startup = driver.command(Stage.STARTUP, case.program)
        self.front_end = driver.command(Stage.FRONT_END, case.program)

    def time_startup(self, model: str) -> None:
        """Tier: process start-up. Timer: one `mindc --version` process (spawn, load,
        argument parsing, printing); no program is read."""
        run_mindc(self.startup)

    def time_front_end(self, model: str) -> None:
        """Tier: front end. Timer: one `mindc FILE --emit-ir` process: start-up plus
        parse, type-check, lowering and printing the primal IR, no autodiff.
        time_mind_gradient_ir minus this is the autodiff share (within noise)."""
        run_mindc(self.front_end)
