"""`python -m mind_runner report` on asv result files written by asv's own API.

Expected numbers are never typed in: each test reads them back from the result
file with a plain `json.load` (asv writes skips as NaN, which Python's json
reads), so the report is checked against what asv stored, not against itself.
"""

from __future__ import annotations

import ast
import itertools
import json
import math
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from mind_runner.commands import cli
from mind_runner.commands import config as project_config
from mind_runner.report.measures import DEFAULT_ITERATIONS, SEED_JSON_NAME
from mind_runner.report.text import format_ratio
from mind_runner.util.numbers import format_time
from tests.conftest import PublishedHistory

MACHINE = "box"
ENV = "virtualenv-py3.11-numpy-torch2.13.0"
MODELS = ("simple_quadratic", "small_mlp", "matmul_chain")
DEVICES = ("cpu", "cuda")
GRADIENT = "mind_cli.GradientGeneration.time_mind_gradient_ir"
IR_SIZE = "mind_cli.GradientGeneration.track_gradient_ir_instructions"
BACKWARD = "pytorch_autograd.Backward.time_pytorch_backward"
FORWARD_BACKWARD = "pytorch_autograd.Backward.time_pytorch_forward_backward"
AOT = "pytorch_autograd.AotCapture.time_pytorch_aot_capture"
NAN = math.nan
FIRST_DATE = 1_772_442_000_000  # 2026-03-02, asv's JavaScript milliseconds

# A value per parameter combination: samples (a timing), a number (a track_
# figure), NaN (asv's skip) or None (asv's failure).
Entry = list[float] | float | None


def mind_values(*entries: Entry) -> dict[tuple[str, ...], Entry]:
    return {(model,): entry for model, entry in zip(MODELS, entries, strict=True)}


def torch_values(*cpu: Entry, cuda: Entry = NAN) -> dict[tuple[str, ...], Entry]:
    values: dict[tuple[str, ...], Entry] = {}
    for model, entry in zip(MODELS, cpu, strict=True):
        values[(model, "cpu")] = entry
        values[(model, "cuda")] = cuda
    return values


def typical(commit_scale: float = 1.0) -> dict[str, dict[tuple[str, ...], Entry]]:
    """Results shaped like a real run: MIND about 1 ms a process, PyTorch µs to ms."""
    s = commit_scale
    return {
        GRADIENT: mind_values(
            [1.27e-3 * s, 1.25e-3 * s, 1.31e-3 * s, 1.28e-3 * s],
            [1.29e-3 * s, 1.30e-3 * s, 1.33e-3 * s],
            [1.30e-3 * s, 1.26e-3 * s, 1.29e-3 * s],
        ),
        IR_SIZE: mind_values(4.0, 10.0, 13.0),
        "mind_cli.CliStages.time_startup": mind_values(*[[1.16e-3, 1.17e-3, 1.15e-3]] * 3),
        "mind_cli.CliStages.time_front_end": mind_values(*[[1.21e-3, 1.20e-3, 1.22e-3]] * 3),
        BACKWARD: torch_values(
            [5.1e-5, 5.3e-5, 4.9e-5], [3.4e-4, 3.5e-4, 3.3e-4], [2.5e-3, 2.4e-3]
        ),
        FORWARD_BACKWARD: torch_values([8.0e-5, 8.2e-5], [6.1e-4, 6.0e-4], [4.2e-3, 4.4e-3]),
    }


def params_of(values: Mapping[tuple[str, ...], Entry]) -> list[list[str]]:
    """asv's params: one list of repr strings per axis, in first-seen order."""
    axes: list[list[str]] = []
    for combination in values:
        for index, value in enumerate(combination):
            if len(axes) <= index:
                axes.append([])
            if repr(value) not in axes[index]:
                axes[index].append(repr(value))
    return axes


def write_results(
    root: Path,
    commit: str,
    date: int,
    benchmarks: Mapping[str, Mapping[tuple[str, ...], Entry]],
    machine: str = MACHINE,
) -> Path:
    """A results file and machine.json exactly as `asv run` saves them."""
    from asv.machine import Machine
    from asv.results import Results
    from asv.runner import BenchmarkResult

    results_dir = root / "results"
    info = {
        "machine": machine,
        "os": "Linux 6.1.0",
        "arch": "x86_64",
        "cpu": "Test CPU @ 2.00GHz",
        "num_cpu": "2",
        "ram": "8GB",
    }
    described = Machine()
    described.__dict__.update(info)
    described.save(str(results_dir))
    params = {**info, "python": "3.11", "torch": "2.13.0", "numpy": ""}
    results = Results(params, {"torch": "2.13.0", "numpy": ""}, commit, date, "3.11", ENV, {})
    path = results_dir / machine / f"{commit[:8]}-{ENV}.json"
    if path.exists():
        results.load_data(str(results_dir))
    for name, values in benchmarks.items():
        axes = params_of(values)
        outcome: list[bool | float | None] = []
        samples: list[list[float] | None] = []
        number: list[int | None] = []
        for combination in itertools.product(*axes):
            entry = values[tuple(ast.literal_eval(v) for v in combination)]
            if isinstance(entry, list):
                outcome.append(True)
                samples.append(entry)
                number.append(1)
            else:
                outcome.append(entry)
                samples.append(None)
                number.append(None)
        results.add_result(
            {"name": name, "version": "1", "params": axes},
            BenchmarkResult(outcome, samples, number, 0, "", None),
        )
    results.save(str(results_dir))
    assert path.is_file()
    return path


