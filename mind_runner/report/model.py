"""The report's model: the seed's comparison, read once from asv's results of one commit.

Users of MIND's `benchmark_real_autograd.py` expect its table and its
`real_autograd_results.json`. Its headline ratio divides PyTorch's per-iteration
backward by MIND's one-time gradient generation, so the report reproduces it with
that label, then sets beside it the comparisons of like with like (see
README.md, "Glossary": tier) and the training-loop arithmetic with what it leaves out.
A figure asv did not record (skipped, failed, never run) reads as such, never 0.

This module holds the model (every figure, read once from one commit's results);
`report.text` renders it as tables, `report.json_output` as the seed's JSON, and
`commands.report` is the command.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mind_runner.mind.correctness import VERDICTS_BY_CODE, ParameterVerdict, Verdict, summarise
from mind_runner.mind.models import SEED_MODELS
from mind_runner.report.measures import (
    BY_KEY,
    DEVICES,
    MEASURES,
    MODELS,
    RUNTIME_LABEL,
    Tier,
)
from mind_runner.results.asv_results import CommitResults, Figure, Status
from mind_runner.results.coverage import Coverage, read_coverage
from mind_runner.results.mind_history import MindHistory

# figures[model][measure key][device for PyTorch's, parameter for per-parameter ones, or ""]
Figures = Mapping[str, Mapping[str, Mapping[str, Figure]]]


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
    figures: Figures
    # What the run logs say that the results file cannot (see report.run_notes).
    notes: tuple[str, ...] = ()
    coverage: Coverage | None = None

    def get(self, model: str, key: str, device: str = "") -> Figure:
        """A figure; `device` is the device of PyTorch's, the parameter of per-parameter ones."""
        measure = BY_KEY[key]
        return self.figures[model][key][device if measure.pytorch or measure.per_parameter else ""]

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


def build_report(
    commit_results: CommitResults,
    history: MindHistory,
    iterations: int,
    notes: tuple[str, ...] = (),
) -> Report:
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
            elif measure.per_parameter:
                per_model[measure.key] = {
                    p.name: commit_results.figure(
                        measure.benchmark, {"model": model, "parameter": p.name}
                    )
                    for p in SEED_MODELS[model].params
                }
            else:
                per_model[measure.key] = {
                    "": commit_results.figure(measure.benchmark, {"model": model})
                }
        _explain_program_skip(per_model, _gradients_correct(model, per_model))
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
        notes=notes,
        coverage=read_coverage(commit_results),
    )


# --- figures derived from figures --------------------------------------------------


@dataclass(frozen=True)
class GradientsCorrect:
    """How many of a model's gradients MIND's IR got right, as far as asv recorded."""

    summary: str  # e.g. `3/5 (b1, b2 absent)`, or the status of the missing figure
    missing: tuple[str, ...] | None  # parameters without a right gradient; None: unknown
    verdicts: Mapping[str, Verdict | None]  # per parameter, None where not recorded


def gradients_correct(report: Report, model: str) -> GradientsCorrect:
    """The compile-time engine's gradients (`mindc --emit-grad-ir`)."""
    return _gradients_correct(model, report.figures[model])


def runtime_gradients_correct(report: Report, model: str) -> GradientsCorrect:
    """The runtime engine's gradients (`mind eval --exec`)."""
    return _gradients_correct(
        model,
        report.figures[model],
        verdict_key="mind_runtime_gradient_verdict",
        count_key="mind_runtime_incorrect_gradients",
    )


def _gradients_correct(
    model: str,
    figures: Mapping[str, Mapping[str, Figure]],
    verdict_key: str = "mind_gradient_verdict",
    count_key: str = "mind_incorrect_gradients",
) -> GradientsCorrect:
    """From the per-parameter verdicts, else from the count alone (names unknown)."""
    params = SEED_MODELS[model].params
    verdicts: dict[str, Verdict | None] = {}
    for p in params:
        figure = figures[verdict_key][p.name]
        code = int(figure.value) if figure.ok and figure.value is not None else None
        verdicts[p.name] = None if code is None else VERDICTS_BY_CODE.get(code)
    known = {name: verdict for name, verdict in verdicts.items() if verdict is not None}
    if len(known) == len(params):
        judged = tuple(ParameterVerdict(p.name, p.shape, known[p.name]) for p in params)
        missing = tuple(p.name for p in judged if p.verdict is not Verdict.PRESENT)
        return GradientsCorrect(summarise(judged), missing, verdicts)
    count = figures[count_key][""]
    if count.ok and count.value is not None:
        incorrect = int(count.value)
        summary = f"{len(params) - incorrect}/{len(params)}"
        if incorrect == 0:
            return GradientsCorrect(summary, (), verdicts)
        return GradientsCorrect(summary + " (which: not recorded)", None, verdicts)
    return GradientsCorrect(count.status.value, None, verdicts)


def _explain_program_skip(figures: dict[str, dict[str, Figure]], correct: GradientsCorrect) -> None:
    """asv keeps no skip reason; this one is known: the gradient program lacks gradients."""
    program = figures["mind_gradient_program"][""]
    if program.status is Status.SKIPPED and correct.missing:
        reason = f"timed only where every gradient is present: {correct.summary}"
        figures["mind_gradient_program"][""] = dataclasses.replace(program, reason=reason)


def still_to_compute(correct: GradientsCorrect) -> str:
    """What a MIND user would still have to differentiate by other means."""
    if correct.missing is None:
        return f"not known ({correct.summary})"
    return f"{', '.join(correct.missing)} gradients" if correct.missing else "nothing"


def still_to_compute_by_either(compile_time: GradientsCorrect, runtime: GradientsCorrect) -> str:
    """What neither engine gives right: a user may take each gradient from either one.
    An engine without recorded verdicts (no runtime at this commit) offers nothing."""
    if runtime.missing is None:
        return still_to_compute(compile_time)
    if compile_time.missing is None:
        return still_to_compute(runtime)
    both = tuple(name for name in compile_time.missing if name in runtime.missing)
    return f"{', '.join(both)} gradients" if both else "nothing"


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
            not_measured + "MIND's CLI does not execute its gradient IR",
        ),
        "mind_runtime": _runtime_total(report, model),
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


WRONG_NO_TOTAL = "wrong gradients: no total"


def _runtime_total(report: Report, model: str) -> LoopTotal:
    """N x MIND's runtime call, where its gradients are right; no total where not."""
    n = report.iterations
    correct = runtime_gradients_correct(report, model)
    materialized = report.value(model, "mind_runtime_materialized")
    what = RUNTIME_LABEL + (
        "" if materialized is None else f"; materialized: {'yes' if materialized else 'no'}"
    )
    if correct.missing != ():
        why = (
            f"{WRONG_NO_TOTAL} ({correct.summary})"
            if correct.missing
            else f"gradients not judged: no total ({correct.summary})"
        )
        return LoopTotal(None, None, n, "none", why, one_time_applies=False)
    return LoopTotal(
        None, report.value(model, "mind_runtime_gradient"), n, "none", what, one_time_applies=False
    )
