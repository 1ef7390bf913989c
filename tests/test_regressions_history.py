"""Series from asv result files, written in tmp_path by asv's own Results API."""

from __future__ import annotations

import itertools
import math
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from mind_runner.regressions.detector import Outcome, Point
from mind_runner.regressions.history import (
    History,
    detect_history,
    git_history,
    is_exact,
    load_histories,
    spread_benchmark,
)
from mind_runner.util.errors import UserError

MACHINE = "box"
ENV = "virtualenv-py3.11-numpy-torch2.13.0"
OTHER_ENV = "virtualenv-py3.12-numpy-torch2.13.0"
MODELS = ("simple_quadratic", "small_mlp")
COUNTS = "mind_counts.InstructionCounts"
AUTODIFF = f"{COUNTS}.track_autodiff_instructions"
AUTODIFF_SPREAD = f"{COUNTS}.track_autodiff_spread_percent"
FRONT_END = f"{COUNTS}.track_front_end_instructions"
PEAK_RSS = "mind_counts.PeakMemory.track_mindc_peak_rss_bytes"
DAY = 86_400_000  # asv's dates are JavaScript milliseconds
NAN = math.nan

# Per model: a value, NaN (asv's skip) or None (asv's failure).
Values = Mapping[str, float | None]


def sha(name: str) -> str:
    return (name * 40)[:40]


def write_result(
    results_dir: Path,
    commit: str,
    date: int,
    benchmarks: Mapping[str, Values],
    env: str = ENV,
) -> None:
    """One results file (and machine.json) as `asv run` saves them."""
    from asv.machine import Machine
    from asv.results import Results
    from asv.runner import BenchmarkResult

    info = {"machine": MACHINE, "os": "Linux", "arch": "x86_64", "cpu": "cpu", "num_cpu": "2"}
    described = Machine()
    described.__dict__.update({**info, "ram": "8GB"})
    described.save(str(results_dir))
    python = env.split("-py", 1)[1].split("-", 1)[0]
    params = {**info, "python": python, "torch": "2.13.0", "numpy": ""}
    results = Results(params, {"torch": "2.13.0", "numpy": ""}, commit, date, python, env, {})
    for name, values in benchmarks.items():
        axis = [repr(model) for model in values]
        outcome = list(values.values())
        results.add_result(
            {"name": name, "version": "1", "params": [axis]},
            BenchmarkResult(outcome, [None] * len(axis), [None] * len(axis), 0, "", None),
        )
    results.save(str(results_dir))


def write_benchmarks_json(results_dir: Path, names: Sequence[str]) -> None:
    from asv import util

    described = {
        name: {
            "name": name,
            "param_names": ["model"],
            "params": [[repr(m) for m in MODELS]],
            "unit": "%" if name.endswith("_percent") else "instructions",
            "type": "track",
            "version": "1",
        }
        for name in names
    }
    util.write_json(str(results_dir / "benchmarks.json"), described, api_version=2)


def per_model(first: float | None, second: float | None) -> dict[str, float | None]:
    return dict(zip(MODELS, (first, second), strict=True))


