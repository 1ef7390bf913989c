"""The report as text: the seed's table, one table per tier, the training loop, statistics.

Every figure comes from a `Report` (see `mind_runner.report.model`); a figure asv did
not record shows its status, and the lines under each table say why.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from mind_runner.report.coverage import coverage_rows
from mind_runner.report.measures import (
    BY_KEY,
    GRADIENT_PROGRAM,
    MEASURES,
    MODELS,
    RUNTIME_LABEL,
    Tier,
    Unit,
)
from mind_runner.report.model import (
    WRONG_NO_TOTAL,
    LoopTotal,
    Report,
    autodiff_share,
    gradients_correct,
    loop_totals,
    ratio,
    runtime_gradients_correct,
    sample_count,
    still_to_compute_by_either,
)
from mind_runner.results.asv_results import Figure, Status
from mind_runner.util.numbers import format_quantity, format_time
from mind_runner.util.text import format_date

RULE = "=" * 80
TIMES = "\N{MULTIPLICATION SIGN}"  # the seed's ratio suffix
COUNT_HEADERS = {
    "mind_gradient_ir_instructions": "IR size",
    "mind_gradient_call_instructions": "gradient call",
    "mind_front_end_instructions": "front end",
    "mind_autodiff_instructions": "autodiff share",
    "mind_peak_rss": "mindc peak RSS",
    "mind_runtime_instructions": "runtime gradient call",
    "pytorch_saved_tensor_bytes": "PyTorch saved (cpu)",
}

# The (measure key, device) pairs a table shows for each model; device "" for MIND's.
Pairs = Sequence[tuple[str, str]]
RIGHT = (
    "parameters whose gradient MIND's IR holds, run in the seed reading (the scalar seed "
    "of `sum` read as ones) on seeded random values and compared with torch.autograd.grad"
)


# --- numbers as text -------------------------------------------------------------


def format_ratio(ratio: float | None) -> str:
    """The seed's `1.23` and multiplication sign; two significant digits below 0.1."""
    if ratio is None:
        return "n/a"
    return (f"{ratio:.2f}" if abs(ratio) >= 0.1 else f"{ratio:.2g}") + TIMES


def format_value(value: float, unit: Unit) -> str:
    return format_quantity(value, unit.value)


def cell(figure: Figure, unit: Unit, commit: str) -> str:
    """A table cell: the value, or what asv recorded instead; * = another commit's."""
    if not figure.ok or figure.value is None:
        return figure.status.value
    mark = "*" if figure.commit not in (None, commit) else ""
    return format_value(figure.value, unit) + mark


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
        _correctness_table(report),
        _coverage_table(report),
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
        *(f"Run log:  {note}" for note in report.notes),
    ]


def _ram(ram: Any) -> str:
    """asv stores RAM as bytes (a digit string) or as the user typed it."""
    text = str(ram)
    return f"{int(text) / 2**30:.1f} GiB" if text.isdigit() else text


def _cells(report: Report, model: str, pairs: Pairs) -> list[str]:
    """One cell per (measure key, device), each in its measure's unit."""
    return [
        cell(report.get(model, key, device), BY_KEY[key].unit, report.commit)
        for key, device in pairs
    ]


def _missing(report: Report, pairs: Pairs) -> list[str]:
    """What the table's figures without a value are, one line per status and reason."""
    groups: dict[tuple[str, str], dict[str, list[str]]] = {}
    elsewhere: set[str] = set()
    for model, (key, device) in itertools.product(MODELS, pairs):
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


def _tier_table(
    report: Report,
    title: str,
    rows: Sequence[Sequence[str]],
    right: Sequence[int],
    note: str,
    pairs: Pairs,
) -> list[str]:
    """A tier's section: title, table, what it compares, and what it lacks."""
    return [title, RULE, *table(rows, right=right), note, *_missing(report, pairs)]


