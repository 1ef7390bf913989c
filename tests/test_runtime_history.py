"""End to end: MIND's runtime gradients (benchmarks/mind_runtime.py) over the fixture
history, measured by the real asv, and the step `regressions` names.

runtime-grad brings `mind eval --exec` with `grad`, every rule right; at
runtime-matmul-passthrough the matmul rule hands the upstream gradient to both operands
(as real MIND's does at v0.10.2), so x, w1, b1, w2 of small_mlp and all of matmul_chain
come out wrong, with exit 0 and no error: silent failures.
"""

from __future__ import annotations

from tests.asv_results import benchmark_values, is_skipped, load_results
from tests.conftest import PublishedHistory
from tests.test_regressions import values

INCORRECT = "mind_runtime.RuntimeCorrectness.track_runtime_incorrect_gradients"
SILENT = "mind_runtime.RuntimeCorrectness.track_runtime_silent_failures"
VERDICT = "mind_runtime.RuntimeParameterGradients.track_runtime_gradient_verdict"
TIME = "mind_runtime.RuntimeGradient.time_mind_runtime_gradient"
COUNT = "mind_runtime.RuntimeInstructionCounts.track_runtime_gradient_instructions"
COMPILE_SILENT = "mind_runtime.CompileTimeSilentFailures.track_compile_time_silent_failures"
MODELS = ("simple_quadratic", "small_mlp", "matmul_chain")
WRONG_AT_PASSTHROUGH = {"simple_quadratic": 0, "small_mlp": 4, "matmul_chain": 4}


def test_runtime_figures_where_the_runtime_exists_and_skips_before(
    published_history: PublishedHistory,
) -> None:
    results = load_results(published_history.project.results_dir)
    for commit in published_history.project.history.commits:
        if not commit.builds:
            continue
        incorrect = benchmark_values(results[commit.sha], INCORRECT)
        times = benchmark_values(results[commit.sha], TIME)
        if not commit.runtime_grad:
            assert all(is_skipped(v) for v in incorrect.values()), commit.label
            assert all(is_skipped(v) for v in times.values()), commit.label
            continue
        wrong = commit.runtime_matmul_passthrough
        expected = {(m,): WRONG_AT_PASSTHROUGH[m] if wrong else 0 for m in MODELS}
        assert incorrect == expected, commit.label
        assert benchmark_values(results[commit.sha], SILENT) == expected, commit.label
        verdicts = benchmark_values(results[commit.sha], VERDICT)
        assert verdicts[("small_mlp", "w1")] == (2 if wrong else 0), commit.label
        assert verdicts[("small_mlp", "b2")] == 0 and is_skipped(verdicts[("small_mlp", "A")])
        counts = benchmark_values(results[commit.sha], COUNT)
        for model in MODELS:  # timed and counted whatever the verdict
            time = times[(model,)]
            assert time is not None and time > 0, (commit.label, model, time)
            count = counts[(model,)]
            assert count is not None and count > 0, (commit.label, model)
        # The compile-time engine's own silent failures: b1 and b2 absent (and x, w1
        # wrong below the swapped relu_grad), from a mindc that exited 0.
        compile_silent = benchmark_values(results[commit.sha], COMPILE_SILENT)
        assert compile_silent[("small_mlp",)] == (4 if commit.relu_grad_swapped else 2)


def test_regressions_names_the_commit_that_broke_the_runtime_matmul_rule(
    published_history: PublishedHistory,
) -> None:
    project = published_history.project
    broke = project.history.by_label("runtime-matmul-passthrough")
    completed = project.mind_runner("regressions", check=False)
    blocks = _blocks(completed.stdout)
    for model in ("small_mlp", "matmul_chain"):
        for figure in (INCORRECT, SILENT):
            block = blocks.get(f"{figure}(model={model})")
            assert block is not None, f"{figure} {model} not reported:\n{completed.stdout}"
            assert f"commit:  {broke.sha[:8]} (the step is this one commit)" in block
            assert values(block)[:2] == (0, WRONG_AT_PASSTHROUGH[model])
    assert f"{INCORRECT}(model=simple_quadratic)" not in blocks


def _blocks(stdout: str) -> dict[str, str]:
    """Each step's block by its figure: the first line's name up to its `)` (a long name
    is on a line of its own, without `: regression ...`)."""
    blocks = {}
    for block in stdout.split("\n\n"):
        title = block.splitlines()[0] if block.strip() else ""
        if "(" in title and "commit" in block:
            blocks[title[: title.index(")") + 1]] = block
    return blocks
