"""The real MIND history shipped in results/ reads with the project's own code, and holds
what results/README.md says it holds."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from mind_runner.commands.report import run_report
from mind_runner.results.asv_results import Status, list_machines, load_machine, select_commit

RESULTS = Path(__file__).resolve().parent.parent / "results"
MACHINE = "real-amd-epyc-2cpu"
HEAD = "6ffa13c88bbaa79d764e6f3894fe308620a76a41"
V071 = "facfe5e8"
AUTODIFF = "mind_counts.InstructionCounts.track_autodiff_instructions"
SPREADS = (
    "mind_counts.InstructionCounts.track_autodiff_spread_percent",
    "mind_counts.InstructionCounts.track_gradient_call_spread_percent",
)
BACKWARD = "pytorch_autograd.Backward.time_pytorch_backward"
MODELS = ("simple_quadratic", "small_mlp", "matmul_chain")


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """MIND's repository is not needed to read results."""
    monkeypatch.delenv("MIND_REPO", raising=False)


def result_files() -> list[dict[str, object]]:
    return [
        json.loads(path.read_text())
        for path in sorted((RESULTS / MACHINE).glob("*-*.json"))
        if path.name != "machine.json"
    ]


def test_every_commit_that_built_carries_its_github_hash_and_its_build_record() -> None:
    assert list_machines(RESULTS) == [MACHINE], "one machine: the old and new runs not mixed"
    files = result_files()
    assert len(files) == len(load_machine(RESULTS, MACHINE).files)
    commits = {str(f["commit_hash"]) for f in files}
    assert HEAD in commits
    built = {
        str(f["commit_hash"])
        for f in files
        if any(row[0] is not None for row in f["results"].values())  # type: ignore[attr-defined]
    }
    assert len(built) > len(commits) / 2
    for commit in built:
        record = (RESULTS / "builds" / f"{commit}.toml").read_text()
        assert f'commit = "{commit}"' in record


def test_every_result_is_drawn_by_the_site() -> None:
    """asv draws a result only under the version benchmarks.json gives its benchmark."""
    listed = json.loads((RESULTS / "benchmarks.json").read_text())
    for data in result_files():
        columns = list(data["result_columns"])  # type: ignore[call-overload]
        for name, row in data["results"].items():  # type: ignore[attr-defined]
            version = row[columns.index("version")]
            assert version == listed[name]["version"], (data["commit_hash"], name)


def test_counts_repeat_exactly_at_every_commit() -> None:
    """Counted under fixed seeds: the spread of the repeated counts is zero everywhere it
    was measured (June and July too, where random seeds spread them by 4-6 %)."""
    machine = load_machine(RESULTS, MACHINE)
    seen = 0
    for file in machine.files:
        for benchmark in SPREADS:
            for model in MODELS:
                figure = file.figure(benchmark, {"model": model})
                if figure is not None and figure.ok:
                    assert figure.value == 0.0, (file.commit_hash, benchmark, model)
                    seen += 1
    assert seen > 100


def test_pytorch_comes_from_head_marked_as_measured_there() -> None:
    machine = load_machine(RESULTS, MACHINE)
    release = select_commit(machine, V071)
    assert release.file.figure(BACKWARD, {"model": "small_mlp", "device": "cpu"}) is None
    figure = release.figure_or_elsewhere(BACKWARD, {"model": "small_mlp", "device": "cpu"})
    assert figure.status is Status.OK and figure.commit == HEAD
    out = io.StringIO()
    assert run_report(commit=V071, machine=MACHINE, out=out) == 0
    text = out.getvalue()
    assert "* measured at commit 6ffa13c8" in text
    assert "NOT REPEATABLE" not in text
