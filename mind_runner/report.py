"""`python -m mind_runner report`: the seed's comparison, from asv's results of one commit.

Users of MIND's `benchmark_real_autograd.py` expect its table and its
`real_autograd_results.json`. Its headline ratio divides PyTorch's per-iteration
backward by MIND's one-time gradient generation, so the report reproduces it with
that label, then sets beside it the comparisons of like with like (see
DESIGN.md, "tiers") and the training-loop arithmetic with what it leaves out.
A figure asv did not record (skipped, failed, never run) reads as such, never 0.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, TextIO

from mind_runner.cases import SEED_CASES
from mind_runner.errors import UserError
from mind_runner.manifest import write_atomically
from mind_runner.results import (
    CommitResults,
    Figure,
    MindHistory,
    Status,
    choose_machine,
    format_date,
    load_machine,
    select_commit,
)

SEED_JSON_NAME = "real_autograd_results.json"
DEFAULT_ITERATIONS = 1000
MODELS = tuple(SEED_CASES)
DEVICES = ("cpu", "cuda")
NO_EXECUTOR = "no gradient executor in MIND's CLI"
RULE = "=" * 80
TIMES = "\N{MULTIPLICATION SIGN}"  # the seed's ratio suffix


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
COUNT_HEADERS = {
    "mind_gradient_ir_instructions": "IR size",
    "mind_gradient_call_instructions": "gradient call",
    "mind_front_end_instructions": "front end",
    "mind_autodiff_instructions": "autodiff share",
    "mind_peak_rss": "mindc peak RSS",
    "pytorch_saved_tensor_bytes": "PyTorch saved (cpu)",
}


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


# --- numbers as text -------------------------------------------------------------


def format_time(seconds: float) -> str:
    """The seed's format_time, from asv's seconds: µs below 1 ms, ms below 1 s, else s."""
    us = seconds * 1_000_000
    if abs(us) < 1000:
        return f"{us:.1f} µs"
    if abs(us) < 1_000_000:
        return f"{us / 1000:.2f} ms"
    return f"{us / 1_000_000:.2f} s"


def format_ratio(ratio: float | None) -> str:
    """The seed's `1.23` and multiplication sign; two significant digits below 0.1."""
    if ratio is None:
        return "n/a"
    return (f"{ratio:.2f}" if abs(ratio) >= 0.1 else f"{ratio:.2g}") + TIMES


