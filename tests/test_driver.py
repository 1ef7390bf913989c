"""The driver against stand-in `mindc` scripts that answer like MIND's history did."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from mind_runner.hooks.manifest import BuildManifest
from mind_runner.measure.environment import at_fixed_path
from mind_runner.mind.driver import PROGRAM_DIR, CannotDifferentiate, MindDriver, MindRun, Stage
from mind_runner.mind.models import SEED_MODELS, relu_matmul_chain
from mind_runner.mind.preparation import PreparationCache
from tests import ir_samples
from tests.conftest import PROJECT_ROOT

Answer = tuple[int, str, str]  # exit code, stdout, stderr
CALLS = "calls.log"

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
        f'echo "$1" >> {shlex.quote(str(directory / CALLS))}\n'
        'case "$1" in\n' + "\n".join(branches) + "\n  *) exit 2;;\nesac\n"
    )
    script.chmod(0o755)
    return script


def driver(tmp_path: Path, answers: dict[str, Answer]) -> MindDriver:
    return MindDriver(
        mindc=fake_mindc(tmp_path, answers),
        manifest=None,
        cache=PreparationCache(tmp_path / "prepared"),
    )


def calls(tmp_path: Path) -> list[str]:
    """The program files the fake mindc was run on, in order (dialects by name)."""
    log = tmp_path / CALLS
    return [Path(line).name for line in log.read_text().splitlines()] if log.exists() else []


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
        MindDriver(mindc, manifest, PreparationCache(tmp_path)).prepare(SEED_MODELS["small_mlp"])
    assert calls(tmp_path) == []


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


# --- choosing among dialects by their gradients, and remembering the choice ----------


def test_a_later_dialect_with_fewer_incorrect_gradients_wins(tmp_path: Path) -> None:
    prepared = driver(
        tmp_path,
        {
            "let-form": (0, ir_samples.SMALL_MLP_GRADIENT, ""),
            "function-form": (0, ir_samples.SMALL_MLP_ALL_GRADIENTS, ""),
            "single-expression": (0, ir_samples.SMALL_MLP_GRADIENT, ""),
        },
    ).prepare(SEED_MODELS["small_mlp"])
    assert prepared.dialect == "function-form"
    assert prepared.correctness.summary() == "5/5"
    # Nothing can beat no incorrect gradient: the third dialect is never run.
    assert calls(tmp_path) == ["small_mlp.let-form.mind", "small_mlp.function-form.mind"]


def test_on_a_tie_the_first_dialect_wins_and_carries_its_verdicts(tmp_path: Path) -> None:
    prepared = driver(
        tmp_path,
        {
            "let-form": (0, ir_samples.SMALL_MLP_GRADIENT, ""),
            "function-form": (0, ir_samples.SMALL_MLP_GRADIENT, ""),
            "single-expression": (0, ir_samples.SMALL_MLP_SWAPPED_RELU_GRAD, ""),
        },
    ).prepare(SEED_MODELS["small_mlp"])
    assert prepared.dialect == "let-form"
    assert prepared.correctness.summary() == "3/5 (b1, b2 absent)"
    assert prepared.correctness.missing == ("b1", "b2")
    assert prepared.correctness.as_printed_misfits == 2
    assert len(calls(tmp_path)) == 3


HEAD_LIKE: dict[str, Answer] = {
    "let-form": (0, ir_samples.SMALL_MLP_GRADIENT, ""),
    "function-form": (1, "", E4001 + "\n"),
    "single-expression": (101, "", PANIC),
}


def test_the_choice_is_kept_per_binary_and_model(tmp_path: Path) -> None:
    case = SEED_MODELS["small_mlp"]
    first = driver(tmp_path, HEAD_LIKE).prepare(case)
    assert len(calls(tmp_path)) == 3
    second = driver(tmp_path, HEAD_LIKE).prepare(case)  # the same script: the same binary
    assert len(calls(tmp_path)) == 3  # no mindc run at all
    assert second == first
    assert second.program.read_text() == first.program.read_text()


def test_a_cache_hit_imports_no_torch(tmp_path: Path) -> None:
    """The point of the cache: benchmark processes after the first skip torch's import."""
    driver(tmp_path, HEAD_LIKE).prepare(SEED_MODELS["small_mlp"])
    code = (
        "import sys; from pathlib import Path\n"
        "from mind_runner.mind.driver import MindDriver\n"
        "from mind_runner.mind.models import SEED_MODELS\n"
        "from mind_runner.mind.preparation import PreparationCache\n"
        f"d = MindDriver(Path({str(tmp_path / 'mindc')!r}), None,"
        f" PreparationCache(Path({str(tmp_path / 'prepared')!r})))\n"
        "print(d.prepare(SEED_MODELS['small_mlp']).correctness.summary())\n"
        "print('torch' in sys.modules)\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    )
    assert completed.stdout.splitlines() == ["3/5 (b1, b2 absent)", "False"]
    assert len(calls(tmp_path)) == 3


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda text: text[: len(text) // 2], id="truncated"),
        pytest.param(lambda text: json.dumps({"key": "x", "preparation": {}}), id="stale"),
        pytest.param(
            lambda text: text.replace('"printed": "module {', '"printed": "modul {'),
            id="unparsable-module",
        ),
        pytest.param(lambda text: text.replace('"present"', '"perhaps"'), id="bad-verdict"),
    ],
)
def test_a_damaged_or_stale_entry_is_judged_again_and_replaced(
    tmp_path: Path, damage: Callable[[str], str]
) -> None:
    case = SEED_MODELS["small_mlp"]
    first = driver(tmp_path, HEAD_LIKE).prepare(case)
    entry = tmp_path / "prepared" / "small_mlp.json"
    entry.write_text(damage(entry.read_text()))
    again = driver(tmp_path, HEAD_LIKE).prepare(case)
    assert len(calls(tmp_path)) == 6  # judged again
    assert again == first
    assert json.loads(entry.read_text())["preparation"]["dialect"] == "let-form"
    driver(tmp_path, HEAD_LIKE).prepare(case)
    assert len(calls(tmp_path)) == 6  # and the repaired entry serves


