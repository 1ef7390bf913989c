"""Tier: per-iteration gradient execution: MIND's gradient program on PyTorch kernels.

MIND's CLI prints gradient IR but cannot run it, so MIND has no per-iteration cost of
its own. What can be timed is the program MIND emits: its gradient instructions run
one by one on PyTorch's eager CPU kernels (`mind_runner.mind.ir_executor`, seed
reading), beside `pytorch_autograd.Backward.time_pytorch_backward` on the same kernels.
It says what MIND's reverse pass asks for, not what a MIND runtime would take: this is
not a MIND runtime. Only models whose gradients MIND gets all right are timed; a
program that lacks gradients would be timed doing less than `.backward()`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from benchmarks.common import MODELS, prepared

if TYPE_CHECKING:
    import torch

    from mind_runner.mind.ir_executor import GradientProgram as Program


@dataclass(frozen=True)
class Compiled:
    """A model's gradient program and the primal values it starts from."""

    program: Program
    primal: dict[int, torch.Tensor]


@cache
def compiled(model: str) -> Compiled:
    """MIND's gradient instructions compiled once per process, on PyTorch's seeded values
    (those `pytorch_autograd.Backward` uses); a skip unless every gradient is present."""
    _, prepared_model = prepared(model)
    correctness = prepared_model.correctness
    if correctness.incorrect:
        raise NotImplementedError(
            f"MIND's gradient program lacks gradients ({correctness.summary()}): "
            "timing it would time less work than .backward()"
        )
    from mind_runner.mind.gradient_check import bind_values, random_values
    from mind_runner.mind.ir_executor import Reading, compile_gradient, execute, primal_values

    case, module = prepared_model.case, prepared_model.module
    execution = execute(module, Reading.SEED, bind_values(case, module, random_values(case)))
    return Compiled(compile_gradient(module, execution), primal_values(module, execution))


class GradientProgram:
    """Tier: per-iteration gradient execution, MIND's side (MIND's gradient program on
    PyTorch kernels, not a MIND runtime). Sampled as pytorch_autograd.Backward is."""

    version = 1  # raised only when what a figure means changes (see versions.json)

    params = [MODELS]
    param_names = ["model"]
    number = 1
    warmup_time = 0.0
    repeat = (10, 100, 10.0)

    def setup(self, model: str) -> None:
        self.compiled = compiled(model)

    def time_mind_gradient_program(self, model: str) -> None:
        """Tier: per-iteration gradient execution; MIND's gradient program on PyTorch
        kernels, not a MIND runtime. Timer: MIND's gradient instructions (seed
        reading: the seed is ones of the summed shape), each one eager PyTorch CPU
        call on the primal values computed in setup, parsed and checked before; the
        peer of `loss.backward()` on a forward recorded in setup. Skipped unless every
        gradient MIND emits is present (gradient correctness)."""
        self.compiled.program.run(self.compiled.primal)
