"""The one place that talks to MIND's runtime engine, `mind eval --exec` (feature cpu-exec).

`mindc` (driver.py) prints gradient IR that nothing in MIND's CLI executes; `mind eval
--exec` evaluates `grad(...)` itself, per call. The build installs `mind` beside `mindc`
where the commit declares `cpu-exec`, and its manifest says with which features; a
commit without it is a skip (`CannotDifferentiate`) with the manifest's reason. Calls
are bounded as `mindc`'s are: a hang, a crash by a signal or endless output is a fact
about the commit (`MindFailed`); an error MIND prints is part of its answer
(`RuntimeAnswer.error`), judged with the gradients.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from mind_runner.hooks.manifest import (
    RUNTIME_BINARY,
    BuildManifest,
    CorruptManifest,
)
from mind_runner.measure.bounded import run_bounded
from mind_runner.measure.environment import FIXED_ENVIRONMENT
from mind_runner.mind.driver import (
    OUTPUT_CAP,
    CannotDifferentiate,
    MindFailed,
    _at_fixed_path,
    call_timeout,
    cannot_start,
)
from mind_runner.mind.models import Model
from mind_runner.mind.runtime_answer import NoRuntime, RuntimeAnswer, read_answer
from mind_runner.mind.runtime_program import (
    RUNTIME_DIALECTS,
    NotExpressible,
    runtime_fills,
)
from mind_runner.util.errors import MachineFault
from mind_runner.util.run_log import current_commit, record_fact, record_fault

RUNTIME_FEATURE = "cpu-exec"


@dataclass(frozen=True)
class RuntimeCall:
    """One model's runtime program, the dialect it is in, and what MIND answered."""

    case: Model  # with the runtime's fills
    dialect: str
    program: str
    answer: RuntimeAnswer


def _bin_dir() -> Path | None:
    """Where asv installed this commit's binaries ($MIND_BIN_DIR, else the env's bin)."""
    if os.environ.get("MIND_BIN_DIR"):
        return Path(os.environ["MIND_BIN_DIR"])
    if os.environ.get("ASV_ENV_DIR"):
        return Path(os.environ["ASV_ENV_DIR"]) / "bin"
    on_path = shutil.which(RUNTIME_BINARY)
    return Path(on_path).parent if on_path else None


@dataclass(frozen=True)
class RuntimeDriver:
    mind: Path
    manifest: BuildManifest | None
    timeout_s: float

    @classmethod
    def locate(cls) -> RuntimeDriver:
        """This commit's `mind`, or CannotDifferentiate saying why there is none."""
        directory = _bin_dir()
        if directory is None:
            raise CannotDifferentiate(
                "no mind installed: run through asv (mind_runner install), or set MIND_BIN_DIR"
            )
        try:
            manifest = BuildManifest.load(directory)
        except CorruptManifest as error:
            raise record_fault(
                MachineFault(
                    str(error),
                    "delete that commit's entry in .asv/env/*/asv-build-cache/ and run it again",
                )
            ) from None
        if manifest is not None:
            features = manifest.features_of(RUNTIME_BINARY)
            if features is None:
                why = manifest.runtime_not_built or "the build made no mind binary"
                raise CannotDifferentiate(f"MIND {manifest.commit[:8]} has no runtime: {why}")
            if RUNTIME_FEATURE not in features:
                raise CannotDifferentiate(
                    f"MIND {manifest.commit[:8]}'s mind was built without '{RUNTIME_FEATURE}' "
                    f"(with: {', '.join(features) or 'no features'})"
                )
        mind = directory / RUNTIME_BINARY
        if not mind.is_file():
            if manifest is not None:
                raise record_fault(
                    MachineFault(
                        f"{mind} is missing although its build manifest lists it",
                        "run the commit again (python -m mind_runner run HASH^!)",
                    )
                )
            raise CannotDifferentiate(f"no {RUNTIME_BINARY} in {directory}")
        return cls(mind=_at_fixed_path(mind), manifest=manifest, timeout_s=call_timeout())

    @property
    def log_commit(self) -> str:
        return self.manifest.commit if self.manifest is not None else current_commit()

    def command(self, program: str) -> list[str]:
        return [str(self.mind), "eval", "--exec", program]

    def call(self, case: Model) -> RuntimeCall:
        """`case` with the runtime's fills, answered in the first dialect that gives
        gradients (else the last answer, with its error). CannotDifferentiate where
        this `mind` has no runtime or the model has no runtime program; MindFailed
        where MIND hung, crashed by a signal or printed without end."""
        filled = runtime_fills(case)
        last: RuntimeCall | None = None
        reasons = []
        for dialect, render in RUNTIME_DIALECTS.items():
            try:
                program = render(filled)
            except NotExpressible as why:
                reasons.append(f"{dialect}: {why}")
                continue
            last = RuntimeCall(filled, dialect, program, self._answer(case.name, program))
            if last.answer.error is None:
                return last
        if last is None:
            raise CannotDifferentiate(f"no runtime program for {case.name}: {'; '.join(reasons)}")
        return last

    def _answer(self, subject: str, program: str) -> RuntimeAnswer:
        try:
            finished = run_bounded(
                self.command(program),
                timeout_s=self.timeout_s,
                output_cap=OUTPUT_CAP,
                env=FIXED_ENVIRONMENT,
                cwd=Path("/"),
            )
        except OSError as error:
            raise cannot_start(self.mind, error) from None
        misbehaved = finished.misbehaved()
        if misbehaved is not None:
            record_fact(f"mind eval --exec {misbehaved}", commit=self.log_commit, subject=subject)
            raise MindFailed(f"this MIND's runtime failed on {subject}: {misbehaved}")
        try:
            return read_answer(finished.exit_code, finished.stdout, finished.stderr)
        except NoRuntime as missing:
            raise CannotDifferentiate(str(missing)) from None
