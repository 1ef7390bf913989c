"""The real MIND history shipped in results/ reads with the project's own code."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from mind_runner.commands.report import run_report
from mind_runner.results.asv_results import Status, list_machines, load_machine, select_commit

RESULTS = Path(__file__).resolve().parent.parent / "results"
MACHINE = "reference-2core"
HEAD = "6ffa13c88bbaa79d764e6f3894fe308620a76a41"
AUTODIFF = "mind_counts.InstructionCounts.track_autodiff_instructions"
BACKWARD = "pytorch_autograd.Backward.time_pytorch_backward"


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """MIND's repository is not needed to read results."""
    monkeypatch.delenv("MIND_REPO", raising=False)


def test_eighteen_real_commits_every_file_readable() -> None:
    assert MACHINE in list_machines(RESULTS)
    machine = load_machine(RESULTS, MACHINE)
    assert len(machine.files) == 18
    measured = [f for f in machine.files if f.figure(AUTODIFF, {"model": "small_mlp"})]
    assert len(measured) == 18


def test_pytorch_comes_from_head_marked_as_measured_there() -> None:
    machine = load_machine(RESULTS, MACHINE)
    june = select_commit(machine, "33fd1af5")
    assert june.file.figure(BACKWARD, {"model": "small_mlp", "device": "cpu"}) is None
    figure = june.figure_or_elsewhere(BACKWARD, {"model": "small_mlp", "device": "cpu"})
    assert figure.status is Status.OK and figure.commit == HEAD


def test_report_flags_the_random_seed_spreads_of_june() -> None:
    out = io.StringIO()
    assert run_report(commit="33fd1af5", machine=MACHINE, out=out) == 0
    text = out.getvalue()
    flagged = next(line for line in text.splitlines() if line.startswith("NOT REPEATABLE"))
    assert "matmul_chain MIND autodiff share, instructions retired (4.08 %)" in flagged
    assert "* measured at commit 6ffa13c8" in text
