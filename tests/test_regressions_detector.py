"""Steps between consecutive measured commits, on synthetic series.

Each series is written out commit by commit (values as callgrind would give
them); the history is the list of commit names, so a step is one commit exactly
when its two points are neighbours there.
"""

from __future__ import annotations

import math

import pytest

from mind_runner.regressions.detector import (
    GITHUB,
    Outcome,
    Point,
    Rule,
    Series,
    SeriesSteps,
    Step,
    describe,
    detect,
    report,
)

BENCH = "mind_counts.InstructionCounts.track_autodiff_instructions"
NAN = math.nan


def sha(name: str) -> str:
    """A 40-character hash that shows its name: 'c3' -> 'c3c3c3...'."""
    return (name * 40)[:40]


def series(*points: tuple[str, float | None, float | None] | tuple[str, float | None]) -> Series:
    """Points as (name, value[, spread %]); spread 0 unless given."""
    made = []
    for entry in points:
        name, value, *spread = entry
        made.append(Point(sha(name), value, spread[0] if spread else 0.0))
    return Series(BENCH, (("model", "small_mlp"),), tuple(made), unit="instructions")


def history(*names: str) -> list[str]:
    return [sha(name) for name in names]


def only(found: SeriesSteps) -> Step:
    assert len(found.steps) == 1, found.steps
    return found.steps[0]


def test_a_clean_step_is_one_commit_with_its_values_ratio_and_link() -> None:
    s = series(("c1", 65_352), ("c2", 65_352), ("c3", 68_620), ("c4", 68_620))
    found = detect(s, Rule(), history("c1", "c2", "c3", "c4"))
    step = only(found)
    assert (step.last_before, step.first_after) == (sha("c2"), sha("c3"))
    assert (step.before, step.after) == (65_352, 68_620)
    assert step.ratio == pytest.approx(68_620 / 65_352)
    assert step.regression and step.single_commit and step.between == ()
    assert step.url == f"{GITHUB}/commit/{sha('c3')}"
    assert step.find_command() is None
    assert found.regressions == [step] and found.improvements == []
    assert step.still_present and found.still_present == [step]
    text = describe(found, step)
    assert f"commit:  {sha('c3')[:8]} (the step is this one commit)" in text
    assert "before:  65,352 instructions   after: 68,620 instructions   ratio: 1.050x" in text
    assert "STILL PRESENT" in text


def test_a_change_below_the_threshold_is_no_step() -> None:
    s = series(("c1", 100_000), ("c2", 100_900), ("c3", 101_800))  # +0.9 % each
    assert detect(s, Rule(threshold=0.01), history("c1", "c2", "c3")).steps == ()
    assert len(detect(s, Rule(threshold=0.005), history("c1", "c2", "c3")).steps) == 2


def test_a_noisy_era_hides_a_3_percent_change_an_exact_one_shows_4_5_percent() -> None:
    s = series(
        ("c1", 100_000, 5.0),
        ("c2", 103_000, 5.2),  # +3 % inside a 5 % spread: noise, not flagged
        ("c3", 95_000, 4.8),  # -7.8 %: still under twice the spread
        ("c4", 95_000, 0.04),  # the era ends: spread nearly 0
        ("c5", 99_275, 0.05),  # +4.5 % with spreads 0.04 % and 0.05 %: a step
    )
    found = detect(s, Rule(), history("c1", "c2", "c3", "c4", "c5"))
    step = only(found)
    assert step.first_after == sha("c5")
    assert step.change == pytest.approx(0.045)
    assert "spread: 0.04 % -> 0.05 %" in describe(found, step)


def test_the_spread_counts_at_both_commits() -> None:
    # 10 % change: 5 % spread before, none after; twice 5 % = 10 % is not exceeded.
    s = series(("c1", 100_000, 5.0), ("c2", 110_000, 0.0))
    assert detect(s, Rule(), history("c1", "c2")).steps == ()
    s = series(("c1", 100_000, 0.0), ("c2", 110_000, 5.0))
    assert detect(s, Rule(), history("c1", "c2")).steps == ()
    s = series(("c1", 100_000, 0.0), ("c2", 110_100, 5.0))
    assert len(detect(s, Rule(), history("c1", "c2")).steps) == 1


def test_a_large_spread_hides_even_a_large_step() -> None:
    s = series(("c1", 100_000, 12.0), ("c2", 120_000, 11.0), ("c3", 120_000, 11.0))
    found = detect(s, Rule(), history("c1", "c2", "c3"))
    assert found.steps == ()
    assert found.still_present == []


def test_a_revert_is_paired_with_the_step_it_undoes_and_a_reland_with_the_revert() -> None:
    s = series(
        ("c1", 82_494),
        ("c2", 61_110),  # improvement
        ("c3", 82_491),  # its revert: back within 1 % of 82,494
        ("c4", 61_108),  # re-landed
        ("c5", 61_108),
    )
    found = detect(s, Rule(), history("c1", "c2", "c3", "c4", "c5"))
    improvement, revert, reland = found.steps
    assert not improvement.regression and revert.regression and not reland.regression
    assert (improvement.undone_by, revert.undoes, revert.undone_by, reland.undoes) == (1, 0, 2, 1)
    assert reland.undone_by is None
    assert found.still_present == []  # the revert's regression was undone by the re-land
    assert "undone:  by c3c3c3c3 (+35.0 %)" in describe(found, improvement)
    assert "undoes:  c2c2c2c2 (-25.9 %): back to the level before it" in describe(found, revert)


