"""End to end: rule coverage (benchmarks/mind_coverage.py) over the fixture history,
measured by the real asv, and the step `regressions` names.

At sum-axis-broadcast a sum over one axis broadcasts its gradient back to the input's
shape (right); at sum-axis-passthrough it hands the gradient through with the summed
shape (absent), as real MIND does: one cell of the matrix changes, one rule fewer is right.
"""

from __future__ import annotations

from tests.asv_results import benchmark_values, is_skipped, load_results
from tests.conftest import PublishedHistory

VERDICT = "mind_coverage.RuleCoverage.track_rule_verdict"
INCORRECT = "mind_coverage.RuleCoverage.track_incorrect_gradients"
RIGHT = "mind_coverage.RulesRight.track_rules_right"
SILENT = "mind_coverage.SilentFailures.track_silent_failures"
COUNT = "mind_coverage.RuleInstructions.track_autodiff_instructions"
CELL = ("sum_axis", "compile-time")


def test_one_cell_and_one_right_rule_change_at_the_commit_that_broke_the_sum_rule(
    published_history: PublishedHistory,
) -> None:
    results = load_results(published_history.project.results_dir)
    history = published_history.project.history
    before = results[history.by_label("sum-axis-broadcast").sha]
    after = results[history.by_label("sum-axis-passthrough").sha]
    verdicts = benchmark_values(before, VERDICT), benchmark_values(after, VERDICT)
    changed = {
        key
        for key, value in verdicts[0].items()
        if value != verdicts[1][key] and not (is_skipped(value) and is_skipped(verdicts[1][key]))
    }
    assert changed == {CELL}
    assert (verdicts[0][CELL], verdicts[1][CELL]) == (0, 1)
    assert benchmark_values(after, INCORRECT)[CELL] == 1
    # An op the fixture does not parse is a skip (not expressible), never 0 or a failure.
    assert is_skipped(verdicts[1][("mean_axis", "compile-time")])
    right = benchmark_values(before, RIGHT)[()], benchmark_values(after, RIGHT)[()]
    assert right[0] is not None and right[1] == right[0] - 1
    silent = benchmark_values(before, SILENT), benchmark_values(after, SILENT)
    assert silent[0][("compile-time",)] is not None
    assert silent[1][("compile-time",)] == silent[0][("compile-time",)] + 1
    counts = benchmark_values(after, COUNT)
    assert counts[("sum_axis",)] is not None and counts[("sum_axis",)] > 0
    assert is_skipped(counts[("mean_axis",)])


def test_regressions_names_the_commit_where_the_sum_rule_broke(
    published_history: PublishedHistory,
) -> None:
    project = published_history.project
    broke = project.history.by_label("sum-axis-passthrough").sha[:8]
    completed = project.mind_runner("regressions", check=False)
    blocks = [block for block in completed.stdout.split("\n\n") if "commit" in block]
    for figure in (RIGHT, f"{VERDICT}(op=sum_axis, engine=compile-time)"):
        found = [block for block in blocks if block.splitlines()[0].startswith(figure)]
        assert found, f"{figure} not reported:\n{completed.stdout}"
        assert f"commit:  {broke} (the step is this one commit)" in found[0], found[0]
