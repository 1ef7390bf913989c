"""End to end: the real `asv run` and `asv publish` over the fixture history."""

from __future__ import annotations

import json
import math

from tests.asv_results import benchmark_values, is_skipped, load_results
from tests.conftest import MACHINE, QUICK, PublishedHistory

GRADIENT_TIME = "mind_cli.GradientGeneration.time_mind_gradient_ir"
GRADIENT_SIZE = "mind_cli.GradientGeneration.track_gradient_ir_instructions"
BACKWARD = "pytorch_autograd.Backward.time_pytorch_backward"
MODELS = ("simple_quadratic", "small_mlp", "matmul_chain")
# What a correct reverse pass emits: the seed of 1, per matmul two transposes and
# two matmuls, per relu one relu_grad, per mul two muls and an add.
GRADIENT_INSTRUCTIONS = {"simple_quadratic": 4, "small_mlp": 10, "matmul_chain": 13}


def test_working_commits_have_gradient_timings_and_ir_sizes(
    published_history: PublishedHistory,
) -> None:
    history = published_history.project.history
    results = load_results(published_history.project.results_dir)
    for commit in history.commits:
        if not commit.differentiates:
            continue
        times = benchmark_values(results[commit.sha], GRADIENT_TIME)
        sizes = benchmark_values(results[commit.sha], GRADIENT_SIZE)
        for model in MODELS:
            time = times[(model,)]
            assert time is not None and time > 0, (commit.label, model, time)
            assert sizes[(model,)] == GRADIENT_INSTRUCTIONS[model], (commit.label, model)


def test_a_commit_that_cannot_differentiate_is_skipped_not_timed(
    published_history: PublishedHistory,
) -> None:
    project = published_history.project
    commit = project.history.by_label("multiple-outputs")
    result = load_results(project.results_dir)[commit.sha]
    times = benchmark_values(result, GRADIENT_TIME)
    assert all(is_skipped(times[(model,)]) for model in MODELS)
    assert "this MIND cannot differentiate small_mlp" in published_history.run.stdout
    assert "let-form: exit 1: error[autodiff][E4001]" in published_history.run.stdout


def test_a_commit_that_fails_to_build_is_failed_with_its_log_kept(
    published_history: PublishedHistory,
) -> None:
    project = published_history.project
    commit = project.history.by_label("broken-build")
    result = load_results(project.results_dir)[commit.sha]
    assert all(v is None for v in benchmark_values(result, GRADIENT_TIME).values())
    log = project.build_log_dir / f"{commit.sha}.log"
    assert "error" in log.read_text() and "could not compile `mind`" in log.read_text()
    output = published_history.run.stdout + published_history.run.stderr
    assert f"build of MIND {commit.sha[:8]} failed (cargo exit 101); build log: {log}" in output
    assert published_history.run.returncode == 2  # asv run: something failed


def test_publish_after_run_prints_each_line_once(published_history: PublishedHistory) -> None:
    assert published_history.run.stdout.count("Writing index") == 1


def test_pytorch_results_recorded_at_the_tip(published_history: PublishedHistory) -> None:
    project = published_history.project
    result = load_results(project.results_dir)[project.history.commits[-1].sha]
    backward = benchmark_values(result, BACKWARD)
    for model in MODELS:
        cpu = backward[(model, "cpu")]
        assert cpu is not None and 0 < cpu < 1.0
        assert is_skipped(backward[(model, "cuda")])  # no GPU on the test machine


def test_published_graph_has_points_for_each_working_commit(
    published_history: PublishedHistory,
) -> None:
    project = published_history.project
    index = json.loads((project.html_dir / "index.json").read_text())
    assert GRADIENT_TIME in index["benchmarks"]
    graphs = [
        path
        for path in (project.html_dir / "graphs").rglob(f"{GRADIENT_TIME}.json")
        if "summary" not in path.parts
    ]
    assert len(graphs) == 1
    points = json.loads(graphs[0].read_text())
    revisions = {str(rev) for rev, *_ in points}
    working = [c for c in project.history.commits if c.differentiates]
    measured = [
        p
        for p in points
        if p[1] is not None
        and not all(v is None or (isinstance(v, float) and math.isnan(v)) for v in p[1])
    ]
    assert len(measured) == len(working), (revisions, points)


def test_second_run_rebuilds_nothing(published_history: PublishedHistory) -> None:
    """asv's build cache serves every commit that built; only the broken one is retried."""
    project = published_history.project
    before = {log.name: log.stat().st_mtime_ns for log in project.build_log_dir.glob("*.log")}
    project.mind_runner(
        "asv", "run", "main", "--machine", MACHINE, "--bench", "track_gradient_ir", *QUICK
    )
    after = {log.name: log.stat().st_mtime_ns for log in project.build_log_dir.glob("*.log")}
    rebuilt = {name for name in after if after[name] != before.get(name)}
    assert rebuilt == {f"{project.history.by_label('broken-build').sha}.log"}


def test_shared_target_dir_compiles_unchanged_dependencies_once(
    published_history: PublishedHistory,
) -> None:
    """The fixture's path dependency never changes: only the first build compiles it."""
    project = published_history.project
    built = [c for c in project.history.commits if c.builds]
    logs = [(project.build_log_dir / f"{c.sha}.log").read_text() for c in built]
    assert sum("Compiling mind-support" in log for log in logs) == 1
    # Docs-only commits rebuild nothing at all; code changes recompile the mind crate.
    assert all("Finished `release` profile" in log for log in logs)


INCORRECT = "mind_correctness.GradientCorrectness.track_incorrect_gradients"
VERDICT = "mind_correctness.ParameterGradients.track_gradient_verdict"
PROGRAM = "mind_gradient_program.GradientProgram.time_mind_gradient_program"


def test_correctness_is_recorded_where_mind_differentiates(
    published_history: PublishedHistory,
) -> None:
    history = published_history.project.history
    results = load_results(published_history.project.results_dir)
    for commit in history.commits:
        if not commit.builds:
            continue
        incorrect = benchmark_values(results[commit.sha], INCORRECT)
        program = benchmark_values(results[commit.sha], PROGRAM)
        if not commit.differentiates:
            assert all(is_skipped(v) for v in incorrect.values()), commit.label
            continue
        # Fixture MIND, as real MIND, emits no gradient for b1 and b2; a swapped relu_grad
        # also makes x and w1 (everything below the relu) wrong.
        swapped = commit.relu_grad_swapped
        mlp_incorrect = 4 if swapped else 2
        assert incorrect == {
            ("simple_quadratic",): 0,
            ("small_mlp",): mlp_incorrect,
            ("matmul_chain",): 0,
        }, commit.label
        verdicts = benchmark_values(results[commit.sha], VERDICT)
        assert verdicts[("small_mlp", "b1")] == verdicts[("small_mlp", "b2")] == 1  # absent
        assert verdicts[("small_mlp", "w1")] == (2 if swapped else 0), commit.label  # wrong
        assert verdicts[("small_mlp", "w2")] == 0 and is_skipped(verdicts[("small_mlp", "A")])
        assert is_skipped(program[("small_mlp",)])
        for model in ("simple_quadratic", "matmul_chain"):
            time = program[(model,)]
            # Recorded, and a time: no bound on it (a loaded machine made matmul_chain's
            # 0.5 ms take 0.11 s; speed belongs in the benchmarks, not in tests).
            assert time is not None and time > 0, (commit.label, model, time)
