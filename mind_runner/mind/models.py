"""The models both sides differentiate, each defined once.

A case is a tiny expression graph: parameters (shape and fill value), named
intermediate bindings and a scalar result. The MIND program text (in every
dialect MIND has accepted), the PyTorch forward function and the gradient IR a
correct MIND must emit are all derived from that one graph, so the two sides of
a comparison can never drift apart.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Union

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class Param:
    """A leaf tensor: MIND declares it with a constant fill, PyTorch makes it a leaf."""

    name: str
    shape: tuple[int, ...]
    fill: int
    dtype: str = "f32"
    """"f32", or "i32" for an index tensor (gather's): an input, never differentiated."""

    @property
    def differentiable(self) -> bool:
        return self.dtype == "f32"


@dataclass(frozen=True)
class Ref:
    """A use of a parameter or of an earlier binding."""

    name: str


@dataclass(frozen=True)
class Op:
    """One tensor operation, named as MIND's IR prints it (`OP_KINDS`).

    `axes` are the reduced axes (sum, mean, squeeze), the permutation (transpose) or
    the one axis (expand_dims, slice, index, gather); `shape` is reshape's target;
    `bounds` are slice's (start, end) and index's (i,).
    """

    kind: str
    args: tuple[Expr, ...]
    axes: tuple[int, ...] = ()
    shape: tuple[int, ...] = ()
    bounds: tuple[int, ...] = ()


Expr = Union[Ref, Op]  # noqa: UP007 (a runtime alias used in a dataclass field)

BINARY_OPS = {"add": "+", "sub": "-", "mul": "*", "div": "/"}
OP_KINDS = (
    *BINARY_OPS,
    "dot",
    "matmul",
    "relu",
    "sum",
    "mean",
    "transpose",
    "reshape",
    "expand_dims",
    "squeeze",
    "slice",
    "index",
    "gather",
    "conv2d",
)
"""Every op a model can use: what MIND's docs/autodiff.md lists as differentiable."""


def matmul(a: Expr, b: Expr) -> Op:
    return Op("matmul", (a, b))


def add(a: Expr, b: Expr) -> Op:
    return Op("add", (a, b))


def mul(a: Expr, b: Expr) -> Op:
    return Op("mul", (a, b))


def relu(a: Expr) -> Op:
    return Op("relu", (a,))


def total(a: Expr, axes: tuple[int, ...]) -> Op:
    return Op("sum", (a,), axes)


def _conv2d_nhwc_hwio(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """MIND's conv2d (NHWC input, HWIO filter, stride 1, valid padding) on torch's NCHW."""
    import torch.nn.functional as functional

    return functional.conv2d(x.permute(0, 3, 1, 2), w.permute(3, 2, 0, 1)).permute(0, 2, 3, 1)


def _apply(
    expr: Op,
    args: list[torch.Tensor],
    product: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
) -> torch.Tensor:
    """One op on torch tensors, with MIND's meaning."""
    import torch

    axes, bounds = expr.axes, expr.bounds
    operations: dict[str, Callable[[], torch.Tensor]] = {
        "matmul": lambda: product(args[0], args[1]),
        "add": lambda: args[0] + args[1],
        "sub": lambda: args[0] - args[1],
        "mul": lambda: args[0] * args[1],
        "div": lambda: args[0] / args[1],
        "dot": lambda: torch.dot(args[0], args[1]),
        "relu": lambda: torch.relu(args[0]),
        "sum": lambda: args[0].sum(dim=axes) if axes else args[0].sum(),
        "mean": lambda: args[0].mean(dim=axes),
        "transpose": lambda: args[0].permute(axes),
        "reshape": lambda: args[0].reshape(expr.shape),
        "expand_dims": lambda: args[0].unsqueeze(axes[0]),
        "squeeze": lambda: args[0].squeeze(axes),
        "slice": lambda: args[0].narrow(axes[0], bounds[0], bounds[1] - bounds[0]),
        "index": lambda: args[0].select(axes[0], bounds[0]),
        "gather": lambda: torch.index_select(args[0], axes[0], args[1].long()),
        "conv2d": lambda: _conv2d_nhwc_hwio(args[0], args[1]),
    }
    return operations[expr.kind]()


@dataclass(frozen=True)
class Model:
    """A model: what is differentiated, with respect to every parameter."""

    name: str
    description: str
    params: tuple[Param, ...]
    bindings: tuple[tuple[str, Expr], ...]
    result: Expr

    @property
    def differentiable(self) -> tuple[Param, ...]:
        """The parameters whose gradients are asked for (an index tensor is not one)."""
        return tuple(p for p in self.params if p.differentiable)

    def forward_op_counts(self) -> Counter[str]:
        """How many of each operation the forward graph has (what correct IR must contain)."""
        counts: Counter[str] = Counter()

        def visit(expr: Expr) -> None:
            if isinstance(expr, Op):
                counts[expr.kind] += 1
                for arg in expr.args:
                    visit(arg)

        for _, expr in self.bindings:
            visit(expr)
        visit(self.result)
        return counts

    def torch_parameters(self, device: str = "cpu", rng_seed: int = 0) -> dict[str, torch.Tensor]:
        """Seeded random leaves that require grad (values do not change the graph's cost);
        an index tensor holds its fill and requires none."""
        import torch

        generator = torch.Generator(device="cpu").manual_seed(rng_seed)
        return {
            p.name: (
                torch.randn(p.shape, generator=generator).to(device).requires_grad_(True)
                if p.differentiable
                else torch.full(p.shape, p.fill, dtype=torch.int32, device=device)
            )
            for p in self.params
        }

    def torch_forward(
        self,
        values: Mapping[str, torch.Tensor],
        matmul: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """Evaluate the graph with PyTorch ops, recording the autograd tape.

        `matmul` replaces `@` (a test gives it a wrong backward rule to show what the
        runtime's fills expose)."""
        import torch

        env = dict(values)
        product = matmul if matmul is not None else torch.matmul

        def evaluate(expr: Expr) -> torch.Tensor:
            if isinstance(expr, Ref):
                return env[expr.name]
            return _apply(expr, [evaluate(a) for a in expr.args], product)

        for name, expr in self.bindings:
            env[name] = evaluate(expr)
        return evaluate(self.result)


def _simple_quadratic() -> Model:
    return Model(
        name="simple_quadratic",
        description="sum(x^2), x of 1000",
        params=(Param("x", (1000,), 0),),
        bindings=(("squared", mul(Ref("x"), Ref("x"))),),
        result=total(Ref("squared"), (0,)),
    )


def _small_mlp() -> Model:
    return Model(
        name="small_mlp",
        description="32x784 -> 256 (relu) -> 10, with biases",
        params=(
            Param("x", (32, 784), 0),
            Param("w1", (784, 256), 1),
            Param("b1", (256,), 0),
            Param("w2", (256, 10), 1),
            Param("b2", (10,), 0),
        ),
        bindings=(
            ("h1", relu(add(matmul(Ref("x"), Ref("w1")), Ref("b1")))),
            ("out", add(matmul(Ref("h1"), Ref("w2")), Ref("b2"))),
        ),
        result=total(Ref("out"), (0, 1)),
    )


def _matmul_chain() -> Model:
    return Model(
        name="matmul_chain",
        description="A@B@C@D: 64x128, 128x256, 256x512, 512x128",
        params=(
            Param("A", (64, 128), 1),
            Param("B", (128, 256), 1),
            Param("C", (256, 512), 1),
            Param("D", (512, 128), 1),
        ),
        bindings=(
            ("ab", matmul(Ref("A"), Ref("B"))),
            ("abc", matmul(Ref("ab"), Ref("C"))),
            ("abcd", matmul(Ref("abc"), Ref("D"))),
        ),
        result=total(Ref("abcd"), (0, 1)),
    )


def relu_matmul_chain(layers: int, size: int = 16) -> Model:
    """N layers of relu(h @ w) on small square tensors: how each cost grows with depth."""
    if layers < 1:
        raise ValueError(f"a chain needs at least one layer, got {layers}")
    params = [Param("x", (size, size), 1)]
    params += [Param(f"w{i}", (size, size), 1) for i in range(layers)]
    bindings: list[tuple[str, Expr]] = []
    previous = "x"
    for i in range(layers):
        bindings.append((f"h{i + 1}", relu(matmul(Ref(previous), Ref(f"w{i}")))))
        previous = f"h{i + 1}"
    return Model(
        name=f"relu_matmul_chain_{layers}",
        description=f"{layers} x relu(matmul) on {size}x{size}",
        params=tuple(params),
        bindings=tuple(bindings),
        result=total(Ref(previous), (0, 1)),
    )


SEED_MODELS: dict[str, Model] = {
    case.name: case for case in (_simple_quadratic(), _small_mlp(), _matmul_chain())
}
