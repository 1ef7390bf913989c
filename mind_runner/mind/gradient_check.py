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

import math
from collections.abc import Mapping
from dataclasses import dataclass

import torch

from mind_runner.mind.correctness import (
    Correctness,
    ParameterVerdict,
    Verdict,
    count_present,
    summarise,
)
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

__all__ = ["GradientCheck", "ParameterVerdict", "Verdict", "check_gradients", "judge"]

RTOL = 1e-4
ATOL_SCALE = 1e-5
NEAR_IDENTITY_SPREAD = 0.1


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
        return count_present(self.parameters)

    @property
    def incorrect(self) -> int:
        """Parameters whose gradient is absent or wrong: the figure to track."""
        return len(self.parameters) - self.present

    def summary(self) -> str:
        """E.g. `3/5 (b1, b2 absent)`."""
        return summarise(self.parameters)

    @property
    def correctness(self) -> Correctness:
        """The verdicts as plain data (what the driver caches and benchmarks read)."""
        return Correctness(self.reading.value, self.parameters, self.as_printed_misfits)


def random_values(case: Model, rng_seed: int = 0) -> dict[str, torch.Tensor]:
    """Seeded random float32 values that keep every value of `case` finite and O(1).

    PyTorch's own draws (`Model.torch_parameters`), except that a square matrix
    becomes I + 0.1/sqrt(n) x its draw: through relu_matmul_chain_1000 plain
    draws overflow (and scaled ones underflow to 0, where every candidate
    "matches"), while near-identity weights keep magnitudes within 10^4 and
    still gate 6-20 % of the pre-activations, so relu_grad is tested. The seed
    models have no square parameter: theirs are exactly PyTorch's values.
    """
    values = {}
    for name, drawn in case.torch_parameters(rng_seed=rng_seed).items():
        value = drawn.detach()
        if value.is_floating_point() and value.dim() == 2 and value.shape[0] == value.shape[1]:
            spread = NEAR_IDENTITY_SPREAD / math.sqrt(value.shape[0])
            value = torch.eye(value.shape[0]) + spread * value
        values[name] = value
    return values


def fill_values(case: Model) -> dict[str, torch.Tensor]:
    """MIND's own constant fills: only to show what they hide, never as the check."""
    return {
        p.name: torch.full(
            p.shape, p.fill, dtype=torch.float32 if p.differentiable else torch.int32
        )
        for p in case.params
    }


def reference_gradients(case: Model, values: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """`torch.autograd.grad` of the case's result with respect to every parameter that
    has one (an index tensor has none)."""
    leaves = {p.name: values[p.name].detach().clone() for p in case.params}
    wanted = case.differentiable
    for p in wanted:
        leaves[p.name].requires_grad_(True)
    result = case.torch_forward(leaves)
    grads = torch.autograd.grad(result, [leaves[p.name] for p in wanted], allow_unused=True)
    return {
        p.name: torch.zeros(p.shape) if g is None else g for p, g in zip(wanted, grads, strict=True)
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
    bindings = bind_values(case, module, chosen)
    run = execute(module, reading, bindings)
    as_printed = run if run.reading is Reading.AS_PRINTED else execute(module, bindings=bindings)
    references = reference_gradients(case, chosen)
    unusable = [n for n, g in references.items() if not bool(torch.isfinite(g).all())]
    if unusable:
        raise ValueError(
            f"PyTorch's gradient of {', '.join(unusable)} is not finite at these values: "
            "nothing can be judged against it"
        )
    candidates = _Candidates(module, run)
    return GradientCheck(
        case=case.name,
        reading=run.reading,
        parameters=tuple(
            _judge(p.name, p.shape, references[p.name], candidates) for p in case.differentiable
        ),
        findings=run.findings,
        as_printed_findings=as_printed.findings,
    )


def judge(case: Model, module: IRModule, *, rng_seed: int = 0) -> Correctness:
    """`check_gradients` in the seed reading as plain data; UNCHECKED where it cannot run."""
    try:
        return check_gradients(case, module, rng_seed=rng_seed).correctness
    except ValueError as error:
        return Correctness.unchecked({p.name: p.shape for p in case.differentiable}, str(error))


def bind_values(
    case: Model, module: IRModule, values: Mapping[str, torch.Tensor]
) -> dict[int, torch.Tensor]:
    """`execute`'s bindings: each of the case's values to its parameter's value id."""
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


class _Candidates:
    """The gradient section's values grouped by shape, stacked once per shape.

    relu_matmul_chain_1000 has ~5,000 gradient values of its parameters' one
    shape: comparing each parameter with each of them one by one took 12 s, so
    the values are stacked and first sifted by their sums (`_judge`).
    """

    def __init__(self, module: IRModule, run: Execution) -> None:
        self._by_shape: dict[tuple[int, ...], list[tuple[int, torch.Tensor]]] = {}
        for instruction in module.gradient:
            value = run.values.get(instruction.value_id)
            if value is not None:
                self._by_shape.setdefault(tuple(value.shape), []).append(
                    (instruction.value_id, value)
                )
        self._stacks: dict[tuple[int, ...], tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = {}

    def ids(self, shape: tuple[int, ...]) -> list[int]:
        return [value_id for value_id, _ in self._by_shape.get(shape, [])]

    def stacked(self, shape: tuple[int, ...]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The values of `shape`, one row each: as float32, as float64, and per row
        (sum, sum of absolutes, sum of squares) in float64."""
        if shape not in self._stacks:
            values = [v.to(torch.float32) for _, v in self._by_shape[shape]]
            rows = torch.stack(values).reshape(len(values), -1)
            wide = rows.double()
            sums = torch.stack([wide.sum(1), wide.abs().sum(1), (wide * wide).sum(1)], 1)
            self._stacks[shape] = (rows, wide, sums)
        return self._stacks[shape]


def _judge(
    name: str, shape: tuple[int, ...], reference: torch.Tensor, candidates: _Candidates
) -> ParameterVerdict:
    ids = candidates.ids(shape)
    if not ids:
        return ParameterVerdict(name, shape, Verdict.ABSENT)
    if reference.numel() == 0:
        return ParameterVerdict(name, shape, Verdict.PRESENT, ids[0], 0.0)
    rows, wide_rows, sums = candidates.stacked(shape)
    flat = reference.to(torch.float32).reshape(-1)
    wide = flat.double()
    # `matches` implies |sum(c) - sum(r)| <= RTOL * sum|r| + atol * n: only such a
    # candidate can match (doubled, plus float32 rounding, to stay a superset).
    bound = RTOL * float(wide.abs().sum()) + ATOL_SCALE * _scale(reference) * flat.numel()
    rounding = 1e-6 * (sums[:, 1] + float(wide.abs().sum()))
    possible = (sums[:, 0] - float(wide.sum())).abs() <= 2 * bound + rounding
    for index in possible.nonzero().flatten().tolist():
        if matches(rows[index], flat):
            error = relative_error(rows[index], flat)
            return ParameterVerdict(name, shape, Verdict.PRESENT, ids[index], error)
    # The closest candidate in the least-squares sense (one matrix-vector product,
    # first of equally close ones), and its relative error as defined above.
    distances = sums[:, 2] - 2 * (wide_rows @ wide) + float(wide @ wide)
    distances = torch.where(torch.isfinite(distances), distances, math.inf)
    closest = int(torch.argmin(distances))
    error = relative_error(rows[closest], flat)
    return ParameterVerdict(name, shape, Verdict.WRONG, ids[closest], error)


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