def _seed_table(report: Report) -> list[str]:
    device = report.seed_device
    lines = [
        "The seed's table (benchmark_real_autograd.py), from asv",
        RULE,
        "MIND: Compile-time autodiff (gradient IR generation, one whole mindc process)",
        f"PyTorch: Runtime autodiff (backward pass execution, {device})",
        "",
        f"{'Benchmark':<20} {'MIND (compile)':<20} {'MIND gradients right':<22} "
        f"{'MIND runtime':<26} {'PyTorch (runtime)':<20} Ratio",
        "-" * 126,
    ]
    pairs = [("mind_gradient", ""), ("pytorch_backward", device)]
    for model in MODELS:
        mind, pytorch = _cells(report, model, pairs)
        correct = gradients_correct(report, model).summary
        value = ratio(
            report.value(model, "pytorch_backward", device), report.value(model, "mind_gradient")
        )
        runtime = _runtime_cell(report, model)
        lines.append(
            f"{model:<20} {mind:<20} {correct:<22} {runtime:<26} {pytorch:<20} "
            f"{format_ratio(value):>14}"
        )
    lines += [
        "-" * 126,
        "Ratio = PyTorch (runtime) / MIND (compile): it divides a per-iteration cost by a "
        "one-time cost, so it is no speed-up; like-for-like tables follow.",
        f"MIND gradients right: {RIGHT}.",
        f"MIND runtime: {RUNTIME_LABEL}, per call, with how many of its gradients are right "
        "(against torch.autograd.grad on the same fills).",
        *_missing(report, [*pairs, ("mind_runtime_gradient", "")]),
    ]
    return lines


def _runtime_cell(report: Report, model: str) -> str:
    """MIND's runtime call and its verdict, e.g. `6.11 ms, 1/5 right`."""
    figure = report.get(model, "mind_runtime_gradient")
    time = cell(figure, Unit.SECONDS, report.commit)
    summary = runtime_gradients_correct(report, model).summary
    counted = summary.split(" ", 1)[0]
    if "/" in counted:
        return f"{time}, {counted} right"
    return time if summary == figure.status.value else f"{time} ({summary})"


def _generation_table(report: Report) -> list[str]:
    devices = report.devices
    rows = [
        [
            "Benchmark",
            "MIND gradient IR",
            "MIND gradients right",
            *[f"PyTorch AOT capture ({d})" for d in devices],
            *[f"Ratio ({d})" for d in devices],
        ]
    ]
    pairs = [("mind_gradient", ""), *[("pytorch_aot_capture", d) for d in devices]]
    for model in MODELS:
        mind = report.value(model, "mind_gradient")
        mind_cell, *pytorch_cells = _cells(report, model, pairs)
        rows.append(
            [
                model,
                mind_cell,
                gradients_correct(report, model).summary,
                *pytorch_cells,
                *[
                    format_ratio(ratio(report.value(model, "pytorch_aot_capture", d), mind))
                    for d in devices
                ],
            ]
        )
    return _tier_table(
        report,
        f"Tier: {Tier.GENERATION.value}, like for like",
        rows,
        range(3, 3 + 2 * len(devices)),
        "MIND: `mindc --autodiff --emit-grad-ir` as a whole process (start-up included); "
        "PyTorch: AOTAutograd capturing the joint forward/backward graph in-process, every "
        f"gradient right by construction. Ratio = PyTorch / MIND. MIND gradients right: {RIGHT}.",
        pairs,
    )


def _iteration_table(report: Report) -> list[str]:
    devices = report.devices
    rows = [
        [
            "Benchmark",
            "MIND runtime (cpu)",
            "MIND's gradient program on PyTorch kernels (cpu)",
            *[f"PyTorch forward+backward ({d})" for d in devices],
            *[f"PyTorch backward ({d})" for d in devices],
        ]
    ]
    pytorch = [
        (key, d) for key in ("pytorch_forward_backward", "pytorch_backward") for d in devices
    ]
    pairs = [("mind_runtime_gradient", ""), ("mind_gradient_program", ""), *pytorch]
    for model in MODELS:
        rows.append([model, _runtime_cell(report, model), *_cells(report, model, pairs[1:])])
    return _tier_table(
        report,
        f"Tier: {Tier.ITERATION.value}, like for like",
        rows,
        range(2, 3 + 2 * len(devices)),
        f"MIND runtime: {RUNTIME_LABEL} (`grad(...)` evaluated per call, timed whatever its "
        "verdict, which stands beside it; constant tensors may stay symbolic, see "
        "`materialized` in the JSON). MIND's CLI does not run its gradient IR. "
        f"{GRADIENT_PROGRAM}: the gradient instructions "
        "MIND emits (seed reading), each run as one eager PyTorch CPU call on primal values "
        "computed beforehand, beside `.backward()` on a recorded forward; timed only where "
        "every gradient is present (it would otherwise do less work than `.backward()`).",
        pairs,
    )


