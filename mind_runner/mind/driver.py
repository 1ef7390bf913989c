"""The one place that talks to MIND's CLI.

Benchmarks ask the driver for a case's program and command lines and never build
them themselves. The driver learns what the installed commit can do by trying
each program dialect MIND has accepted and checking the printed gradient IR
(see `gradient_ir`): across MIND's history, exit code 0 has come with type
errors on stderr, empty modules and modules that drop half the model, so only a
module that really differentiates the case counts. Among those, the one with
the fewest incorrect gradients (`gradient_check`) is chosen; what was chosen is
kept per binary and model (`preparation`), since judging imports torch.

Every call is bounded (see `measure.bounded`): a `mindc` that hangs, crashes by
a signal or prints without end is a fact about that commit, recorded by asv as
a failure (`MindFailed`), never a skip. A hang is remembered for the rest of
the asv command (in its run log), so each program pays for it once. What is
wrong with the installation rather than with MIND (an unreadable manifest, a
`mindc` that cannot be started or copied to its fixed path) is a `MachineFault`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from mind_runner.hooks.manifest import BuildManifest, CorruptManifest
from mind_runner.measure.bounded import (
    MEBIBYTE,
    TimedOut,
    misbehaviour,
    run_bounded,
    run_timed,
)
from mind_runner.measure.environment import FIXED_ENVIRONMENT, at_fixed_path
from mind_runner.mind.correctness import Correctness
from mind_runner.mind.dialects import DIALECTS
from mind_runner.mind.gradient_ir import IRModule, MalformedIR, check_differentiates, parse_module
from mind_runner.mind.models import Model
from mind_runner.mind.preparation import Preparation, PreparationCache, preparation_key
from mind_runner.util.errors import MachineFault
from mind_runner.util.files import write_atomically
from mind_runner.util.run_log import (
    Kind,
    current_commit,
    current_log,
    read,
    record_fact,
    record_fault,
)
from mind_runner.util.text import first_line

# Instruction counts move with the program path's length: every program gets a fixed name.
PROGRAM_DIR = Path(tempfile.gettempdir()) / "mind-autodiff-bench"
PREPARATION_DIR = PROGRAM_DIR / "prepared"
ROOM = f"space in {PROGRAM_DIR.parent}"
"""What to free when a program or `mindc` cannot be written there."""

TIMEOUT_VARIABLE = "MIND_BENCH_MINDC_TIMEOUT"
"""Seconds one `mindc` call may take (default DEFAULT_TIMEOUT_S)."""
# A real call takes 1-8 ms (a 1000-layer chain: 7.5 ms): 5 s is far beyond any answer.
DEFAULT_TIMEOUT_S = 5.0
# The largest gradient module here (1000 layers) prints about 0.4 MiB.
OUTPUT_CAP = 8 * MEBIBYTE
HUNG = "hung"
PANICKED = "panicked (exit 101)"
"""How a panic of MIND's is reported, by both engines' drivers (a crash, not a refusal)."""


def call_timeout() -> float:
    """$MIND_BENCH_MINDC_TIMEOUT, else the default; a bad value is a clear error."""
    value = os.environ.get(TIMEOUT_VARIABLE)
    if not value:
        return DEFAULT_TIMEOUT_S
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not seconds > 0:
        raise record_fault(
            MachineFault(
                f"{TIMEOUT_VARIABLE}={value} is not a number of seconds above 0",
                f"unset it or give e.g. {TIMEOUT_VARIABLE}=10",
            )
        )
    return seconds


class Stage(Enum):
    """What one `mindc` call does; differences between stages isolate a cost."""

    STARTUP = "startup"
    FRONT_END = "front-end"
    GRADIENT = "gradient"

    def arguments(self, program: Path) -> list[str]:
        if self is Stage.STARTUP:
            return ["--version"]
        if self is Stage.FRONT_END:
            return [str(program), "--emit-ir"]
        return [str(program), "--autodiff", "--emit-grad-ir", "--func", "main"]


class CannotDifferentiate(NotImplementedError):
    """This commit's MIND has no correct gradient for the case: asv records a skip."""


class MindFailed(RuntimeError):
    """This commit's MIND crashed, hung or printed without end: asv records a failure."""


