"""`bisect` narrows each step of a sparse run to one commit (asv's runs stood in for by
results written with asv's own API, so the counting of builds is exact and quick)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from mind_runner.commands.bisect import _Work, bisect, pick, render
from mind_runner.commands.shard import every_kth
from mind_runner.util.errors import UserError
from tests.conftest import copy_project
from tests.test_regressions_command import git_in
from tests.test_regressions_history import (
    AUTODIFF,
    AUTODIFF_SPREAD,
    DAY,
    per_model,
    write_benchmarks_json,
    write_result,
)

MACHINE = "box"
DAY0 = 1_780_000_000_000


def linear_repo(path: Path, count: int) -> list[str]:
    path.mkdir()
    git_in(path, "init", "-q", "-b", "main")
    for index in range(count):
        git_in(path, "commit", "-q", "--allow-empty", "-m", f"c{index}")
    return git_in(path, "rev-list", "--reverse", "main").split()


class FakeAsv:
    """Writes what asv would: the figure at a commit, None where it does not build."""

    def __init__(self, results: Path, commits: list[str], level: dict[int, float | None]) -> None:
        self.results, self.commits, self.level = results, commits, level
        self.calls: list[tuple[str, str]] = []
        self.rounds: list[list[str]] = []

    def write(self, index: int) -> None:
        value = self.level[index]
        spread = None if value is None else 0.0
        # A commit that does not build fails every benchmark, as asv records it.
        first = None if value is None else 40_000.0
        write_result(
            self.results,
            self.commits[index],
            DAY0 + index * DAY,
            {AUTODIFF: per_model(first, value), AUTODIFF_SPREAD: per_model(0.0, spread)},
        )

    def __call__(
        self, commits: Sequence[str], machine: str, bench: str, asv_args: Sequence[str]
    ) -> int:
        self.rounds.append(list(commits))
        for commit in commits:
            self.calls.append((commit, bench))
            self.write(self.commits.index(commit))
        return 0


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, list[str]]:
    commits = linear_repo(tmp_path / "mind", 12)
    root = copy_project(tmp_path / "project")
    write_benchmarks_json(root / "results", [AUTODIFF, AUTODIFF_SPREAD])
    monkeypatch.setenv("MIND_REPO", str(tmp_path / "mind"))
    monkeypatch.setenv("HOME", str(tmp_path))
    return root, commits


def test_every_kth_keeps_the_oldest_and_the_newest() -> None:
    newest_first = [f"c{i}" for i in range(9, -1, -1)]
    assert every_kth(newest_first, 4) == ["c9", "c8", "c4", "c0"]
    assert every_kth(newest_first, 1) == newest_first


def test_a_sparse_step_is_narrowed_to_its_commit(project: tuple[Path, list[str]]) -> None:
    root, commits = project
    # small_mlp: 61,000 up to c6, 64,000 from c7 on; measured sparsely at c0, c4, c8, c11.
    level: dict[int, float | None] = {i: 61_000.0 if i < 7 else 64_000.0 for i in range(12)}
    asv = FakeAsv(root / "results", commits, level)
    for index in every_kth_indices(12, 4):
        asv.write(index)
    narrowed = bisect(MACHINE, config_path=root / "asv.conf.json", measure=asv)
    (step,) = narrowed.steps
    assert step.single_commit and step.first_after == commits[7]
    assert step.last_before == commits[6]
    # c4..c8 holds c5, c6, c7: the middle (c6), then c7: two builds, not seven.
    assert [c for c, _ in asv.calls] == [commits[6], commits[7]]
    assert asv.calls[0][1] == "^mind_counts\\.InstructionCounts\\."
    text = render(narrowed)
    assert f"regression +4.9 % at {commits[7][:8]}" in text
    assert "1 step(s), 1 narrowed to one commit; the bisection built and measured 2" in text


def every_kth_indices(count: int, k: int) -> list[int]:
    picked = list(range(0, count, k))
    return picked if picked[-1] == count - 1 else [*picked, count - 1]


def test_commits_that_do_not_build_are_reported_not_retried(
    project: tuple[Path, list[str]],
) -> None:
    root, commits = project
    # The step is at c6, but c5 and c6 do not build: c4 -> c7 is as narrow as it gets.
    level: dict[int, float | None] = {i: 61_000.0 if i < 6 else 64_000.0 for i in range(12)}
    level[5] = level[6] = None
    asv = FakeAsv(root / "results", commits, level)
    for index in every_kth_indices(12, 4):
        asv.write(index)
    narrowed = bisect(MACHINE, config_path=root / "asv.conf.json", measure=asv)
    (step,) = narrowed.steps
    assert (step.last_before, step.first_after) == (commits[4], commits[7])
    assert sorted(c for c, _ in asv.calls) == sorted([commits[5], commits[6], commits[7]])
    assert "every commit in between has no figure" in render(narrowed)


def test_without_mind_history_bisect_says_what_to_do(
    project: tuple[Path, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, commits = project
    monkeypatch.delenv("MIND_REPO")
    asv = FakeAsv(root / "results", commits, dict.fromkeys(range(12), 1.0))
    asv.write(0)
    asv.write(4)
    with pytest.raises(UserError, match="bisecting needs MIND's git history"):
        bisect(MACHINE, config_path=root / "asv.conf.json", measure=asv)


def test_a_step_next_to_a_sample_without_a_number_is_found(
    project: tuple[Path, list[str]],
) -> None:
    """The oldest sample cannot differentiate (a skip): the step from c3 to c4 would hide
    in front of the first number, so the commits before it are measured too."""
    root, commits = project
    level: dict[int, float | None] = {i: 61_000.0 if i < 4 else 64_000.0 for i in range(12)}
    level[0] = float("nan")
    level[2] = None  # does not build
    asv = FakeAsv(root / "results", commits, level)
    for index in every_kth_indices(12, 4):
        asv.write(index)
    narrowed = bisect(MACHINE, config_path=root / "asv.conf.json", measure=asv)
    (step,) = narrowed.steps
    assert step.single_commit and step.first_after == commits[4]
    assert [c for c, _ in asv.calls] == [commits[2], commits[3], commits[1]]


def test_where_a_figure_gets_its_first_number_is_bisected_not_scanned(
    project: tuple[Path, list[str]],
) -> None:
    """small_mlp skips (MIND cannot differentiate it) up to c8 and has a number from c9;
    sampled at c0 and c11 only. A skip found inside the gap bounds it from below, so
    the first number is found in a few builds, not by walking up from c0."""
    root, commits = project
    level: dict[int, float | None] = {i: float("nan") if i < 9 else 64_000.0 for i in range(12)}
    asv = FakeAsv(root / "results", commits, level)
    asv.write(0)
    asv.write(11)
    narrowed = bisect(MACHINE, config_path=root / "asv.conf.json", measure=asv)
    assert narrowed.steps == ()
    measured = [c for c, _ in asv.calls]
    assert commits[8] in measured and commits[9] in measured
    assert len(measured) <= 4, [commits.index(c) for c in measured]


def test_two_workers_narrow_a_lone_range_in_thirds() -> None:
    """With one range and two workers a round measures its 1/3 and 2/3 points; with two
    ranges, each one's middle."""
    seven = [f"c{i}" for i in range(7)]
    assert pick([_Work("b.x", "r", seven)], 2) == ["c2", "c4"]
    assert pick([_Work("b.x", "r", seven)], 1) == ["c3"]
    two = [_Work("b.x", "r", seven), _Work("b.y", "s", ["d0", "d1", "d2"])]
    assert pick(two, 2) == ["c3", "d1"]
    assert pick([_Work("b.x", "r", ["c0"]), _Work("b.y", "r", ["c0"])], 4) == ["c0"]


