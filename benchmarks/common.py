"""What the benchmark modules share (scipy's `benchmarks/common.py` is the model).

asv imports every module here; only classes with `time_`/`track_` methods become
benchmarks, so this module defines none. Benchmark modules import from here and
never from each other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from mind_runner.measure.callgrind import SeededCounts, count_seeded, find_valgrind
from mind_runner.measure.fixed_seed import SEEDS
from mind_runner.mind.driver import (
    MindDriver,
    MindFailed,
    PreparedModel,
    Stage,
    call_timeout,
    run_timed_call,
)
from mind_runner.mind.models import SEED_MODELS, Model
from mind_runner.util.errors import MachineFault
from mind_runner.util.run_log import record_fault

if TYPE_CHECKING:
    import torch

MODELS = list(SEED_MODELS)
"""The seed's three models, the `model` parameter of every per-model benchmark."""
PARAMETERS = list(dict.fromkeys(p.name for case in SEED_MODELS.values() for p in case.params))
"""Every seed model's parameter names, in order: the `parameter` axis of per-parameter
figures (a model without the parameter skips, as pandas' benchmarks do)."""
CHAIN_LAYERS = [1, 10, 100, 1000]
"""The depths N of the scaling sweep (relu_matmul_chain)."""
RUNS = 3
"""Runs behind each count and peak: the median is kept, the spread recorded."""

Function = TypeVar("Function", bound=Callable[..., Any])


def with_attributes(**attributes: Any) -> Callable[[Function], Function]:
    """Set asv's per-benchmark attributes (`unit`, `timeout`, `setup`, ...) on a method."""

    def decorate(function: Function) -> Function:
        for name, value in attributes.items():
            setattr(function, name, value)
        return function

    return decorate


# --- MIND's CLI --------------------------------------------------------------------


@cache
def prepared(model: str) -> tuple[MindDriver, PreparedModel]:
    """Driver and checked program, once per benchmark process (setup runs per sample)."""
    driver = MindDriver.locate()
    return driver, driver.prepare(SEED_MODELS[model])


@cache
def mindc_timeout() -> float:
    return call_timeout()


def run_mindc(command: list[str]) -> None:
    """One timed `mindc` process: bounded by the driver's timeout, without polling."""
    run_timed_call(command, mindc_timeout())


@dataclass(frozen=True)
class NotMeasured:
    """Why a model (or chain) has no figure: a skip (cannot differentiate, a tool this
    machine lacks), or a failure of this commit's MIND (it crashed or hung), which asv
    records as such."""

    reason: str
    failed: bool = False

    def raise_it(self) -> NoReturn:
        if self.failed:
            raise MindFailed(self.reason)
        raise NotImplementedError(self.reason)


def tool_missing(missing: NotImplementedError) -> NotMeasured:
    """A measuring tool this machine lacks: a skip, logged as a fault of the machine so
    that the figures measured before (on this machine, with the tool) are kept."""
    record_fault(
        MachineFault(str(missing), "these figures were not measured: install it and run again")
    )
    return NotMeasured(str(missing))


def require_tool(find: Callable[[], Path]) -> Path:
    """`find()`'s tool; when this machine lacks it, the skip is logged as its fault."""
    try:
        return find()
    except NotImplementedError as missing:
        raise NotImplementedError(tool_missing(missing).reason) from None


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


def count_stages(
    driver: MindDriver, case: PreparedModel, seeds: tuple[int, ...] = SEEDS, repeat: bool = True
) -> StageCounts:
    """Both calls under every seed; `repeat`: the first seed again, for the spread figures
    (callgrind runs only where a figure needs them)."""
    valgrind = find_valgrind()
    return StageCounts(
        front_end=count_seeded(
            driver.command(Stage.FRONT_END, case.program),
            seeds=seeds,
            valgrind=valgrind,
            repeat=repeat,
        ),
        gradient=count_seeded(
            driver.command(Stage.GRADIENT, case.program),
            seeds=seeds,
            valgrind=valgrind,
            repeat=repeat,
        ),
    )


# --- PyTorch's AOTAutograd ---------------------------------------------------------


def no_op_compiler(graph: torch.fx.GraphModule, example_inputs: object) -> Callable[..., object]:
    """AOTAutograd's compiler hook, doing nothing: the captured graph runs as traced."""
    from functorch.compile import make_boxed_func

    return make_boxed_func(graph.forward)  # type: ignore[no-any-return]


def positional_forward(case: Model) -> Callable[..., torch.Tensor]:
    """The case's forward over positional tensors, the form AOTAutograd traces."""
    names = [p.name for p in case.params]

    def forward(*tensors: torch.Tensor) -> torch.Tensor:
        return case.torch_forward(dict(zip(names, tensors, strict=True)))

    return forward


def capture_joint_graph(forward: Callable[..., torch.Tensor], inputs: list[torch.Tensor]) -> None:
    """A fresh AOTAutograd capture: wrapping traces nothing, the first call traces it all."""
    from functorch.compile import aot_function

    aot_function(forward, fw_compiler=no_op_compiler, bw_compiler=no_op_compiler)(*inputs)


@cache
def warm_up_aot_autograd() -> None:
    """One throw-away capture per process: first-use imports are no capture's cost."""
    import torch

    capture_joint_graph(lambda x: (x * x).sum(), [torch.ones(2, requires_grad=True)])
