"""Is MIND's printed gradient IR a gradient? Each parameter, against PyTorch.

MIND's gradient IR names no parameter, so a parameter's gradient is looked for
among all gradient-section values of its shape. The printed module runs on the
reference executor with seeded random parameter values, never MIND's constant
fills (0 and 1): with those, swapped operands and wrong factors give the same
numbers as the right rule.

Tolerance (float32): a candidate matches when, element by element,
|candidate - reference| <= RTOL * |reference| + ATOL_SCALE * max|reference|,
i.e. `torch.allclose(rtol=1e-4, atol=1e-5 * max|reference|)`; the absolute part
scales with the reference so elements near zero are judged against the
tensor's magnitude, not against an arbitrary constant.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass

import torch

from mind_runner.mind.gradient_ir import IRModule
from mind_runner.mind.ir_executor import (
    Execution,
    Finding,
    FindingKind,
    Reading,
    execute,
    parameter_ids,
)
from mind_runner.mind.models import Model

RTOL = 1e-4
ATOL_SCALE = 1e-5


class Verdict(enum.Enum):
    PRESENT = "present"  # some gradient value of this shape matches PyTorch
    ABSENT = "absent"  # no gradient value has this parameter's shape
    WRONG = "wrong"  # values of this shape exist, none matches


@dataclass(frozen=True)
class ParameterVerdict:
    """One parameter: its verdict and the gradient value it rests on.

    `value_id` is the matching value (PRESENT) or the closest candidate
    (WRONG); `relative_error` is that value's max|candidate - reference| /
    max|reference| (inf when not finite); both None when ABSENT.
    """

    name: str
    shape: tuple[int, ...]
    verdict: Verdict
    value_id: int | None = None
    relative_error: float | None = None


@dataclass(frozen=True)
class GradientCheck:
    """One model's gradient IR judged parameter by parameter."""

    case: str
    reading: Reading
    parameters: tuple[ParameterVerdict, ...]
    findings: tuple[Finding, ...]  # of the execution in `reading`
    as_printed_findings: tuple[Finding, ...]

    @property
    def as_printed_misfits(self) -> int:
        """Instructions whose operands do not fit as printed."""
        return sum(1 for f in self.as_printed_findings if f.kind is FindingKind.MISFIT)

    @property
    def present(self) -> int:
        return sum(1 for p in self.parameters if p.verdict is Verdict.PRESENT)

    @property
    def incorrect(self) -> int:
        """Parameters whose gradient is absent or wrong: the figure to track."""
        return len(self.parameters) - self.present

    def summary(self) -> str:
        """E.g. `3/5 (b1, b2 absent)`."""
        groups = [
            f"{', '.join(p.name for p in self.parameters if p.verdict is verdict)} {verdict.value}"
            for verdict in (Verdict.WRONG, Verdict.ABSENT)
            if any(p.verdict is verdict for p in self.parameters)
        ]
        counts = f"{self.present}/{len(self.parameters)}"
        return f"{counts} ({'; '.join(groups)})" if groups else counts


def random_values(case: Model, rng_seed: int = 0) -> dict[str, torch.Tensor]:
    """Seeded random float32 parameter values, the same PyTorch's side uses."""
    return {n: t.detach() for n, t in case.torch_parameters(rng_seed=rng_seed).items()}


def fill_values(case: Model) -> dict[str, torch.Tensor]:
    """MIND's own constant fills: only to show what they hide, never as the check."""
    return {p.name: torch.full(p.shape, float(p.fill)) for p in case.params}


def reference_gradients(case: Model, values: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """`torch.autograd.grad` of the case's result with respect to every parameter."""
    leaves = {p.name: values[p.name].detach().clone().requires_grad_(True) for p in case.params}
    result = case.torch_forward(leaves)
    grads = torch.autograd.grad(result, [leaves[p.name] for p in case.params], allow_unused=True)
    return {
        p.name: torch.zeros(p.shape) if g is None else g
        for p, g in zip(case.params, grads, strict=True)
    }


def check_gradients(
    case: Model,
    module: IRModule,
    values: Mapping[str, torch.Tensor] | None = None,
    *,
    rng_seed: int = 0,
    reading: Reading = Reading.SEED,
) -> GradientCheck:
    """Judge each of `case`'s parameters in `module`'s gradient IR.

    `values` (name -> float32 tensor) default to `random_values(case, rng_seed)`.
    The module's parameters (primal `const.tensor`s, in order) must have the
    case's shapes, else ValueError: that module is not this case's program.
    """
    chosen = dict(values) if values is not None else random_values(case, rng_seed)
    bindings = _bindings(case, module, chosen)
    run = execute(module, reading, bindings)
    as_printed = run if run.reading is Reading.AS_PRINTED else execute(module, bindings=bindings)
    references = reference_gradients(case, chosen)
    return GradientCheck(
        case=case.name,
        reading=run.reading,
        parameters=tuple(
            _judge(p.name, p.shape, references[p.name], module, run) for p in case.params
        ),
        findings=run.findings,
        as_printed_findings=as_printed.findings,
    )


def _bindings(
    case: Model, module: IRModule, values: Mapping[str, torch.Tensor]
) -> dict[int, torch.Tensor]:
    ids = parameter_ids(module)
    declared = [i.tensor_shape() for i in module.primal if i.op == "const.tensor"]
    expected = [p.shape for p in case.params]
    if declared != expected:
        raise ValueError(
            f"the module declares parameters {declared}, case {case.name} has {expected}"
        )
    missing = [p.name for p in case.params if p.name not in values]
    if missing:
        raise ValueError(f"no values for {', '.join(missing)}")
    return {i: values[p.name].detach() for i, p in zip(ids, case.params, strict=True)}


def _judge(
    name: str, shape: tuple[int, ...], reference: torch.Tensor, module: IRModule, run: Execution
) -> ParameterVerdict:
    candidates = [
        (i.value_id, run.values[i.value_id])
        for i in module.gradient
        if i.value_id in run.values and tuple(run.values[i.value_id].shape) == shape
    ]
    if not candidates:
        return ParameterVerdict(name, shape, Verdict.ABSENT)
    best: tuple[float, int] | None = None
    for value_id, candidate in candidates:
        error = relative_error(candidate, reference)
        if matches(candidate, reference):
            return ParameterVerdict(name, shape, Verdict.PRESENT, value_id, error)
        if best is None or error < best[0]:
            best = (error, value_id)
    assert best is not None
    return ParameterVerdict(name, shape, Verdict.WRONG, best[1], best[0])


def _scale(reference: torch.Tensor) -> float:
    return float(reference.abs().max()) if reference.numel() else 0.0


def matches(candidate: torch.Tensor, reference: torch.Tensor) -> bool:
    """Within the module's float32 tolerance (RTOL, ATOL_SCALE) of the reference."""
    candidate = candidate.to(torch.float32)
    return bool(torch.isfinite(candidate).all()) and torch.allclose(
        candidate, reference, rtol=RTOL, atol=ATOL_SCALE * _scale(reference)
    )


def relative_error(candidate: torch.Tensor, reference: torch.Tensor) -> float:
    """max|candidate - reference| / max|reference| (0 or inf when the reference is 0)."""
    if candidate.numel() == 0:
        return 0.0
    difference = float((candidate.to(torch.float32) - reference).abs().max())
    scale = _scale(reference)
    if not math.isfinite(difference):
        return math.inf
    if scale == 0.0:
        return 0.0 if difference == 0.0 else math.inf
    return difference / scale