def test_a_sparse_step_narrowed_by_two_workers_takes_fewer_rounds(
    project: tuple[Path, list[str]],
) -> None:
    root, commits = project
    # c0 -> c11 sparse at c0 and c11 only (every 11th): the step at c7 hides among ten.
    level: dict[int, float | None] = {i: 61_000.0 if i < 7 else 64_000.0 for i in range(12)}
    one = FakeAsv(root / "results", commits, level)
    one.write(0)
    one.write(11)
    narrowed = bisect(MACHINE, config_path=root / "asv.conf.json", measure=one)
    assert narrowed.steps[0].first_after == commits[7]
    for result in (root / "results" / MACHINE).glob("*-*.json"):
        if result.name.split("-")[0] not in (commits[0][:8], commits[11][:8]):
            result.unlink()
    two = FakeAsv(root / "results", commits, level)
    narrowed = bisect(MACHINE, width=2, config_path=root / "asv.conf.json", measure=two)
    (step,) = narrowed.steps
    assert step.single_commit and step.first_after == commits[7]
    assert len(two.rounds) < len(one.rounds), (one.rounds, two.rounds)
    assert all(len(r) <= 2 for r in two.rounds)


class TwoSteps(FakeAsv):
    """Both models step at c6; the first also at c2 (so its c0..c4 comes first in the
    order the steps are found)."""

    def write(self, index: int) -> None:
        first = 30_000.0 if index < 2 else 40_000.0 if index < 6 else 44_000.0
        second = 61_000.0 if index < 6 else 64_000.0
        write_result(
            self.results,
            self.commits[index],
            DAY0 + index * DAY,
            {AUTODIFF: per_model(first, second), AUTODIFF_SPREAD: per_model(0.0, 0.0)},
        )


