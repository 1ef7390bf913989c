"""The one place that talks to MIND's CLI.

Benchmarks ask the driver for a case's program and command lines and never build
them themselves. The driver learns what the installed commit can do by trying
each program dialect MIND has accepted and checking the printed gradient IR
(see `gradient_ir`): across MIND's history, exit code 0 has come with type
errors on stderr, empty modules and modules that drop half the model, so only a
module that really differentiates the case counts. Among those, the one with
the fewest incorrect gradients (`gradient_check`) is chosen; what was chosen is
kept per binary and model (`preparation`), since judging imports torch.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from mind_runner.hooks.manifest import BuildManifest
from mind_runner.measure.environment import FIXED_ENVIRONMENT, at_fixed_path
from mind_runner.mind.correctness import Correctness
from mind_runner.mind.dialects import DIALECTS
from mind_runner.mind.gradient_ir import IRModule, MalformedIR, check_differentiates, parse_module
from mind_runner.mind.models import Model
from mind_runner.mind.preparation import Preparation, PreparationCache, preparation_key
from mind_runner.util.files import write_atomically
from mind_runner.util.text import first_line

# Instruction counts move with the program path's length: every program gets a fixed name.
PROGRAM_DIR = Path(tempfile.gettempdir()) / "mind-autodiff-bench"
PREPARATION_DIR = PROGRAM_DIR / "prepared"


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


@dataclass(frozen=True)
class MindRun:
    exit_code: int
    stdout: str
    stderr: str

    def failure(self) -> str | None:
        """Why this run is not a usable result, or None when it is."""
        if self.exit_code == 101:
            return "panicked (exit 101): " + first_line(self.stderr.strip().splitlines()[1:])
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

    @classmethod
    def locate(cls) -> MindDriver:
        """The `mindc` asv installed for this commit (or $MIND_BIN_DIR's, or PATH's)."""
        candidates = []
        if os.environ.get("MIND_BIN_DIR"):
            candidates.append(Path(os.environ["MIND_BIN_DIR"]) / "mindc")
        if os.environ.get("ASV_ENV_DIR"):
            candidates.append(Path(os.environ["ASV_ENV_DIR"]) / "bin" / "mindc")
        on_path = shutil.which("mindc")
        if on_path:
            candidates.append(Path(on_path))
        for mindc in candidates:
            if mindc.is_file():
                return cls(
                    mindc=at_fixed_path(mindc, PROGRAM_DIR / "bin"),
                    manifest=BuildManifest.load(mindc.parent),
                )
        raise CannotDifferentiate(
            "no mindc installed: run through asv (mind_runner install), or set MIND_BIN_DIR"
        )

    def command(self, stage: Stage, program: Path) -> list[str]:
        return [str(self.mindc), *stage.arguments(program)]

    def run(self, stage: Stage, program: Path) -> MindRun:
        completed = subprocess.run(
            self.command(stage, program),
            capture_output=True,
            text=True,
            env=FIXED_ENVIRONMENT,
            check=False,
        )
        return MindRun(completed.returncode, completed.stdout, completed.stderr)

    def version(self) -> str:
        """First line of `mindc --version`, e.g. 'mind 0.10.2'."""
        run = self.run(Stage.STARTUP, Path())
        return first_line(run.stdout.splitlines()) if run.exit_code == 0 else "unknown"

    def prepare(self, case: Model) -> PreparedModel:
        """The dialect whose gradient IR differentiates `case` with the fewest incorrect
        gradients (the first of equals), or CannotDifferentiate saying why none does."""
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
        for dialect, render in DIALECTS.items():
            try:
                text = render(case)
            except RecursionError:  # inlining relu_matmul_chain_1000 into one expression
                reasons.append(f"{dialect}: too deeply nested to write as one program")
                continue
            program = write_program(f"{case.name}.{dialect}.mind", text)
            run = self.run(Stage.GRADIENT, program)
            failure = run.failure()
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


def write_program(file_name: str, text: str) -> Path:
    """A program at a fixed path (instruction counts depend on the path's length)."""
    path = PROGRAM_DIR / file_name
    if not path.is_file() or path.read_text() != text:
        write_atomically(path, text)
    return path
