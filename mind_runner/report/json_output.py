"""The report as the seed's `real_autograd_results.json`, with tiers and statistics added.

The seed's keys come first and keep their meaning where asv can give it; every
figure says which tier it belongs to and what asv recorded, null where no value.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mind_runner.report.coverage import coverage_json
from mind_runner.report.measures import (
    BY_KEY,
    DEVICES,
    GRADIENT_PROGRAM,
    MEASURES,
    MODELS,
    RUNTIME_LABEL,
    ReportedBenchmark,
    Tier,
    Unit,
)
from mind_runner.report.model import (
    GradientsCorrect,
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
from mind_runner.results.asv_results import Figure
from mind_runner.util.errors import UserError
from mind_runner.util.files import write_atomically
from mind_runner.util.text import format_date

US = 1_000_000.0  # asv's seconds, the seed's microseconds


def _us(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * US


def figure_json(figure: Figure, measure: ReportedBenchmark) -> dict[str, Any]:
    """A figure with its tier and statistics; the seed's two keys first."""
    data: dict[str, Any] = {}
    value = figure.value if figure.ok else None
    if measure.unit is Unit.SECONDS:
        stats = figure.stats
        q_25 = stats.q_25 if stats else None
        q_75 = stats.q_75 if stats else None
        iqr = q_75 - q_25 if q_25 is not None and q_75 is not None and value is not None else None
        data.update(
            time_mean_us=_us(value),
            time_stdev_us=None if iqr is None else iqr / 1.349 * US,
            statistic="median",
            time_median_us=_us(value),
            time_q25_us=_us(q_25),
            time_q75_us=_us(q_75),
            time_iqr_us=_us(iqr),
            time_ci_99_us=(
                [stats.ci_99_a * US, stats.ci_99_b * US]
                if stats and stats.ci_99_a is not None and stats.ci_99_b is not None
                else None
            ),
            samples=sample_count(figure) if value is not None else None,
            calls_per_sample=stats.number if stats else None,
            samples_us=(
                [x * US for x in figure.samples] if figure.samples and value is not None else None
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
    correctness = {}
    loop = {}
    for model in MODELS:
        mind = report.value(model, "mind_gradient")
        correct = gradients_correct(report, model)
        runtime = runtime_gradients_correct(report, model)
        benchmarks[model] = {
            "pytorch": figure(model, "pytorch_backward", device),
            "mind": figure(model, "mind_gradient"),
            "ratio": ratio(report.value(model, "pytorch_backward", device), mind),
            "ratio_meaning": "PyTorch per-iteration backward / MIND one-time gradient generation",
            "mind_gradients_correct": correct.summary,
            "mind_runtime": figure(model, "mind_runtime_gradient"),
            "mind_runtime_gradients_correct": runtime.summary,
        }
        generation[model] = {
            "mind": figure(model, "mind_gradient"),
            "mind_gradients_correct": correct.summary,
            "pytorch_aot_capture": per_device(model, "pytorch_aot_capture"),
            "ratio": {
                d: ratio(report.value(model, "pytorch_aot_capture", d), mind) for d in DEVICES
            },
        }
        iteration[model] = {
            "mind": {
                "label": RUNTIME_LABEL,
                **figure(model, "mind_runtime_gradient"),
                "gradients_correct": runtime.summary,
                "materialized_gradients": report.value(model, "mind_runtime_materialized"),
            },
            "pytorch_same_fills": per_device(model, "pytorch_same_fills"),
            "mind_gradient_program": {
                "label": GRADIENT_PROGRAM,
                **figure(model, "mind_gradient_program"),
            },
            "pytorch_forward_backward": per_device(model, "pytorch_forward_backward"),
            "pytorch_backward": per_device(model, "pytorch_backward"),
        }
        share, noisy = autodiff_share(report, model)
        process[model] = {
            "mind_startup": figure(model, "mind_startup"),
            "mind_front_end": figure(model, "mind_front_end"),
            "mind_gradient": figure(model, "mind_gradient"),
            "autodiff_share_us": _us(share),
            "autodiff_share_within_noise": None if share is None else noisy,
        }
        counts[model] = {
            key: figure(model, key, "cpu")
            for key in (m.key for m in MEASURES if m.tier is Tier.COUNT)
        }
        correctness[model] = {
            **_correctness_json(report, model, correct),
            "silent_failures": figure(model, "mind_compile_time_silent_failures"),
            "runtime": {
                **_runtime_correctness_json(report, model, runtime),
                "silent_failures": figure(model, "mind_runtime_silent_failures"),
                "materialized_gradients": figure(model, "mind_runtime_materialized"),
            },
            "still_to_compute_by_either": still_to_compute_by_either(correct, runtime),
        }
        loop[model] = {
            "mind": {
                **_loop_json(loop_totals(report, model, "cpu")["mind"]),
                "still_to_compute": None if correct.missing is None else list(correct.missing),
            },
            "mind_runtime": {
                **_loop_json(loop_totals(report, model, "cpu")["mind_runtime"]),
                "still_to_compute": None if runtime.missing is None else list(runtime.missing),
            },
            "pytorch": {
                d: {
                    name: _loop_json(total)
                    for name, total in loop_totals(report, model, d).items()
                    if not name.startswith("mind")
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
            "gradient_correctness": "Each parameter's gradient in MIND's printed IR, run in the "
            "seed reading (the scalar seed of `sum` read as ones of the summed shape) on "
            "seeded random values, against torch.autograd.grad: present, absent or wrong; "
            "mind_gradients_correct is e.g. `3/5 (b1, b2 absent)`",
            "mind_runtime": f"{RUNTIME_LABEL}: `grad(tensor.sum(...), wrt=[...])` per call, "
            "each parameter's gradient against torch.autograd.grad on the same fills (distinct "
            "odd primes); timed whatever the verdict; materialized_gradients = gradients "
            "computed as buffers rather than kept as one symbolic fill",
            "silent_failures": "gradients absent or wrong while MIND exited 0 and printed no "
            "error, per engine",
            "mind_gradient_program": f"{GRADIENT_PROGRAM}: MIND's gradient instructions, each "
            "one eager PyTorch CPU call on primal values computed beforehand, timed beside "
            "`.backward()`; only where every gradient is present",
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
            "gradient_correctness": correctness,
            "rule_coverage": None if report.coverage is None else coverage_json(report.coverage),
        },
        "training_loop": {
            "iterations": n,
            "formula": "total = one-time + N x per-iteration",
            "measured": [
                "MIND gradient generation (one-time)",
                f"MIND runtime call per iteration ({RUNTIME_LABEL}), where its gradients are right",
                "PyTorch forward+backward and backward (per iteration)",
                "PyTorch AOT capture (one-time)",
            ],
            "not_measured": [
                "execution of MIND's gradient IR per iteration (MIND's CLI does not run it)",
                "the gradients MIND's IR lacks or gets wrong (benchmarks.<model>.mind."
                "still_to_compute), which a MIND user must obtain by other means",
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
            "run_log": list(report.notes),
        },
    }


def _runtime_correctness_json(
    report: Report, model: str, correct: GradientsCorrect
) -> dict[str, Any]:
    """The runtime engine's summary, count and per-parameter verdicts."""
    return {
        "summary": correct.summary,
        "still_to_compute": None if correct.missing is None else list(correct.missing),
        "incorrect_gradients": figure_json(
            report.get(model, "mind_runtime_incorrect_gradients"),
            BY_KEY["mind_runtime_incorrect_gradients"],
        ),
        "parameters": {
            name: {
                "verdict": None if verdict is None else verdict.value,
                **figure_json(
                    report.get(model, "mind_runtime_gradient_verdict", name),
                    BY_KEY["mind_runtime_gradient_verdict"],
                ),
            }
            for name, verdict in correct.verdicts.items()
        },
    }


def _correctness_json(report: Report, model: str, correct: GradientsCorrect) -> dict[str, Any]:
    """The summary, the two counts and each parameter's verdict with its figure."""
    return {
        "summary": correct.summary,
        "still_to_compute": None if correct.missing is None else list(correct.missing),
        "incorrect_gradients": figure_json(
            report.get(model, "mind_incorrect_gradients"), BY_KEY["mind_incorrect_gradients"]
        ),
        "as_printed_misfits": figure_json(
            report.get(model, "mind_as_printed_misfits"), BY_KEY["mind_as_printed_misfits"]
        ),
        "parameters": {
            name: {
                "verdict": None if verdict is None else verdict.value,
                **figure_json(
                    report.get(model, "mind_gradient_verdict", name),
                    BY_KEY["mind_gradient_verdict"],
                ),
            }
            for name, verdict in correct.verdicts.items()
        },
    }


def _loop_json(total: LoopTotal) -> dict[str, Any]:
    return {
        "one_time_us": _us(total.one_time),
        "one_time": total.one_time_is,
        "per_iteration_us": _us(total.per_iteration),
        "per_iteration": total.per_iteration_is,
        "total_us": _us(total.total),
        "total_at_least_us": _us(total.at_least),
    }


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
