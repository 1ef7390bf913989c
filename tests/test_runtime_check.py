"""The runtime check: fills that expose wrong rules, and verdicts against torch."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import pytest

from mind_runner.mind.correctness import Verdict
from mind_runner.mind.models import SEED_MODELS, Expr, Model, Param, Ref, matmul, total
from mind_runner.mind.runtime import RuntimeCall, render_let_fill, runtime_fills
from mind_runner.mind.runtime_answer import read_answer
from mind_runner.mind.runtime_check import check_runtime, filled_gradients

# A matmul rule on constant fills: (upstream fill, A's shape and fill, B's shape and fill)
# -> (dA fill, dB fill). The right one is G @ B^T and A^T @ G.
Rule = Callable[[float, tuple[int, ...], float, tuple[int, ...], float], tuple[float, float]]


def right(
    g: float, sa: tuple[int, ...], fa: float, sb: tuple[int, ...], fb: float
) -> tuple[float, float]:
    return g * fb * sb[1], g * fa * sa[0]


WRONG_RULES: dict[str, Rule] = {
    # Real MIND v0.10.2's runtime: the upstream gradient handed on unchanged.
    "pass-through": lambda g, sa, fa, sb, fb: (g, g),
    # Each operand scaled by its own fill instead of the other's.
    "swapped operands": lambda g, sa, fa, sb, fb: (g * fa * sb[1], g * fb * sa[0]),
    # The contraction's length forgotten.
    "no reduction factor": lambda g, sa, fa, sb, fb: (g * fb, g * fa),
}


def simulate(case: Model, fills: dict[str, float], matmul_rule: Rule) -> dict[str, float]:
    """Reverse mode on constant fills, as MIND's runtime does it, with a chosen matmul rule."""
    fill: dict[int, float] = {}
    shape: dict[int, tuple[int, ...]] = {}
    tape: list[tuple[str, tuple[int, ...], tuple[int, ...]]] = []  # (kind, args, axes)
    names: dict[str, int] = {}

    def push(
        kind: str,
        args: tuple[int, ...],
        value: float,
        dims: tuple[int, ...],
        axes: tuple[int, ...] = (),
    ) -> int:
        tape.append((kind, args, axes))
        fill[len(tape) - 1], shape[len(tape) - 1] = value, dims
        return len(tape) - 1

    def forward(expr: Expr) -> int:
        if isinstance(expr, Ref):
            return names[expr.name]
        args = tuple(forward(a) for a in expr.args)
        dims = case.shape_of(expr)
        values = [fill[a] for a in args]
        if expr.kind == "matmul":
            value = values[0] * values[1] * shape[args[0]][1]
        elif expr.kind == "add":
            value = values[0] + values[1]
        elif expr.kind == "mul":
            value = values[0] * values[1]
        elif expr.kind == "relu":
            value = max(values[0], 0.0)
        else:  # sum
            count = 1
            for axis in expr.axes:
                count *= shape[args[0]][axis]
            value = values[0] * count
        return push(expr.kind, args, value, dims, expr.axes)

    for p in case.params:
        names[p.name] = push("leaf", (), fills[p.name], p.shape)
    for name, expr in case.bindings:
        names[name] = forward(expr)
    loss = forward(case.result)
    adjoint: dict[int, float] = {loss: 1.0}

    def give_from(node: int, target: int, value: float) -> None:
        """Add `value` to `target`'s adjoint, summed over the axes `node` broadcast."""
        reduced = 1
        out, dims = shape[node], shape[target]
        if tape[node][0] in ("add", "mul"):
            for i, d in enumerate(out):
                j = i - (len(out) - len(dims))
                if j < 0 or dims[j] != d:
                    reduced *= d
        adjoint[target] = adjoint.get(target, 0.0) + value * reduced

    for node in range(len(tape) - 1, -1, -1):
        if node not in adjoint:
            continue
        g = adjoint[node]
        kind, args, _ = tape[node]
        give = partial(give_from, node)

        if kind == "add":
            give(args[0], g)
            give(args[1], g)
        elif kind == "mul":
            give(args[0], g * fill[args[1]])
            give(args[1], g * fill[args[0]])
        elif kind == "matmul":
            a, b = args
            da, db = matmul_rule(g, shape[a], fill[a], shape[b], fill[b])
            give(a, da)
            give(b, db)
        elif kind == "relu":
            give(args[0], g if fill[args[0]] > 0 else 0.0)
        elif kind == "sum":
            give(args[0], g)
    return {p.name: adjoint.get(names[p.name], 0.0) for p in case.params}


