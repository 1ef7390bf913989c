"""The program text of a model in each dialect MIND has accepted over its history.

MIND's language changed: the `let` form is differentiated correctly from v0.7.1
on, `fn main(...)` is parsed from v0.4.0 on, and v0.2.0 lowered only a single
inlined expression. The driver tries them in this order at every commit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from mind_runner.mind.models import BINARY_OPS, Expr, Model, Op, Ref


def _render_call_style(
    expr: Expr,
    binary_as_call: bool,
    sum_keyword: bool,
    leaf: Callable[[str], str] = str,
) -> str:
    if isinstance(expr, Ref):
        return leaf(expr.name)
    args = [_render_call_style(a, binary_as_call, sum_keyword, leaf) for a in expr.args]
    if expr.kind in BINARY_OPS:
        if binary_as_call:
            return f"{expr.kind}({args[0]}, {args[1]})"
        return f"{_parenthesise(expr.args[0], args[0])} {BINARY_OPS[expr.kind]} " + _parenthesise(
            expr.args[1], args[1]
        )
    return call_text(expr, args, sum_keyword)


def _list(items: tuple[int, ...]) -> str:
    return "[" + ", ".join(str(i) for i in items) + "]"


def _keywords(expr: Op) -> str:
    """The arguments after the operands, as MIND's parser reads them."""
    kind, axes, bounds = expr.kind, expr.axes, expr.bounds
    if kind == "mean":
        return f"axes={_list(axes)}, keepdims=false"
    if kind in ("transpose", "squeeze"):
        return f"axes={_list(axes)}"
    if kind == "reshape":
        return "(" + ", ".join(str(d) for d in expr.shape) + ")"
    if kind == "expand_dims":
        return f"axis={axes[0]}"
    if kind == "slice":
        return f"axis={axes[0]}, start={bounds[0]}, end={bounds[1]}"
    if kind == "index":
        return f"axis={axes[0]}, i={bounds[0]}"
    return ""


def call_text(expr: Op, args: list[str], sum_keyword: bool = True) -> str:
    """A non-binary op as MIND's surface calls it (docs/ops.md, the parser's keywords).

    A sum over no listed axes sums them all: `tensor.sum(x)`."""
    kind, axes = expr.kind, expr.axes
    if kind == "sum":
        if not axes:
            return f"tensor.sum({args[0]})"
        keyword = "axes=" if sum_keyword else ""
        return f"tensor.sum({args[0]}, {keyword}{_list(axes)})"
    if kind == "gather":
        return f"tensor.gather({args[0]}, axis={axes[0]}, idx={args[1]})"
    extra = _keywords(expr)
    return f"tensor.{kind}({', '.join([*args, extra] if extra else args)})"


def _parenthesise(expr: Expr, text: str) -> str:
    """Binary operands that are themselves binary get parentheses (no precedence games)."""
    if isinstance(expr, Op) and expr.kind in BINARY_OPS:
        return f"({text})"
    return text


def _dims(shape: tuple[int, ...], sep: str) -> str:
    return sep.join(str(d) for d in shape)


def render_let_form(case: Model) -> str:
    """The dialect that MIND differentiates correctly from v0.7.1 on."""
    lines = [
        f"let {p.name}: Tensor[{p.dtype},({_dims(p.shape, ',')})] = {p.fill};" for p in case.params
    ]
    lines.append("")
    for name, expr in case.bindings:
        lines.append(f"let {name} = {_render_call_style(expr, False, True)};")
    lines.append(_render_call_style(case.result, False, True))
    return "\n".join(lines) + "\n"


def render_function_form(case: Model) -> str:
    """`fn main(...)`: parsed from v0.4.0 on, but never differentiated correctly so far."""
    params = ",\n".join(
        f"    {p.name}: Tensor<{p.dtype.upper()}, [{_dims(p.shape, ', ')}]>" for p in case.params
    )
    body = [f"    let {n} = {_render_call_style(e, True, False)};" for n, e in case.bindings]
    body.append(f"    {_render_call_style(case.result, True, False)}")
    return "fn main(\n" + params + "\n) -> Tensor<F32, []> {\n" + "\n".join(body) + "\n}\n"


def render_single_expression(case: Model) -> str:
    """Everything inlined into one expression: the only form v0.2.0 lowered at all."""
    params = {p.name: p for p in case.params}
    bound = dict(case.bindings)

    def inline(expr: Expr) -> Expr:
        if isinstance(expr, Ref):
            return inline(bound[expr.name]) if expr.name in bound else expr
        return replace(expr, args=tuple(inline(a) for a in expr.args))

    def literal(name: str) -> str:
        p = params[name]
        maker = "tensor.zeros" if p.fill == 0 else "tensor.ones"
        return f"{maker}({p.dtype}, ({_dims(p.shape, ', ')}))"

    return _render_call_style(inline(case.result), False, True, literal) + "\n"


DIALECTS: dict[str, Callable[[Model], str]] = {
    "let-form": render_let_form,
    "function-form": render_function_form,
    "single-expression": render_single_expression,
}
