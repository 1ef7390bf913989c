"""`python -m mind_runner report`: the seed's comparison, from asv's results of one commit.

Users of MIND's `benchmark_real_autograd.py` expect its table and its
`real_autograd_results.json`. Its headline ratio divides PyTorch's per-iteration
backward by MIND's one-time gradient generation, so the report reproduces it with
that label, then sets beside it the comparisons of like with like (see
DESIGN.md, "tiers") and the training-loop arithmetic with what it leaves out.
A figure asv did not record (skipped, failed, never run) reads as such, never 0.

This module holds the report's model (what each figure is, read once from one
commit's results) and the command; `report_text` renders it as tables and
`report_json` as the seed's JSON.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, TextIO

from mind_runner.cases import SEED_CASES
from mind_runner.results import (
    CommitResults,
    Figure,
    MindHistory,
    Status,
    choose_machine,
    load_machine,
    select_commit,
)

SEED_JSON_NAME = "real_autograd_results.json"
DEFAULT_ITERATIONS = 1000
MODELS = tuple(SEED_CASES)
DEVICES = ("cpu", "cuda")
NO_EXECUTOR = "no gradient executor in MIND's CLI"


class Tier(Enum):
    """Only figures of one tier are compared with each other (DESIGN.md)."""

    GENERATION = "gradient generation (one-time)"
    ITERATION = "per-iteration gradient execution"
    PROCESS = "process and front end"
    COUNT = "count"


class Unit(Enum):
    SECONDS = "seconds"
    INSTRUCTIONS = "instructions"
    BYTES = "bytes"
    PERCENT = "%"


@dataclass(frozen=True)
class Measure:
    """One asv benchmark the report reads, and what kind of figure it is."""

    key: str
    label: str
    benchmark: str
    tier: Tier
    unit: Unit
    pytorch: bool = False
    spread: str | None = None  # the key of the measure that holds this one's spread
    hidden: bool = False  # shown only as another figure's spread


MEASURES = (
    Measure(
        "mind_gradient",
        "MIND gradient IR generation",
        "mind_cli.GradientGeneration.time_mind_gradient_ir",
        Tier.GENERATION,
        Unit.SECONDS,
    ),
    Measure(
        "mind_startup",
        "MIND start-up (mindc --version)",
        "mind_cli.CliStages.time_startup",
        Tier.PROCESS,
        Unit.SECONDS,
    ),
    Measure(
        "mind_front_end",
        "MIND front end (mindc --emit-ir)",
        "mind_cli.CliStages.time_front_end",
        Tier.PROCESS,
        Unit.SECONDS,
    ),
    Measure(
        "mind_gradient_ir_instructions",
        "MIND gradient IR size",
        "mind_cli.GradientGeneration.track_gradient_ir_instructions",
        Tier.COUNT,
        Unit.INSTRUCTIONS,
    ),
    Measure(
        "mind_gradient_call_instructions",
        "MIND gradient call, instructions retired",
        "mind_counts.InstructionCounts.track_gradient_call_instructions",
        Tier.COUNT,
        Unit.INSTRUCTIONS,
        spread="mind_gradient_call_spread",
    ),
    Measure(
        "mind_front_end_instructions",
        "MIND front end, instructions retired",
        "mind_counts.InstructionCounts.track_front_end_instructions",
        Tier.COUNT,
        Unit.INSTRUCTIONS,
    ),
    Measure(
        "mind_autodiff_instructions",
        "MIND autodiff share, instructions retired",
        "mind_counts.InstructionCounts.track_autodiff_instructions",
        Tier.COUNT,
        Unit.INSTRUCTIONS,
        spread="mind_autodiff_spread",
    ),
    Measure(
        "mind_gradient_call_spread",
        "MIND gradient call, run-to-run spread",
        "mind_counts.InstructionCounts.track_gradient_call_spread_percent",
        Tier.COUNT,
        Unit.PERCENT,
        hidden=True,
    ),
    Measure(
        "mind_autodiff_spread",
        "MIND autodiff share, run-to-run spread",
        "mind_counts.InstructionCounts.track_autodiff_spread_percent",
        Tier.COUNT,
        Unit.PERCENT,
        hidden=True,
    ),
    Measure(
        "mind_peak_rss",
        "mindc peak RSS",
        "mind_counts.PeakMemory.track_mindc_peak_rss_bytes",
        Tier.COUNT,
        Unit.BYTES,
    ),
    Measure(
        "pytorch_backward",
        "PyTorch backward",
        "pytorch_autograd.Backward.time_pytorch_backward",
        Tier.ITERATION,
        Unit.SECONDS,
        pytorch=True,
    ),
    Measure(
        "pytorch_forward_backward",
        "PyTorch forward+backward",
        "pytorch_autograd.Backward.time_pytorch_forward_backward",
        Tier.ITERATION,
        Unit.SECONDS,
        pytorch=True,
    ),
    Measure(
        "pytorch_aot_capture",
        "PyTorch AOT capture",
        "pytorch_autograd.AotCapture.time_pytorch_aot_capture",
        Tier.GENERATION,
        Unit.SECONDS,
        pytorch=True,
    ),
    Measure(
        "pytorch_saved_tensor_bytes",
        "PyTorch saved tensors",
        "pytorch_autograd.SavedTensors.track_saved_tensor_bytes",
        Tier.COUNT,
        Unit.BYTES,
        pytorch=True,
    ),
)
BY_KEY = {measure.key: measure for measure in MEASURES}


@dataclass(frozen=True)
class Report:
    """Everything the text and the JSON say, read once from one commit's results."""

    commit: str
    commit_date: int | None
    commit_name: str | None
    mind_version: str
    mind_version_note: str
    machine: str
    machine_info: Mapping[str, Any]
    env_name: str
    python: str
    torch: str
    result_file: Path
    iterations: int
    # figures[model][measure key][device, "" for MIND]
    figures: Mapping[str, Mapping[str, Mapping[str, Figure]]]

    def get(self, model: str, key: str, device: str = "") -> Figure:
        return self.figures[model][key][device if BY_KEY[key].pytorch else ""]

    def value(self, model: str, key: str, device: str = "") -> float | None:
        figure = self.get(model, key, device)
        return figure.value if figure.ok else None

    @property
    def seed_device(self) -> str:
        """The seed ran PyTorch on CUDA when it was available, else on the CPU."""
        cuda = [self.get(m, "pytorch_backward", "cuda").ok for m in MODELS]
        return "cuda" if any(cuda) else "cpu"

    @property
    def devices(self) -> tuple[str, ...]:
        """CPU always; CUDA where this commit holds any CUDA value."""
        pytorch = [m.key for m in MEASURES if m.pytorch and m.tier is not Tier.COUNT]
        cuda = any(self.get(m, k, "cuda").ok for m in MODELS for k in pytorch)
        return DEVICES if cuda else ("cpu",)

    @property
    def cuda_available(self) -> bool | None:
        """As far as results tell: a CUDA value, or CUDA figures all skipped."""
        statuses = {self.get(m, "pytorch_backward", "cuda").status for m in MODELS}
        if Status.OK in statuses:
            return True
        return False if statuses == {Status.SKIPPED} else None