def format_value(value: float, unit: Unit) -> str:
    if unit is Unit.SECONDS:
        return format_time(value)
    if unit is Unit.BYTES:
        for size, name in ((2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
            if abs(value) >= size:
                return f"{value / size:.2f} {name}"
        return f"{value:.0f} B"
    if unit is Unit.PERCENT:
        return f"{value:.2f} %"
    return f"{value:,.0f}"


def cell(figure: Figure, unit: Unit, commit: str) -> str:
    """A table cell: the value, or what asv recorded instead; * = another commit's."""
    if not figure.ok or figure.value is None:
        return figure.status.value
    mark = "*" if figure.commit not in (None, commit) else ""
    return format_value(figure.value, unit) + mark


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator


def table(rows: Sequence[Sequence[str]], right: Sequence[int] = ()) -> list[str]:
    """Columns as wide as their widest cell; `right` columns right-aligned."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for number, row in enumerate(rows):
        cells = [
            text.rjust(widths[i]) if i in right else text.ljust(widths[i])
            for i, text in enumerate(row)
        ]
        lines.append("  ".join(cells).rstrip())
        if number == 0:
            lines.append("-" * len(lines[0]))
    return lines


# --- the text report ---------------------------------------------------------------


def format_text(report: Report) -> str:
    sections = [
        _header(report),
        _seed_table(report),
        _generation_table(report),
        _iteration_table(report),
        _process_table(report),
        _counts_table(report),
        _training_loop(report),
        _statistics(report),
    ]
    return "\n\n".join("\n".join(lines) for lines in sections) + "\n"


def _header(report: Report) -> list[str]:
    info = report.machine_info
    described = ", ".join(
        str(info[key]) for key in ("os", "arch", "cpu") if info.get(key) not in (None, "")
    )
    extra = [
        f"{info['num_cpu']} CPUs" if info.get("num_cpu") else "",
        f"{_ram(info['ram'])} RAM" if info.get("ram") else "",
    ]
    described = ", ".join(part for part in (described, *extra) if part) or "no details"
    name = f", {report.commit_name}" if report.commit_name else ""
    return [
        "MIND vs PyTorch autodiff, from asv results",
        RULE,
        f"Commit:   {report.commit} ({format_date(report.commit_date)}{name})",
        f"MIND:     {report.mind_version} ({report.mind_version_note})",
        f"Machine:  {report.machine} ({described})",
        f"Env:      {report.env_name} (python {report.python}, torch {report.torch})",
        f"Results:  {report.result_file}",
    ]


def _ram(ram: Any) -> str:
    """asv stores RAM as bytes (a digit string) or as the user typed it."""
    text = str(ram)
    return f"{int(text) / 2**30:.1f} GiB" if text.isdigit() else text


def _missing(report: Report, shown: Sequence[tuple[str, str, str]]) -> list[str]:
    """What the table's figures without a value are, one line per status and reason."""
    groups: dict[tuple[str, str], dict[str, list[str]]] = {}
    elsewhere: set[str] = set()
    for model, key, device in shown:
        figure = report.get(model, key, device)
        if figure.ok and figure.commit not in (None, report.commit):
            elsewhere.add(str(figure.commit)[:8])
        if not figure.ok:
            label = BY_KEY[key].label + (f" ({device})" if BY_KEY[key].pytorch else "")
            labels = groups.setdefault((figure.status.value, figure.reason or ""), {})
            labels.setdefault(label, []).append(model)
    lines = []
    for (status, reason), labels in groups.items():
        what = "; ".join(
            f"{label} ({'all models' if len(models) == len(MODELS) else ', '.join(models)})"
            for label, models in labels.items()
        )
        lines.append(f"{status}: {what}: {reason}")
    if elsewhere:
        lines.append(
            f"* measured at commit {', '.join(sorted(elsewhere))} (same machine and env): "
            "this commit has no PyTorch results, and PyTorch does not depend on MIND's commit"
        )
    return lines


def _seed_table(report: Report) -> list[str]:
    device = report.seed_device
    lines = [
        "The seed's table (benchmark_real_autograd.py), from asv",
        RULE,
        "MIND: Compile-time autodiff (gradient IR generation, one whole mindc process)",
        f"PyTorch: Runtime autodiff (backward pass execution, {device})",
        "",
        f"{'Benchmark':<20} {'MIND (compile)':<20} {'PyTorch (runtime)':<20} Ratio",
        "-" * 80,
    ]
    shown = []
    for model in MODELS:
        mind = report.get(model, "mind_gradient")
        pytorch = report.get(model, "pytorch_backward", device)
        value = ratio(
            report.value(model, "pytorch_backward", device), report.value(model, "mind_gradient")
        )
        lines.append(
            f"{model:<20} {cell(mind, Unit.SECONDS, report.commit):<20} "
            f"{cell(pytorch, Unit.SECONDS, report.commit):<20} {format_ratio(value):>14}"
        )
        shown += [(model, "mind_gradient", ""), (model, "pytorch_backward", device)]
    lines += [
        "-" * 80,
        "Ratio = PyTorch (runtime) / MIND (compile): it divides a per-iteration cost by a "
        "one-time cost, so it is no speed-up; like-for-like tables follow.",
        *_missing(report, shown),
    ]
    return lines


def _generation_table(report: Report) -> list[str]:
    rows = [
        [
            "Benchmark",
            "MIND gradient IR",
            *[f"PyTorch AOT capture ({d})" for d in report.devices],
            *[f"Ratio ({d})" for d in report.devices],
        ]
    ]
    shown = []
    for model in MODELS:
        mind = report.value(model, "mind_gradient")
        rows.append(
            [
                model,
                cell(report.get(model, "mind_gradient"), Unit.SECONDS, report.commit),
                *[
                    cell(report.get(model, "pytorch_aot_capture", d), Unit.SECONDS, report.commit)
                    for d in report.devices
                ],
                *[
                    format_ratio(ratio(report.value(model, "pytorch_aot_capture", d), mind))
                    for d in report.devices
                ],
            ]
        )
        shown += [(model, "mind_gradient", "")]
        shown += [(model, "pytorch_aot_capture", d) for d in report.devices]
    right = range(2, 2 + 2 * len(report.devices))
    return [
        f"Tier: {Tier.GENERATION.value}, like for like",
        RULE,
        *table(rows, right=right),
        "MIND: `mindc --autodiff --emit-grad-ir` as a whole process (start-up included); "
        "PyTorch: AOTAutograd capturing the joint forward/backward graph in-process. "
        "Ratio = PyTorch / MIND.",
        *_missing(report, shown),
    ]


def _iteration_table(report: Report) -> list[str]:
    rows = [
        [
            "Benchmark",
            "MIND",
            *[f"PyTorch forward+backward ({d})" for d in report.devices],
            *[f"PyTorch backward ({d})" for d in report.devices],
        ]
    ]
    shown = []
    for model in MODELS:
        rows.append(
            [
                model,
                NO_EXECUTOR,
                *[
                    cell(report.get(model, key, d), Unit.SECONDS, report.commit)
                    for key in ("pytorch_forward_backward", "pytorch_backward")
                    for d in report.devices
                ],
            ]
        )
        shown += [
            (model, key, d)
            for key in ("pytorch_forward_backward", "pytorch_backward")
            for d in report.devices
        ]
    return [
        f"Tier: {Tier.ITERATION.value}, like for like",
        RULE,
        *table(rows, right=range(2, 2 + 2 * len(report.devices))),
        "MIND's CLI can print gradient IR but not run it: its per-iteration cost is not "
        "measured, and it is not zero.",
        *_missing(report, shown),
    ]


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


def _process_table(report: Report) -> list[str]:
    rows = [["Benchmark", "start-up", "front end", "gradient", "gradient - front end"]]
    shown = []
    for model in MODELS:
        share, noisy = autodiff_share(report, model)
        rows.append(
            [
                model,
                *[
                    cell(report.get(model, key), Unit.SECONDS, report.commit)
                    for key in ("mind_startup", "mind_front_end", "mind_gradient")
                ],
                "n/a"
                if share is None
                else format_time(share) + (" (within noise)" if noisy else ""),
            ]
        )
        shown += [(model, key, "") for key in ("mind_startup", "mind_front_end", "mind_gradient")]
    return [
        f"Tier: {Tier.PROCESS.value} (MIND)",
        RULE,
        *table(rows, right=range(1, 5)),
        "Each is a whole mindc process; gradient - front end is the autodiff share, a "
        "difference of medians: within noise when no larger than either one's IQR.",
        *_missing(report, shown),
    ]


def _counts_table(report: Report) -> list[str]:
    every = [m.key for m in MEASURES if m.tier is Tier.COUNT and not m.hidden]
    keys = [
        k
        for k in every
        if any(report.get(m, k, "cpu").status is not Status.NOT_RUN for m in MODELS)
    ]
    absent = [BY_KEY[k].label for k in every if k not in keys]
    rows = [["Benchmark", *[COUNT_HEADERS[k] for k in keys]]]
    shown = []
    for model in MODELS:
        rows.append(
            [
                model,
                *[cell(report.get(model, k, "cpu"), BY_KEY[k].unit, report.commit) for k in keys],
            ]
        )
        shown += [(model, k, "cpu") for k in keys]
    return [
        "Counts (repeatable where wall time is not)",
        RULE,
        *(table(rows, right=range(1, len(keys) + 1)) if keys else []),
        "IR size: gradient IR instructions MIND emits. Gradient call, front end, autodiff "
        "share: instructions retired (callgrind), the share being their difference. "
        "PyTorch saved: bytes autograd keeps for backward per forward.",
        *_missing(report, shown),
        *(
            [f"not run: {', '.join(absent)}: not in the results of {report.commit[:8]}"]
            if absent
            else []
        ),
    ]


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

    def text(self) -> str:
        if self.total is not None:
            return format_time(self.total)
        if self.at_least is not None:
            return f">= {format_time(self.at_least)}"
        return "n/a"


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


def _training_loop(report: Report) -> list[str]:
    n = report.iterations
    device = report.seed_device
    rows = [
        [
            "Benchmark",
            "MIND",
            f"PyTorch eager ({device})",
            f"seed: N x backward ({device})",
            f"PyTorch AOT ({device})",
        ]
    ]
    for model in MODELS:
        totals = loop_totals(report, model, device)
        rows.append(
            [
                model,
                *[
                    totals[k].text()
                    for k in ("mind", "pytorch_eager", "pytorch_backward_only", "pytorch_aot")
                ],
            ]
        )
    return [
        f"Training-loop impact, N = {n:,} iterations: total = one-time + N x per-iteration",
        RULE,
        *table(rows, right=range(1, 5)),
        "MIND = gradient generation once + N x gradient execution (not measured: "
        f"{NO_EXECUTOR}): >= marks a lower bound, not a total.",
        "PyTorch eager = N x forward+backward (no separate one-time step: the tape is "
        "recorded in every forward); the seed's column counts N x backward alone.",
        "PyTorch AOT = AOT capture once + N x compiled step (not measured): a lower bound.",
        "Measured: MIND's gradient generation (one whole process), PyTorch's forward, "
        "backward and AOT capture. Not measured: MIND's gradient execution and forward "
        "pass, optimizer steps, data loading. The seed's 'savings' (N x backward minus "
        "one generation) leave out MIND's per-iteration cost, so none is printed here.",
    ]


def _statistics(report: Report) -> list[str]:
    rows = [["Figure", "median", "spread: IQR (q25 to q75)", "99% CI", "samples", "measured at"]]
    for model in MODELS:
        for measure in (m for m in MEASURES if not m.hidden):
            devices = report.devices if measure.pytorch else ("",)
            if measure.tier is Tier.COUNT:
                devices = ("cpu",) if measure.pytorch else ("",)
            for device in devices:
                figure = report.get(model, measure.key, device)
                if not figure.ok or figure.value is None:
                    continue
                label = f"{model} {measure.label}" + (f" ({device})" if device else "")
                cells = _statistics_cells(figure, measure.unit)
                spread = report.get(model, measure.spread) if measure.spread else None
                if spread is not None and spread.ok and spread.value is not None:
                    cells[1] = f"{spread.value:.2f} % (run to run)"
                rows.append([label, *cells])
    return [
        "Sample statistics behind each number (asv: the result is the median of the samples)",
        RULE,
        *(table(rows) if len(rows) > 1 else ["(no figures recorded at this commit)"]),
    ]


def _statistics_cells(figure: Figure, unit: Unit) -> list[str]:
    assert figure.value is not None
    at = str(figure.commit)[:8]
    stats = figure.stats
    if stats is None:
        return [format_value(figure.value, unit), "-", "-", "1 value (no samples)", at]
    spread = "-"
    if stats.q_25 is not None and stats.q_75 is not None:
        spread = (
            f"{format_value(stats.q_75 - stats.q_25, unit)} "
            f"({format_value(stats.q_25, unit)} to {format_value(stats.q_75, unit)})"
        )
    ci = "-"
    if stats.ci_99_a is not None and stats.ci_99_b is not None:
        ci = f"[{format_value(stats.ci_99_a, unit)}, {format_value(stats.ci_99_b, unit)}]"
    count = sample_count(figure)
    number = stats.number
    samples = "?" if count is None else f"{count}"
    if number is not None:
        samples += f" x {number} call{'s' if number != 1 else ''}"
    return [format_value(figure.value, unit), spread, ci, samples, at]


def sample_count(figure: Figure) -> int | None:
    """Samples behind a median: those recorded, else asv's `repeat` statistic."""
    if figure.samples is not None:
        return len(figure.samples)
    return figure.stats.repeat if figure.stats is not None else None


# --- the JSON ----------------------------------------------------------------------


def figure_json(figure: Figure, measure: Measure) -> dict[str, Any]:
    """A figure with its tier and statistics; the seed's two keys first."""
    data: dict[str, Any] = {}
    us = 1_000_000.0
    value = figure.value if figure.ok else None
    if measure.unit is Unit.SECONDS:
        stats = figure.stats
        q_25 = stats.q_25 if stats else None
        q_75 = stats.q_75 if stats else None
        iqr = q_75 - q_25 if q_25 is not None and q_75 is not None and value is not None else None
        data.update(
            time_mean_us=None if value is None else value * us,
            time_stdev_us=None if iqr is None else iqr / 1.349 * us,
            statistic="median",
            time_median_us=None if value is None else value * us,
            time_q25_us=None if q_25 is None else q_25 * us,
            time_q75_us=None if q_75 is None else q_75 * us,
            time_iqr_us=None if iqr is None else iqr * us,
            time_ci_99_us=(
                [stats.ci_99_a * us, stats.ci_99_b * us]
                if stats and stats.ci_99_a is not None and stats.ci_99_b is not None
                else None
            ),
            samples=sample_count(figure) if value is not None else None,
            calls_per_sample=stats.number if stats else None,
            samples_us=(
                [x * us for x in figure.samples] if figure.samples and value is not None else None
            ),
        )
    else:
        data.update(value=value, unit=measure.unit.value)
    data.update(
        tier=measure.tier.value,
        status=figure.status.value,
        reason=figure.reason,
        benchmark=figure.benchmark,
        params=dict(figure.params),
        measured_at_commit=figure.commit,
        result_file=None if figure.result_file is None else str(figure.result_file),
    )
    return data


def to_json(report: Report) -> dict[str, Any]:
    info = report.machine_info
    device = report.seed_device
    n = report.iterations

    def figure(model: str, key: str, device: str = "") -> dict[str, Any]:
        return figure_json(report.get(model, key, device), BY_KEY[key])

    def per_device(model: str, key: str) -> dict[str, Any]:
        return {d: figure(model, key, d) for d in DEVICES}

    benchmarks = {}
    generation = {}
    iteration = {}
    process = {}
    counts = {}
    loop = {}
    for model in MODELS:
        mind = report.value(model, "mind_gradient")
        benchmarks[model] = {
            "pytorch": figure(model, "pytorch_backward", device),
            "mind": figure(model, "mind_gradient"),
            "ratio": ratio(report.value(model, "pytorch_backward", device), mind),
            "ratio_meaning": "PyTorch per-iteration backward / MIND one-time gradient generation",
        }
        generation[model] = {
            "mind": figure(model, "mind_gradient"),
            "pytorch_aot_capture": per_device(model, "pytorch_aot_capture"),
            "ratio": {
                d: ratio(report.value(model, "pytorch_aot_capture", d), mind) for d in DEVICES
            },
        }
        iteration[model] = {
            "mind": {"status": "not measurable", "reason": NO_EXECUTOR, "value": None},
            "pytorch_forward_backward": per_device(model, "pytorch_forward_backward"),
            "pytorch_backward": per_device(model, "pytorch_backward"),
        }
        share, noisy = autodiff_share(report, model)
        process[model] = {
            "mind_startup": figure(model, "mind_startup"),
            "mind_front_end": figure(model, "mind_front_end"),
            "mind_gradient": figure(model, "mind_gradient"),
            "autodiff_share_us": None if share is None else share * 1_000_000,
            "autodiff_share_within_noise": None if share is None else noisy,
        }
        counts[model] = {
            key: figure(model, key, "cpu")
            for key in (m.key for m in MEASURES if m.tier is Tier.COUNT)
        }
        loop[model] = {
            "mind": _loop_json(loop_totals(report, model, "cpu")["mind"]),
            "pytorch": {
                d: {
                    name: _loop_json(total)
                    for name, total in loop_totals(report, model, d).items()
                    if name != "mind"
                }
                for d in DEVICES
            },
        }
    return {
        "system_info": {
            "platform": " ".join(str(info[k]) for k in ("os", "arch") if info.get(k)) or "unknown",
            "python_version": report.python,
            "pytorch_version": report.torch,
            "cpu": info.get("cpu") or "unknown",
            "cuda_available": report.cuda_available,
            "machine": report.machine,
            "num_cpu": info.get("num_cpu"),
            "ram": info.get("ram"),
            "asv_env": report.env_name,
            "source": "asv's machine.json and result file; pytorch_version is asv's "
            "requirement for the environment",
        },
        "methodology": {
            "mind": "Gradient generation, one-time: one whole `mindc FILE --autodiff "
            "--emit-grad-ir --func main` process (start-up included)",
            "pytorch": f"Per-iteration: `loss.backward()` alone on {device}",
            "note": "Both from asv results of one commit on one machine. The ratio divides "
            "a per-iteration cost by a one-time cost: it is not a speed-up; see `tiers` "
            "for like-for-like comparisons",
            "statistics": "time_mean_us keeps the seed's key but holds asv's median; "
            "time_stdev_us is IQR / 1.349 (the normal-equivalent standard deviation); "
            "samples = how many samples the median is of",
            "missing": "A figure asv did not record has status skipped / failed / not run "
            "and null values, never 0",
        },
        "benchmarks": benchmarks,
        "commit": {
            "hash": report.commit,
            "date": format_date(report.commit_date),
            "name": report.commit_name,
            "mind_version": report.mind_version,
            "mind_version_source": report.mind_version_note,
        },
        "tiers": {
            "gradient_generation": generation,
            "per_iteration": iteration,
            "process_and_front_end": process,
            "counts": counts,
        },
        "training_loop": {
            "iterations": n,
            "formula": "total = one-time + N x per-iteration",
            "measured": [
                "MIND gradient generation (one-time)",
                "PyTorch forward+backward and backward (per iteration)",
                "PyTorch AOT capture (one-time)",
            ],
            "not_measured": [
                f"MIND gradient execution per iteration ({NO_EXECUTOR})",
                "MIND forward execution",
                "PyTorch compiled step after AOT capture",
                "optimizer steps, data loading",
            ],
            "seed_device": device,
            "benchmarks": loop,
        },
        "source": {
            "machine": report.machine,
            "result_file": str(report.result_file),
        },
    }


def _loop_json(total: LoopTotal) -> dict[str, Any]:
    us = 1_000_000.0

    def scaled(value: float | None) -> float | None:
        return None if value is None else value * us

    return {
        "one_time_us": scaled(total.one_time),
        "one_time": total.one_time_is,
        "per_iteration_us": scaled(total.per_iteration),
        "per_iteration": total.per_iteration_is,
        "total_us": scaled(total.total),
        "total_at_least_us": scaled(total.at_least),
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
    from mind_runner import asv_commands

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


def write_json(path: Path, data: Mapping[str, Any]) -> None:
    if path.is_dir():
        raise UserError(f"--json {path} is a directory: give a file name")
    try:
        text = json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
        write_atomically(path, text)
    except ValueError as error:  # a NaN slipped through: never write it as JSON
        raise UserError(f"not writing {path}: {error}") from None
    except OSError as error:
        raise UserError(f"cannot write {path}: {error.strerror or error}") from None
