"""Instruction counts: callgrind's output read right, runs summarised, MIND's autodiff seen."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from benchmarks.mind_counts import InstructionCounts, count_models
from mind_runner.measure.callgrind import (
    MISSING_VALGRIND,
    CallgrindFailed,
    MalformedCallgrindOutput,
    ValgrindMissing,
    count_instructions,
    find_valgrind,
    parse_callgrind_output,
)
from mind_runner.measure.environment import FIXED_ENVIRONMENT
from mind_runner.measure.repeated import RepeatedRuns
from tests.asv_results import benchmark_values, is_skipped, load_results
from tests.conftest import PublishedHistory
from tests.mind_binaries import fixture_bin_dir

COUNTS = "mind_counts.InstructionCounts."
# What each model's reverse pass emits (tests/test_asv_history.py explains the counts).
GRADIENT_INSTRUCTIONS = {"simple_quadratic": 4, "small_mlp": 10, "matmul_chain": 13}
SHELL_LOOP = ["/bin/sh", "-c", "i=0; while [ $i -lt 2000 ]; do i=$((i+1)); done"]


def test_reads_the_instruction_total_from_summary_or_totals() -> None:
    header = "version: 1\ncreator: callgrind-3.19.0\ncmd: /bin/true\npositions: line\n"
    assert parse_callgrind_output(header + "events: Ir\nsummary: 818317\nfn=main\n") == 818317
    assert parse_callgrind_output(header + "events: Ir\nfn=main\n0 3\ntotals: 5120\n") == 5120
    # With --collect-... options Ir is not necessarily the only event, nor the first.
    assert parse_callgrind_output("events: Dr Ir Dw\nsummary: 7 42 9\n") == 42


@pytest.mark.parametrize(
    "text",
    ["events: Ir\nfn=main\n", "events: Dr\nsummary: 12\n", "events: Ir\nsummary: n/a\n"],
)
def test_output_without_a_total_is_an_error(text: str) -> None:
    with pytest.raises(MalformedCallgrindOutput):
        parse_callgrind_output(text)


def test_median_and_spread_of_repeated_runs() -> None:
    wobbly = RepeatedRuns((1_000_000, 1_007_600, 1_003_000))
    assert wobbly.median == 1_003_000
    assert wobbly.minimum == 1_000_000
    assert wobbly.spread == 7_600
    assert wobbly.spread_percent == pytest.approx(100 * 7_600 / 1_003_000)
    assert RepeatedRuns((5, 9)).median == 5  # an observed run, not 7
    assert RepeatedRuns((818_317,) * 3).spread_percent == 0.0
    with pytest.raises(ValueError, match="at least one run"):
        RepeatedRuns(())


def test_counts_agree_with_valgrind_and_are_repeatable(tmp_path: Path) -> None:
    count = count_instructions(SHELL_LOOP, runs=2)
    assert count.runs[0] > 1_000_000 and count.spread == 0
    # The same command under valgrind by hand: its own "Collected" line agrees.
    completed = subprocess.run(
        [
            str(find_valgrind()),
            "--tool=callgrind",
            f"--callgrind-out-file={tmp_path / 'o'}",
            *SHELL_LOOP,
        ],
        capture_output=True,
        text=True,
        env=FIXED_ENVIRONMENT,
        cwd="/",
        check=True,
    )
    assert f"Collected : {count.median}" in completed.stderr
    assert count_instructions(["/bin/true"], runs=1).median < count.median / 2


def test_a_failing_command_is_an_error_with_its_message() -> None:
    with pytest.raises(CallgrindFailed, match=r"exited 3 under callgrind: boom$"):
        count_instructions(["/bin/sh", "-c", "echo boom >&2; exit 3"], runs=1)


def test_missing_valgrind_is_a_skip_saying_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MIND_BENCH_VALGRIND", "/nonexistent/valgrind")
    with pytest.raises(ValgrindMissing) as raised:
        find_valgrind()
    assert isinstance(raised.value, NotImplementedError)  # asv: skipped
    assert str(raised.value).startswith(MISSING_VALGRIND)
    counted = count_models(["small_mlp"])
    benchmark = InstructionCounts()
    with pytest.raises(NotImplementedError, match=r"apt-get install valgrind"):
        benchmark.setup(counted, "small_mlp")


@pytest.mark.cargo
def test_autodiff_instructions_follow_the_autodiff_work_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two fixture commits whose only difference is 3x the gradient pass's work."""
    measured = {}
    for label in ("build-fixed", "slow-autodiff"):
        monkeypatch.setenv("MIND_BIN_DIR", str(fixture_bin_dir(label)))
        counted = count_models(["small_mlp"])
        benchmark = InstructionCounts()
        benchmark.setup(counted, "small_mlp")
        measured[label] = {
            name: getattr(benchmark, f"track_{name}")(counted, "small_mlp")
            for name in (
                "front_end_instructions",
                "gradient_call_instructions",
                "autodiff_instructions",
                "gradient_call_spread_percent",
                "autodiff_spread_percent",
            )
        }
    base, slow = measured["build-fixed"], measured["slow-autodiff"]
    assert base["autodiff_instructions"] == (
        base["gradient_call_instructions"] - base["front_end_instructions"]
    )
    assert base["front_end_instructions"] == slow["front_end_instructions"]
    assert 2.5 < slow["autodiff_instructions"] / base["autodiff_instructions"] <= 3.0
    assert base["gradient_call_spread_percent"] == 0.0  # the fixture is deterministic
    assert slow["autodiff_spread_percent"] == 0.0


def test_asv_records_the_autodiff_step_and_flat_front_end(
    published_history: PublishedHistory,
) -> None:
    """The real asv over the fixture history: the count steps where the work does."""
    project = published_history.project
    results = load_results(project.results_dir)

    def counts(label: str, name: str) -> dict[str, float]:
        values = benchmark_values(results[project.history.by_label(label).sha], COUNTS + name)
        return {params[0]: value for params, value in values.items() if value is not None}

    steps = {}
    for model in GRADIENT_INSTRUCTIONS:
        base = counts("build-fixed", "track_autodiff_instructions")[model]
        slow = counts("slow-autodiff", "track_autodiff_instructions")[model]
        assert 2.5 < slow / base <= 3.0, (model, base, slow)
        steps[model] = (slow - base) / GRADIENT_INSTRUCTIONS[model]
        assert counts("works", "track_autodiff_instructions")[model] == pytest.approx(base, 0.01)
        assert counts("docs-2", "track_autodiff_instructions")[model] == pytest.approx(slow, 0.01)
        front = [
            counts(commit.label, "track_front_end_instructions")[model]
            for commit in project.history.commits
            if commit.differentiates
        ]
        assert max(front) <= 1.01 * min(front), (model, front)
    # The right amount: the extra work is per emitted gradient instruction, so the
    # step per gradient instruction is the same for every model.
    assert max(steps.values()) <= 1.01 * min(steps.values()), steps
    old = benchmark_values(
        results[project.history.by_label("multiple-outputs").sha],
        COUNTS + "track_autodiff_instructions",
    )
    assert all(is_skipped(value) for value in old.values())
    # Run-to-run wobble: none anywhere. hash-seeded's gradient call varies with the
    # hash seed in a plain run, but every count is taken under fixed seeds
    # (measure.fixed_seed), so the first seed counted twice repeats exactly there too.
    for commit in project.history.commits:
        if not commit.differentiates:
            continue
        spreads = counts(commit.label, "track_gradient_call_spread_percent")
        assert set(spreads.values()) == {0.0}, (commit.label, spreads)
