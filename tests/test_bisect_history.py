"""Sparse, then bisect, against measuring every commit: the same steps, fewer builds.

The session's run (tests/conftest.py) measured every fixture commit; here a second
project measures every 4th commit with `backfill --every 4`, then `bisect --shards 2`
narrows the steps, both through the real asv: two commits a round as parallel workers,
and in place where a round has one commit. Only the classes whose exact figures carry the
fixture's steps are run (instruction counts, incorrect gradients)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import MACHINE, Project, PublishedHistory, copy_project, isolated_environment

BENCH = [
    "--bench",
    "^mind_counts\\.InstructionCounts\\.|^mind_correctness\\.GradientCorrectness\\.",
]
ONCE = ["-a", "repeat=1", "-a", "rounds=1", "-a", "warmup_time=0"]

pytestmark = [pytest.mark.slow, pytest.mark.cargo]


def step_keys(project: Project, classes: tuple[str, ...]) -> set[tuple[str, str, str]]:
    document = json.loads((project.html_dir / "steps.json").read_text())
    return {
        (step["benchmark"], json.dumps(step["params"], sort_keys=True), step["first_after"])
        for machine in document["machines"]
        for step in machine["steps"]
        if step["benchmark"].startswith(classes)
    }


def test_sparse_then_bisect_finds_every_step_with_fewer_builds(
    published_history: PublishedHistory, tmp_path: Path
) -> None:
    history = published_history.project.history
    (tmp_path / "home").mkdir()
    sparse = Project(
        copy_project(tmp_path / "project"),
        history,
        isolated_environment(tmp_path / "home", history.repo),
    )
    backfill = sparse.mind_runner(
        "backfill", "main", "--every", "4", "--shards", "1", "--machine", MACHINE,
        *BENCH, *ONCE,
    )  # fmt: skip
    total = len(history.commits)
    picked = len(range(0, total, 4)) + (1 if (total - 1) % 4 else 0)  # and the tip
    assert f"every 4th commit: {picked} of {total}" in backfill.stdout, backfill.stdout
    narrowed = sparse.mind_runner("bisect", "--machine", MACHINE, "--shards", "2", *ONCE)
    print(narrowed.stdout, narrowed.stderr)
    (summary,) = [line for line in narrowed.stdout.splitlines() if "built and measured" in line]
    builds = int(summary.split("built and measured ")[1].split(" ")[0])
    assert picked + builds < total, summary
    assert "in 2 worker(s)" in narrowed.stdout, narrowed.stdout
    sparse.mind_runner("regressions", "--all", check=False)  # exit 1: regressions present
    published_history.project.mind_runner("regressions", "--all", check=False)
    classes = ("mind_counts.InstructionCounts.", "mind_correctness.GradientCorrectness.")
    every = step_keys(published_history.project, classes)
    assert every, "the fixture plants steps in these figures"
    assert step_keys(sparse, classes) == every
