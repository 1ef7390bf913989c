"""A model as a program for MIND's runtime engine (`mind eval --exec`), with its fills.

The runtime evaluates `grad(tensor.sum(LOSS), wrt=[...])` on tensors declared by
`let NAME: Tensor[f32,(DIMS)] = FILL;` with a whole-number fill (a fraction is a
type error, a tensor literal does not parse, `tensor.rand` is not differentiable).
So the fills are the test values, and they must be ones that expose a wrong rule:

- none is 0 or 1: a factor of 1 hides a missing factor, 0 zeroes everything;
- they are distinct, so a rule that swaps a matmul's operands (uses A where B
  belongs) changes the answer;
- they are the odd primes from 3 on: no fill is a product of others and none is 2,
  the factor of `x * x`'s rule, so `x + x` and `x * x` differ at every fill;
- they are positive, so every relu passes its input and the gradient below it is
  not zeroed (a zeroed gradient would hide every rule above it).

tests/test_runtime.py shows that these fills tell the right matmul rule from a
pass-through, a swapped-operand and a missing-factor rule on every seed model.
"""

from __future__ import annotations

from dataclasses import replace

from mind_runner.mind.dialects import call_text
from mind_runner.mind.models import BINARY_OPS, Expr, Model, Op, Ref

RUNTIME_FILL_PRIMES = (3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47)


class NotExpressible(ValueError):
    """The model cannot be written in the runtime's dialect (why, in words)."""


def runtime_fills(case: Model) -> Model:
    """`case` with the runtime's test fills: the odd primes, in parameter order."""
    if len(case.differentiable) > len(RUNTIME_FILL_PRIMES):
        raise NotExpressible(
            f"{case.name} has {len(case.differentiable)} parameters; the runtime's fills cover "
            f"{len(RUNTIME_FILL_PRIMES)}"
        )
    primes = iter(RUNTIME_FILL_PRIMES)  # an index tensor keeps its own fill
    params = tuple(replace(p, fill=next(primes)) if p.differentiable else p for p in case.params)
    return replace(case, params=params)


def _render(expr: Expr) -> str:
    if isinstance(expr, Ref):
        return expr.name
    args = [_render(a) for a in expr.args]
    if expr.kind in BINARY_OPS:
        left, right = (
            f"({text})" if isinstance(a, Op) and a.kind in BINARY_OPS else text
            for a, text in zip(expr.args, args, strict=True)
        )
        return f"{left} {BINARY_OPS[expr.kind]} {right}"
    return call_text(expr, args)


def render_runtime_let_grad(case: Model) -> str:
    """The dialect of MIND's runtime at v0.10.2: `let`s, then `grad(tensor.sum(...))`.

    `case` must already carry the runtime's fills (`runtime_fills`). One line: the
    program is `mind eval`'s argument.
    """
    result = case.result
    if not isinstance(result, Op) or result.kind not in ("sum", "mean"):
        raise NotExpressible(f"{case.name}'s result is not a sum or a mean")
    (reduced,) = result.args
    rank = _rank_of(case, reduced)
    if result.axes and tuple(result.axes) != tuple(range(rank)):
        raise NotExpressible(f"{case.name} reduces axes {list(result.axes)}, not all {rank}")
    loss = f"tensor.sum({_render(reduced)})" if result.kind == "sum" else _render(result)
    parts = [
        f"let {p.name}: Tensor[{p.dtype},({','.join(str(d) for d in p.shape)})] = {p.fill};"
        for p in case.params
    ]
    parts += [f"let {name} = {_render(expr)};" for name, expr in case.bindings]
    wrt = ", ".join(p.name for p in case.differentiable)
    parts.append(f"grad({loss}, wrt=[{wrt}])")
    return " ".join(parts)


def _rank_of(case: Model, expr: Expr) -> int:
    """The rank of `expr`'s value (matmul keeps 2, elementwise ops broadcast)."""
    if isinstance(expr, Ref):
        for p in case.params:
            if p.name == expr.name:
                return len(p.shape)
        return _rank_of(case, dict(case.bindings)[expr.name])
    if expr.kind in ("sum", "mean", "squeeze"):
        return _rank_of(case, expr.args[0]) - len(expr.axes)
    if expr.kind == "index":
        return _rank_of(case, expr.args[0]) - 1
    if expr.kind == "expand_dims":
        return _rank_of(case, expr.args[0]) + 1
    if expr.kind == "reshape":
        return len(expr.shape)
    if expr.kind == "dot":
        return 0
    if expr.kind == "matmul":
        return 2
    if expr.kind in ("gather", "slice", "transpose", "conv2d"):  # the first operand's rank
        return _rank_of(case, expr.args[0])
    return max(_rank_of(case, a) for a in expr.args)


RUNTIME_DIALECTS = {"let-grad": render_runtime_let_grad}
"""Every dialect of the runtime, tried in order (one so far: MIND's grad has kept it)."""
