"""Tier: gradient correctness per rule. Every op MIND documents as differentiable, in both
engines: one small model per op (mind_runner.mind.op_models), judged as the seed models
are (mind_runner.mind.coverage). All cells are judged once per commit, in one
`setup_cache` shared by every class here; an op MIND refuses cleanly at a commit is a
skip ("not expressible"), one it panics, crashes or hangs on is a failure ("error").
The compile-time engine's gradient generation is also counted per op (callgrind, one
fixed hash seed: the count repeats exactly) and timed (3 samples).
"""

from __future__ import annotations

from functools import cache

from benchmarks.common import NotMeasured, count_stages, require_tool, run_mindc, with_attributes
from mind_runner.measure.callgrind import find_valgrind
from mind_runner.measure.fixed_seed import SEEDS, shim_library
from mind_runner.mind.coverage import (
    COMPILE_TIME,
    ENGINES,
    STATE_CODES,
    Cell,
    CellState,
    judge_coverage,
)
from mind_runner.mind.driver import CannotDifferentiate, MindDriver, MindFailed, Stage
from mind_runner.mind.op_models import OP_MODELS, OPS

Cells = dict[tuple[str, str], Cell]


class _Covered:
    """One `setup_cache` for every coverage figure (asv keys it by this line)."""

    @with_attributes(timeout=300)
    def setup_cache(self) -> Cells:
        """Both engines on every op model, once per commit (1.7 s at real HEAD here)."""
        return judge_coverage(OPS)

    def cell(self, cells: Cells, op: str, engine: str) -> Cell:
        """The judged cell; a skip where MIND cannot express the op, a failure where it broke."""
        found = cells[(op, engine)]
        if found.state is CellState.ERROR:
            raise MindFailed(f"{op} ({engine}): {found.detail}")
        if not found.judged:
            raise NotImplementedError(f"{op} ({engine}) is not expressible: {found.detail}")
        return found


class RuleCoverage(_Covered):
    """Tier: gradient correctness, per op model and engine."""

    version = 1  # raised only when what a figure means changes (see versions.json)

    params = [OPS, list(ENGINES)]
    param_names = ["op", "engine"]

    def setup(self, cells: Cells, op: str, engine: str) -> None:
        self.judged = self.cell(cells, op, engine)

    @with_attributes(unit="gradients")
    def track_incorrect_gradients(self, cells: Cells, op: str, engine: str) -> int:
        """Tier: gradient correctness, per rule. Parameters of the op's model whose gradient
        this engine leaves out or gets wrong (compile-time: its IR on the reference
        executor, seeded random values; runtime: `mind eval --exec` on distinct fills),
        each against `torch.autograd.grad`."""
        return self.judged.incorrect

    @with_attributes(unit="verdict (0 right, 1 absent, 2 wrong)")
    def track_rule_verdict(self, cells: Cells, op: str, engine: str) -> int:
        """Tier: gradient correctness, per rule. The op's cell: 0 right (every gradient
        right), 1 absent (one missing or of another shape, none wrong), 2 wrong; a skip
        where MIND refuses the program (not expressible), a failure where it panics."""
        return STATE_CODES[self.judged.state]


class RulesRight(_Covered):
    """Tier: gradient correctness, the whole rule set in one figure."""

    version = 1  # raised only when what a figure means changes (see versions.json)

    @with_attributes(unit="rules")
    def track_rules_right(self, cells: Cells) -> int:
        """Tier: gradient correctness. How many (op, engine) pairs of the coverage suite are
        fully right: one graph for MIND's autodiff getting better or worse (higher is
        better; of len(OPS) x 2)."""
        return sum(1 for cell in cells.values() if cell.state is CellState.RIGHT)


class SilentFailures(_Covered):
    """Tier: gradient correctness, per engine, over the coverage suite."""

    version = 1  # raised only when what a figure means changes (see versions.json)

    params = [list(ENGINES)]
    param_names = ["engine"]

    @with_attributes(unit="gradients")
    def track_silent_failures(self, cells: Cells, engine: str) -> int:
        """Tier: gradient correctness. Gradients absent or wrong, over every op model, from
        calls that exited 0 and printed no error: what a user would train on unwarned."""
        return sum(cell.silent for cell in cells.values() if cell.engine == engine)


@cache
def _prepared_command(op: str) -> list[str]:
    """The op's gradient call, once per process; a skip where this MIND cannot make it."""
    driver = MindDriver.locate()
    return driver.command(Stage.GRADIENT, driver.prepare(OP_MODELS[op]).program)


class RuleGradientIR(_Covered):
    """Tier: one-time gradient-IR generation, MIND side, per op model (compile-time).

    It shares the coverage `setup_cache`: asv runs benchmarks without one first, and
    each of those processes would otherwise judge its op again (importing torch)."""

    version = 1  # raised only when what a figure means changes (see versions.json)

    params = [OPS]
    param_names = ["op"]
    # The call takes milliseconds; three samples say whether it moved by more than 10 %.
    number = 1
    repeat = 3
    rounds = 1
    warmup_time = 0.0

    def setup(self, cells: Cells, op: str) -> None:
        self.cell(cells, op, COMPILE_TIME)  # a skip or a failure where it was judged so
        self.command = _prepared_command(op)

    def time_mind_gradient_ir(self, cells: Cells, op: str) -> None:
        """Tier: one-time gradient-IR generation. Timer: one whole `mindc --autodiff
        --emit-grad-ir` process on the op's model (3 samples; the exact cost is
        RuleInstructions)."""
        run_mindc(self.command)


class RuleInstructions:
    """Tier: one-time gradient-IR generation as instructions retired, per op model."""

    version = 1  # raised only when what a figure means changes (see versions.json)

    params = [OPS]
    param_names = ["op"]

    @with_attributes(timeout=300)
    def setup_cache(self) -> dict[str, int | NotMeasured]:
        """The front-end and gradient calls of every op under callgrind, one fixed seed."""
        try:
            require_tool(find_valgrind)
            shim_library()
            driver = MindDriver.locate()
        except NotImplementedError as reason:  # CannotDifferentiate: no mindc installed
            return dict.fromkeys(OPS, NotMeasured(str(reason)))
        counted: dict[str, int | NotMeasured] = {}
        for op in OPS:
            try:
                prepared = driver.prepare(OP_MODELS[op])
            except MindFailed as failure:
                counted[op] = NotMeasured(str(failure), failed=True)
            except CannotDifferentiate as reason:
                counted[op] = NotMeasured(str(reason))
            else:
                counted[op] = count_stages(driver, prepared, SEEDS[:1], repeat=False).autodiff
        return counted

    def setup(self, counted: dict[str, int | NotMeasured], op: str) -> None:
        entry = counted[op]
        if isinstance(entry, NotMeasured):
            entry.raise_it()  # in setup: asv records a skip only from there
        self.count = entry

    @with_attributes(unit="instructions")
    def track_autodiff_instructions(self, counted: dict[str, int | NotMeasured], op: str) -> int:
        """Tier: one-time gradient-IR generation. Instructions the gradient call retires
        beyond the front-end call on the op's model (`--autodiff --emit-grad-ir` minus
        `--emit-ir`, one fixed hash seed: exact run to run)."""
        return self.count
