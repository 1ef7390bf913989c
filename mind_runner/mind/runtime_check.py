"""Are the runtime's gradients right? Each parameter against `torch.autograd.grad`.

The reference is PyTorch's gradient of the same model on the same tensors: every
parameter filled with its runtime fill (`runtime_program`), float32. A symbolic
answer (`fill=V`) claims every element is V; a materialized one prints its first
elements in row-major order, and those are compared one by one. Tolerance as in
`gradient_check` (float32): |mind - torch| <= RTOL * |torch| + ATOL_SCALE * max|torch|.
"""

from __future__ import annotations

import math

import torch

from mind_runner.mind.correctness import Correctness, ParameterVerdict, Verdict
from mind_runner.mind.gradient_check import ATOL_SCALE, RTOL
from mind_runner.mind.models import Model
from mind_runner.mind.runtime_answer import RuntimeAnswer, RuntimeGradient, RuntimeJudgement

READING = "runtime"


def reference_gradients(case: Model) -> dict[str, torch.Tensor]:
    """`torch.autograd.grad` of `case` on float32 tensors holding its fills."""
    leaves = {
        p.name: torch.full(p.shape, p.fill, dtype=torch.int32)
        if not p.differentiable
        else torch.full(p.shape, float(p.fill), dtype=torch.float32, requires_grad=True)
        for p in case.params
    }
    wanted = [p.name for p in case.differentiable]
    loss = case.torch_forward(leaves)
    grads = torch.autograd.grad(loss, [leaves[name] for name in wanted])
    return {name: g.detach() for name, g in zip(wanted, grads, strict=True)}


def _describe(tensor: torch.Tensor) -> str:
    flat = tensor.flatten()
    if bool((flat == flat[0]).all()):
        return f"{flat[0].item():g}"
    return f"[{', '.join(f'{v:g}' for v in flat[:4].tolist())}, ...]"


def _printed(gradient: RuntimeGradient | None) -> str:
    if gradient is None:
        return "-"
    if gradient.fill is not None:
        return f"fill {gradient.fill:g}"
    if gradient.sample is not None:
        return "sample [" + ", ".join(f"{v:g}" for v in gradient.sample) + "]"
    return "no value"


def _verdict(
    name: str, shape: tuple[int, ...], gradient: RuntimeGradient | None, reference: torch.Tensor
) -> ParameterVerdict:
    if gradient is None or not gradient.has_value:
        return ParameterVerdict(name, shape, Verdict.ABSENT)
    flat = reference.flatten().double()
    if gradient.fill is not None:
        printed = torch.full_like(flat, gradient.fill)
        expected = flat
    else:
        assert gradient.sample is not None
        printed = torch.tensor(gradient.sample, dtype=torch.float64)
        expected = flat[: len(gradient.sample)]
    scale = float(flat.abs().max()) if flat.numel() else 0.0
    if scale == 0.0:
        scale = 1.0
    error = (
        float((printed - expected).abs().max()) / scale
        if printed.numel() == expected.numel() and printed.numel() > 0
        else math.inf
    )
    fits = gradient.shape == shape and printed.numel() == expected.numel() and printed.numel() > 0
    close = fits and bool(
        ((printed - expected).abs() <= RTOL * expected.abs() + ATOL_SCALE * flat.abs().max()).all()
    )
    if not math.isfinite(error):
        error = math.inf
    verdict = Verdict.PRESENT if close else Verdict.WRONG
    return ParameterVerdict(name, shape, verdict, relative_error=error)


def judge_runtime(case: Model, answer: RuntimeAnswer) -> RuntimeJudgement:
    """Verdicts on `answer`, the runtime's gradients of `case` (with the runtime's fills)."""
    reference = reference_gradients(case)
    verdicts = tuple(
        _verdict(p.name, p.shape, answer.gradient_of(p.name), reference[p.name])
        for p in case.differentiable
    )
    return RuntimeJudgement(
        correctness=Correctness(
            reading=READING,
            parameters=verdicts,
            as_printed_misfits=0,
            note="" if answer.error is None else answer.error,
        ),
        exit_code=answer.exit_code,
        error=answer.error,
        materialized=answer.materialized,
        values={p.name: _printed(answer.gradient_of(p.name)) for p in case.differentiable},
        reference={name: _describe(tensor) for name, tensor in reference.items()},
    )