def test_a_reverted_regression_is_not_still_present() -> None:
    s = series(("c1", 100_000), ("c2", 130_000), ("c3", 100_400), ("c4", 100_400))
    found = detect(s, Rule(), history("c1", "c2", "c3", "c4"))
    regression, revert = found.steps
    assert regression.undone_by == 1 and revert.undoes == 0
    assert found.still_present == []
    assert report([found])[1] == 0


def test_an_opposite_step_that_does_not_return_to_the_old_level_undoes_nothing() -> None:
    s = series(("c1", 100_000), ("c2", 130_000), ("c3", 110_000))
    found = detect(s, Rule(), history("c1", "c2", "c3"))
    regression, improvement = found.steps
    assert regression.undone_by is None and improvement.undoes is None
    # 110,000 is still 10 % above the level before the regression.
    assert found.still_present == [regression]


def test_a_regression_later_improved_away_is_not_still_present() -> None:
    s = series(("c1", 100_000), ("c2", 120_000), ("c3", 90_000))
    found = detect(s, Rule(), history("c1", "c2", "c3"))
    assert found.still_present == []


def test_a_gap_of_unmeasured_commits_is_a_range_with_the_find_command() -> None:
    s = series(("c1", 60_766), ("c5", 63_558), ("c6", 63_558))
    found = detect(s, Rule(), history("c1", "c2", "c3", "c4", "c5", "c6"))
    step = only(found)
    assert not step.single_commit
    assert step.between == tuple((sha(n), Outcome.NOT_RUN) for n in ("c2", "c3", "c4"))
    assert step.url == f"{GITHUB}/compare/{sha('c1')}...{sha('c5')}"
    command = f"python -m mind_runner find {sha('c1')[:8]}..{sha('c5')[:8]} {BENCH}"
    assert step.find_command() == command
    text = describe(found, step)
    assert "commits: c1c1c1c1..c5c5c5c5 (last measured .. first measured; 3 commits between" in text
    assert f"bisect:  {command}" in text


def test_skipped_and_failed_points_are_not_measured_a_step_across_them_is_a_range() -> None:
    s = series(("c1", 100_000), ("c2", NAN), ("c3", None), ("c4", 110_000))
    found = detect(s, Rule(), history("c1", "c2", "c3", "c4"))
    step = only(found)
    assert (step.last_before, step.first_after) == (sha("c1"), sha("c4"))
    assert step.between == ((sha("c2"), Outcome.SKIPPED), (sha("c3"), Outcome.FAILED))
    assert "2 commits between: 1 skipped, 1 failed" in describe(found, step)
    assert step.find_command() is not None


def test_skipped_and_failed_points_between_equal_values_make_no_step() -> None:
    s = series(("c1", 100_000), ("c2", NAN), ("c3", None), ("c4", 100_000))
    assert detect(s, Rule(), history("c1", "c2", "c3", "c4")).steps == ()


def test_a_commit_without_results_is_not_measured() -> None:
    points = (
        Point(sha("c1"), 100_000),
        Point(sha("c2"), None, None, measured=False),
        Point(sha("c3"), 120_000),
    )
    found = detect(Series(BENCH, (), points), Rule(), history("c1", "c2", "c3"))
    assert only(found).between == ((sha("c2"), Outcome.NOT_RUN),)


def test_without_the_history_every_step_is_a_range_to_bisect() -> None:
    s = series(("c1", 100_000), ("c2", 120_000))
    found = detect(s, Rule())
    step = only(found)
    assert not step.single_commit and step.between == ()
    assert step.find_command() is not None
    assert "the history between them is not known here" in describe(found, step)


def test_a_step_over_a_dependency_change_says_so() -> None:
    s = series(("c1", 100_000), ("c3", 120_000), ("c4", 150_000))
    changed = {sha("c2"), sha("c4")}
    found = detect(s, Rule(), history("c1", "c2", "c3", "c4"), dependency_changes=changed)
    first, second = found.steps
    assert first.dependency_changes == (sha("c2"),)
    assert second.dependency_changes == (sha("c4"),)
    assert "the dependency set changed at c2c2c2c2" in describe(found, first)


def test_a_count_from_zero_is_a_step() -> None:
    s = series(("c1", 0), ("c2", 0), ("c3", 2))  # e.g. incorrect gradients
    found = detect(s, Rule(), history("c1", "c2", "c3"))
    step = only(found)
    assert step.regression and math.isinf(step.change) and step.still_present
    assert "regression from 0" in describe(found, step)


def test_points_out_of_the_history_order_are_refused() -> None:
    s = series(("c2", 1.0), ("c1", 2.0))
    with pytest.raises(ValueError, match="not in the order"):
        detect(s, Rule(), history("c1", "c2"))
    with pytest.raises(ValueError, match="not in the history"):
        detect(s, Rule(), history("c1"))


def test_the_report_exits_1_only_on_a_regression_still_present() -> None:
    improved = detect(series(("c1", 100_000), ("c2", 80_000)), Rule(), history("c1", "c2"))
    assert report([improved])[1] == 0
    regressed = detect(series(("c1", 100_000), ("c2", 120_000)), Rule(), history("c1", "c2"))
    text, status = report([improved, regressed])
    assert status == 1
    assert text.startswith("2 step(s) between consecutive measured commits; 1 regression(s)")
    assert report([detect(series(("c1", 1.0)), Rule())]) == (
        "no steps between consecutive measured commits",
        0,
    )
