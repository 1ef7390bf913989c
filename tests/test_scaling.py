"""The depth sweep: generated chains, MIND's linear growth, PyTorch independent of MIND."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest
from asv_runner.discovery import _get_benchmark

import benchmarks.scaling as scaling
from benchmarks.scaling import ChainMind, ReluMatmulChain, measure_chains
from tests.asv_results import benchmark_values, is_skipped, load_results
from tests.conftest import PublishedHistory
from tests.mind_binaries import fixture_bin_dir

ROOT = Path(__file__).resolve().parent.parent
BENCHMARK = "scaling.ReluMatmulChain."
MIND_METHODS = ("time_mind_gradient_ir", "track_mind_autodiff_instructions")
PYTORCH_METHODS = ("time_pytorch_backward", "time_pytorch_aot_capture")


def asv_setup_skips(method: str, mind: dict[int, ChainMind], index: int) -> bool:
    """Run the benchmark's setups exactly as asv_runner does; True when asv would skip."""
    benchmark = _get_benchmark(method, scaling, ReluMatmulChain, getattr(ReluMatmulChain, method))
    benchmark.set_param_idx(index)
    benchmark.set_cache(mind)
    return bool(benchmark.do_setup())


@pytest.mark.cargo
def test_mind_side_grows_linearly_with_depth(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIND_BIN_DIR", str(fixture_bin_dir("build-fixed")))
    mind = measure_chains([1, 10, 100], seeds=(1,))
    for n, measured in mind.items():
        assert measured.reason == ""
        program = measured.require_command()[1]
        assert program.endswith(f"/relu_matmul_chain_{n}.let-form.mind")
        with open(program) as text:
            assert text.read().count("tensor.relu(tensor.matmul(") == n
    benchmark = ReluMatmulChain()
    autodiff = {}
    for n in (1, 10, 100):
        benchmark.time_mind_gradient_ir(mind, n)
        autodiff[n] = benchmark.track_mind_autodiff_instructions(mind, n)
    # Linear: each layer adds the same work, so 90 more layers add 10x what 9 do.
    growth = (autodiff[100] - autodiff[10]) / (autodiff[10] - autodiff[1])
    assert growth == pytest.approx(10, rel=0.05), autodiff


@pytest.mark.parametrize("n", [1, 10])
def test_pytorch_side_runs_without_any_mind(monkeypatch: pytest.MonkeyPatch, n: int) -> None:
    monkeypatch.delenv("MIND_BIN_DIR", raising=False)
    monkeypatch.delenv("ASV_ENV_DIR", raising=False)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    mind = measure_chains([n])
    assert "no mindc installed" in mind[n].reason
    index = scaling.LAYERS.index(n)
    assert all(asv_setup_skips(method, mind, index) for method in MIND_METHODS)
    assert not any(asv_setup_skips(method, mind, index) for method in PYTORCH_METHODS)
    benchmark = ReluMatmulChain()
    ReluMatmulChain.time_pytorch_backward.setup(mind, n)  # type: ignore[attr-defined]
    benchmark.time_pytorch_backward(mind, n)
    assert all(tensor.grad is not None for tensor in scaling._recorded["inputs"])
    ReluMatmulChain.time_pytorch_aot_capture.setup(mind, n)  # type: ignore[attr-defined]
    benchmark.time_pytorch_aot_capture(mind, n)


def test_the_mind_side_never_imports_torch() -> None:
    """A MIND-only benchmark process (setup_cache aside) pays no torch import: 2-3 s each."""
    code = (
        "import sys\n"
        "from asv_runner.discovery import _get_benchmark\n"
        "import benchmarks.scaling as scaling\n"
        "from benchmarks.scaling import ChainMind, ReluMatmulChain\n"
        "mind = {n: ChainMind(['mindc'], None, 'no counts') for n in scaling.LAYERS}\n"
        "for method in ('time_mind_gradient_ir', 'track_mind_autodiff_instructions'):\n"
        "    f = getattr(ReluMatmulChain, method)\n"
        "    b = _get_benchmark(method, scaling, ReluMatmulChain, f)\n"
        "    b.set_param_idx(3)\n"
        "    b.set_cache(mind)\n"
        "    b.do_setup()\n"
        "print('torch' in sys.modules)\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert completed.stdout.strip().splitlines()[-1] == "False", completed.stderr


def test_the_slow_capture_takes_one_sample_per_round() -> None:
    """AOT capture of 1000 layers takes ~10 s: asv's defaults would take 2 samples a round."""
    benchmark = _get_benchmark(
        "time_pytorch_aot_capture",
        scaling,
        ReluMatmulChain,
        ReluMatmulChain.time_pytorch_aot_capture,
    )
    assert (benchmark.repeat, benchmark.min_run_count) == ((1, 5, 10.0), 1)
    assert benchmark.timeout >= 120


def test_asv_records_the_sweep(published_history: PublishedHistory) -> None:
    project = published_history.project
    results = load_results(project.results_dir)
    tip = results[project.history.commits[-1].sha]

    def at(result: object, name: str) -> dict[int, float | None]:
        values = benchmark_values(result, BENCHMARK + name)
        return {int(params[0]): value for params, value in values.items()}

    for name in MIND_METHODS + PYTORCH_METHODS:
        values = at(tip, name)
        assert all(v is not None and v > 0 for v in values.values()), (name, values)
        assert values[1000] > values[1], (name, values)  # type: ignore[operator]
    autodiff = at(tip, "track_mind_autodiff_instructions")
    growth = (autodiff[1000] - autodiff[100]) / (autodiff[100] - autodiff[10])  # type: ignore[operator]
    assert growth == pytest.approx(10, rel=0.05), autodiff
    # Where scaling ran at every commit: MIND skipped where it cannot differentiate,
    # PyTorch measured all the same (it never depends on MIND).
    old = results[project.history.by_label("multiple-outputs").sha]
    recorded = old.get_all_result_keys()
    for name in MIND_METHODS:
        if BENCHMARK + name in recorded:
            assert all(is_skipped(v) for v in at(old, name).values())
    if BENCHMARK + PYTORCH_METHODS[0] in recorded:
        backward = at(old, PYTORCH_METHODS[0])
        assert all(v is not None and not math.isnan(v) for v in backward.values())