def test_another_binary_is_judged_anew(tmp_path: Path) -> None:
    case = SEED_MODELS["small_mlp"]
    assert driver(tmp_path, HEAD_LIKE).prepare(case).correctness.incorrect == 2
    fixed = {**HEAD_LIKE, "let-form": (0, ir_samples.SMALL_MLP_ALL_GRADIENTS, "")}
    rebuilt = driver(tmp_path, fixed)  # the same script: so far the same binary
    assert rebuilt.prepare(case).correctness.incorrect == 2
    rebuilt.mindc.write_text(rebuilt.mindc.read_text() + "# rebuilt\n")
    assert rebuilt.prepare(case).correctness.incorrect == 0


def test_a_model_no_dialect_differentiates_is_tried_again_next_time(tmp_path: Path) -> None:
    """A failure is not kept: it may not last (a timeout), and trying again is cheap."""
    answers: dict[str, Answer] = {
        "let-form": (1, "", E4001 + "\n"),
        "function-form": (0, ir_samples.TRIVIAL_FUNCTION_MODULE, ""),
        "single-expression": (101, "", PANIC),
    }
    for _ in range(2):
        with pytest.raises(CannotDifferentiate, match="let-form: exit 1: error\\[autodiff\\]"):
            driver(tmp_path, answers).prepare(SEED_MODELS["small_mlp"])
    assert len(calls(tmp_path)) == 6
    assert not (tmp_path / "prepared" / "small_mlp.json").exists()


def test_a_model_too_deep_for_one_expression_is_a_reason_not_a_crash(tmp_path: Path) -> None:
    answers: dict[str, Answer] = {
        "let-form": (1, "", E4001 + "\n"),
        "function-form": (0, ir_samples.TRIVIAL_FUNCTION_MODULE, ""),
    }
    with pytest.raises(CannotDifferentiate) as raised:
        driver(tmp_path, answers).prepare(relu_matmul_chain(1000))
    assert "single-expression: too deeply nested to write as one program" in str(raised.value)
    assert len(calls(tmp_path)) == 2


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
