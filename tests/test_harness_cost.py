"""`harness-cost` reads asv's own durations: build apart, PyTorch apart, the rest per commit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import copy_project
from tests.test_regressions_history import ENV, MACHINE, MODELS

COUNTS = "mind_counts.InstructionCounts.track_autodiff_instructions"
BACKWARD = "pytorch_autograd.Backward.time_pytorch_backward"


def write_timed_result(results_dir: Path, commit: str, seconds: dict[str, float]) -> None:
    """A results file as `asv run` saves it, with the durations asv records."""
    from asv.machine import Machine
    from asv.results import Results
    from asv.runner import BenchmarkResult

    info = {"machine": MACHINE, "os": "Linux", "arch": "x86_64", "cpu": "cpu", "num_cpu": "2"}
    described = Machine()
    described.__dict__.update({**info, "ram": "8GB"})
    described.save(str(results_dir))
    params = {**info, "python": "3.11", "torch": "2.13.0", "numpy": ""}
    results = Results(params, {"torch": "2.13.0", "numpy": ""}, commit, 1, "3.11", ENV, {})
    for name, duration in seconds.items():
        if name.startswith("<build>"):
            results.set_build_duration(duration)
        elif name.startswith("<setup_cache"):
            results.set_setup_cache_duration(name[len("<setup_cache ") : -1], duration)
        else:
            axis = [repr(model) for model in MODELS]
            results.add_result(
                {"name": name, "version": "1", "params": [axis]},
                BenchmarkResult([1.0, 1.0], [None, None], [None, None], 0, "", None),
                duration=duration,
            )
    results.save(str(results_dir))


def test_seconds_per_commit_and_commits_an_hour(tmp_path: Path) -> None:
    root = copy_project(tmp_path / "project")
    results = root / "results"
    cache = "<setup_cache mind_counts:70>"
    write_timed_result(results, "a" * 40, {"<build>": 60.0, cache: 9.0, COUNTS: 3.0})
    write_timed_result(
        results, "b" * 40, {"<build>": 40.0, cache: 11.0, COUNTS: 5.0, BACKWARD: 30.0}
    )
    completed = subprocess.run(
        [sys.executable, "-m", "mind_runner", "harness-cost"],
        cwd=root,
        env={**os.environ, "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    table = {line.rsplit(None, 2)[0]: float(line.rsplit(None, 2)[1]) for line in lines[2:-1]}
    assert table == {BACKWARD: 30.0, cache: 10.0, COUNTS: 4.0}
    # Per commit, MIND side: 12 and 16 s (PyTorch's 30 s once per run, not per commit).
    assert lines[-1] == (
        "harness per commit (MIND side, median): 14.0 s; build (median): 50.0 s; 56 commits an hour"
    )
