"""One small model per op MIND documents as differentiable, and two compositions.

MIND's docs/autodiff.md lists what its static autodiff supports: add, sub, mul,
div, dot, matmul, relu, conv2d, reshape, expand_dims, squeeze, slice, index,
gather, mean with explicit axes, and sum. Each model here isolates one rule:
the op's output is multiplied by a second parameter `y` before the final sum,
so the upstream gradient reaching the rule is not all ones and a rule that
passes it through, drops a factor or swaps operands gives a wrong value, and a
rule that forgets to broadcast or reduce gives a value of the wrong shape
(absent). Binary ops broadcast a (3,) operand over a (2, 3) one where MIND
allows it (the bias-add case), so their reduction rule is covered too.
"""

from __future__ import annotations

from mind_runner.mind.models import Expr, Model, Op, Param, Ref, matmul, mul, relu, total

_ALL = (0, 1)


def _rule(
    name: str,
    description: str,
    params: tuple[Param, ...],
    op: Expr,
    upstream: tuple[int, ...] | None,
    axes: tuple[int, ...] = _ALL,
) -> Model:
    """sum(op * y), y of shape `upstream` (None: sum(op) alone) over `axes`."""
    if upstream is None:
        return Model(name, description, params, (), total(op, axes))
    weighted = (*params, Param("y", upstream, 7))
    return Model(name, description, weighted, (), total(mul(op, Ref("y")), axes))


def _binary(kind: str) -> Model:
    x, b = Param("x", (2, 3), 2), Param("b", (3,), 3)
    return _rule(
        f"{kind}_broadcast",
        f"sum((x {kind} b) * y): b (3,) broadcast over x (2, 3)",
        (x, b),
        Op(kind, (Ref("x"), Ref("b"))),
        (2, 3),
    )


def _unary(
    name: str, description: str, shape: tuple[int, ...], op: Expr, out: tuple[int, ...]
) -> Model:
    axes = tuple(range(len(out)))
    return _rule(name, description, (Param("x", shape, 2),), op, out, axes)


_X = Ref("x")

OP_MODELS: dict[str, Model] = {
    case.name: case
    for case in (
        _binary("add"),
        _binary("sub"),
        _binary("mul"),
        _binary("div"),
        _rule(
            "dot",
            "sum(dot(a, b)), a and b (3,)",
            (Param("a", (3,), 2), Param("b", (3,), 3)),
            Op("dot", (Ref("a"), Ref("b"))),
            None,
            (),
        ),
        _rule(
            "matmul",
            "sum((a @ b) * y), (2, 3) @ (3, 4)",
            (Param("a", (2, 3), 2), Param("b", (3, 4), 3)),
            matmul(Ref("a"), Ref("b")),
            (2, 4),
        ),
        _unary("relu", "sum(relu(x) * y)", (2, 3), relu(_X), (2, 3)),
        _unary("sum_axis", "sum(sum(x, axes=[1]) * y)", (2, 3), Op("sum", (_X,), (1,)), (2,)),
        _unary("sum_all", "sum(x * y) over all axes", (2, 3), _X, (2, 3)),
        _unary("mean_axis", "sum(mean(x, axes=[1]) * y)", (2, 3), Op("mean", (_X,), (1,)), (2,)),
        Model(
            "mean_all",
            "mean(x * y) over all axes, as the loss",
            (Param("x", (2, 3), 2), Param("y", (2, 3), 7)),
            (),
            Op("mean", (mul(_X, Ref("y")),), _ALL),
        ),
        _unary(
            "transpose",
            "sum(transpose(x, [1, 0]) * y)",
            (2, 3),
            Op("transpose", (_X,), (1, 0)),
            (3, 2),
        ),
        _unary(
            "reshape",
            "sum(reshape(x, (3, 2)) * y)",
            (2, 3),
            Op("reshape", (_X,), shape=(3, 2)),
            (3, 2),
        ),
        _unary(
            "expand_dims",
            "sum(expand_dims(x, axis=1) * y)",
            (2, 3),
            Op("expand_dims", (_X,), (1,)),
            (2, 1, 3),
        ),
        _unary(
            "squeeze",
            "sum(squeeze(x, axes=[1]) * y)",
            (2, 1, 3),
            Op("squeeze", (_X,), (1,)),
            (2, 3),
        ),
        _unary(
            "slice",
            "sum(slice(x, axis=0, start=1, end=3) * y)",
            (4, 3),
            Op("slice", (_X,), (0,), bounds=(1, 3)),
            (2, 3),
        ),
        _unary(
            "index",
            "sum(index(x, axis=0, i=1) * y)",
            (4, 3),
            Op("index", (_X,), (0,), bounds=(1,)),
            (3,),
        ),
        _rule(
            "gather",
            "sum(gather(x, axis=0, idx) * y), idx (2,) i32 filled with 1: row 1 twice",
            (Param("x", (4, 3), 2), Param("idx", (2,), 1, dtype="i32")),
            Op("gather", (_X, Ref("idx")), (0,)),
            (2, 3),
        ),
        _rule(
            "conv2d",
            "sum(conv2d(x, w) * y): x (1, 5, 5, 1) NHWC, w (3, 3, 1, 1) HWIO, valid",
            (Param("x", (1, 5, 5, 1), 2), Param("w", (3, 3, 1, 1), 3)),
            Op("conv2d", (_X, Ref("w"))),
            (1, 3, 3, 1),
            (0, 1, 2, 3),
        ),
        _rule(
            "mean_relu_matmul",
            "sum(mean(relu(a @ b), axes=[1]) * y): matmul, relu and mean rules composed",
            (Param("a", (2, 3), 2), Param("b", (3, 4), 3)),
            Op("mean", (relu(matmul(Ref("a"), Ref("b"))),), (1,)),
            (2,),
            (0,),
        ),
    )
}
"""The coverage suite's models by name (the `op` axis of mind_coverage's figures)."""

OPS = list(OP_MODELS)
