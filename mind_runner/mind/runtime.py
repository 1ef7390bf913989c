"""The one place that talks to MIND's runtime engine: `grad(...)` under `mind eval --exec`.

MIND has two autodiff engines. `mindc --autodiff --emit-grad-ir` (the driver in
`driver.py`) writes gradient IR once, ahead of time; the runtime, `mind eval
--exec` (cargo feature cpu-exec), computes gradient values on every call, as
PyTorch's `.backward()` does. This driver writes each model in the runtime's
dialect (parameters declared with integer fills, `grad(tensor.sum(...),
wrt=[...])`), runs it bounded, and reads the answer strictly (`runtime_answer`):
MIND's runtime reports its errors with exit 0, so the exit code alone means nothing.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from mind_runner.hooks.manifest import RUNTIME_BINARY, BuildManifest, CorruptManifest
from mind_runner.measure.bounded import run_bounded
from mind_runner.measure.environment import FIXED_ENVIRONMENT, at_fixed_path
from mind_runner.mind.dialects import render_expression
from mind_runner.mind.driver import (
    OUTPUT_CAP,
    PROGRAM_DIR,
    ROOM,
    CannotDifferentiate,
    MindFailed,
    MindRun,
    call_timeout,
    cannot_start,
)
from mind_runner.mind.models import Model, Op
from mind_runner.mind.runtime_answer import RuntimeAnswer, UnreadableAnswer, read_answer
from mind_runner.util.errors import MachineFault
from mind_runner.util.run_log import record_fault

PRIMES = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47)


def runtime_fills(case: Model) -> dict[str, int]:
    """Each parameter's fill: the primes 2, 3, 5, 7, 11, ... in parameter order.

    MIND's runtime takes integer fills only (a fraction is a type error). 0 and 1
    hide errors (a missing factor of 1, a zeroed gradient that should be 0), and
    equal fills hide swapped operands; distinct primes make every product of fills
    unique, so a rule that uses the wrong operand, drops one, or passes the upstream
    gradient through gives a different number from the right one (tests prove it for
    the seed models). All positive, so relu passes everything: its gate is exercised
    only by the compile-time check's random values.
    """
    if len(case.params) > len(PRIMES):
        raise ValueError(f"{case.name} has more parameters than distinct prime fills")
    return {p.name: prime for p, prime in zip(case.params, PRIMES, strict=False)}


def _dims(shape: tuple[int, ...]) -> str:
    return ",".join(str(d) for d in shape)


def render_let_fill(case: Model, fills: Mapping[str, int]) -> str:
    """One line, as MIND's own runtime examples: `let x: Tensor[f32,(1000)] = 3; ...;
    grad(tensor.sum(...), wrt=[x])`; a sum over every axis is written without axes."""
    parts = [f"let {p.name}: Tensor[f32,({_dims(p.shape)})] = {fills[p.name]}" for p in case.params]
    parts += [f"let {name} = {render_expression(expr)}" for name, expr in case.bindings]
    result = case.result
    if (
        isinstance(result, Op)
        and result.kind == "sum"
        and sorted(result.axes) == list(range(len(case.shape_of(result.args[0]))))
    ):
        loss = f"tensor.sum({render_expression(result.args[0])})"
    else:
        loss = render_expression(result)
    wrt = ", ".join(p.name for p in case.params)
    return "; ".join([*parts, f"grad({loss}, wrt=[{wrt}])"])


RUNTIME_DIALECTS: dict[str, Callable[[Model, Mapping[str, int]], str]] = {
    "let-fill": render_let_fill,
}
"""The program forms tried, in order; MIND's runtime has taken this one since `grad`
came to `mind eval`."""


@dataclass(frozen=True)
class RuntimeCall:
    """A model the runtime answered: the dialect, the program and its gradients."""

    case: Model
    dialect: str
    program: str
    fills: dict[str, int]
    answer: RuntimeAnswer


@dataclass(frozen=True)
class RuntimeDriver:
    mind: Path
    manifest: BuildManifest | None
    timeout_s: float

    @classmethod
    def locate(cls) -> RuntimeDriver:
        """The `mind` asv installed beside `mindc` (or $MIND_BIN_DIR's, or PATH's); a
        commit whose build has none, or none with cpu-exec, is a skip saying why."""
        if os.environ.get("MIND_BIN_DIR"):
            bin_dir: Path | None = Path(os.environ["MIND_BIN_DIR"])
        elif os.environ.get("ASV_ENV_DIR"):
            bin_dir = Path(os.environ["ASV_ENV_DIR"]) / "bin"
        else:
            found = shutil.which(RUNTIME_BINARY)
            bin_dir = Path(found).parent if found else None
        if bin_dir is None:
            raise CannotDifferentiate(f"no `{RUNTIME_BINARY}` installed: run through asv")
        try:
            manifest = BuildManifest.load(bin_dir)
        except CorruptManifest as error:
            raise record_fault(
                MachineFault(str(error), "delete that commit's build cache entry and run it again")
            ) from None
        mind = bin_dir / RUNTIME_BINARY
        if manifest is not None and manifest.features_of(RUNTIME_BINARY) is None:
            why = manifest.runtime_not_built or f"this build has no `{RUNTIME_BINARY}`"
            raise CannotDifferentiate(f"no runtime engine: {why}")
        if manifest is not None and "cpu-exec" not in (manifest.features_of(RUNTIME_BINARY) or ()):
            raise CannotDifferentiate("no runtime engine: `mind` was built without cpu-exec")
        if not mind.is_file():
            raise CannotDifferentiate(f"no `{RUNTIME_BINARY}` in {bin_dir}")
        try:
            fixed = at_fixed_path(mind, PROGRAM_DIR / "bin")
        except OSError as error:
            raise record_fault(
                MachineFault.unwritable(f"cannot copy {mind} to {PROGRAM_DIR / 'bin'}", error, ROOM)
            ) from None
        return cls(mind=fixed, manifest=manifest, timeout_s=call_timeout())

    def command(self, program: str) -> list[str]:
        return [str(self.mind), "eval", "--exec", program]

    def run(self, program: str) -> MindRun:
        """One bounded call, in the driver's fixed environment."""
        try:
            finished = run_bounded(
                self.command(program),
                timeout_s=self.timeout_s,
                output_cap=OUTPUT_CAP,
                env=FIXED_ENVIRONMENT,
            )
        except OSError as error:
            raise cannot_start(self.mind, error) from None
        return MindRun(finished.exit_code, finished.stdout, finished.stderr, finished.stopped)

    def gradients(self, case: Model) -> RuntimeCall:
        """The runtime's answer for `case` in the first dialect it answers; a hang or a
        crash by a signal is a failure (MindFailed), an error in every dialect a skip."""
        fills = runtime_fills(case)
        reasons = []
        for dialect, render in RUNTIME_DIALECTS.items():
            program = render(case, fills)
            run = self.run(program)
            misbehaved = run.misbehaved()
            if misbehaved is not None:
                raise MindFailed(f"mind eval --exec on {case.name} {misbehaved}")
            try:
                answer = read_answer(run.exit_code, run.stdout, run.stderr)
            except UnreadableAnswer as why:
                reasons.append(f"{dialect}: {why}")
                continue
            return RuntimeCall(case, dialect, program, fills, answer)
        raise CannotDifferentiate(
            f"mind eval --exec gives no gradients for {case.name}: {'; '.join(reasons)}"
        )