@dataclass(frozen=True)
class MindRun:
    exit_code: int
    stdout: str
    stderr: str
    # Why the call was cut short (a hang, endless output), None when it ended by itself.
    stopped: str | None = None

    def misbehaved(self) -> str | None:
        """A hang, endless output or a crash by a signal: a failure, never a skip."""
        return misbehaviour(self.exit_code, self.stopped)

    def failure(self) -> str | None:
        """Why this run is not a usable result, or None when it is."""
        misbehaved = self.misbehaved()
        if misbehaved is not None:
            return misbehaved
        if self.exit_code == 101:
            return f"{PANICKED}: " + first_line(self.stderr.strip().splitlines()[1:])
        if self.exit_code != 0:
            return f"exit {self.exit_code}: {first_line(self.stderr.splitlines())}"
        if self.stderr.strip():
            return f"exit 0 but stderr says: {first_line(self.stderr.splitlines())}"
        if not self.stdout.strip():
            return "exit 0 with nothing printed"
        return None


@dataclass(frozen=True)
class PreparedModel:
    """A case this commit differentiates, ready to be timed, and how correctly."""

    case: Model
    dialect: str
    program: Path
    module: IRModule
    correctness: Correctness


@dataclass(frozen=True)
class MindDriver:
    mindc: Path
    manifest: BuildManifest | None
    cache: PreparationCache = field(default_factory=lambda: PreparationCache(PREPARATION_DIR))
    timeout_s: float = DEFAULT_TIMEOUT_S

    @classmethod
    def locate(cls) -> MindDriver:
        """The `mindc` asv installed for this commit (or $MIND_BIN_DIR's, or PATH's).

        Inside asv only the environment's own `mindc` counts: another one on PATH
        would be some other commit's.
        """
        if os.environ.get("MIND_BIN_DIR"):
            candidates = [Path(os.environ["MIND_BIN_DIR"]) / "mindc"]
        elif os.environ.get("ASV_ENV_DIR"):
            installed = Path(os.environ["ASV_ENV_DIR"]) / "bin" / "mindc"
            if not installed.is_file():
                raise record_fault(
                    MachineFault(
                        f"{installed} is missing although asv installed this commit",
                        "run the commit again (python -m mind_runner run HASH^!)",
                    )
                )
            candidates = [installed]
        else:
            on_path = shutil.which("mindc")
            candidates = [Path(on_path)] if on_path else []
        for mindc in candidates:
            if mindc.is_file():
                try:
                    manifest = BuildManifest.load(mindc.parent)
                except CorruptManifest as error:
                    raise record_fault(
                        MachineFault(
                            str(error),
                            "delete that commit's entry in .asv/env/*/asv-build-cache/ and run "
                            "it again",
                        )
                    ) from None
                timeout_s = call_timeout()
                return cls(mindc=_at_fixed_path(mindc), manifest=manifest, timeout_s=timeout_s)
        raise CannotDifferentiate(
            "no mindc installed: run through asv (mind_runner install), or set MIND_BIN_DIR"
        )

    def command(self, stage: Stage, program: Path) -> list[str]:
        return [str(self.mindc), *stage.arguments(program)]

    def run(self, stage: Stage, program: Path) -> MindRun:
        """One bounded call: at most `timeout_s` and OUTPUT_CAP per stream."""
        try:
            finished = run_bounded(
                self.command(stage, program),
                timeout_s=self.timeout_s,
                output_cap=OUTPUT_CAP,
                env=FIXED_ENVIRONMENT,
            )
        except OSError as error:
            raise cannot_start(self.mindc, error) from None
        return MindRun(finished.exit_code, finished.stdout, finished.stderr, finished.stopped)

    @property
    def log_commit(self) -> str:
        """The commit this binary was built from, as the run log names it."""
        return self.manifest.commit if self.manifest is not None else current_commit()

    def _hung_before(self, program: Path) -> str | None:
        """A hang on this program earlier in this asv command: not worth another wait."""
        log = current_log()
        if log is None:
            return None
        for entry in read(log):
            if (
                entry.kind is Kind.MIND
                and entry.commit == self.log_commit
                and entry.subject == program.name
                and entry.what.startswith(HUNG)
            ):
                return f"{entry.what} (in an earlier benchmark of this run; not tried again)"
        return None

    def version(self) -> str:
        """First line of `mindc --version`, e.g. 'mind 0.10.2'."""
        run = self.run(Stage.STARTUP, Path())
        return first_line(run.stdout.splitlines()) if run.exit_code == 0 else "unknown"

    def prepare(self, case: Model) -> PreparedModel:
        """The dialect whose gradient IR differentiates `case` with the fewest incorrect
        gradients (the first of equals), or CannotDifferentiate saying why none does
        (MindFailed where none does and some call crashed, hung or printed without end)."""
        if self.manifest is not None and "autodiff" not in self.manifest.features:
            raise CannotDifferentiate(
                f"MIND {self.manifest.commit[:8]} was built without the 'autodiff' feature "
                f"(its Cargo.toml declares: {', '.join(self.manifest.declared_features)})"
            )
        key = preparation_key(self.mindc, case)
        preparation = self.cache.load(case.name, key)
        module = _module_of(preparation)
        if preparation is None or module is None:
            preparation = self._choose_dialect(case)
            module = _module_of(preparation)
            if module is not None:  # a failure is not kept: it may be passing (a timeout)
                self.cache.save(case.name, key, preparation)
        if preparation.dialect is None or preparation.correctness is None or module is None:
            raise CannotDifferentiate(preparation.failure)
        dialect = preparation.dialect
        program = write_program(f"{case.name}.{dialect}.mind", DIALECTS[dialect](case))
        return PreparedModel(case, dialect, program, module, preparation.correctness)

    def _choose_dialect(self, case: Model) -> Preparation:
        """Run every dialect until one has no incorrect gradient; judge those that pass."""
        reasons = []
        best: Preparation | None = None
        fewest = 0
        misbehaved = False
        for dialect, render in DIALECTS.items():
            try:
                text = render(case)
            except RecursionError:  # inlining relu_matmul_chain_1000 into one expression
                reasons.append(f"{dialect}: too deeply nested to write as one program")
                continue
            program = write_program(f"{case.name}.{dialect}.mind", text)
            earlier = self._hung_before(program)
            if earlier is not None:
                misbehaved = True
                reasons.append(f"{dialect}: {earlier}")
                break
            run = self.run(Stage.GRADIENT, program)
            failure = run.failure()
            if run.misbehaved() is not None:
                misbehaved = True
                record_fact(str(failure), commit=self.log_commit, subject=program.name)
                reasons.append(f"{dialect}: {failure}")
                if run.stopped is not None:
                    break  # a hang or endless output costs seconds: do not pay it again
                continue
            if failure is None:
                try:
                    module = parse_module(run.stdout)
                except MalformedIR as error:
                    failure = str(error)
                else:
                    problems = check_differentiates(module, case)
                    failure = "; ".join(problems) if problems else None
            if failure is not None:
                reasons.append(f"{dialect}: {failure}")
                continue
            from mind_runner.mind.gradient_check import judge  # torch: only when judging

            correctness = judge(case, module)
            if best is None or correctness.incorrect < fewest:
                best, fewest = Preparation(dialect, run.stdout, correctness), correctness.incorrect
            if fewest == 0:
                break
        if best is not None:
            return best
        if misbehaved:  # never kept (a Preparation): each benchmark sees it as a failure
            raise MindFailed(
                f"this MIND failed on {case.name} (a fact about this commit): "
                + " | ".join(reasons)
            )
        failure = f"this MIND cannot differentiate {case.name}: " + " | ".join(reasons)
        return Preparation(None, "", None, failure)


