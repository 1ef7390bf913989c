"""How each gradient cost grows with depth: N layers of relu(h @ w) on 16x16 tensors.

The same generated network (mind_runner.cases.relu_matmul_chain) on both sides:
MIND's gradient generation (wall time and instructions), PyTorch's same-tier
peer (AOTAutograd capture) and PyTorch's per-iteration backward, at N = 1, 10,
100 and 1000. PyTorch runs on the CPU only: at 16x16 a GPU measures launches.

One class, so the site draws the four curves over the same N axis. The PyTorch
benchmarks never depend on MIND: only the MIND ones skip where this commit's
MIND cannot differentiate the chain (their own setup hooks raise the skip).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from benchmarks.common import (
    CHAIN_LAYERS,
    StageCounts,
    capture_joint_graph,
    count_stages,
    positional_forward,
    run_mindc,
    tool_missing,
    warm_up_aot_autograd,
    with_attributes,
)
from mind_runner.measure.callgrind import find_valgrind
from mind_runner.measure.fixed_seed import SEEDS, shim_library
from mind_runner.mind.driver import CannotDifferentiate, MindDriver, MindFailed, Stage
from mind_runner.mind.models import Model, relu_matmul_chain

LAYERS = CHAIN_LAYERS


@dataclass(frozen=True)
class ChainMind:
    """What MIND does with one chain at this commit: its command and counts, or why not."""

    command: list[str] | None
    counts: StageCounts | None
    reason: str
    # MIND crashed or hung on this chain: a failure of the commit, not a skip.
    failed: bool = False

    def _missing(self) -> Exception:
        return MindFailed(self.reason) if self.failed else NotImplementedError(self.reason)

    def require_command(self) -> list[str]:
        if self.command is None:
            raise self._missing()
        return self.command

    def require_counts(self) -> StageCounts:
        if self.counts is None:
            raise self._missing()
        return self.counts


def measure_chains(layers: list[int], seeds: tuple[int, ...] = SEEDS) -> dict[int, ChainMind]:
    """Per N: prepare the chain (checked gradient IR), then count it under callgrind."""
    try:
        driver = MindDriver.locate()
    except CannotDifferentiate as missing:
        return {n: ChainMind(None, None, str(missing)) for n in layers}
    try:
        find_valgrind()
        shim_library()
    except NotImplementedError as missing:
        no_counts = tool_missing(missing).reason
    else:
        no_counts = ""
    measured = {}
    for n in layers:
        try:
            prepared = driver.prepare(chain(n))
        except CannotDifferentiate as reason:
            measured[n] = ChainMind(None, None, str(reason))
            continue
        except MindFailed as failure:
            measured[n] = ChainMind(None, None, str(failure), failed=True)
            continue
        command = driver.command(Stage.GRADIENT, prepared.program)
        # No spread figure is recorded for the chains: one callgrind run per seed.
        counts = None if no_counts else count_stages(driver, prepared, seeds, repeat=False)
        measured[n] = ChainMind(command, counts, no_counts)
    return measured


@cache
def chain(layers: int) -> Model:
    return relu_matmul_chain(layers)


def _mind_command(mind: dict[int, ChainMind], N: int) -> None:
    mind[N].require_command()


def _mind_counts(mind: dict[int, ChainMind], N: int) -> None:
    mind[N].require_counts()


_recorded: dict[str, Any] = {}
"""The PyTorch side's forward, inputs and recorded loss, per sample. asv hands a
method's own `setup` the parameters only, and a class-wide setup would import torch
and build the N-layer graph in the MIND side's processes too (2-3 s each)."""


def _record_forward(mind: dict[int, ChainMind], N: int) -> None:
    """A freshly recorded forward per sample: a graph can be walked back once."""
    case = chain(N)
    forward = positional_forward(case)
    inputs = list(case.torch_parameters().values())
    _recorded.update(forward=forward, inputs=inputs, loss=forward(*inputs))


def _record_and_warm_up(mind: dict[int, ChainMind], N: int) -> None:
    _record_forward(mind, N)
    warm_up_aot_autograd()


class ReluMatmulChain:
    """Tiers: gradient generation (one-time) on both sides, and PyTorch's per-iteration
    backward, against network depth N."""

    version = 1  # raised only when what a figure means changes (see versions.json)

    params = [LAYERS]
    param_names = ["N"]
    number = 1
    warmup_time = 0.0

    @with_attributes(timeout=900)
    def setup_cache(self) -> dict[int, ChainMind]:
        """MIND's checks and callgrind runs, once per commit (N=1000 takes ~1 s a run)."""
        return measure_chains(LAYERS)

    @with_attributes(setup=_mind_command)
    def time_mind_gradient_ir(self, mind: dict[int, ChainMind], N: int) -> None:
        """Tier: gradient generation, one-time. Timer: one whole `mindc FILE --autodiff
        --emit-grad-ir --func main` process on the N-layer chain (spawn, start-up,
        front end, autodiff, printing); its gradient IR checked before timing."""
        run_mindc(mind[N].require_command())

    @with_attributes(setup=_mind_counts, unit="instructions")
    def track_mind_autodiff_instructions(self, mind: dict[int, ChainMind], N: int) -> int:
        """Tier: gradient generation, the autodiff work alone. Instructions of the
        gradient call minus those of `mindc FILE --emit-ir` on the N-layer chain
        (medians over 3 fixed hash seeds each)."""
        return mind[N].require_counts().autodiff

    @with_attributes(setup=_record_forward)
    def time_pytorch_backward(self, mind: dict[int, ChainMind], N: int) -> None:
        """Tier: per-iteration gradient execution. Timer: `loss.backward()` alone on
        the N-layer chain's forward graph recorded in setup, CPU."""
        _recorded["loss"].backward()

    @with_attributes(setup=_record_and_warm_up, repeat=(1, 5, 10.0), min_run_count=1, timeout=300)
    def time_pytorch_aot_capture(self, mind: dict[int, ChainMind], N: int) -> None:
        """Tier: gradient generation, one-time (MIND's peer). Timer: a fresh
        `aot_function` capture with no-op compilers of the N-layer chain, called once:
        fake-tensor tracing, joint forward/backward graph, partitioning, one run of
        the captured forward; CPU (as pytorch_autograd.AotCapture). About 10 s at
        N=1000: one sample per round, two rounds."""
        capture_joint_graph(_recorded["forward"], _recorded["inputs"])