def test_the_range_where_most_figures_step_is_narrowed_first(
    project: tuple[Path, list[str]],
) -> None:
    """One figure steps in c0..c4 (+33 %), two in c4..c8 (+5 to +10 %): with one worker
    the first commit measured lies in c4..c8."""
    root, commits = project
    asv = TwoSteps(root / "results", commits, {})
    for index in (0, 4, 8, 11):
        asv.write(index)
    narrowed = bisect(MACHINE, config_path=root / "asv.conf.json", measure=asv)
    assert asv.calls[0][0] in commits[5:8]
    assert {s.first_after for s in narrowed.steps} == {commits[6], commits[2]}


class Refusals(FakeAsv):
    """small_mlp: a clean refusal (asv's skip) up to c5, a failure from c6 on; simple
    builds everywhere but at the commits in `unbuilt`, where nothing has a figure."""

    def __init__(self, results: Path, commits: list[str], unbuilt: set[int]) -> None:
        super().__init__(results, commits, {})
        self.unbuilt = unbuilt

    def write(self, index: int) -> None:
        second = float("nan") if index < 6 else None
        first = None if index in self.unbuilt else 40_000.0
        if index in self.unbuilt:
            second = None
        write_result(
            self.results,
            self.commits[index],
            DAY0 + index * DAY,
            {AUTODIFF: per_model(first, second), AUTODIFF_SPREAD: per_model(0.0, None)},
        )


def test_a_refusal_that_becomes_a_failure_is_narrowed_to_its_commit(
    project: tuple[Path, list[str]],
) -> None:
    """No number steps, yet what a user meets changes at c6: bisect finds that commit."""
    root, commits = project
    asv = Refusals(root / "results", commits, unbuilt=set())
    for index in every_kth_indices(12, 4):
        asv.write(index)
    narrowed = bisect(MACHINE, config_path=root / "asv.conf.json", measure=asv)
    assert narrowed.steps == ()
    (change,) = [c for c in narrowed.changes if "small_mlp" in c.label]
    assert change.single_commit and change.first_after == commits[6]
    assert [c for c, _ in asv.calls] == [commits[6], commits[5]]
    text = render(narrowed)
    assert f"(model=small_mlp): skipped -> failed at {commits[6][:8]}" in text
    assert "change(s) of state, 1 narrowed to one commit" in text


def test_a_commit_that_does_not_build_is_no_change_of_state(
    project: tuple[Path, list[str]],
) -> None:
    """c5 and c6 do not build: every figure fails there, which says nothing about the
    refusal, so the change is reported between c4 and c7 with what lies between."""
    root, commits = project
    asv = Refusals(root / "results", commits, unbuilt={5, 6})
    for index in every_kth_indices(12, 4):
        asv.write(index)
    narrowed = bisect(MACHINE, config_path=root / "asv.conf.json", measure=asv)
    changes = {c.label: c for c in narrowed.changes}
    mlp = next(c for label, c in changes.items() if "small_mlp" in label)
    assert (mlp.last_before, mlp.first_after) == (commits[4], commits[7])
    assert len(changes) == 1, "simple_quadratic has a number wherever MIND builds"
    assert sorted(c for c, _ in asv.calls) == sorted(commits[5:8])
    assert f"{commits[5][:8]} failed, {commits[6][:8]} failed" in render(narrowed)


class StoppedInRoundTwo(FakeAsv):
    def __call__(
        self, commits: Sequence[str], machine: str, bench: str, asv_args: Sequence[str]
    ) -> int:
        if self.rounds:
            raise KeyboardInterrupt
        return super().__call__(commits, machine, bench, asv_args)


def test_a_bisect_stopped_says_what_it_measured(
    project: tuple[Path, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    root, commits = project
    level: dict[int, float | None] = {i: 61_000.0 if i < 7 else 64_000.0 for i in range(12)}
    asv = StoppedInRoundTwo(root / "results", commits, level)
    for index in every_kth_indices(12, 4):
        asv.write(index)
    with pytest.raises(KeyboardInterrupt):
        bisect(MACHINE, config_path=root / "asv.conf.json", measure=asv)
    assert (
        f"bisect stopped; it built and measured 1 commit(s) in full rounds ({commits[6][:8]})"
        in capsys.readouterr().err
    )