def build_report(commit_results: CommitResults, history: MindHistory, iterations: int) -> Report:
    """Read every figure the report shows; PyTorch's may come from another commit."""
    file = commit_results.file
    figures: dict[str, dict[str, dict[str, Figure]]] = {}
    for model in MODELS:
        per_model: dict[str, dict[str, Figure]] = {}
        for measure in MEASURES:
            if measure.pytorch:
                per_model[measure.key] = {
                    device: commit_results.figure_or_elsewhere(
                        measure.benchmark, {"model": model, "device": device}
                    )
                    for device in DEVICES
                }
            else:
                per_model[measure.key] = {
                    "": commit_results.figure(measure.benchmark, {"model": model})
                }
        figures[model] = per_model
    params = file.results.params if isinstance(file.results.params, dict) else {}
    torch = params.get("torch") or ""
    described = history.describe(file.commit_hash)
    if described is not None:
        version, note = described, "git describe: nearest release tag"
    elif history.unavailable is None:
        version, note = "unknown", "no release tag before this commit"
    else:
        version, note = "unknown", history.unavailable
    return Report(
        commit=file.commit_hash,
        commit_date=file.date,
        commit_name=history.name(file.commit_hash),
        mind_version=version,
        mind_version_note=note + "; `mindc --version` is not in asv results",
        machine=commit_results.machine.name,
        machine_info=commit_results.machine.info,
        env_name=file.env_name,
        python=str(params.get("python") or "unknown"),
        torch=str(torch) if torch else "unknown (asv's requirement has no version)",
        result_file=file.path,
        iterations=iterations,
        figures=figures,
    )