def _process_table(report: Report) -> list[str]:
    rows = [["Benchmark", "start-up", "front end", "gradient", "gradient - front end"]]
    pairs = [(key, "") for key in ("mind_startup", "mind_front_end", "mind_gradient")]
    for model in MODELS:
        share, noisy = autodiff_share(report, model)
        rows.append(
            [
                model,
                *_cells(report, model, pairs),
                "n/a"
                if share is None
                else format_time(share) + (" (within noise)" if noisy else ""),
            ]
        )
    return _tier_table(
        report,
        f"Tier: {Tier.PROCESS.value} (MIND)",
        rows,
        range(1, 5),
        "Each is a whole mindc process; gradient - front end is the autodiff share, a "
        "difference of medians: within noise when no larger than either one's IQR.",
        pairs,
    )


def _counts_table(report: Report) -> list[str]:
    every = [m.key for m in MEASURES if m.tier is Tier.COUNT and not m.hidden]
    keys = [
        k
        for k in every
        if any(report.get(m, k, "cpu").status is not Status.NOT_RUN for m in MODELS)
    ]
    absent = [BY_KEY[k].label for k in every if k not in keys]
    rows = [["Benchmark", *[COUNT_HEADERS[k] for k in keys]]]
    pairs = [(k, "cpu") for k in keys]
    for model in MODELS:
        rows.append([model, *_cells(report, model, pairs)])
    return [
        "Counts (repeatable where wall time is not)",
        RULE,
        *(table(rows, right=range(1, len(keys) + 1)) if keys else []),
        "IR size: gradient IR instructions MIND emits. Gradient call, front end, autodiff "
        "share: instructions retired (callgrind), the share being their difference. "
        "PyTorch saved: bytes autograd keeps for backward per forward.",
        *_missing(report, pairs),
        *_not_repeatable(report, keys),
        *(
            [f"not run: {', '.join(absent)}: not in the results of {report.commit[:8]}"]
            if absent
            else []
        ),
    ]


def _correctness_table(report: Report) -> list[str]:
    rows = [["Benchmark", "gradients right", "incorrect", "misfits as printed", "per parameter"]]
    pairs = [("mind_incorrect_gradients", ""), ("mind_as_printed_misfits", "")]
    for model in MODELS:
        correct = gradients_correct(report, model)
        per_parameter = ", ".join(
            f"{name} {'?' if verdict is None else verdict.value}"
            for name, verdict in correct.verdicts.items()
        )
        rows.append([model, correct.summary, *_cells(report, model, pairs), per_parameter])
    return [
        f"Tier: {Tier.CORRECTNESS.value} (MIND)",
        RULE,
        *table(rows, right=(2, 3)),
        f"Gradients right: {RIGHT}. Incorrect = absent or wrong. Misfits as printed: "
        "instructions whose operands do not fit as MIND prints them (its scalar seed of "
        "`sum` fed into matmul or mul), not counting their dependents. ? = not recorded.",
        *_missing(report, pairs),
    ]


def _coverage_table(report: Report) -> list[str]:
    coverage = report.coverage
    if coverage is None or not coverage.measured:
        return ["Rule coverage: not measured at this commit (benchmarks/mind_coverage.py)"]
    right = "not recorded" if coverage.rules_right is None else str(coverage.rules_right)
    return [
        f"Tier: {Tier.CORRECTNESS.value}, per rule (every op MIND documents as differentiable)",
        RULE,
        *table(coverage_rows(coverage)),
        f"Rules right: {right} of {2 * len(coverage.cells)}. Each cell: right, wrong, absent "
        "(incorrect gradients in brackets), not expressible (MIND refused the program), "
        "error (MIND panicked, crashed or hung), not measured.",
    ]