def _module_of(preparation: Preparation | None) -> IRModule | None:
    """The chosen dialect's module, None when there is none or it no longer parses."""
    if preparation is None or preparation.dialect is None:
        return None
    try:
        return parse_module(preparation.printed)
    except MalformedIR:
        return None


def _at_fixed_path(mindc: Path) -> Path:
    """`mindc` copied to its fixed-length path; a copy this machine cannot make is its fault."""
    try:
        return at_fixed_path(mindc, PROGRAM_DIR / "bin")
    except OSError as error:
        raise record_fault(
            MachineFault.unwritable(f"cannot copy {mindc} to {PROGRAM_DIR / 'bin'}", error, ROOM)
        ) from None


def write_program(file_name: str, text: str) -> Path:
    """A program at a fixed path (instruction counts depend on the path's length)."""
    path = PROGRAM_DIR / file_name
    try:
        if not path.is_file() or path.read_text() != text:
            write_atomically(path, text)
    except OSError as error:
        raise record_fault(MachineFault.unwritable(f"cannot write {path}", error, ROOM)) from None
    return path


def run_timed_call(command: Sequence[str], timeout_s: float) -> None:
    """A timed call (output discarded, bounded without polling) of a command that passed
    setup: a hang or a non-zero exit now is a failure of this commit's MIND."""
    try:
        exit_code = run_timed(command, timeout_s=timeout_s, env=FIXED_ENVIRONMENT)
    except TimedOut as error:
        raise MindFailed(f"{error}, after passing setup") from None
    except OSError as error:
        raise cannot_start(Path(command[0]), error) from None
    if exit_code != 0:
        how = MindRun(exit_code, "", "").misbehaved() or f"exited {exit_code}"
        raise MindFailed(f"{' '.join(command)} {how}, after passing setup")


def cannot_start(mindc: Path, error: OSError) -> MachineFault:
    """An installed `mindc` that the system refuses to run: its build cache entry is bad."""
    return record_fault(
        MachineFault(
            f"cannot start {mindc} ({error.strerror})",
            "delete this commit's entry in .asv/env/*/asv-build-cache/ and run it again",
        )
    )