# --- figures derived from figures --------------------------------------------------


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator


def autodiff_share(report: Report, model: str) -> tuple[float | None, bool]:
    """Gradient process minus front-end process (medians), and whether it is within noise."""
    gradient = report.get(model, "mind_gradient")
    front_end = report.get(model, "mind_front_end")
    if gradient.value is None or front_end.value is None or not (gradient.ok and front_end.ok):
        return None, False
    difference = gradient.value - front_end.value
    spreads = [
        f.stats.q_75 - f.stats.q_25
        for f in (gradient, front_end)
        if f.stats is not None and f.stats.q_25 is not None and f.stats.q_75 is not None
    ]
    return difference, abs(difference) <= max(spreads, default=math.inf)


def sample_count(figure: Figure) -> int | None:
    """Samples behind a median: those recorded, else asv's `repeat` statistic."""
    if figure.samples is not None:
        return len(figure.samples)
    return figure.stats.repeat if figure.stats is not None else None


@dataclass(frozen=True)
class LoopTotal:
    """total = one-time + N x per-iteration, with None where a part is not measured."""

    one_time: float | None
    per_iteration: float | None
    iterations: int
    one_time_is: str
    per_iteration_is: str
    one_time_applies: bool = True

    @property
    def total(self) -> float | None:
        """The total, when every part that applies is measured."""
        if self.per_iteration is None or (self.one_time_applies and self.one_time is None):
            return None
        return (self.one_time or 0.0) + self.iterations * self.per_iteration

    @property
    def at_least(self) -> float | None:
        """A lower bound from the measured parts, when a per-iteration part is missing."""
        if self.total is not None:
            return self.total
        if self.one_time is not None and self.per_iteration is None:
            return self.one_time
        return None


def loop_totals(report: Report, model: str, device: str) -> dict[str, LoopTotal]:
    """The training-loop sides: MIND's (device-free) and PyTorch's on `device`."""
    n = report.iterations
    not_measured = "not measured: "
    return {
        "mind": LoopTotal(
            report.value(model, "mind_gradient"),
            None,
            n,
            "MIND gradient generation (one whole mindc process)",
            not_measured + NO_EXECUTOR,
        ),
        "pytorch_eager": LoopTotal(
            None,
            report.value(model, "pytorch_forward_backward", device),
            n,
            "none: eager autograd records its tape in every forward",
            f"PyTorch forward+backward ({device})",
            one_time_applies=False,
        ),
        "pytorch_backward_only": LoopTotal(
            None,
            report.value(model, "pytorch_backward", device),
            n,
            "none (the seed's arithmetic)",
            f"PyTorch backward alone ({device}), the forward left out as in the seed",
            one_time_applies=False,
        ),
        "pytorch_aot": LoopTotal(
            report.value(model, "pytorch_aot_capture", device),
            None,
            n,
            f"PyTorch AOT capture ({device})",
            not_measured + "the compiled step that runs the captured graph",
        ),
    }


# --- the command -------------------------------------------------------------------


def run_report(
    *,
    commit: str | None,
    machine: str | None,
    iterations: int = DEFAULT_ITERATIONS,
    json_path: Path | None = None,
    env: str | None = None,
    config_path: Path | None = None,
    out: TextIO | None = None,
) -> int:
    """Read, format, and write the JSON (atomically) only once everything was read."""
    # Imported here: the renderers import this module's model.
    from mind_runner import asv_commands
    from mind_runner.report_json import to_json, write_json
    from mind_runner.report_text import format_text

    config = config_path or asv_commands.CONFIG_PATH
    conf = asv_commands.load_config(config)
    results_dir = config.parent / str(conf.results_dir)
    history = MindHistory.open(conf, config.parent)
    name = choose_machine(results_dir, machine)
    machine_results = load_machine(results_dir, name)
    chosen = select_commit(
        machine_results,
        commit,
        env=env,
        resolve=history.resolve if history.repo is not None else None,
        order=history.order(f.commit_hash for f in machine_results.files),
    )
    report = build_report(chosen, history, iterations)
    text = format_text(report)
    if json_path is not None:
        write_json(json_path, to_json(report))
        text += f"\nWrote {json_path}\n"
    (out or sys.stdout).write(text)
    return 0
