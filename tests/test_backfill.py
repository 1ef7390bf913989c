"""End to end: a range run as 2 parallel shards and merged, against one sequential run.

Both runs use the real asv over the fixture history, with the two benchmarks whose
figures are counts (instructions under callgrind, gradient IR size), one sample
each. Counts must agree exactly between the two; wall times cannot (the shards
share the machine), so none is compared.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.asv_results import Values, benchmark_values, load_results
from tests.conftest import MACHINE, Project, copy_project, isolated_environment
from tests.fixture_history import make_history

FIGURES = (
    "mind_counts.InstructionCounts.track_autodiff_instructions",
    "mind_cli.GradientGeneration.track_gradient_ir_instructions",
)
BENCH = ["--bench", "track_autodiff_instructions|track_gradient_ir_instructions"]
ONCE = ["-a", "repeat=1", "-a", "rounds=1", "-a", "warmup_time=0"]

# Real asv runs over a fixture history: minutes, and cargo builds.
pytestmark = [pytest.mark.slow, pytest.mark.cargo]


@dataclass(frozen=True)
class Runs:
    base: Path
    sequential: Project
    sharded: Project
    range_spec: str
    commits: tuple[str, ...]
    backfill: subprocess.CompletedProcess[str]
    seconds: dict[str, float]
    # Right after the backfill: per shard, its commits and the commit of the lock it carries.
    shards: dict[str, tuple[list[str], str]]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    base = tmp_path_factory.mktemp("backfill")
    history = make_history(base / "mind")
    (base / "home").mkdir()
    environment = isolated_environment(base / "home", history.repo)
    # Four commits: a failing build, its fix, the 3x autodiff step, a docs-only commit.
    labels = ("broken-build", "build-fixed", "slow-autodiff", "docs-1")
    range_spec = f"{history.by_label('works').sha}..{history.by_label('docs-1').sha}"
    sequential = Project(copy_project(base / "sequential"), history, environment)
    sharded = Project(copy_project(base / "sharded"), history, environment)
    seconds = {}
    started = time.monotonic()
    sequential.mind_runner("run", range_spec, "--machine", MACHINE, *BENCH, *ONCE)
    seconds["sequential run"] = time.monotonic() - started
    started = time.monotonic()
    backfill = sharded.mind_runner(
        "backfill", range_spec, "--shards", "2", "--machine", MACHINE, *BENCH, *ONCE
    )
    seconds["backfill, 2 shards"] = time.monotonic() - started
    print("\n" + "; ".join(f"{what}: {s:.0f} s" for what, s in seconds.items()))
    print(backfill.stdout)
    folder = sharded.root / ".asv" / "backfill"
    shards = {
        path.stem: (path.read_text().split(), carried_commit(folder / path.stem / "cargo-lock"))
        for path in sorted(folder.glob("shard-*.txt"))
    }
    yield Runs(
        base,
        sequential,
        sharded,
        range_spec,
        tuple(history.by_label(label).sha for label in labels),
        backfill,
        seconds,
        shards,
    )


def carried_commit(lock_dir: Path) -> str:
    """The commit whose build resolved the Cargo.lock carried in `lock_dir`."""
    return (lock_dir / "commit").read_text().strip()


def figures(project: Project) -> dict[str, dict[str, Values]]:
    results = load_results(project.results_dir)
    return {
        commit: {figure: benchmark_values(result, figure) for figure in FIGURES}
        for commit, result in results.items()
    }


def assert_same_figures_as_sequential(runs: Runs) -> None:
    sharded, sequential = figures(runs.sharded), figures(runs.sequential)
    assert sorted(sharded) == sorted(runs.commits) == sorted(sequential)
    for commit in runs.commits:
        assert sharded[commit] == sequential[commit], commit


def forget(project: Project, commit: str) -> None:
    """As if the worker that had this commit stopped before measuring it."""
    for path in project.root.glob(f"**/results/{MACHINE}/{commit[:8]}-*.json"):
        path.unlink()


def test_two_shards_ran_in_parallel_on_their_own_folders(runs: Runs) -> None:
    out = runs.backfill.stdout
    assert "4 commit(s) in 2 worker(s)" in out
    for shard in ("shard-01", "shard-02"):
        assert f"{shard}: 2 commit(s), worker dir" in out
        assert (runs.sharded.root / ".asv" / "backfill" / shard / "cargo-target").is_dir()
    assert runs.backfill.returncode == 2  # asv run: the broken commit failed to build


def test_each_shard_carried_its_own_lock_and_the_last_one_is_carried_on(runs: Runs) -> None:
    # One shared lock would let a worker carry the other worker's commit.
    for commits, carried in runs.shards.values():
        assert carried in commits
    last_commits, last_carried = runs.shards["shard-02"]
    assert last_commits == [c for c in reversed(runs.commits) if c in last_commits]  # asv order
    assert carried_commit(runs.sharded.root / ".asv" / "cargo-lock") == last_carried


def test_every_commit_once_with_the_same_counts_as_a_sequential_run(runs: Runs) -> None:
    assert_same_figures_as_sequential(runs)
    step = figures(runs.sequential)[runs.commits[2]][FIGURES[0]]
    assert all(isinstance(v, int) and v > 0 for v in step.values())  # measured, not skipped


def test_the_published_commit_lists_are_identical(runs: Runs) -> None:
    def published(project: Project) -> tuple[object, dict[str, list[object]]]:
        index = json.loads((project.html_dir / "index.json").read_text())
        graphs = {
            str(path.relative_to(project.html_dir)): [
                point[0] for point in json.loads(path.read_text())
            ]
            for figure in FIGURES
            for path in (project.html_dir / "graphs").rglob(f"{figure}.json")
        }
        return index["revision_to_hash"], graphs

    assert published(runs.sharded) == published(runs.sequential)


def test_running_the_same_backfill_again_measures_only_what_a_stopped_worker_missed(
    runs: Runs,
) -> None:
    forget(runs.sharded, runs.commits[3])
    again = runs.sharded.mind_runner(
        "backfill", runs.range_spec, "--shards", "2", "--machine", MACHINE, *BENCH, *ONCE
    )
    assert "3 of 4 commit(s) already have results" in again.stdout
    assert "1 commit(s) in 1 worker(s)" in again.stdout
    assert_same_figures_as_sequential(runs)


def test_a_ci_worker_runs_its_shard_file_from_any_folder_and_merge_refuses_a_rerun(
    runs: Runs,
) -> None:
    forget(runs.sharded, runs.commits[1])
    environment = dict(runs.sharded.environment, PYTHONPATH=str(runs.sharded.root))

    def mind_runner(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "mind_runner", *args],
            cwd=runs.base,  # not the project: paths are the caller's
            env=environment,
            capture_output=True,
            text=True,
            check=False,
        )

    plan = mind_runner("shard", f"{runs.commits[1]}^!", "--shards", "1", "--out", "plan")
    assert plan.returncode == 0, plan.stderr
    assert (runs.base / "plan" / "shard-01.txt").read_text() == runs.commits[1] + "\n"
    worker = mind_runner("run", "HASHFILE:plan/shard-01.txt", "--machine", MACHINE, *BENCH, *ONCE)
    assert worker.returncode == 0, worker.stdout + worker.stderr
    assert_same_figures_as_sequential(runs)

    # The sequential run measured the same commits: merging it in is refused, file by file.
    before = {p: p.stat().st_mtime_ns for p in runs.sharded.results_dir.iterdir()}
    merge = mind_runner("merge", str(runs.sequential.root / "results"), "--into", "sharded/results")
    assert merge.returncode == 1
    lines = merge.stderr.splitlines()
    conflicts = [line for line in lines if line.startswith("mind_runner: conflict:")]
    # Build records may differ too (each names the build its Cargo.lock was carried from).
    results = [line for line in conflicts if "conflict: builds/" not in line]
    assert len(results) == len(runs.commits), merge.stderr
    assert "nothing was merged" in merge.stderr.splitlines()[-1]
    assert {p: p.stat().st_mtime_ns for p in runs.sharded.results_dir.iterdir()} == before
