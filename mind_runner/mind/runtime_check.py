"""Is what MIND's runtime printed the gradient? Per parameter, against torch.autograd.

The runtime's answer (`runtime_answer`) is compared with `torch.autograd.grad` on
tensors filled with the same integers, in float64: the integer products of the
seed models reach 1.8e9, past float32's exact integers, and MIND keeps its fills
as f64. A constant answer (`fill=V`) must equal every element of torch's gradient;
a materialized one is compared element by element on the values it printed.
Verdicts are the compile-time check's: present (and right), absent (no value for
the parameter), wrong.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from mind_runner.mind.correctness import Correctness, ParameterVerdict, Verdict
from mind_runner.mind.models import Model
from mind_runner.mind.runtime import RuntimeCall
from mind_runner.mind.runtime_answer import PrintedTensor

RTOL = 1e-6
"""MIND prints fills with 6 decimals; its integer products are exact in f64."""
READING = "runtime (mind eval --exec, integer fills)"


@dataclass(frozen=True)
class RuntimeCheck:
    """The verdicts and, per parameter, what MIND printed beside torch's value."""

    correctness: Correctness
    printed: dict[str, str]
    reference: dict[str, str]


def filled_gradients(case: Model, fills: dict[str, int]) -> dict[str, torch.Tensor]:
    """torch.autograd.grad of the model at constant float64 tensors filled with `fills`."""
    values = {
        p.name: torch.full(p.shape, float(fills[p.name]), dtype=torch.float64, requires_grad=True)
        for p in case.params
    }
    leaves = [values[p.name] for p in case.params]
    grads = torch.autograd.grad(case.torch_forward(values), leaves)
    return {p.name: g for p, g in zip(case.params, grads, strict=True)}


def describe(tensor: PrintedTensor | None) -> str:
    if tensor is None:
        return "absent"
    if tensor.fill is not None:
        return f"fill {tensor.fill:.10g}"
    if tensor.sample is not None:
        more = ", ..." if tensor.truncated else ""
        return "sample [" + ", ".join(f"{v:.10g}" for v in tensor.sample) + more + "]"
    return "no value"


def describe_reference(reference: torch.Tensor) -> str:
    low, high = float(reference.min()), float(reference.max())
    return f"fill {low:.10g}" if low == high else f"{low:.10g} .. {high:.10g}"


def _verdict(name: str, printed: PrintedTensor | None, reference: torch.Tensor) -> ParameterVerdict:
    shape = tuple(reference.shape)
    if printed is None or not printed.has_value or printed.shape != shape:
        return ParameterVerdict(name, shape, Verdict.ABSENT)
    flat = reference.flatten()
    if printed.fill is not None:
        candidate = torch.full_like(flat, printed.fill)
    else:
        sample = printed.sample or ()
        candidate = torch.tensor(sample, dtype=torch.float64)
        flat = flat[: len(sample)]
    scale = float(flat.abs().max()) if flat.numel() else 0.0
    difference = float((candidate - flat).abs().max()) if flat.numel() else 0.0
    if math.isclose(difference, 0.0, abs_tol=RTOL * scale):
        return ParameterVerdict(name, shape, Verdict.PRESENT, relative_error=0.0)
    error = difference / scale if scale else math.inf
    return ParameterVerdict(name, shape, Verdict.WRONG, relative_error=error)


def check_runtime(call: RuntimeCall) -> RuntimeCheck:
    """Every parameter of the call's model, judged."""
    references = filled_gradients(call.case, call.fills)
    gradients = call.answer.gradients
    verdicts = tuple(
        _verdict(p.name, gradients.get(p.name), references[p.name]) for p in call.case.params
    )
    return RuntimeCheck(
        correctness=Correctness(
            reading=READING, parameters=verdicts, as_printed_misfits=0, note=""
        ),
        printed={p.name: describe(gradients.get(p.name)) for p in call.case.params},
        reference={p.name: describe_reference(references[p.name]) for p in call.case.params},
    )