def plain(path: Path, benchmark: str, *params: str) -> tuple[float | None, dict[str, Any]]:
    """A value and its stats as asv stored them, read with json.load alone."""
    data = json.loads(path.read_text())
    row = data["results"][benchmark]
    columns = dict(zip(data["result_columns"], row, strict=False))
    combinations = list(itertools.product(*columns["params"]))
    index = combinations.index(tuple(repr(p) for p in params))
    stats = {
        key[len("stats_") :]: (columns[key][index] if columns.get(key) else None)
        for key in data["result_columns"]
        if key.startswith("stats_")
    }
    value = columns["result"][index] if columns["result"] is not None else None
    return value, stats


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project directory with asv.conf.json, MIND's repository not on disk."""
    config = tmp_path / "asv.conf.json"
    config.write_text(
        json.dumps(
            {
                "version": 1,
                "project": "mind",
                "repo": "https://example.invalid/star-ga/mind.git",
                "dvcs": "git",
                "branches": ["main"],
                "results_dir": "results",
            }
        )
    )
    monkeypatch.setattr(project_config, "CONFIG_PATH", config)
    monkeypatch.delenv("MIND_REPO", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def report(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = cli.main(["report", *args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def seed_row(text: str, model: str) -> str:
    table = text.split("The seed's table", 1)[1].split("Tier:", 1)[0]
    return next(line for line in table.splitlines() if line.startswith(model + " "))


# --- formatting --------------------------------------------------------------------


def test_times_are_formatted_as_the_seed_formats_them() -> None:
    assert format_time(45.2e-6) == "45.2 µs"
    assert format_time(999.94e-6) == "999.9 µs"
    assert format_time(1e-3) == "1.00 ms"
    assert format_time(3.2e-3) == "3.20 ms"
    assert format_time(0.99999) == "999.99 ms"
    assert format_time(3.2) == "3.20 s"


def test_ratios_keep_the_seeds_two_decimals_and_never_print_zero() -> None:
    assert format_ratio(60.6) == "60.60\N{MULTIPLICATION SIGN}"
    assert format_ratio(0.25) == "0.25\N{MULTIPLICATION SIGN}"
    assert format_ratio(0.0108) == "0.011\N{MULTIPLICATION SIGN}"
    assert format_ratio(None) == "n/a"


# --- the report of one commit ------------------------------------------------------


def test_seed_table_and_json_carry_the_values_asv_stored(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    commit = "1" * 40
    path = write_results(project, commit, FIRST_DATE, typical())
    status, out, err = report(capsys, "--json", "out/real.json")
    assert (status, err) == (0, "")
    data = json.loads((project / "out" / "real.json").read_text())

    assert commit in out and MACHINE in out and "torch 2.13.0" in out
    assert "divides a per-iteration cost by a one-time cost" in out
    assert data["commit"]["hash"] == commit
    assert data["system_info"]["pytorch_version"] == "2.13.0"
    assert data["system_info"]["cuda_available"] is False  # every CUDA figure was skipped
    assert set(data) >= {"system_info", "methodology", "benchmarks", "tiers", "training_loop"}
    for model in MODELS:
        mind, mind_stats = plain(path, GRADIENT, model)
        torch, torch_stats = plain(path, BACKWARD, model, "cpu")
        assert mind is not None and torch is not None
        row = seed_row(out, model)
        assert format_time(mind) in row and format_time(torch) in row
        assert format_ratio(torch / mind) in row

        entry = data["benchmarks"][model]
        assert entry["mind"]["time_mean_us"] == pytest.approx(mind * 1e6)
        assert entry["pytorch"]["time_mean_us"] == pytest.approx(torch * 1e6)
        assert entry["ratio"] == pytest.approx(torch / mind)
        assert entry["mind"]["tier"] == "gradient generation (one-time)"
        assert entry["pytorch"]["tier"] == "per-iteration gradient execution"
        assert entry["mind"]["samples"] == mind_stats["repeat"]
        iqr = (torch_stats["q_75"] - torch_stats["q_25"]) * 1e6
        assert entry["pytorch"]["time_iqr_us"] == pytest.approx(iqr)
        assert entry["pytorch"]["time_stdev_us"] == pytest.approx(iqr / 1.349)
        assert entry["pytorch"]["measured_at_commit"] == commit
        size = data["tiers"]["counts"][model]["mind_gradient_ir_instructions"]
        assert size["value"] == plain(path, IR_SIZE, model)[0] and size["tier"] == "count"


def test_per_iteration_mind_is_not_run_never_zero_without_runtime_figures(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_results(project, "2" * 40, FIRST_DATE, typical())
    status, out, _ = report(capsys, "--json")
    assert status == 0
    tier = out.split("Tier: per-iteration", 1)[1].split("Tier:", 1)[0]
    for model in MODELS:
        line = next(line for line in tier.splitlines() if line.startswith(model + " "))
        assert line.split()[1:3] == ["not", "run"]
    assert "no gradient executor" not in out
    data = json.loads((project / SEED_JSON_NAME).read_text())
    for model in MODELS:
        mind = data["tiers"]["per_iteration"][model]["mind"]
        assert mind["time_mean_us"] is None and mind["status"] == "not run"


def test_a_skipped_mind_figure_reads_skipped_not_zero(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    benchmarks = typical()
    benchmarks[GRADIENT] = mind_values(NAN, [1.3e-3, 1.31e-3], NAN)
    path = write_results(project, "3" * 40, FIRST_DATE, benchmarks)
    assert math.isnan(plain(path, GRADIENT, "simple_quadratic")[0] or 0.0)

    status, out, _ = report(capsys, "--json")
    assert status == 0
    row = seed_row(out, "simple_quadratic")
    assert "skipped" in row and row.rstrip().endswith("n/a")
    assert "0.0 µs" not in row
    assert "NotImplementedError" in out  # what asv's NaN means, said once under the table
    data = json.loads((project / SEED_JSON_NAME).read_text())
    mind = data["benchmarks"]["simple_quadratic"]["mind"]
    assert mind["status"] == "skipped" and mind["time_mean_us"] is None
    assert data["benchmarks"]["simple_quadratic"]["ratio"] is None
    loop = data["training_loop"]["benchmarks"]["simple_quadratic"]["mind"]
    assert loop["total_us"] is None and loop["total_at_least_us"] is None


def test_failed_and_never_run_figures_are_named_as_such(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    benchmarks = typical()
    benchmarks[FORWARD_BACKWARD] = torch_values(None, [6.1e-4], [4.2e-3])
    write_results(project, "4" * 40, FIRST_DATE, benchmarks)
    status, out, _ = report(capsys, "--json")
    assert status == 0
    tier = out.split("Tier: per-iteration", 1)[1].split("Tier:", 1)[0]
    assert "failed" in next(line for line in tier.splitlines() if line.startswith("simple_q"))
    generation = out.split("Tier: gradient generation", 1)[1].split("Tier:", 1)[0]
    assert "not run" in generation  # no AotCapture results at all
    data = json.loads((project / SEED_JSON_NAME).read_text())
    aot = data["tiers"]["gradient_generation"]["small_mlp"]["pytorch_aot_capture"]["cpu"]
    assert aot["status"] == "not run" and aot["time_mean_us"] is None
    failed = data["tiers"]["per_iteration"]["simple_quadratic"]["pytorch_forward_backward"]
    assert failed["cpu"]["status"] == "failed" and failed["cpu"]["time_mean_us"] is None


def test_a_commit_that_did_not_build_points_at_its_build_log(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = "5" * 40
    write_results(
        project,
        broken,
        FIRST_DATE,
        {GRADIENT: mind_values(None, None, None), IR_SIZE: mind_values(None, None, None)},
    )
    status, out, _ = report(capsys)
    assert status == 0
    assert "failed" in seed_row(out, "small_mlp")
    assert f".asv/build-logs/{broken}.log" in out


def test_training_loop_totals_are_one_time_plus_n_per_iteration(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_results(project, "6" * 40, FIRST_DATE, typical())
    status, out, _ = report(capsys, "--iterations", "250", "--json", "loop.json")
    assert status == 0
    assert "N = 250 iterations" in out
    data = json.loads((project / "loop.json").read_text())
    assert data["training_loop"]["iterations"] == 250
    loop_text = out.split("Training-loop impact", 1)[1].split("Sample statistics", 1)[0]
    for model in MODELS:
        mind = plain(path, GRADIENT, model)[0]
        step = plain(path, FORWARD_BACKWARD, model, "cpu")[0]
        backward = plain(path, BACKWARD, model, "cpu")[0]
        assert mind is not None and step is not None and backward is not None
        loop = data["training_loop"]["benchmarks"][model]
        assert loop["mind"]["one_time_us"] == pytest.approx(mind * 1e6)
        assert loop["mind"]["total_us"] is None  # MIND's per-iteration part is not measured
        assert loop["mind"]["total_at_least_us"] == pytest.approx(mind * 1e6)
        eager = loop["pytorch"]["cpu"]["pytorch_eager"]
        assert eager["total_us"] == pytest.approx(250 * step * 1e6)
        seed = loop["pytorch"]["cpu"]["pytorch_backward_only"]
        assert seed["total_us"] == pytest.approx(250 * backward * 1e6)
        line = next(line for line in loop_text.splitlines() if line.startswith(model + " "))
        assert f">= {format_time(mind)}" in line
        assert format_time(250 * step) in line and format_time(250 * backward) in line
    assert "Not measured" in loop_text


INCORRECT = "mind_correctness.GradientCorrectness.track_incorrect_gradients"
MISFITS = "mind_correctness.GradientCorrectness.track_as_printed_misfits"
VERDICT = "mind_correctness.ParameterGradients.track_gradient_verdict"
PROGRAM = "mind_gradient_program.GradientProgram.time_mind_gradient_program"
PARAMETERS = {"simple_quadratic": ("x",), "small_mlp": ("x", "w1", "b1", "w2", "b2")}
PARAMETERS["matmul_chain"] = ("A", "B", "C", "D")


def verdict_values(codes: Mapping[tuple[str, str], float]) -> dict[tuple[str, ...], Entry]:
    """Per (model, parameter): the given code, else 0 (present); NaN where the model has
    no such parameter, as asv records the benchmark's skip."""
    every = list(dict.fromkeys(name for names in PARAMETERS.values() for name in names))
    return {
        (model, name): codes.get((model, name), 0.0) if name in PARAMETERS[model] else NAN
        for model in MODELS
        for name in every
    }


def with_correctness(
    codes: Mapping[tuple[str, str], float] | None = None,
) -> dict[str, dict[tuple[str, ...], Entry]]:
    """typical() plus what real MIND's HEAD gives: small_mlp's biases absent."""
    codes = {("small_mlp", "b1"): 1.0, ("small_mlp", "b2"): 1.0} if codes is None else codes
    benchmarks = typical()
    benchmarks[INCORRECT] = mind_values(
        *[float(sum(1 for (m, _), c in codes.items() if m == model and c)) for model in MODELS]
    )
    benchmarks[MISFITS] = mind_values(2.0, 2.0, 2.0)
    benchmarks[VERDICT] = verdict_values(codes)
    benchmarks[PROGRAM] = mind_values([9.0e-6, 9.2e-6, 8.9e-6], NAN, [6.9e-4, 7.1e-4, 7.0e-4])
    return benchmarks


def section(text: str, title: str) -> str:
    return text.split(title, 1)[1].split("\n\n", 1)[0]


def row(text: str, model: str) -> str:
    return next(line for line in text.splitlines() if line.startswith(model + " "))


def test_every_table_says_how_many_gradients_mind_got_right(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_results(project, "f" * 40, FIRST_DATE, with_correctness())
    status, out, _ = report(capsys, "--json")
    assert status == 0
    assert plain(path, VERDICT, "small_mlp", "b1")[0] == 1.0  # as asv stored it
    expected = {
        "simple_quadratic": "1/1",
        "small_mlp": "3/5 (b1, b2 absent)",
        "matmul_chain": "4/4",
    }
    generation = section(out, "Tier: gradient generation")
    correctness = section(out, "Tier: gradient correctness")
    loop = section(out, "Training-loop impact")
    for model, summary in expected.items():
        assert summary in seed_row(out, model)
        assert summary in row(generation, model)
        assert summary in row(correctness, model)
    assert "b1 absent" in row(correctness, "small_mlp")
    assert row(loop, "small_mlp").endswith("b1, b2 gradients")
    assert row(loop, "matmul_chain").endswith("nothing")

    data = json.loads((project / SEED_JSON_NAME).read_text())
    for model, summary in expected.items():
        assert data["benchmarks"][model]["mind_gradients_correct"] == summary
        assert {"pytorch", "mind", "ratio"} <= set(data["benchmarks"][model])  # the seed's
        tier = data["tiers"]["gradient_generation"][model]
        assert tier["mind_gradients_correct"] == summary
    mlp = data["tiers"]["gradient_correctness"]["small_mlp"]
    assert mlp["summary"] == "3/5 (b1, b2 absent)" and mlp["still_to_compute"] == ["b1", "b2"]
    assert mlp["incorrect_gradients"]["value"] == plain(path, INCORRECT, "small_mlp")[0] == 2
    assert mlp["as_printed_misfits"]["value"] == 2
    assert [p["verdict"] for p in mlp["parameters"].values()] == [
        "present", "present", "absent", "present", "absent",
    ]  # fmt: skip
    assert mlp["parameters"]["b1"]["tier"] == "gradient correctness"
    mind_loop = data["training_loop"]["benchmarks"]["small_mlp"]["mind"]
    assert mind_loop["still_to_compute"] == ["b1", "b2"]


def test_mind_gradient_program_stands_beside_backward_with_its_label(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_results(project, "f" * 40, FIRST_DATE, with_correctness())
    status, out, _ = report(capsys, "--json")
    assert status == 0
    iteration = out.split("Tier: per-iteration", 1)[1].split("Tier:", 1)[0]
    assert "MIND's gradient program on PyTorch kernels, not a MIND runtime" in iteration
    for model in ("simple_quadratic", "matmul_chain"):
        value = plain(path, PROGRAM, model)[0]
        assert value is not None
        assert format_time(value) in row(iteration, model)
    assert "skipped" in row(iteration, "small_mlp")
    assert "timed only where every gradient is present: 3/5 (b1, b2 absent)" in iteration
    data = json.loads((project / SEED_JSON_NAME).read_text())
    per_iteration = data["tiers"]["per_iteration"]
    program = per_iteration["matmul_chain"]["mind_gradient_program"]
    assert program["label"] == "MIND's gradient program on PyTorch kernels, not a MIND runtime"
    stored = plain(path, PROGRAM, "matmul_chain")[0]
    assert stored is not None and program["time_mean_us"] == pytest.approx(stored * 1e6)
    assert program["tier"] == "per-iteration gradient execution"
    skipped = per_iteration["small_mlp"]["mind_gradient_program"]
    assert skipped["status"] == "skipped" and skipped["time_mean_us"] is None
    assert skipped["reason"].endswith("3/5 (b1, b2 absent)")
    assert per_iteration["small_mlp"]["mind"]["status"] == "not run"  # no runtime figures


def test_a_wrong_gradient_is_named_before_absent_ones(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    codes = {("small_mlp", "x"): 2.0, ("small_mlp", "b1"): 1.0, ("small_mlp", "b2"): 1.0}
    write_results(project, "f" * 40, FIRST_DATE, with_correctness(codes))
    status, out, _ = report(capsys)
    assert status == 0
    assert "2/5 (x wrong; b1, b2 absent)" in seed_row(out, "small_mlp")
    assert row(section(out, "Training-loop impact"), "small_mlp").endswith("x, b1, b2 gradients")


def test_without_per_parameter_figures_the_count_alone_is_shown(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    benchmarks = with_correctness()
    del benchmarks[VERDICT]
    write_results(project, "f" * 40, FIRST_DATE, benchmarks)
    status, out, _ = report(capsys, "--json")
    assert status == 0
    assert "3/5 (which: not recorded)" in seed_row(out, "small_mlp")
    assert "1/1" in seed_row(out, "simple_quadratic")
    loop = section(out, "Training-loop impact")
    assert "not known (3/5 (which: not recorded))" in row(loop, "small_mlp")
    assert row(loop, "simple_quadratic").endswith("nothing")
    data = json.loads((project / SEED_JSON_NAME).read_text())
    assert data["tiers"]["gradient_correctness"]["small_mlp"]["still_to_compute"] is None


def test_results_from_before_the_correctness_tier_read_not_run(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_results(project, "f" * 40, FIRST_DATE, typical())
    status, out, _ = report(capsys, "--json")
    assert status == 0
    assert "not run" in seed_row(out, "small_mlp")
    assert row(section(out, "Training-loop impact"), "small_mlp").endswith("not known (not run)")
    data = json.loads((project / SEED_JSON_NAME).read_text())
    assert data["benchmarks"]["small_mlp"]["mind_gradients_correct"] == "not run"


def test_the_default_commit_is_the_newest_and_a_prefix_picks_another(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = "ab" + "0" * 38, "cd" + "0" * 38
    write_results(project, old, FIRST_DATE, typical())
    write_results(project, new, FIRST_DATE + 86_400_000, typical(commit_scale=2.0))
    assert new in report(capsys)[1]
    status, out, _ = report(capsys, "--commit", "ab00")
    assert status == 0 and old in out and new not in out


def test_pytorch_figures_missing_at_a_commit_come_from_another_marked(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tip, older = "e" * 40, "d" * 40
    write_results(project, tip, FIRST_DATE + 1000, typical())
    mind_only = {k: v for k, v in typical().items() if k.startswith("mind_")}
    write_results(project, older, FIRST_DATE, mind_only)
    status, out, _ = report(capsys, "--commit", "dddd", "--json")
    assert status == 0
    assert "*" in seed_row(out, "small_mlp") and "measured at commit eeeeeeee" in out
    data = json.loads((project / SEED_JSON_NAME).read_text())
    assert data["commit"]["hash"] == older
    assert data["benchmarks"]["small_mlp"]["pytorch"]["measured_at_commit"] == tip
    assert data["benchmarks"]["small_mlp"]["mind"]["measured_at_commit"] == older


def test_a_count_that_does_not_repeat_exactly_is_flagged(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Under fixed hash seeds a count's run-to-run spread is 0.00; anything else is flagged."""
    counts = "mind_counts.InstructionCounts."
    figures = {
        **typical(),
        counts + "track_gradient_call_instructions": mind_values(130_000.0, 720_000.0, 900_000.0),
        counts + "track_front_end_instructions": mind_values(120_000.0, 650_000.0, 820_000.0),
        counts + "track_autodiff_instructions": mind_values(10_000.0, 70_000.0, 80_000.0),
        counts + "track_gradient_call_spread_percent": mind_values(0.0, 0.0, 0.4),
        counts + "track_autodiff_spread_percent": mind_values(0.0, 0.0, 4.5),
    }
    write_results(project, "3" * 40, FIRST_DATE, figures)
    status, out, _ = report(capsys)
    assert status == 0
    flagged = next(line for line in out.splitlines() if line.startswith("NOT REPEATABLE"))
    assert "matmul_chain MIND autodiff share, instructions retired (4.50 %)" in flagged
    assert "small_mlp" not in flagged and "simple_quadratic" not in flagged
    assert "0.00 % (run to run: repeats exactly)" in out
    assert "4.50 % (run to run) NOT REPEATABLE" in out


def test_the_json_is_strict_json_without_nan(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    benchmarks = typical()
    benchmarks[GRADIENT] = mind_values(NAN, NAN, NAN)
    write_results(project, "7" * 40, FIRST_DATE, benchmarks)
    assert report(capsys, "--json")[0] == 0

    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} in the JSON")

    json.loads((project / SEED_JSON_NAME).read_text(), parse_constant=refuse)


def test_the_mind_version_comes_from_the_repository_when_it_is_on_disk(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = project / "mind-clone"
    environment = {
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
        "PATH": "/usr/bin:/bin",
    }

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(repo), *args],
            env=environment,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()

    repo.mkdir()
    git("init", "-q", "-b", "main")
    git("commit", "-q", "--allow-empty", "-m", "release")
    git("tag", "v0.7.1")
    git("commit", "-q", "--allow-empty", "-m", "after")
    tip = git("rev-parse", "HEAD")
    write_results(project, tip, FIRST_DATE, typical())
    monkeypatch.setenv("MIND_REPO", str(repo))

    status, out, _ = report(capsys, "--commit", "main", "--json")
    assert status == 0
    assert f"v0.7.1-1-g{tip[:8]}" in out
    data = json.loads((project / SEED_JSON_NAME).read_text())
    assert data["commit"]["hash"] == tip
    assert data["commit"]["mind_version"] == f"v0.7.1-1-g{tip[:8]}"


def test_without_the_repository_the_version_is_unknown(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_results(project, "8" * 40, FIRST_DATE, typical())
    out = report(capsys)[1]
    assert "MIND:     unknown" in out and "MIND_REPO" in out


# --- what goes wrong ---------------------------------------------------------------


def one_line_error(status: int, out: str, err: str) -> str:
    assert status == 1 and out == ""
    assert err.startswith("mind_runner: ") and err.count("\n") == 1, err
    return err


def test_no_results_says_which_command_produces_them(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = one_line_error(*report(capsys))
    assert "python -m mind_runner run" in err


def test_a_commit_without_results_says_how_to_produce_them(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_results(project, "9" * 40, FIRST_DATE, typical())
    err = one_line_error(*report(capsys, "--commit", "abcdef12"))
    assert "abcdef12" in err and "python -m mind_runner run abcdef12^! --machine box" in err
    err = one_line_error(*report(capsys, "--commit", "main"))
    assert "give a hash" in err  # no repository on disk to resolve a name with


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda text: text[: len(text) // 2], id="truncated"),
        pytest.param(lambda text: "<html>not json</html>", id="not-json"),
        pytest.param(lambda text: "", id="empty"),
        pytest.param(lambda text: json.dumps({"version": 2}), id="no-results-keys"),
    ],
)
def test_an_unreadable_results_file_is_named_and_nothing_is_overwritten(
    project: Path, capsys: pytest.CaptureFixture[str], damage: Any
) -> None:
    path = write_results(project, "a" * 40, FIRST_DATE, typical())
    previous = project / SEED_JSON_NAME
    previous.write_text('{"earlier": "report"}\n')
    path.write_text(damage(path.read_text()))
    err = one_line_error(*report(capsys, "--json"))
    assert str(path) in err
    assert previous.read_text() == '{"earlier": "report"}\n'
    assert [p.name for p in project.iterdir() if p.name.startswith(".real")] == []


def test_a_broken_machine_json_is_named(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_results(project, "b" * 40, FIRST_DATE, typical())
    machine_json = project / "results" / MACHINE / "machine.json"
    machine_json.write_text('{"machine": "bo')
    err = one_line_error(*report(capsys))
    assert str(machine_json) in err


def test_several_machines_need_a_choice(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_results(project, "c" * 40, FIRST_DATE, typical(), machine="alpha")
    write_results(project, "c" * 40, FIRST_DATE, typical(), machine="beta")
    err = one_line_error(*report(capsys))
    assert "alpha" in err and "beta" in err and "--machine" in err
    status, out, _ = report(capsys, "--machine", "beta")
    assert status == 0 and "Machine:  beta" in out
    err = one_line_error(*report(capsys, "--machine", "gamma"))
    assert "gamma" in err and "alpha, beta" in err


def test_a_json_path_that_is_a_directory_is_refused(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_results(project, "d" * 40, FIRST_DATE, typical())
    (project / "taken").mkdir()
    err = one_line_error(*report(capsys, "--json", "taken"))
    assert "taken" in err and "directory" in err


@pytest.mark.parametrize("bad", ["0", "-3", "ten", "1.5"])
def test_iterations_must_be_a_positive_whole_number(
    project: Path, capsys: pytest.CaptureFixture[str], bad: str
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["report", "--iterations", bad])
    assert exit_info.value.code == 2
    assert "--iterations" in capsys.readouterr().err


def test_cli_defaults_match_the_seed() -> None:
    args = cli._parser().parse_args(["report", "--json"])
    assert args.json == SEED_JSON_NAME and args.iterations == DEFAULT_ITERATIONS == 1000


# --- the fixture history, through the real asv -----------------------------------------


def test_report_of_the_fixture_tip_matches_asvs_result_file(
    published_history: PublishedHistory, tmp_path: Path
) -> None:
    project = published_history.project
    tip = project.history.commits[-1].sha
    output = tmp_path / SEED_JSON_NAME
    completed = project.mind_runner("report", "--commit", tip[:10], "--json", str(output))
    assert completed.returncode == 0, completed.stderr
    print(completed.stdout)  # the report, for the record (pytest -s shows it)
    data = json.loads(output.read_text())

    (path,) = project.results_dir.glob(f"{tip[:8]}-*.json")
    raw = json.loads(path.read_text())
    machine = json.loads((project.results_dir / "machine.json").read_text())
    assert data["commit"]["hash"] == raw["commit_hash"] == tip
    assert data["system_info"]["machine"] == machine["machine"]
    assert data["system_info"]["pytorch_version"] == raw["params"]["torch"]
    assert data["system_info"]["asv_env"] == raw["env_name"]
    assert tip in completed.stdout

    for model in MODELS:
        mind, mind_stats = plain(path, GRADIENT, model)
        torch, _ = plain(path, BACKWARD, model, "cpu")
        entry = data["benchmarks"][model]
        row = seed_row(completed.stdout, model)
        for side, value, stats in (("mind", mind, mind_stats), ("pytorch", torch, None)):
            if value is None or math.isnan(value):
                assert entry[side]["time_mean_us"] is None
                assert entry[side]["status"] in ("skipped", "failed")
                assert entry[side]["status"] in row
                continue
            assert entry[side]["time_mean_us"] == pytest.approx(value * 1e6)
            assert format_time(value) in row
            if stats is not None:
                assert entry[side]["samples"] == stats["repeat"]
        if mind and torch and not (math.isnan(mind) or math.isnan(torch)):
            assert entry["ratio"] == pytest.approx(torch / mind)
            assert format_ratio(torch / mind) in row
        else:
            assert entry["ratio"] is None

    # The fixture prints what real MIND prints: small_mlp's bias gradients are absent;
    # where relu_grad's operands are swapped, x and w1 (below the relu) are wrong too.
    swapped = project.history.commits[-1].relu_grad_swapped
    expected = {
        "simple_quadratic": "1/1",
        "small_mlp": "1/5 (x, w1 wrong; b1, b2 absent)" if swapped else "3/5 (b1, b2 absent)",
        "matmul_chain": "4/4",
    }
    for model, summary in expected.items():
        assert data["benchmarks"][model]["mind_gradients_correct"] == summary
        assert summary in seed_row(completed.stdout, model)
    wrong = ["x", "w1"] if swapped else []
    assert data["training_loop"]["benchmarks"]["small_mlp"]["mind"]["still_to_compute"] == [
        *wrong,
        "b1",
        "b2",
    ]
    program = data["tiers"]["per_iteration"]["matmul_chain"]["mind_gradient_program"]
    assert program["status"] == "ok" and program["time_mean_us"] > 0
    skipped = data["tiers"]["per_iteration"]["small_mlp"]["mind_gradient_program"]
    assert skipped["status"] == "skipped" and "b1, b2 absent" in skipped["reason"]

    # The default commit is the newest with results: the tip.
    default = project.mind_runner("report")
    assert default.returncode == 0 and tip in default.stdout


RUNTIME_TIME = "mind_runtime.RuntimeGradient.time_mind_runtime_gradient"
RUNTIME_INCORRECT = "mind_runtime.RuntimeCorrectness.track_runtime_incorrect_gradients"
RUNTIME_VERDICT = "mind_runtime.RuntimeParameterGradients.track_runtime_gradient_verdict"
RUNTIME_MATERIALIZED = "mind_runtime.RuntimeCorrectness.track_runtime_materialized_gradients"


def with_runtime() -> dict[str, dict[tuple[str, ...], Entry]]:
    """with_correctness() plus a runtime shaped like real HEAD's: its matmul rule passes
    the gradient through, so only what no matmul reaches is right."""
    codes = {(m, p): 2.0 for m in ("small_mlp", "matmul_chain") for p in PARAMETERS[m]}
    codes[("small_mlp", "b2")] = 0.0
    benchmarks = with_correctness()
    benchmarks[RUNTIME_TIME] = mind_values(
        [1.0e-3, 1.1e-3, 0.9e-3], [6.1e-3, 6.0e-3, 6.3e-3], [1.5e-2, 1.6e-2, 1.5e-2]
    )
    benchmarks[RUNTIME_VERDICT] = verdict_values(codes)
    benchmarks[RUNTIME_INCORRECT] = mind_values(
        *[float(sum(1 for (m, _), c in codes.items() if m == model and c)) for model in MODELS]
    )
    benchmarks[RUNTIME_MATERIALIZED] = mind_values(0.0, 0.0, 0.0)
    return benchmarks


def test_the_runtime_stands_in_every_table_with_its_verdict(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_results(project, "e" * 40, FIRST_DATE, with_runtime())
    status, out, _ = report(capsys, "--iterations", "100", "--json")
    assert status == 0
    iteration = out.split("Tier: per-iteration", 1)[1].split("Tier:", 1)[0]
    loop = section(out, "Training-loop impact")
    rights = {"simple_quadratic": "1/1", "small_mlp": "1/5", "matmul_chain": "0/4"}
    data = json.loads((project / SEED_JSON_NAME).read_text())
    for model, right in rights.items():
        median = plain(path, RUNTIME_TIME, model)[0]
        assert median is not None
        assert f"{format_time(median)}, {right} right" in seed_row(out, model)
        assert f"{format_time(median)}, {right} right" in row(iteration, model)
        mind = data["tiers"]["per_iteration"][model]["mind"]
        assert mind["time_mean_us"] == pytest.approx(median * 1e6)
        assert mind["label"].startswith("MIND's interpreter (`mind eval --exec`)")
        assert data["benchmarks"][model]["mind_runtime_gradients_correct"].startswith(right)
    quadratic = data["training_loop"]["benchmarks"]["simple_quadratic"]["mind_runtime"]
    median = plain(path, RUNTIME_TIME, "simple_quadratic")[0]
    assert median is not None and quadratic["total_us"] == pytest.approx(100 * median * 1e6)
    assert quadratic["per_iteration"].endswith("materialized: no")
    assert format_time(100 * median) in row(loop, "simple_quadratic")
    for model in ("small_mlp", "matmul_chain"):
        wrong = data["training_loop"]["benchmarks"][model]["mind_runtime"]
        assert wrong["total_us"] is None
        assert wrong["per_iteration"].startswith("wrong gradients: no total")
        assert "wrong gradients: no total" in row(loop, model)
    # Either engine may supply a gradient: small_mlp's IR lacks b1, b2, the runtime has
    # b2 right; matmul_chain's IR has all four.
    assert row(loop, "small_mlp").endswith("b1 gradients")
    assert row(loop, "matmul_chain").endswith("nothing")
    mlp = data["tiers"]["gradient_correctness"]["small_mlp"]
    assert mlp["runtime"]["summary"] == "1/5 (x, w1, b1, w2 wrong)"
    assert mlp["runtime"]["parameters"]["w1"]["verdict"] == "wrong"
    assert mlp["still_to_compute_by_either"] == "b1 gradients"


def test_the_rule_coverage_matrix_names_every_state_and_the_rules_right(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from mind_runner.mind.op_models import OPS

    commit = "c" * 40
    verdicts: dict[tuple[str, ...], Entry] = {}
    incorrect: dict[tuple[str, ...], Entry] = {}
    for op in OPS:
        for engine in ("compile-time", "runtime"):
            verdicts[(op, engine)] = 0.0
            incorrect[(op, engine)] = 0.0
    verdicts[("sum_axis", "compile-time")], incorrect[("sum_axis", "compile-time")] = 1.0, 1.0
    verdicts[("dot", "runtime")], incorrect[("dot", "runtime")] = 2.0, 2.0
    verdicts[("mean_all", "compile-time")] = incorrect[("mean_all", "compile-time")] = NAN
    verdicts[("conv2d", "compile-time")] = incorrect[("conv2d", "compile-time")] = None
    benchmarks: dict[str, dict[tuple[str, ...], Entry]] = {
        **typical(),
        "mind_coverage.RuleCoverage.track_rule_verdict": verdicts,
        "mind_coverage.RuleCoverage.track_incorrect_gradients": incorrect,
        "mind_coverage.RulesRight.track_rules_right": {(): 36.0},
    }
    write_results(project, commit, FIRST_DATE, benchmarks)
    status, out, _ = report(capsys, "--json")
    assert status == 0
    coverage = section(out, "per rule (every op MIND documents as differentiable)")
    assert row(coverage, "sum_axis").split()[1:] == ["absent", "(1)", "right"]
    assert row(coverage, "dot").split()[1:] == ["right", "wrong", "(2)"]
    assert row(coverage, "mean_all").split()[1:4] == ["not", "expressible", "right"]
    assert row(coverage, "conv2d").split()[1:] == ["error", "right"]
    assert "Rules right: 36 of 40." in out
    cells = json.loads((project / SEED_JSON_NAME).read_text())["tiers"]["rule_coverage"]
    assert cells["rules_right"] == 36
    assert cells["cells"]["dot"]["runtime"] == {"state": "wrong", "incorrect_gradients": 2}
    assert cells["cells"]["conv2d"]["compile-time"]["state"] == "error"


def test_a_commit_without_coverage_figures_says_so(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_results(project, "d" * 40, FIRST_DATE, typical())
    status, out, _ = report(capsys)
    assert status == 0
    assert "Rule coverage: not measured at this commit" in out
