"""Faults end to end: the real asv over the fixture history, after the session's run.

Each test leaves the project as it found it (the same results, a whole build
cache), because the other end-to-end tests share it. They run `asv run`
through mind_runner, which does not publish, except where `run` itself is the
subject.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.asv_results import benchmark_values, load_results
from tests.conftest import MACHINE, PublishedHistory

GRADIENT_SIZE = "mind_cli.GradientGeneration.track_gradient_ir_instructions"
AUTODIFF = "mind_counts.InstructionCounts.track_autodiff_instructions"
QUICK = ["-a", "repeat=1", "-a", "rounds=1", "-a", "warmup_time=0"]


def mind_runner(
    published: PublishedHistory, *args: str, **extra: str
) -> subprocess.CompletedProcess[str]:
    project = published.project
    return subprocess.run(
        [sys.executable, "-m", "mind_runner", *args],
        cwd=project.root,
        env={**project.environment, **extra},
        capture_output=True,
        text=True,
        check=False,
    )


def values(
    published: PublishedHistory, commit: str, benchmark: str
) -> dict[tuple[str, ...], float | None]:
    return benchmark_values(load_results(published.project.results_dir)[commit], benchmark)


def mind_runner_lines(completed: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in completed.stderr.splitlines() if line.startswith("mind_runner: ")]


def test_options_without_a_range_benchmark_the_tip(published_history: PublishedHistory) -> None:
    """README: any option goes to `asv run`; without a range, the tip."""
    tip = published_history.project.history.commits[-1].sha
    completed = mind_runner(
        published_history, "run", "--machine", MACHINE, "--bench", "track_gradient_ir", *QUICK
    )
    assert completed.returncode == 0, completed.stderr
    assert f"For mind commit {tip[:8]} <main>" in completed.stdout
    assert values(published_history, tip, GRADIENT_SIZE)[("small_mlp",)] == 10


def test_a_bench_that_matches_nothing_is_named_as_such(
    published_history: PublishedHistory,
) -> None:
    completed = mind_runner(published_history, "run", "--machine", MACHINE, "--bench", "nothing_x")
    assert completed.returncode == 1
    assert mind_runner_lines(completed) == [
        "mind_runner: no benchmark matches --bench nothing_x: names look like "
        "mind_cli.GradientGeneration.time_mind_gradient_ir (see benchmarks/)"
    ]
    assert "does not build" not in completed.stderr


def test_a_missing_tool_keeps_the_counts_measured_before(
    published_history: PublishedHistory,
) -> None:
    tip = published_history.project.history.commits[-1].sha
    before = values(published_history, tip, AUTODIFF)
    assert all(isinstance(v, int | float) and v > 0 for v in before.values())
    completed = mind_runner(
        published_history,
        "asv", "run", f"{tip}^!", "--machine", MACHINE, "--bench", "track_autodiff_instructions",
        *QUICK,
        MIND_BENCH_VALGRIND="/nonexistent/valgrind",
    )  # fmt: skip
    assert completed.returncode == 3, completed.stderr
    assert mind_runner_lines(completed) == [
        f"mind_runner: MIND {tip[:8]} not measured, a fault of this machine, not of MIND: "
        "valgrind not installed (apt-get install valgrind) (/nonexistent/valgrind not found): "
        "these figures were not measured: install it and run again [earlier results kept]"
    ]
    assert values(published_history, tip, AUTODIFF) == before


def test_a_damaged_build_cache_entry_is_rebuilt_not_benchmarked(
    published_history: PublishedHistory,
) -> None:
    project = published_history.project
    history = project.history
    works = history.by_label("works").sha
    # Another commit installed, so that asv must install `works` from its cache entry.
    assert mind_runner(
        published_history, "asv", "run", f"{history.commits[-1].sha}^!", "--machine", MACHINE,
        "--bench", "track_gradient_ir", *QUICK,
    ).returncode == 0  # fmt: skip
    (entry,) = project.root.glob(f".asv/env/*/asv-build-cache/{works}")
    (entry / "bin" / "mindc").unlink()
    completed = mind_runner(
        published_history, "asv", "run", f"{works}^!", "--machine", MACHINE,
        "--bench", "track_gradient_ir", *QUICK,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    assert mind_runner_lines(completed) == [
        f"mind_runner: build cache entry {entry} was damaged (it lacks mindc): removed, "
        "asv rebuilds it"
    ]
    assert (entry / "bin" / "mindc").is_file()  # rebuilt in this very run
    assert values(published_history, works, GRADIENT_SIZE)[("small_mlp",)] == 10


def test_an_unreadable_results_file_does_not_stop_the_run(
    published_history: PublishedHistory, tmp_path: Path
) -> None:
    project = published_history.project
    slow = project.history.by_label("slow-autodiff").sha
    docs = project.history.by_label("docs-1").sha
    (path,) = project.results_dir.glob(f"{slow[:8]}-*.json")
    good = shutil.copy2(path, tmp_path / path.name)
    path.write_text(path.read_text()[:100])
    try:
        completed = mind_runner(
            published_history, "asv", "run", f"{slow}^..{docs}", "--machine", MACHINE,
            "--bench", "track_gradient_ir", *QUICK,
        )  # fmt: skip
        assert completed.returncode == 0, completed.stderr
        aside = path.with_name(path.name + ".unreadable")
        (line,) = mind_runner_lines(completed)
        assert line.startswith(f"mind_runner: {path} was unreadable (")
        assert f"set aside as {aside.name}, and MIND {slow[:8]} measured afresh" in line
        assert aside.read_text() == Path(good).read_text()[:100]
        assert values(published_history, slow, GRADIENT_SIZE)[("small_mlp",)] == 10
        assert values(published_history, docs, GRADIENT_SIZE)[("small_mlp",)] == 10
    finally:
        shutil.copy2(good, path)
        path.with_name(path.name + ".unreadable").unlink(missing_ok=True)
    assert not math.isnan(values(published_history, slow, AUTODIFF)[("small_mlp",)] or math.nan)
    assert os.path.exists(path)