@pytest.fixture
def results_dir(tmp_path: Path) -> Path:
    """Five commits of one environment, written out of date order, and one of another.

    small_mlp's autodiff is noisy at c1 (spread 5 %), nearly exact from c2 on; c3 is
    skipped, c4 failed (did not build); c5 steps it up 4.5 % with spread 0.
    """
    root = tmp_path / "results"
    day0 = 1_780_000_000_000
    write_result(
        root,
        sha("c5"),
        day0 + 5 * DAY,
        {
            AUTODIFF: per_model(40_000, 62_000 * 1.045),
            AUTODIFF_SPREAD: per_model(0.0, 0.0),
            FRONT_END: per_model(600_000, 700_000),
            PEAK_RSS: per_model(2_000_000, 2_400_000),
        },
    )
    write_result(
        root,
        sha("c1"),
        day0 + 1 * DAY,
        {
            AUTODIFF: per_model(40_000, 60_000),
            AUTODIFF_SPREAD: per_model(0.0, 5.0),
            FRONT_END: per_model(600_000, 700_000),
            PEAK_RSS: per_model(2_000_000, 2_000_000),
        },
    )
    write_result(
        root,
        sha("c2"),
        day0 + 2 * DAY,
        {
            AUTODIFF: per_model(40_000, 62_000),  # +3.3 % within c1's 5 % spread
            AUTODIFF_SPREAD: per_model(0.0, 0.05),
            FRONT_END: per_model(600_000, 700_000),
            PEAK_RSS: per_model(2_000_000, 2_000_000),
        },
    )
    write_result(
        root,
        sha("c3"),
        day0 + 3 * DAY,
        {
            AUTODIFF: per_model(NAN, NAN),
            AUTODIFF_SPREAD: per_model(NAN, NAN),
            FRONT_END: per_model(NAN, NAN),
        },
    )
    write_result(
        root,
        sha("c4"),
        day0 + 4 * DAY,
        {
            AUTODIFF: per_model(None, None),
            AUTODIFF_SPREAD: per_model(None, None),
            FRONT_END: per_model(None, None),
        },
    )
    write_result(
        root,
        sha("c1"),
        day0 + 1 * DAY,
        {AUTODIFF: per_model(10, 10), FRONT_END: per_model(1, 1)},
        env=OTHER_ENV,
    )
    write_benchmarks_json(root, [AUTODIFF, AUTODIFF_SPREAD, FRONT_END])
    return root


def one_env(histories: list[History], env: str = ENV) -> History:
    return next(h for h in histories if h.env == env)


def series_points(history: History, benchmark: str, model: str) -> tuple[Point, ...]:
    return next(
        s.points
        for s in history.series
        if s.benchmark == benchmark and s.params == (("model", model),)
    )


def test_exact_figures_are_counts_and_bytes_but_not_peak_rss_or_times() -> None:
    exact = [
        AUTODIFF,
        FRONT_END,
        f"{COUNTS}.track_gradient_call_instructions",
        "mind_cli.GradientGeneration.track_gradient_ir_instructions",
        "scaling.ReluMatmulChain.track_mind_autodiff_instructions",
        "pytorch_autograd.SavedTensors.track_saved_tensor_bytes",
        "correctness.Gradients.track_incorrect_gradients",
    ]
    noisy = [
        PEAK_RSS,
        AUTODIFF_SPREAD,
        f"{COUNTS}.track_gradient_call_spread_percent",
        "mind_cli.GradientGeneration.time_mind_gradient_ir",
        "mind_cli.CliStages.time_front_end",
    ]
    assert [name for name in exact if not is_exact(name)] == []
    assert [name for name in noisy if is_exact(name)] == []


def test_a_figure_maps_to_its_spread_sibling() -> None:
    assert spread_benchmark(AUTODIFF) == AUTODIFF_SPREAD
    assert (
        spread_benchmark(f"{COUNTS}.track_gradient_call_instructions")
        == f"{COUNTS}.track_gradient_call_spread_percent"
    )
    assert spread_benchmark("correctness.Gradients.track_incorrect_gradients") is None


def test_series_are_ordered_by_commit_date_per_environment(results_dir: Path) -> None:
    histories = load_histories(results_dir, MACHINE)
    assert [h.env for h in histories] == [ENV, OTHER_ENV]
    history = one_env(histories)
    assert history.commits == tuple(sha(n) for n in ("c1", "c2", "c3", "c4", "c5"))
    assert history.history is None and history.ordered_by == "commit date"
    benchmarks = {s.benchmark for s in history.series}
    assert benchmarks == {AUTODIFF, FRONT_END}  # neither peak RSS nor the spread itself
    points = series_points(history, AUTODIFF, "small_mlp")
    assert [p.outcome for p in points] == [
        Outcome.MEASURED,
        Outcome.MEASURED,
        Outcome.SKIPPED,
        Outcome.FAILED,
        Outcome.MEASURED,
    ]
    assert [p.value for p in points if p.usable] == [60_000, 62_000, 62_000 * 1.045]
    assert [p.spread_percent for p in points] == [5.0, 0.05, None, None, 0.0]
    # No sibling spread benchmark: the figure repeats exactly.
    assert {p.spread_percent for p in series_points(history, FRONT_END, "small_mlp")} == {0.0}
    other = one_env(histories, OTHER_ENV)
    assert other.commits == (sha("c1"),)