def _not_repeatable(report: Report, keys: Sequence[str]) -> list[str]:
    """Counts whose run-to-run spread is not 0.00: a step of that size may be noise."""
    flagged = []
    for model in MODELS:
        for key in keys:
            spread_key = BY_KEY[key].spread
            spread = report.get(model, spread_key) if spread_key else None
            if spread is not None and spread.ok and spread.value:
                flagged.append(f"{model} {BY_KEY[key].label} ({percent_text(spread.value)})")
    if not flagged:
        return []
    return ["NOT REPEATABLE run to run (spread above 0.00 %): " + "; ".join(flagged)]


def _loop_text(total: LoopTotal) -> str:
    if total.per_iteration_is.startswith(WRONG_NO_TOTAL):
        return WRONG_NO_TOTAL
    if total.total is not None:
        return format_time(total.total)
    if total.at_least is not None:
        return f">= {format_time(total.at_least)}"
    return "n/a"


def _training_loop(report: Report) -> list[str]:
    n = report.iterations
    device = report.seed_device
    rows = [
        [
            "Benchmark",
            "MIND",
            "MIND runtime",
            f"PyTorch eager ({device})",
            f"seed: N x backward ({device})",
            f"PyTorch AOT ({device})",
            "MIND leaves to compute",
        ]
    ]
    for model in MODELS:
        totals = loop_totals(report, model, device)
        rows.append(
            [
                model,
                *[
                    _loop_text(totals[k])
                    for k in (
                        "mind",
                        "mind_runtime",
                        "pytorch_eager",
                        "pytorch_backward_only",
                        "pytorch_aot",
                    )
                ],
                still_to_compute_by_either(
                    gradients_correct(report, model), runtime_gradients_correct(report, model)
                ),
            ]
        )
    return [
        f"Training-loop impact, N = {n:,} iterations: total = one-time + N x per-iteration",
        RULE,
        *table(rows, right=range(1, 6)),
        "MIND leaves to compute: the gradients neither of MIND's engines gives right (the "
        "IR's and the runtime's gradient correctness), which a MIND user would still have "
        "to obtain by other means, at a cost in none of these totals.",
        "MIND = gradient generation once + N x gradient execution (not measured: MIND's "
        "CLI does not execute its gradient IR): >= marks a lower bound, not a total.",
        f"MIND runtime = N x one runtime call ({RUNTIME_LABEL}), only where all its "
        "gradients are right; where not: 'wrong gradients: no total'.",
        "PyTorch eager = N x forward+backward (no separate one-time step: the tape is "
        "recorded in every forward); the seed's column counts N x backward alone.",
        "PyTorch AOT = AOT capture once + N x compiled step (not measured): a lower bound.",
        "Measured: MIND's gradient generation (one whole process), MIND's runtime call, "
        "PyTorch's forward, backward and AOT capture. Not measured: execution of MIND's "
        "gradient IR, optimizer steps, data loading. The seed's 'savings' (N x backward "
        "minus one generation) leave out MIND's per-iteration cost, so none is printed here.",
    ]


def _statistics(report: Report) -> list[str]:
    rows = [["Figure", "median", "spread: IQR (q25 to q75)", "99% CI", "samples", "measured at"]]
    for model in MODELS:
        for measure in (m for m in MEASURES if not m.hidden and not m.per_parameter):
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
                    cells[1] = spread_text(spread.value)
                rows.append([label, *cells])
    return [
        "Sample statistics behind each number (asv: the result is the median of the samples)",
        RULE,
        *(table(rows) if len(rows) > 1 else ["(no figures recorded at this commit)"]),
    ]


def percent_text(percent: float) -> str:
    """Two decimals, more where two would print a spread that is not zero as 0.00."""
    return f"{percent:.2f} %" if percent == 0.0 or abs(percent) >= 0.01 else f"{percent:.1g} %"


def spread_text(percent: float) -> str:
    """A count's run-to-run spread; under fixed hash seeds anything but 0.00 is a warning."""
    if percent == 0.0:
        return "0.00 % (run to run: repeats exactly)"
    return f"{percent_text(percent)} (run to run) NOT REPEATABLE: a step this size may be noise"


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
