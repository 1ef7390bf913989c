"""The driver against stand-in `mindc` scripts that answer like MIND's history did."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import pytest

from mind_runner.hooks.manifest import BuildManifest
from mind_runner.measure.environment import at_fixed_path
from mind_runner.mind.driver import PROGRAM_DIR, CannotDifferentiate, MindDriver, MindRun, Stage
from mind_runner.mind.models import SEED_MODELS
from tests import ir_samples

Answer = tuple[int, str, str]  # exit code, stdout, stderr

E4001 = (
    "error[autodiff][E4001]: IR module contains multiple outputs; expected a single scalar output"
)
PANIC = (
    "\nthread 'main' (5548) panicked at src/eval/lower.rs:5321:13:\n"
    "undefined identifier `f32` reached lowering\n"
    "note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n"
)


def fake_mindc(directory: Path, answers: dict[str, Answer]) -> Path:
    """A shell script that answers per program dialect (the file name's middle part)."""
    branches = []
    for index, (dialect, (code, stdout, stderr)) in enumerate(answers.items()):
        (directory / f"{index}.out").write_text(stdout)
        (directory / f"{index}.err").write_text(stderr)
        out, err = (
            shlex.quote(str(directory / f"{index}.out")),
            shlex.quote(str(directory / f"{index}.err")),
        )
        branches.append(f"  *.{dialect}.mind) cat {out}; cat {err} >&2; exit {code};;")
    script = directory / "mindc"
    script.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = --version ]; then echo "mind 0.7.1"; echo "core-ir=1.0"; exit 0; fi\n'
        'case "$1" in\n' + "\n".join(branches) + "\n  *) exit 2;;\nesac\n"
    )
    script.chmod(0o755)
    return script


def driver(tmp_path: Path, answers: dict[str, Answer]) -> MindDriver:
    return MindDriver(mindc=fake_mindc(tmp_path, answers), manifest=None)


def test_picks_the_first_dialect_with_a_correct_gradient(tmp_path: Path) -> None:
    prepared = driver(
        tmp_path,
        {
            "let-form": (1, "", E4001 + "\n"),
            "function-form": (0, ir_samples.SMALL_MLP_GRADIENT, ""),
            "single-expression": (0, ir_samples.SMALL_MLP_LOSSY, ""),
        },
    ).prepare(SEED_MODELS["small_mlp"])
    assert prepared.dialect == "function-form"
    assert prepared.program.name == "small_mlp.function-form.mind"
    assert prepared.program.read_text().startswith("fn main(")
    assert len(prepared.module.gradient) == 10


def test_every_failure_mode_becomes_a_skip_with_its_reason(tmp_path: Path) -> None:
    with pytest.raises(CannotDifferentiate) as raised:
        driver(
            tmp_path,
            {
                "let-form": (1, "", E4001 + "\n"),
                "function-form": (0, ir_samples.TRIVIAL_FUNCTION_MODULE, ""),
                "single-expression": (101, "", PANIC),
            },
        ).prepare(SEED_MODELS["small_mlp"])
    reason = str(raised.value)
    assert isinstance(raised.value, NotImplementedError)  # what asv turns into a skip
    assert "let-form: exit 1: error[autodiff][E4001]" in reason
    assert "function-form: primal IR has 0 'add'" in reason and "0 'matmul'" in reason
    assert "single-expression: panicked (exit 101): undefined identifier `f32`" in reason


def test_exit_zero_with_type_errors_on_stderr_is_not_a_result(tmp_path: Path) -> None:
    type_error = "error[type-check][E2001]: unsupported call to `mul`\n"
    with pytest.raises(CannotDifferentiate, match="exit 0 but stderr says: error\\[type-check\\]"):
        driver(
            tmp_path,
            {
                "let-form": (0, "", type_error),
                "function-form": (0, "", ""),
                "single-expression": (0, ir_samples.SIMPLE_QUADRATIC_PRIMAL_ONLY, ""),
            },
        ).prepare(SEED_MODELS["simple_quadratic"])


def test_silent_no_op_and_primal_only_output_are_rejected() -> None:
    assert MindRun(0, "", "").failure() == "exit 0 with nothing printed"
    assert MindRun(0, ir_samples.SIMPLE_QUADRATIC_GRADIENT, "").failure() is None


def test_a_build_without_the_autodiff_feature_is_skipped_before_running(tmp_path: Path) -> None:
    manifest = BuildManifest(
        commit="c82e32fc" + "0" * 32,
        features=(),
        declared_features=("cpu-exec", "mlir-lowering"),
        rustc_version="rustc 1.95.0",
        build_seconds=1.0,
        binaries=("mind", "mindc"),
    )
    mindc = fake_mindc(tmp_path, {})
    with pytest.raises(CannotDifferentiate, match="built without the 'autodiff' feature"):
        MindDriver(mindc=mindc, manifest=manifest).prepare(SEED_MODELS["small_mlp"])


def test_stage_command_lines_are_the_real_cli_flags(tmp_path: Path) -> None:
    program = tmp_path / "p.mind"
    assert Stage.STARTUP.arguments(program) == ["--version"]
    assert Stage.FRONT_END.arguments(program) == [str(program), "--emit-ir"]
    assert Stage.GRADIENT.arguments(program) == [
        str(program),
        "--autodiff",
        "--emit-grad-ir",
        "--func",
        "main",
    ]


def test_locate_prefers_mind_bin_dir_and_reads_the_manifest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mindc = fake_mindc(tmp_path, {})
    BuildManifest("a" * 40, ("autodiff",), ("autodiff",), "rustc", 1.0, ("mind", "mindc")).save(
        tmp_path
    )
    monkeypatch.setenv("MIND_BIN_DIR", str(tmp_path))
    located = MindDriver.locate()
    # Run from a copy at a fixed-length path: counts depend on the executable's path.
    assert located.mindc.parent.parent == PROGRAM_DIR / "bin"
    assert located.mindc.read_bytes() == mindc.read_bytes()
    assert located.manifest is not None and located.manifest.features == ("autodiff",)
    assert located.version() == "mind 0.7.1"


def test_locate_without_any_mindc_is_a_skip(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MIND_BIN_DIR", raising=False)
    monkeypatch.delenv("ASV_ENV_DIR", raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(CannotDifferentiate, match="no mindc installed"):
        MindDriver.locate()


def test_the_executable_is_run_from_a_fixed_length_path(tmp_path: Path) -> None:
    short, long = tmp_path / "a" / "mindc", tmp_path / "a-much-longer-folder" / "mindc"
    for binary, text in ((short, "one"), (long, "two")):
        binary.parent.mkdir()
        binary.write_text(text)
        binary.chmod(0o755)
    first, second = (
        at_fixed_path(short, tmp_path / "fixed"),
        at_fixed_path(long, tmp_path / "fixed"),
    )
    assert len(str(first)) == len(str(second)) and first != second
    assert first.read_text() == "one" and os.access(first, os.X_OK)
    short.write_text("rebuilt")
    assert at_fixed_path(short, tmp_path / "fixed").read_text() == "rebuilt"
