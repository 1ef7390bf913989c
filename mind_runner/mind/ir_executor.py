"""A reference executor for MIND's printed IR, on PyTorch CPU eager ops.

MIND cannot execute its own gradient IR, and op counts cannot tell a right
gradient from a wrong one, so the printed module is run here, value by value.
Shapes and dtypes are checked strictly, as printed: an instruction whose
operands do not fit is a finding (a misfit), never silently repaired, and
whatever depends on it is "not evaluated" (not counted again). The one
liberty, the SEED reading, is named in every result.
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import torch

from mind_runner.mind.gradient_ir import Instruction, IRModule


class Reading(enum.Enum):
    """How the printed module is read."""

    AS_PRINTED = "as printed"
    # The scalar seed of the target `sum` (`const.i64 1`) stands for float32
    # ones shaped like the summed tensor: MIND prints no broadcast for it.
    SEED = "seed"


class FindingKind(enum.Enum):
    MISFIT = "misfit"  # operands do not fit the op as printed (shape, dtype, rank)
    UNSUPPORTED = "unsupported"  # an op (or constant) this executor cannot run
    UNDEFINED = "undefined"  # an operand that is not defined before its use
    MALFORMED = "malformed"  # operand text of a known op that cannot be read
    NO_SEED = "no seed"  # the SEED reading was asked for but does not apply


@dataclass(frozen=True)
class Finding:
    kind: FindingKind
    value_id: int | None
    message: str

    def __str__(self) -> str:
        where = "" if self.value_id is None else f"%{self.value_id}: "
        return f"{where}{self.message}"


@dataclass(frozen=True)
class Execution:
    """What running a module gave: values, findings, and which reading was used."""

    reading: Reading
    values: Mapping[int, torch.Tensor]
    findings: tuple[Finding, ...]
    not_evaluated: tuple[int, ...]

    @property
    def misfit_count(self) -> int:
        """Instructions whose operands do not fit as printed (dependents not counted)."""
        return sum(1 for f in self.findings if f.kind is FindingKind.MISFIT)


class _Misfit(Exception):
    """Raised by an op when its operands do not fit; the message is the finding."""


class _Unsupported(Exception):
    """Raised when printed text is valid MIND but cannot be executed here."""


_DTYPES: dict[str, torch.dtype] = {
    "F32": torch.float32,
    "F64": torch.float64,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "I32": torch.int32,
    "I64": torch.int64,
}
_DTYPE_NAMES = {dtype: name for name, dtype in _DTYPES.items()}
Kernel = Callable[..., torch.Tensor]
"""What one instruction computes, its operands already checked: one eager PyTorch call."""
_ID = r"%(?P<{}>\d+)"
_A, _B = _ID.format("a"), _ID.format("b")
_LIST = r"\[(?P<{}>[^\]]*)\]"
_CONV = r"strides=\((?P<sh>\d+), (?P<sw>\d+)\) padding=(?P<padding>valid|same)"
_CONST_TENSOR = re.compile(
    r"(?P<dtype>\w+) \[(?P<dims>[^\]]*)\] fill=(?:Some\((?P<fill>[^)]*)\)|(?P<none>None))"
)


def _describe(value_id: int, tensor: torch.Tensor) -> str:
    dtype = _DTYPE_NAMES.get(tensor.dtype, str(tensor.dtype))
    return f"%{value_id} {dtype} {list(tensor.shape)}"


def _same_dtype(ids: Sequence[int], args: Sequence[torch.Tensor]) -> list[str]:
    if args[0].dtype == args[1].dtype:
        return []
    return [f"dtypes differ ({_describe(ids[0], args[0])}, {_describe(ids[1], args[1])})"]


def _misfit_if(op: str, problems: list[str]) -> None:
    """The finding for an instruction whose operands do not fit, all reasons on one line."""
    if problems:
        raise _Misfit(f"{op}: " + "; ".join(problems))


def _broadcasts(a: torch.Size, b: torch.Size) -> bool:
    """numpy's rule (MIND's too): trailing dimensions equal, or one of them 1."""
    return all(x == y or 1 in (x, y) for x, y in zip(reversed(a), reversed(b), strict=False))


def _int_list(text: str, what: str) -> list[int]:
    try:
        return [int(item) for item in text.split(",") if item.strip()]
    except ValueError:
        raise _Misfit(f"{what}=[{text}] is not a list of integers") from None


def _elementwise(
    function: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
) -> Callable[[str, Sequence[int], Sequence[torch.Tensor], re.Match[str]], torch.Tensor]:
    def run(
        op: str, ids: Sequence[int], args: Sequence[torch.Tensor], _: re.Match[str]
    ) -> torch.Tensor:
        problems = _same_dtype(ids, args)
        if not _broadcasts(args[0].shape, args[1].shape):
            problems.append(
                f"shapes {list(args[0].shape)} and {list(args[1].shape)} do not broadcast"
            )
        _misfit_if(op, problems)
        return function(args[0], args[1])

    return run


def _divide(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    # MIND's integers divide like Rust's `/` (truncating).
    if a.is_floating_point():
        return a / b
    return torch.div(a, b, rounding_mode="trunc")


def _matmul(
    op: str, ids: Sequence[int], args: Sequence[torch.Tensor], _: re.Match[str]
) -> torch.Tensor:
    a, b = args
    problems = _same_dtype(ids, args)
    for value_id, tensor in zip(ids, args, strict=True):
        if tensor.dim() < 1:
            problems.append(f"{_describe(value_id, tensor)} has rank 0, matmul needs rank >= 1")
    if a.dim() >= 1 and b.dim() >= 1:
        inner_b = b.shape[-2] if b.dim() >= 2 else b.shape[0]
        if a.shape[-1] != inner_b:
            problems.append(
                f"inner dimensions differ ({_describe(ids[0], a)} @ {_describe(ids[1], b)})"
            )
    _misfit_if("matmul", problems)
    return torch.matmul(a, b)


def _transpose(
    op: str, ids: Sequence[int], args: Sequence[torch.Tensor], match: re.Match[str]
) -> torch.Tensor:
    perm = _int_list(match["perm"], "perm")
    if sorted(perm) != list(range(args[0].dim())):
        raise _Misfit(
            f"transpose: perm={perm} is not a permutation of the axes of "
            + _describe(ids[0], args[0])
        )
    return _transpose_kernel(match, args)(args[0])


def _transpose_kernel(match: re.Match[str], args: Sequence[torch.Tensor]) -> Kernel:
    perm = _int_list(match["perm"], "perm")
    return lambda a: a.permute(perm)


def _sum(
    op: str, ids: Sequence[int], args: Sequence[torch.Tensor], match: re.Match[str]
) -> torch.Tensor:
    (src,) = args
    axes = _int_list(match["axes"], "axes") or list(range(src.dim()))  # [] means all (MIND)
    # MIND's IR verifier rejects negative axes; its shape rules reject repeats.
    if any(not 0 <= axis < src.dim() for axis in axes) or len(set(axes)) != len(axes):
        raise _Misfit(f"sum: axes={axes} do not fit {_describe(ids[0], src)}")
    return _sum_kernel(match, args)(src)


def _reduction(reduce: str) -> Callable[[re.Match[str], Sequence[torch.Tensor]], Kernel]:
    """sum's or mean's kernel: `[]` axes mean all of them, as MIND prints it."""

    def make(match: re.Match[str], args: Sequence[torch.Tensor]) -> Kernel:
        axes = _int_list(match["axes"], "axes") or list(range(args[0].dim()))
        if not axes:  # a rank-0 operand
            return torch.clone
        keepdim = match["keepdims"] == "true"
        return lambda src: getattr(src, reduce)(dim=axes, keepdim=keepdim)

    return make


_sum_kernel = _reduction("sum")
_mean_kernel = _reduction("mean")


def _mean(
    op: str, ids: Sequence[int], args: Sequence[torch.Tensor], match: re.Match[str]
) -> torch.Tensor:
    (src,) = args
    if not src.is_floating_point():
        raise _Unsupported(f"mean of an integer tensor ({_describe(ids[0], src)})")
    _sum(op, ids, args, match)  # the same axes rules as sum
    return _mean_kernel(match, args)(src)


def _dot(
    op: str, ids: Sequence[int], args: Sequence[torch.Tensor], _: re.Match[str]
) -> torch.Tensor:
    a, b = args
    problems = _same_dtype(ids, args)
    if a.dim() != 1 or b.dim() != 1 or a.shape != b.shape:
        problems.append(
            f"needs two vectors of one length ({_describe(ids[0], a)}, {_describe(ids[1], b)})"
        )
    _misfit_if("dot", problems)
    return torch.dot(a, b)


def _reshape(
    op: str, ids: Sequence[int], args: Sequence[torch.Tensor], match: re.Match[str]
) -> torch.Tensor:
    shape = _reshape_dims(match)
    if torch.Size(shape).numel() != args[0].numel():
        raise _Misfit(f"reshape: {_describe(ids[0], args[0])} cannot become {shape}")
    return _reshape_kernel(match, args)(args[0])


def _reshape_dims(match: re.Match[str]) -> list[int]:
    dims = [d.strip().strip('"') for d in match["dims"].split(",") if d.strip()]
    if not all(d.isdigit() for d in dims):
        raise _Unsupported(f"reshape to a symbolic shape {dims} cannot be executed")
    return [int(d) for d in dims]


def _reshape_kernel(match: re.Match[str], args: Sequence[torch.Tensor]) -> Kernel:
    shape = _reshape_dims(match)
    return lambda a: a.reshape(shape)


def _expand_dims(
    op: str, ids: Sequence[int], args: Sequence[torch.Tensor], match: re.Match[str]
) -> torch.Tensor:
    axis = int(match["axis"])
    if not 0 <= axis <= args[0].dim():
        raise _Misfit(f"expand_dims: axis={axis} does not fit {_describe(ids[0], args[0])}")
    return args[0].unsqueeze(axis)


def _expand_dims_kernel(match: re.Match[str], args: Sequence[torch.Tensor]) -> Kernel:
    axis = int(match["axis"])
    return lambda a: a.unsqueeze(axis)


def _squeeze(
    op: str, ids: Sequence[int], args: Sequence[torch.Tensor], match: re.Match[str]
) -> torch.Tensor:
    (src,) = args
    axes = _int_list(match["axes"], "axes")
    if any(not 0 <= axis < src.dim() or src.shape[axis] != 1 for axis in axes):
        raise _Misfit(f"squeeze: axes={axes} are not axes of size 1 of {_describe(ids[0], src)}")
    return _squeeze_kernel(match, args)(src)


def _squeeze_kernel(match: re.Match[str], args: Sequence[torch.Tensor]) -> Kernel:
    axes = _int_list(match["axes"], "axes")
    return lambda src: src.squeeze(tuple(axes)) if axes else src.clone()


_SLICE_SPEC = re.compile(
    r"SliceSpec \{ axis: (?P<axis>\d+), start: (?P<start>-?\d+), "
    r"end: (?:Some\((?P<end>-?\d+)\)|None), stride: (?P<stride>-?\d+) \}"
)
_INDEX_SPEC = re.compile(r"IndexSpec \{ axis: (?P<axis>\d+), index: (?P<index>-?\d+) \}")


def _specs(pattern: re.Pattern[str], text: str, op: str) -> list[re.Match[str]]:
    """Every printed spec, or UNSUPPORTED when any part of the list is not one we read."""
    found = list(pattern.finditer(text))
    if not found or pattern.sub("", text).replace(",", "").strip():
        raise _Unsupported(f"{op} specs [{text}] are not in the form this executor reads")
    return found


def _slice(
    op: str, ids: Sequence[int], args: Sequence[torch.Tensor], match: re.Match[str]
) -> torch.Tensor:
    (src,) = args
    for spec in _specs(_SLICE_SPEC, match["specs"], op):
        axis, start, stride = int(spec["axis"]), int(spec["start"]), int(spec["stride"])
        end = src.shape[axis] if spec["end"] is None else int(spec["end"])
        if axis >= src.dim() or stride < 1 or not 0 <= start <= end <= src.shape[axis]:
            raise _Misfit(f"slice: {spec[0]} does not fit {_describe(ids[0], src)}")
    return _slice_kernel(match, args)(src)


def _slice_kernel(match: re.Match[str], args: Sequence[torch.Tensor]) -> Kernel:
    specs = [
        (
            int(s["axis"]),
            int(s["start"]),
            None if s["end"] is None else int(s["end"]),
            int(s["stride"]),
        )
        for s in _SLICE_SPEC.finditer(match["specs"])
    ]

    def run(src: torch.Tensor) -> torch.Tensor:
        for axis, start, end, stride in specs:
            stop = src.shape[axis] if end is None else end
            src = src.narrow(axis, start, stop - start)[
                (slice(None),) * axis + (slice(None, None, stride),)
            ]
        return src

    return run


def _index(
    op: str, ids: Sequence[int], args: Sequence[torch.Tensor], match: re.Match[str]
) -> torch.Tensor:
    (src,) = args
    for spec in _specs(_INDEX_SPEC, match["specs"], op):
        axis, index = int(spec["axis"]), int(spec["index"])
        if axis >= src.dim() or not 0 <= index < src.shape[axis]:
            raise _Misfit(f"index: {spec[0]} does not fit {_describe(ids[0], src)}")
    return _index_kernel(match, args)(src)


def _index_kernel(match: re.Match[str], args: Sequence[torch.Tensor]) -> Kernel:
    specs = [(int(s["axis"]), int(s["index"])) for s in _INDEX_SPEC.finditer(match["specs"])]

    def run(src: torch.Tensor) -> torch.Tensor:
        for axis, index in specs:  # one spec in every module MIND printed for us
            src = src.select(axis, index)
        return src

    return run


def _gather(
    op: str, ids: Sequence[int], args: Sequence[torch.Tensor], match: re.Match[str]
) -> torch.Tensor:
    """`gather %src indices=%idx axis=N`: the index tensor's shape spliced in at axis N
    (MIND's docs/shapes.md)."""
    src, indices = args
    axis = int(match["axis"])
    if axis >= src.dim():
        raise _Misfit(f"gather: axis={axis} does not fit {_describe(ids[0], src)}")
    if indices.is_floating_point() or indices.is_complex():
        raise _Misfit(f"gather: indices {_describe(ids[1], indices)} are not integers")
    if indices.numel() and not 0 <= int(indices.min()) <= int(indices.max()) < src.shape[axis]:
        raise _Misfit(
            f"gather: indices {_describe(ids[1], indices)} leave axis {axis} of "
            + _describe(ids[0], src)
        )
    return _gather_kernel(match, args)(src, indices)


def _gather_kernel(match: re.Match[str], args: Sequence[torch.Tensor]) -> Kernel:
    axis = int(match["axis"])

    def run(src: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
        picked = src.index_select(axis, indices.reshape(-1).long())
        return picked.reshape(*src.shape[:axis], *indices.shape, *src.shape[axis + 1 :])

    return run


def _conv_geometry(match: re.Match[str]) -> tuple[tuple[int, int], str]:
    return (int(match["sh"]), int(match["sw"])), match["padding"]


def _conv2d_nhwc(
    x: torch.Tensor, w: torch.Tensor, strides: tuple[int, int], padding: str
) -> torch.Tensor:
    """MIND's conv2d: NHWC input, HWIO filter; "same" pads as TensorFlow does (the
    extra row or column after), so the output is ceil(input / stride)."""
    nchw = x.permute(0, 3, 1, 2)
    if padding == "same":
        pads: list[int] = []
        for size, kernel, stride in reversed(
            list(zip(x.shape[1:3], w.shape[:2], strides, strict=True))
        ):
            total = max((-(-size // stride) - 1) * stride + kernel - size, 0)
            pads += [total // 2, total - total // 2]
        nchw = torch.nn.functional.pad(nchw, pads)
    out = torch.nn.functional.conv2d(nchw, w.permute(3, 2, 0, 1), stride=strides)
    return out.permute(0, 2, 3, 1)


def _check_conv(
    op: str, ids: Sequence[int], x: torch.Tensor, w: torch.Tensor, strides: tuple[int, int]
) -> None:
    problems = _same_dtype(ids, [x, w])
    if x.dim() != 4 or w.dim() != 4:
        problems.append(f"needs 4-D NHWC and HWIO ({_describe(ids[0], x)}, {_describe(ids[1], w)})")
    elif x.shape[3] != w.shape[2]:
        problems.append(f"channels differ ({_describe(ids[0], x)}, {_describe(ids[1], w)})")
    if min(strides) < 1:
        problems.append(f"strides {strides} are not positive")
    _misfit_if(op, problems)


def _conv2d(
    op: str, ids: Sequence[int], args: Sequence[torch.Tensor], match: re.Match[str]
) -> torch.Tensor:
    x, w = args
    strides, padding = _conv_geometry(match)
    _check_conv(op, ids, x, w, strides)
    try:
        return _conv2d_nhwc(x, w, strides, padding)
    except RuntimeError as error:  # a filter larger than the (padded) input
        raise _Misfit(f"{op}: {error}") from None


def _conv2d_kernel(match: re.Match[str], args: Sequence[torch.Tensor]) -> Kernel:
    strides, padding = _conv_geometry(match)
    return lambda x, w: _conv2d_nhwc(x, w, strides, padding)


def _conv_vjp(
    shape: list[int],
    dy: torch.Tensor,
    other: torch.Tensor,
    geometry: tuple[tuple[int, int], str],
    of_input: bool,
) -> torch.Tensor:
    """The vector-Jacobian product of conv2d with `dy`, with respect to the input (`other`
    is the filter) or the filter (`other` is the input): torch's autograd of the forward."""
    strides, padding = geometry
    with torch.enable_grad():
        leaf = torch.zeros(shape, dtype=dy.dtype, requires_grad=True)
        x, w = (leaf, other) if of_input else (other, leaf)
        out = _conv2d_nhwc(x, w, strides, padding)
        if out.shape != dy.shape:
            raise _Misfit(
                f"the upstream gradient {list(dy.shape)} is not conv2d's {list(out.shape)}"
            )
        (grad,) = torch.autograd.grad(out, leaf, dy)
    return grad


def _conv2d_grad(of_input: bool) -> _Run:
    def run(
        op: str, ids: Sequence[int], args: Sequence[torch.Tensor], match: re.Match[str]
    ) -> torch.Tensor:
        shape = _int_list(match["shape"], "shape")
        strides, _ = _conv_geometry(match)
        dy, other = (args[0], args[1]) if of_input else (args[1], args[0])
        x_shape, w_shape = (shape, list(other.shape)) if of_input else (list(other.shape), shape)
        if len(shape) != 4:
            raise _Misfit(f"{op}: shape {shape} is not 4-D")
        _check_conv(op, ids, torch.empty(x_shape), torch.empty(w_shape), strides)
        return _conv_vjp(shape, dy, other, _conv_geometry(match), of_input)

    return run


def _conv2d_grad_kernel(
    of_input: bool,
) -> Callable[[re.Match[str], Sequence[torch.Tensor]], Kernel]:
    def make(match: re.Match[str], args: Sequence[torch.Tensor]) -> Kernel:
        shape, geometry = _int_list(match["shape"], "shape"), _conv_geometry(match)
        if of_input:
            return lambda dy, w: _conv_vjp(shape, dy, w, geometry, True)
        return lambda x, dy: _conv_vjp(shape, dy, x, geometry, False)

    return make


def _relu(
    op: str, ids: Sequence[int], args: Sequence[torch.Tensor], _: re.Match[str]
) -> torch.Tensor:
    return torch.relu(args[0])


def _relu_grad(
    op: str, ids: Sequence[int], args: Sequence[torch.Tensor], _: re.Match[str]
) -> torch.Tensor:
    """`relu_grad %grad %src` = grad where src > 0, else 0 (MIND: select(src > 0, grad, 0))."""
    grad, src = args
    problems = _same_dtype(ids, args)
    if grad.shape != src.shape:  # MIND lowers it as a shape-preserving map, no broadcast
        problems.append(
            f"shapes differ ({_describe(ids[0], grad)}, {_describe(ids[1], src)}), "
            "relu_grad does not broadcast"
        )
    _misfit_if("relu_grad", problems)
    return _gate(grad, src)


def _gate(grad: torch.Tensor, src: torch.Tensor) -> torch.Tensor:
    return torch.where(src > 0, grad, torch.zeros_like(grad))


def _const_i64(
    op: str, ids: Sequence[int], args: Sequence[torch.Tensor], match: re.Match[str]
) -> torch.Tensor:
    return torch.tensor(int(match["value"]), dtype=torch.int64)


def _const_f64(
    op: str, ids: Sequence[int], args: Sequence[torch.Tensor], match: re.Match[str]
) -> torch.Tensor:
    return torch.tensor(float(match["value"]), dtype=torch.float64)


def _const_tensor(
    op: str, ids: Sequence[int], args: Sequence[torch.Tensor], match: re.Match[str]
) -> torch.Tensor:
    dtype, shape = _tensor_type(match)
    if match["none"] is not None:
        raise _Unsupported("const.tensor with fill=None has no values (bind one)")
    return torch.full(shape, float(match["fill"]), dtype=dtype)


def _tensor_type(match: re.Match[str]) -> tuple[torch.dtype, tuple[int, ...]]:
    if match["dtype"] not in _DTYPES:
        raise _Unsupported(f"const.tensor of dtype {match['dtype']} cannot be executed")
    dims = [d.strip().strip('"') for d in match["dims"].split(",") if d.strip()]
    if not all(d.isdigit() for d in dims):
        raise _Unsupported(f"const.tensor with a symbolic shape {dims} cannot be executed")
    return _DTYPES[match["dtype"]], tuple(int(d) for d in dims)


_Run = Callable[[str, Sequence[int], Sequence[torch.Tensor], re.Match[str]], torch.Tensor]

# op -> (syntax of its printed operands, what it computes); operands are groups a, b.
_OPS: dict[str, tuple[re.Pattern[str], _Run]] = {
    "const.i64": (re.compile(r"(?P<value>-?\d+)"), _const_i64),
    "const.f64": (
        re.compile(r"(?P<value>-?(?:\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|inf|nan))"),
        _const_f64,
    ),
    "const.tensor": (_CONST_TENSOR, _const_tensor),
    "add": (re.compile(f"{_A}, {_B}"), _elementwise(torch.add)),
    "sub": (re.compile(f"{_A}, {_B}"), _elementwise(torch.sub)),
    "mul": (re.compile(f"{_A}, {_B}"), _elementwise(torch.mul)),
    "div": (re.compile(f"{_A}, {_B}"), _elementwise(_divide)),
    "matmul": (re.compile(f"{_A}, {_B}"), _matmul),
    "transpose": (re.compile(f"{_A} perm={_LIST.format('perm')}"), _transpose),
    "sum": (
        re.compile(f"{_A} axes={_LIST.format('axes')} keepdims=(?P<keepdims>true|false)"),
        _sum,
    ),
    "mean": (
        re.compile(f"{_A} axes={_LIST.format('axes')} keepdims=(?P<keepdims>true|false)"),
        _mean,
    ),
    "dot": (re.compile(f"{_A}, {_B}"), _dot),
    "reshape": (re.compile(f"{_A} {_LIST.format('dims')}"), _reshape),
    "expand_dims": (re.compile(f"{_A} axis=(?P<axis>\\d+)"), _expand_dims),
    "squeeze": (re.compile(f"{_A} axes={_LIST.format('axes')}"), _squeeze),
    "slice": (re.compile(f"{_A} \\[(?P<specs>SliceSpec .*)\\]"), _slice),
    "index": (re.compile(f"{_A} \\[(?P<specs>IndexSpec .*)\\]"), _index),
    "gather": (re.compile(f"{_A} indices={_B} axis=(?P<axis>\\d+)"), _gather),
    "conv2d": (re.compile(f"{_A} {_B} {_CONV}"), _conv2d),
    "conv2d_grad_input": (
        re.compile(f"{_A} {_B} input_shape={_LIST.format('shape')} {_CONV}"),
        _conv2d_grad(of_input=True),
    ),
    "conv2d_grad_filter": (
        re.compile(f"{_A} {_B} filter_shape={_LIST.format('shape')} {_CONV}"),
        _conv2d_grad(of_input=False),
    ),
    "relu": (re.compile(_A), _relu),
    "relu_grad": (re.compile(f"{_A} {_B}"), _relu_grad),
}


def _fixed(kernel: Kernel) -> Callable[[re.Match[str], Sequence[torch.Tensor]], Kernel]:
    return lambda match, args: kernel


# What each computing op runs once its operands fit (the same calls `execute` makes).
_KERNELS: dict[str, Callable[[re.Match[str], Sequence[torch.Tensor]], Kernel]] = {
    "add": _fixed(torch.add),
    "sub": _fixed(torch.sub),
    "mul": _fixed(torch.mul),
    "div": _fixed(_divide),
    "matmul": _fixed(torch.matmul),
    "transpose": _transpose_kernel,
    "sum": _sum_kernel,
    "mean": _mean_kernel,
    "dot": _fixed(torch.dot),
    "reshape": _reshape_kernel,
    "expand_dims": _expand_dims_kernel,
    "squeeze": _squeeze_kernel,
    "slice": _slice_kernel,
    "index": _index_kernel,
    "gather": _gather_kernel,
    "conv2d": _conv2d_kernel,
    "conv2d_grad_input": _conv2d_grad_kernel(of_input=True),
    "conv2d_grad_filter": _conv2d_grad_kernel(of_input=False),
    "relu": _fixed(torch.relu),
    "relu_grad": _fixed(_gate),
}


def parameter_ids(module: IRModule) -> tuple[int, ...]:
    """The parameters: the primal `const.tensor`s, in declaration order."""
    return tuple(i.value_id for i in module.primal if i.op == "const.tensor")


def bind_in_order(module: IRModule, tensors: Sequence[torch.Tensor]) -> dict[int, torch.Tensor]:
    """Bindings for `execute` from tensors given in parameter order."""
    ids = parameter_ids(module)
    if len(tensors) != len(ids):
        raise ValueError(f"the module has {len(ids)} parameters, {len(tensors)} tensors given")
    return dict(zip(ids, tensors, strict=True))


def _check_bindings(module: IRModule, bindings: Mapping[int, torch.Tensor]) -> None:
    declared = {i.value_id: i for i in module.primal if i.op == "const.tensor"}
    for value_id, tensor in bindings.items():
        if value_id not in declared:
            raise ValueError(f"%{value_id} is not a parameter (a primal const.tensor)")
        match = _CONST_TENSOR.fullmatch(declared[value_id].operands)
        if match is None:
            raise ValueError(f"%{value_id}: cannot read {declared[value_id].operands!r}")
        try:
            dtype, shape = _tensor_type(match)
        except _Unsupported as error:
            raise ValueError(f"%{value_id}: {error}") from None
        if tensor.dtype != dtype or tuple(tensor.shape) != shape:
            raise ValueError(
                f"%{value_id} is declared {match['dtype']} {list(shape)}, "
                f"bound to {_describe(value_id, tensor)}"
            )


def _seed(module: IRModule) -> tuple[int, int] | str:
    """(seed id, summed id) when the SEED reading applies, else why it does not."""
    if not module.gradient or not module.outputs:
        return "no gradient instructions after an output"
    target = next((i for i in module.primal if i.value_id == module.outputs[-1]), None)
    if target is None or target.op != "sum":
        return f"the target %{module.outputs[-1]} is not a `sum`"
    first = module.gradient[0]
    value = first.operands.strip()
    if first.op not in ("const.i64", "const.f64") or _as_float(value) != 1.0:
        return f"the first gradient instruction %{first.value_id} is not a scalar constant 1"
    summed = re.match(r"%(\d+)", target.operands)
    if summed is None:
        return f"cannot read the operand of the target %{target.value_id}"
    return first.value_id, int(summed[1])


def _as_float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return math.nan


def execute(
    module: IRModule,
    reading: Reading = Reading.AS_PRINTED,
    bindings: Mapping[int, torch.Tensor] | None = None,
) -> Execution:
    """Run every instruction (primal, then gradient) and collect what does not fit.

    `bindings` maps parameter value ids to tensors (of the printed dtype and
    shape) that replace MIND's constant fills; see `bind_in_order`.
    """
    bound = dict(bindings or {})
    _check_bindings(module, bound)
    findings: list[Finding] = []
    seed: tuple[int, int] | None = None
    if reading is Reading.SEED:
        found = _seed(module)
        if isinstance(found, str):
            findings.append(Finding(FindingKind.NO_SEED, None, f"read as printed: {found}"))
            reading = Reading.AS_PRINTED
        else:
            seed = found
    instructions = (*module.primal, *module.gradient)
    defined_anywhere = {i.value_id for i in instructions}
    values: dict[int, torch.Tensor] = {}
    failed: set[int] = set()
    not_evaluated: list[int] = []
    with torch.no_grad():
        for instruction in instructions:
            finding = _step(
                instruction, values, failed, not_evaluated, defined_anywhere, bound, seed
            )
            if finding is not None:
                findings.append(finding)
    return Execution(reading, values, tuple(findings), tuple(not_evaluated))


def _step(
    instruction: Instruction,
    values: dict[int, torch.Tensor],
    failed: set[int],
    not_evaluated: list[int],
    defined_anywhere: set[int],
    bound: Mapping[int, torch.Tensor],
    seed: tuple[int, int] | None,
) -> Finding | None:
    """Evaluate one instruction into `values`, or say why it was not."""
    value_id, op = instruction.value_id, instruction.op
    if value_id in values or value_id in failed:
        return Finding(FindingKind.MALFORMED, value_id, f"%{value_id} is defined twice")
    if op not in _OPS:
        failed.add(value_id)
        return Finding(FindingKind.UNSUPPORTED, value_id, f"unsupported op {op} at %{value_id}")
    syntax, run = _OPS[op]
    match = syntax.fullmatch(instruction.operands)
    if match is None:
        failed.add(value_id)
        return Finding(
            FindingKind.MALFORMED, value_id, f"cannot read {op} operands {instruction.operands!r}"
        )
    ids = [int(match[g]) for g in ("a", "b") if g in syntax.groupindex]
    if seed is not None and value_id == seed[0]:
        ids = [seed[1]]  # the seed's shape comes from the summed tensor
    for operand in ids:
        if operand not in values and operand not in failed:
            failed.add(value_id)
            where = "before its use" if operand in defined_anywhere else "anywhere"
            return Finding(
                FindingKind.UNDEFINED, value_id, f"{op}: operand %{operand} is not defined {where}"
            )
    if any(operand in failed for operand in ids):
        failed.add(value_id)
        not_evaluated.append(value_id)
        return None
    args = [values[operand] for operand in ids]
    if seed is not None and value_id == seed[0]:
        values[value_id] = torch.ones(args[0].shape, dtype=torch.float32)
        return None
    if value_id in bound:
        values[value_id] = bound[value_id].detach()
        return None
    try:
        values[value_id] = run(op, ids, args, match)
    except _Misfit as misfit:
        failed.add(value_id)
        return Finding(FindingKind.MISFIT, value_id, str(misfit))
    except _Unsupported as unsupported:
        failed.add(value_id)
        return Finding(FindingKind.UNSUPPORTED, value_id, str(unsupported))
    except RuntimeError as error:  # anything torch refuses that the checks above missed
        failed.add(value_id)
        return Finding(FindingKind.MISFIT, value_id, f"{op}: {error}")
    return None


@dataclass(frozen=True)
class GradientProgram:
    """A module's gradient instructions, parsed once, to be run on given primal values.

    Compiled from an execution without findings, so nothing is parsed or checked
    when it runs: each step is one eager PyTorch call on values already computed
    (a constant is made once, at compile time). This is MIND's gradient program
    on PyTorch's kernels, not a MIND runtime.
    """

    steps: tuple[tuple[int, Kernel, tuple[int, ...]], ...]
    reading: Reading

    def run(self, primal: Mapping[int, torch.Tensor]) -> dict[int, torch.Tensor]:
        """Every gradient value, computed from the primal values (which are not changed)."""
        values = dict(primal)
        for value_id, kernel, operands in self.steps:
            values[value_id] = kernel(*[values[operand] for operand in operands])
        return values


def primal_values(module: IRModule, execution: Execution) -> dict[int, torch.Tensor]:
    """The values of the primal instructions: what `GradientProgram.run` starts from."""
    return {i.value_id: execution.values[i.value_id] for i in module.primal}


def compile_gradient(module: IRModule, execution: Execution) -> GradientProgram:
    """The gradient instructions of `module` as steps, in `execution`'s reading.

    `execution` (of this module) must have no findings: then every operand fits
    and every op has a kernel. ValueError otherwise.
    """
    if execution.findings:
        raise ValueError(
            "only a module that runs without findings compiles: "
            + "; ".join(str(f) for f in execution.findings)
        )
    found = _seed(module) if execution.reading is Reading.SEED else None
    seed = found if isinstance(found, tuple) else None
    steps: list[tuple[int, Kernel, tuple[int, ...]]] = []
    for instruction in module.gradient:
        value_id = instruction.value_id
        syntax, _ = _OPS[instruction.op]
        match = syntax.fullmatch(instruction.operands)
        assert match is not None  # the execution read it
        ids = tuple(int(match[g]) for g in ("a", "b") if g in syntax.groupindex)
        if seed is not None and value_id == seed[0]:
            shape = execution.values[seed[1]].shape
            steps.append((value_id, lambda shape=shape: torch.ones(shape, dtype=torch.float32), ()))
        elif instruction.op in _KERNELS:
            examples = [execution.values[operand] for operand in ids]
            steps.append((value_id, _KERNELS[instruction.op](match, examples), ids))
        else:  # a constant: made once
            constant = execution.values[value_id]
            steps.append((value_id, lambda constant=constant: constant, ()))
    return GradientProgram(tuple(steps), execution.reading)
