"""`python -m mind_runner find`: asv's bisection, going past commits that do not build.

Over the fixture history: `broken-build` does not compile, and `slow-autodiff`
triples the autodiff work, which instruction counts show exactly. asv's own
`find` dies on the broken commit; ours skips it, says so with its build log, and
still names `slow-autodiff`: the greatest regression between `works` and the tip,
even though `revert-slow` undoes it later and `hash-seeded` adds a smaller step.
`--skip-save` keeps the session's shared results as the run left them.
"""

from __future__ import annotations

from mind_runner.commands.find import Bisection, summary
from tests.conftest import MACHINE, PublishedHistory

AUTODIFF = "mind_counts.InstructionCounts.track_autodiff_instructions"


def test_find_skips_the_commit_that_does_not_build_and_finds_the_step(
    published_history: PublishedHistory,
) -> None:
    project = published_history.project
    history = project.history
    works, broken, slow = (history.by_label(x) for x in ("works", "broken-build", "slow-autodiff"))
    # The range of the history before the coverage commits (asv find's midpoints depend
    # on its length).
    tip = history.by_label("runtime-matmul-passthrough")
    # Oldest first: broken-build, build-fixed, slow-autodiff, docs-1, docs-2, revert-slow,
    # wrong-relu-grad, hash-seeded. asv's first probe is the broken commit at the low end
    # of the range; then build-fixed, docs-1 (the middle, at 3x) and the tip (about 1.1x,
    # whatever the hash seed): the larger rise is in the lower half, where slow-autodiff is.
    completed = project.mind_runner(
        "find", f"{works.sha}..{tip.sha}", AUTODIFF, "--machine", MACHINE, "--skip-save"
    )
    output = completed.stdout + completed.stderr
    print(output)
    assert completed.returncode == 0, output
    assert "Traceback" not in output
    log = project.build_log_dir / f"{broken.sha}.log"
    assert log.is_file()
    assert f"commit {broken.sha[:8]} does not build (log: {log}), skipped" in output
    assert f"Greatest regression found: {slow.sha[:8]}" in output
    assert f"mind_runner: skipped 1 commit(s) that do not build: {broken.sha[:8]}" in output


def test_asv_find_alone_dies_on_that_commit(published_history: PublishedHistory) -> None:
    """Why the wrapper exists (asv 0.6.6): the same search through plain `asv find`."""
    project = published_history.project
    works = project.history.by_label("works")
    tip = project.history.commits[-1]
    completed = project.mind_runner(
        "asv", "find", f"{works.sha}..{tip.sha}", AUTODIFF, "--machine", MACHINE, "--skip-save",
        check=False,
    )  # fmt: skip
    output = completed.stdout + completed.stderr
    assert completed.returncode != 0
    assert "Greatest regression found" not in output
    # The whole search ends at the first commit that does not build.
    last = completed.stderr.strip().splitlines()[-1]
    assert last.startswith("mind_runner: `python -m mind_runner build "), last
    assert "failed: mind_runner: build of MIND" in last


def test_a_range_asv_cannot_split_ends_in_one_clear_line(
    published_history: PublishedHistory,
) -> None:
    """works, broken-build, build-fixed: the middle probe does not build, nothing is left."""
    project = published_history.project
    history = project.history
    first, works, broken, fixed = (
        history.by_label(x) for x in ("multiple-outputs", "works", "broken-build", "build-fixed")
    )
    completed = project.mind_runner(
        "find", f"{first.sha}..{fixed.sha}", AUTODIFF, "--machine", MACHINE, "--skip-save",
        check=False,
    )  # fmt: skip
    assert completed.returncode == 1, completed.stdout + completed.stderr
    assert "Traceback" not in completed.stdout + completed.stderr
    lines = completed.stderr.splitlines()
    assert lines[-1].startswith("mind_runner: asv find stopped (Too many commits failed)")
    assert f"{broken.sha[:8]} does not build" in lines[-1]
    assert f"{works.sha[:8]} " in lines[-1]  # what was measured, for the bisect by hand
    assert "python -m mind_runner asv run HASH^!" in lines[-1]


def test_the_summary_names_unbuilt_commits_the_step_may_hide_in() -> None:
    """asv names the first commit measured at the new level; untested ones before it count."""
    a, b, c, d = (letter * 40 for letter in "abcd")
    bisection = Bisection(
        log_dir=None,
        unbuildable=[b],
        values={a: [1.0, 2.0], c: [3.0, None], d: [3.0, 6.0]},
        found=c[:8],
    )
    lines = summary(bisection, [a, b, c, d])
    assert (
        lines[0] == "skipped 1 commit(s) that do not build: bbbbbbbb (log: no build log configured)"
    )
    assert lines[1] == (
        "commits tried, oldest first: aaaaaaaa [1, 2] | bbbbbbbb does not build | "
        "cccccccc [3, failed] | dddddddd [3, 6]"
    )
    assert lines[2] == (
        "the step is in cccccccc or in the unmeasured commit(s) before it: "
        "bbbbbbbb (does not build)"
    )


def test_a_range_git_does_not_know_is_one_line(published_history: PublishedHistory) -> None:
    project = published_history.project
    completed = project.mind_runner(
        "find", "no-such-commit..main", AUTODIFF, "--machine", MACHINE, check=False
    )
    assert completed.returncode == 1
    assert "Traceback" not in completed.stderr
    last = completed.stderr.splitlines()[-1]
    assert last.startswith("mind_runner: `git rev-list "), last
    assert "no-such-commit..main" in last
