"""The correctness and gradient-program benchmarks, set up and read as asv does."""

from __future__ import annotations

import itertools
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from asv_runner.discovery import _get_benchmark

import benchmarks.common as common
import benchmarks.mind_correctness as correctness_module
import benchmarks.mind_gradient_program as program_module
from benchmarks.common import MODELS, PARAMETERS
from benchmarks.mind_correctness import (
    ChainCorrectness,
    GradientCorrectness,
    ParameterGradients,
    judge_chains,
)
from benchmarks.mind_gradient_program import GradientProgram
from mind_runner.mind import driver
from mind_runner.mind.correctness import VERDICT_CODES, Verdict
from mind_runner.mind.gradient_check import reference_gradients
from mind_runner.mind.models import SEED_MODELS
from tests.conftest import PROJECT_ROOT
from tests.mind_binaries import fixture_bin_dir


@pytest.fixture(autouse=True)
def fresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Per test: an empty preparation cache, and no driver kept from another test."""
    monkeypatch.setattr(driver, "PREPARATION_DIR", tmp_path / "prepared")
    common.prepared.cache_clear()
    program_module.compiled.cache_clear()
    yield
    common.prepared.cache_clear()
    program_module.compiled.cache_clear()


@pytest.fixture
def fixture_mind(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fixture history's mindc, which prints what real MIND prints from v0.7.1 on."""
    monkeypatch.setenv("MIND_BIN_DIR", str(fixture_bin_dir("build-fixed")))


@pytest.fixture
def no_mind(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MIND_BIN_DIR", raising=False)
    monkeypatch.delenv("ASV_ENV_DIR", raising=False)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")


def skip_reason(
    module: object,
    cls: type,
    method: str,
    params: tuple[object, ...],
    capsys: pytest.CaptureFixture[str],
) -> str | None:
    """Run the setups exactly as asv_runner does: the skip reason, or None when it runs."""
    benchmark = _get_benchmark(method, module, cls, getattr(cls, method))
    combinations = list(itertools.product(*getattr(cls, "params", [[]])))
    benchmark.set_param_idx(combinations.index(params))
    capsys.readouterr()
    skipped = benchmark.do_setup()
    out = capsys.readouterr().out
    return out if skipped else None


@pytest.mark.cargo
def test_fixture_tip_verdicts_per_model_and_parameter(
    fixture_mind: None, capsys: pytest.CaptureFixture[str]
) -> None:
    incorrect = {}
    for model in MODELS:
        benchmark = GradientCorrectness()
        benchmark.setup(model)
        incorrect[model] = benchmark.track_incorrect_gradients(model)
        assert benchmark.track_as_printed_misfits(model) == 2  # the i64 seed, twice
    assert incorrect == {"simple_quadratic": 0, "small_mlp": 2, "matmul_chain": 0}

    codes = {}
    for model, parameter in itertools.product(MODELS, PARAMETERS):
        reason = skip_reason(
            correctness_module,
            ParameterGradients,
            "track_gradient_verdict",
            (model, parameter),
            capsys,
        )
        owned = parameter in [p.name for p in SEED_MODELS[model].params]
        if not owned:
            assert reason is not None and f"{model} has no parameter {parameter}" in reason
            continue
        assert reason is None
        per_parameter = ParameterGradients()
        per_parameter.setup(model, parameter)
        codes[(model, parameter)] = per_parameter.track_gradient_verdict(model, parameter)
    absent = VERDICT_CODES[Verdict.ABSENT]
    assert {k for k, code in codes.items() if code != 0} == {
        ("small_mlp", "b1"),
        ("small_mlp", "b2"),
    }
    assert codes[("small_mlp", "b1")] == codes[("small_mlp", "b2")] == absent
    assert len(codes) == sum(len(case.params) for case in SEED_MODELS.values())


@pytest.mark.cargo
def test_chains_are_judged_once_for_all_depths(fixture_mind: None) -> None:
    judged = judge_chains([1, 10])
    benchmark = ChainCorrectness()
    for n in (1, 10):
        benchmark.setup(judged, n)
        assert benchmark.track_incorrect_gradients(judged, n) == 0
        assert benchmark.track_as_printed_misfits(judged, n) == 1  # the seed into relu_grad
        assert benchmark.correctness.summary() == f"{n + 1}/{n + 1}"


@pytest.mark.cargo
def test_the_gradient_program_skips_small_mlp_with_what_is_missing(
    fixture_mind: None, capsys: pytest.CaptureFixture[str]
) -> None:
    reason = skip_reason(
        program_module, GradientProgram, "time_mind_gradient_program", ("small_mlp",), capsys
    )
    assert reason is not None and "3/5 (b1, b2 absent)" in reason


@pytest.mark.cargo
@pytest.mark.parametrize("model", ["simple_quadratic", "matmul_chain"])
def test_the_gradient_program_gives_autograds_gradients(fixture_mind: None, model: str) -> None:
    benchmark = GradientProgram()
    benchmark.setup(model)
    benchmark.time_mind_gradient_program(model)
    values = benchmark.compiled.program.run(benchmark.compiled.primal)
    case = SEED_MODELS[model]
    # The values pytorch_autograd.Backward differentiates, through .backward().
    leaves = case.torch_parameters()
    case.torch_forward(leaves).backward()  # type: ignore[no-untyped-call]
    reference = reference_gradients(case, {n: t.detach() for n, t in leaves.items()})
    prepared_case = common.prepared(model)[1]
    for parameter in case.params:
        value_id = prepared_case.correctness.verdict_of(parameter.name).value_id
        assert value_id is not None
        gradient = leaves[parameter.name].grad
        assert gradient is not None
        torch.testing.assert_close(values[value_id], gradient)
        torch.testing.assert_close(values[value_id], reference[parameter.name])


def test_without_mind_every_mind_figure_skips(
    no_mind: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert "no mindc installed" in (
        skip_reason(
            correctness_module,
            GradientCorrectness,
            "track_incorrect_gradients",
            ("small_mlp",),
            capsys,
        )
        or ""
    )
    assert "no mindc installed" in (
        skip_reason(
            correctness_module,
            ParameterGradients,
            "track_gradient_verdict",
            ("small_mlp", "b1"),
            capsys,
        )
        or ""
    )
    assert "no mindc installed" in (
        skip_reason(
            program_module, GradientProgram, "time_mind_gradient_program", ("matmul_chain",), capsys
        )
        or ""
    )
    judged = judge_chains([1])
    with pytest.raises(NotImplementedError, match="no mindc installed"):
        ChainCorrectness().setup(judged, 1)


def test_benchmark_discovery_imports_no_torch() -> None:
    """asv imports every benchmark module in every benchmark process: torch stays lazy."""
    modules = sorted(p.stem for p in (PROJECT_ROOT / "benchmarks").glob("*.py"))
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module('benchmarks.' + name)\n"
        "print('torch' in sys.modules)\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    )
    assert completed.stdout.strip() == "False"