def test_the_steps_of_a_results_dir(results_dir: Path) -> None:
    history = one_env(load_histories(results_dir, MACHINE))
    found = {f.series.label: f for f in detect_history(history)}
    assert [label for label, f in found.items() if f.steps] == [f"{AUTODIFF}(model=small_mlp)"]
    (step,) = found[f"{AUTODIFF}(model=small_mlp)"].steps
    # c2 -> c5 across the skip and the failure; the dates say nothing of adjacency.
    assert (step.last_before, step.first_after) == (sha("c2"), sha("c5"))
    assert step.between == ((sha("c3"), Outcome.SKIPPED), (sha("c4"), Outcome.FAILED))
    assert step.change == pytest.approx(0.045) and step.still_present


def test_the_git_history_orders_commits_and_tells_one_commit_from_a_range(
    results_dir: Path,
) -> None:
    order = [sha(n) for n in ("c0", "c1", "c2", "c3", "c4", "cx", "c5", "c6")]
    history = one_env(load_histories(results_dir, MACHINE, order))
    assert history.ordered_by == "git history"
    (found,) = [f for f in detect_history(history) if f.steps]
    (step,) = found.steps
    assert step.between == (
        (sha("c3"), Outcome.SKIPPED),
        (sha("c4"), Outcome.FAILED),
        (sha("cx"), Outcome.NOT_RUN),
    )
    assert step.find_command() == (
        f"python -m mind_runner find {sha('c2')[:8]}..{sha('c5')[:8]} {AUTODIFF}"
    )


def test_commits_not_in_the_history_given_are_set_aside(results_dir: Path) -> None:
    order = [sha(n) for n in ("c1", "c2", "c5")]
    history = one_env(load_histories(results_dir, MACHINE, order))
    assert history.commits == (sha("c1"), sha("c2"), sha("c5"))
    assert history.unplaced == (sha("c3"), sha("c4"))
    (found,) = [f for f in detect_history(history) if f.steps]
    assert found.steps[0].single_commit


def test_without_benchmarks_json_the_axes_are_numbered(results_dir: Path) -> None:
    (results_dir / "benchmarks.json").unlink()
    history = one_env(load_histories(results_dir, MACHINE))
    assert {s.params for s in history.series} == {
        (("param1", "simple_quadratic"),),
        (("param1", "small_mlp"),),
    }


def test_git_history_is_first_parent_oldest_first(tmp_path: Path) -> None:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(tmp_path), *args], check=True, capture_output=True, text=True
        ).stdout.strip()

    git("init", "-q", "-b", "main")
    git("config", "user.email", "t@example.invalid")
    git("config", "user.name", "t")
    made = []
    for message in ("one", "two", "three"):
        git("commit", "-q", "--allow-empty", "-m", message)
        made.append(git("rev-parse", "HEAD"))
    assert git_history(tmp_path) == made
    with pytest.raises(UserError, match="cannot list nope's history"):
        git_history(tmp_path, "nope")


def test_points_follow_the_product_of_asv_axes(results_dir: Path) -> None:
    """Every parameter combination of every exact figure becomes one series."""
    history = one_env(load_histories(results_dir, MACHINE))
    labels = sorted(s.label for s in history.series)
    expected = sorted(
        f"{name}(model={model})" for name, model in itertools.product([AUTODIFF, FRONT_END], MODELS)
    )
    assert labels == expected