def torch_fills(case: Model, fills: dict[str, int]) -> dict[str, float]:
    return {name: float(g.flatten()[0]) for name, g in filled_gradients(case, fills).items()}


@pytest.mark.parametrize("model", list(SEED_MODELS))
def test_the_simulated_right_rule_is_torchs(model: str) -> None:
    case = SEED_MODELS[model]
    fills = runtime_fills(case)
    assert simulate(case, {k: float(v) for k, v in fills.items()}, right) == pytest.approx(
        torch_fills(case, fills)
    )


@pytest.mark.parametrize("rule", list(WRONG_RULES))
@pytest.mark.parametrize("model", ["small_mlp", "matmul_chain"])
def test_the_fills_expose_every_wrong_matmul_rule(model: str, rule: str) -> None:
    """Every parameter upstream of a matmul gets a wrong number under each wrong rule."""
    case = SEED_MODELS[model]
    fills = runtime_fills(case)
    assert sorted(fills.values()) == sorted(set(fills.values())) and min(fills.values()) >= 2
    wrong = simulate(case, {k: float(v) for k, v in fills.items()}, WRONG_RULES[rule])
    reference = torch_fills(case, fills)
    through_matmul = {"small_mlp": {"x", "w1", "b1", "w2"}, "matmul_chain": {"A", "B", "C", "D"}}
    exposed = {name for name in reference if wrong[name] != pytest.approx(reference[name])}
    assert exposed == through_matmul[model]


def test_equal_fills_would_hide_swapped_operands() -> None:
    """Why the fills are distinct: one matmul of two leaves with equal fills gives the same
    numbers under swapped operands; the primes tell them apart."""
    case = Model(
        "one_matmul",
        "sum(A @ B)",
        (Param("A", (4, 6), 0), Param("B", (6, 4), 0)),
        (),
        total(matmul(Ref("A"), Ref("B")), (0, 1)),
    )
    swapped = WRONG_RULES["swapped operands"]
    same = {"A": 3, "B": 3}
    hidden = simulate(case, {k: float(v) for k, v in same.items()}, swapped)
    assert hidden == pytest.approx(torch_fills(case, same))
    fills = runtime_fills(case)
    shown = simulate(case, {k: float(v) for k, v in fills.items()}, swapped)
    assert shown != pytest.approx(torch_fills(case, fills))


def answer_of(case: Model, line: str) -> RuntimeCall:
    fills = runtime_fills(case)
    return RuntimeCall(
        case, "let-fill", render_let_fill(case, fills), fills, read_answer(0, line, "")
    )


def test_verdicts_of_a_pass_through_runtime() -> None:
    """small_mlp as MIND v0.10.2 answers it with these fills: only b2 is right."""
    case = SEED_MODELS["small_mlp"]
    line = (
        "grad{ b1: Tensor[F32,(256)] fill=32, b2: Tensor[F32,(10)] fill=32, "
        "w1: Tensor[F32,(784,256)] fill=1, w2: Tensor[F32,(256,10)] fill=1, "
        "x: Tensor[F32,(32,784)] fill=1 }"
    )
    check = check_runtime(answer_of(case, line))
    assert check.correctness.summary() == "1/5 (x, w1, b1, w2 wrong)"
    assert check.reference["x"] == "fill 53760" and check.printed["x"] == "fill 1"


def test_a_missing_parameter_a_wrong_shape_and_a_sample() -> None:
    case = SEED_MODELS["simple_quadratic"]  # x of 1000, fill 2: gradient 2x = 4
    assert check_runtime(answer_of(case, "grad{  }")).correctness.summary() == "0/1 (x absent)"
    shaped = answer_of(case, "grad{ x: Tensor[F32,(10)] fill=4 }")
    assert check_runtime(shaped).correctness.parameters[0].verdict is Verdict.ABSENT
    sample = answer_of(case, "grad{ x: Tensor[F32,(1000)] materialized (sample=[4,4,4,...]) }")
    assert check_runtime(sample).correctness.summary() == "1/1"
    off = answer_of(case, "grad{ x: Tensor[F32,(1000)] materialized (sample=[4,4,5,...]) }")
    assert check_runtime(off).correctness.summary() == "0/1 (x wrong)"
