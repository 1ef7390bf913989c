"""Rule coverage: for each op model (`op_models`) and each engine, is MIND's gradient right?

One cell per (op, engine), judged with the verdicts both engines already use:
the compile-time engine's gradient IR on the reference executor against
`torch.autograd.grad` on seeded random values (`gradient_check`, through the
driver), the runtime engine's answer against torch on the same fills
(`runtime_check`). A cell is one of:

- right: every parameter's gradient is right;
- wrong: some gradient has the right shape and wrong values;
- absent: some gradient is missing (or of another shape), none is wrong;
- not expressible: MIND refused the program cleanly (an error it printed, a
  program it does not parse, an engine this commit does not have): the op
  cannot be written at this commit, a skip;
- error: MIND panicked, crashed by a signal or hung on it: a failure.

Everything here runs once per commit in one process (the benchmarks'
`setup_cache`) and imports torch only there.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from mind_runner.mind.correctness import Correctness, Verdict
from mind_runner.mind.driver import PANICKED, CannotDifferentiate, MindDriver, MindFailed
from mind_runner.mind.op_models import OP_MODELS
from mind_runner.mind.runtime_driver import RuntimeDriver

COMPILE_TIME = "compile-time"
RUNTIME = "runtime"
ENGINES = (COMPILE_TIME, RUNTIME)
Driver = TypeVar("Driver", MindDriver, RuntimeDriver)


class CellState(enum.Enum):
    RIGHT = "right"
    WRONG = "wrong"
    ABSENT = "absent"
    NOT_EXPRESSIBLE = "not expressible"
    ERROR = "error"


# The asv figure per cell (track_rule_verdict): higher is worse, as VERDICT_CODES.
STATE_CODES = {CellState.RIGHT: 0, CellState.ABSENT: 1, CellState.WRONG: 2}


@dataclass(frozen=True)
class Cell:
    """One op in one engine at one commit."""

    op: str
    engine: str
    state: CellState
    detail: str  # the verdicts (`Correctness.summary`), or why there are none
    incorrect: int = 0  # parameters whose gradient is absent or wrong
    silent: int = 0  # of those, how many came from a call that exited 0 with no error

    @property
    def judged(self) -> bool:
        return self.state in STATE_CODES


def _judged(op: str, engine: str, correctness: Correctness, silent: bool) -> Cell:
    verdicts = {p.verdict for p in correctness.parameters}
    if correctness.incorrect == 0:
        state = CellState.RIGHT
    elif Verdict.WRONG in verdicts:
        state = CellState.WRONG
    else:
        state = CellState.ABSENT
    incorrect = correctness.incorrect
    return Cell(op, engine, state, correctness.summary(), incorrect, incorrect if silent else 0)


def _refused(op: str, engine: str, reason: str) -> Cell:
    """MIND said no: a panic among the reasons is a crash, anything else a refusal."""
    state = CellState.ERROR if PANICKED in reason else CellState.NOT_EXPRESSIBLE
    return Cell(op, engine, state, reason)


def _engine_cells(
    ops: Iterable[str],
    engine: str,
    locate: Callable[[], Driver],
    judge_one: Callable[[Driver, str], Cell],
) -> list[Cell]:
    """Each op judged by one engine; a refusal or a crash is the op's cell, not an error."""
    try:
        driver = locate()
    except CannotDifferentiate as missing:
        return [_refused(op, engine, str(missing)) for op in ops]
    cells = []
    for op in ops:
        try:
            cells.append(judge_one(driver, op))
        except CannotDifferentiate as reason:
            cells.append(_refused(op, engine, str(reason)))
        except MindFailed as failure:
            cells.append(Cell(op, engine, CellState.ERROR, str(failure)))
    return cells


def _compile_time_cell(driver: MindDriver, op: str) -> Cell:
    # The driver keeps only modules of calls that exited 0 with empty stderr: silent.
    correctness = driver.prepare(OP_MODELS[op]).correctness
    return _judged(op, COMPILE_TIME, correctness, silent=True)


def _runtime_cell(driver: RuntimeDriver, op: str) -> Cell:
    from mind_runner.mind.runtime_check import judge_runtime  # torch: once per commit

    call = driver.call(OP_MODELS[op])
    if call.answer.error is not None:
        return _refused(op, RUNTIME, call.answer.error)
    judgement = judge_runtime(call.case, call.answer)
    return _judged(op, RUNTIME, judgement.correctness, call.answer.silent)


def compile_time_cells(ops: Iterable[str]) -> list[Cell]:
    """Each op's gradient IR, judged (the driver keeps the verdicts per binary)."""
    return _engine_cells(ops, COMPILE_TIME, MindDriver.locate, _compile_time_cell)


def runtime_cells(ops: Iterable[str]) -> list[Cell]:
    """Each op's `mind eval --exec` answer, judged against torch on the same fills."""
    return _engine_cells(ops, RUNTIME, RuntimeDriver.locate, _runtime_cell)


def judge_coverage(ops: Iterable[str]) -> dict[tuple[str, str], Cell]:
    """Every (op, engine) cell at the installed commit."""
    chosen = list(ops)
    cells = [*compile_time_cells(chosen), *runtime_cells(chosen)]
    return {(cell.op, cell.engine): cell for cell in cells}
