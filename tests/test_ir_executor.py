from __future__ import annotations

import pytest
import torch

from mind_runner.mind import ir_executor
from mind_runner.mind.gradient_ir import parse_module
from mind_runner.mind.ir_executor import (
    Execution,
    FindingKind,
    Reading,
    bind_in_order,
    compile_gradient,
    execute,
    parameter_ids,
    primal_values,
)
from tests import ir_samples


def run(
    body: str,
    reading: Reading = Reading.AS_PRINTED,
    bindings: dict[int, torch.Tensor] | None = None,
) -> Execution:
    """Execute instructions written in MIND's format (one per line), as printed: the
    executor's own findings cover what the driver's well-formedness check refuses."""
    module = parse_module("module {\n" + body + "}  // next_id = 0\n", well_formed=False)
    return execute(module, reading, bindings)


def kinds(execution: Execution) -> list[tuple[FindingKind, int | None]]:
    return [(f.kind, f.value_id) for f in execution.findings]


def test_const_tensor_has_printed_dtype_shape_and_fill() -> None:
    result = run(
        '%0 = const.tensor F32 ["32", "784"] fill=Some(0.0)\n'
        '%1 = const.tensor I64 ["3"] fill=Some(2.0)\n'
        "%2 = const.tensor F32 [] fill=Some(-1.5)\n"
    )
    assert result.findings == ()
    assert result.values[0].dtype == torch.float32
    assert result.values[0].shape == (32, 784)
    assert torch.equal(result.values[1], torch.tensor([2, 2, 2]))
    assert result.values[2].shape == () and float(result.values[2]) == -1.5


def test_const_tensor_without_values_or_with_symbols_is_unsupported() -> None:
    result = run(
        '%0 = const.tensor F32 ["4"] fill=None\n'
        '%1 = const.tensor F32 ["N", "4"] fill=Some(0.0)\n'
        '%2 = const.tensor Q16 ["4"] fill=Some(0.0)\n'
        "%3 = relu %0\n"
    )
    assert kinds(result) == [
        (FindingKind.UNSUPPORTED, 0),
        (FindingKind.UNSUPPORTED, 1),
        (FindingKind.UNSUPPORTED, 2),
    ]
    assert "fill=None" in result.findings[0].message
    assert result.not_evaluated == (3,)
    assert result.values == {}


def test_scalar_constants() -> None:
    result = run("%0 = const.i64 -3\n%1 = const.f64 3.5\n%2 = const.f64 -inf\n")
    assert result.values[0].dtype == torch.int64 and int(result.values[0]) == -3
    assert result.values[1].dtype == torch.float64 and float(result.values[1]) == 3.5
    assert float(result.values[2]) == float("-inf")


def test_elementwise_ops_broadcast_like_numpy() -> None:
    result = run(
        '%0 = const.tensor F32 ["256"] fill=Some(2.0)\n'
        '%1 = const.tensor F32 ["32", "256"] fill=Some(3.0)\n'
        "%2 = add %0, %1\n%3 = sub %0, %1\n%4 = mul %1, %0\n%5 = div %0, %1\n"
    )
    assert result.findings == ()
    for value_id, expected in ((2, 5.0), (3, -1.0), (4, 6.0), (5, 2.0 / 3.0)):
        assert result.values[value_id].shape == (32, 256)
        assert torch.allclose(result.values[value_id], torch.full((32, 256), expected))


def test_integer_division_truncates_like_rust() -> None:
    result = run("%0 = const.i64 7\n%1 = const.i64 -2\n%2 = div %0, %1\n")
    assert int(result.values[2]) == -3


def test_elementwise_misfits_shape_and_dtype() -> None:
    result = run(
        '%0 = const.tensor F32 ["3"] fill=Some(1.0)\n'
        '%1 = const.tensor F32 ["4"] fill=Some(1.0)\n'
        "%2 = add %0, %1\n"
        "%3 = const.i64 1\n"
        "%4 = mul %0, %3\n"
    )
    assert kinds(result) == [(FindingKind.MISFIT, 2), (FindingKind.MISFIT, 4)]
    assert "shapes [3] and [4] do not broadcast" in result.findings[0].message
    assert "dtypes differ (%0 F32 [3], %3 I64 [])" in result.findings[1].message
    assert result.misfit_count == 2


def test_matmul_shapes_and_values() -> None:
    a, b = torch.randn(2, 3), torch.randn(3, 4)
    result = run(
        '%0 = const.tensor F32 ["2", "3"] fill=Some(0.0)\n'
        "output %0\n"
        '%1 = const.tensor F32 ["3", "4"] fill=Some(0.0)\n'
        "output %1\n"
        "%2 = matmul %0, %1\n"
        '%3 = const.tensor F32 ["3"] fill=Some(1.0)\n'
        "%4 = matmul %3, %1\n",
        bindings={0: a, 1: b},
    )
    assert result.findings == ()
    assert torch.allclose(result.values[2], a @ b)
    assert result.values[4].shape == (4,)


def test_matmul_misfits() -> None:
    result = run(
        '%0 = const.tensor F32 ["2", "3"] fill=Some(1.0)\n'
        "%1 = matmul %0, %0\n"
        "%2 = const.i64 1\n"
        "%3 = matmul %2, %0\n"
    )
    assert kinds(result) == [(FindingKind.MISFIT, 1), (FindingKind.MISFIT, 3)]
    assert "inner dimensions differ (%0 F32 [2, 3] @ %0 F32 [2, 3])" in result.findings[0].message
    assert "has rank 0, matmul needs rank >= 1" in result.findings[1].message
    assert "dtypes differ" in result.findings[1].message


def test_transpose() -> None:
    result = run(
        '%0 = const.tensor F32 ["2", "3"] fill=Some(1.0)\n'
        "%1 = transpose %0 perm=[1, 0]\n"
        "%2 = transpose %1 perm=[0, 2]\n"
        "%3 = const.i64 1\n"
        "%4 = transpose %3 perm=[1, 0]\n"
    )
    assert result.values[1].shape == (3, 2)
    assert kinds(result) == [(FindingKind.MISFIT, 2), (FindingKind.MISFIT, 4)]
    assert "perm=[0, 2] is not a permutation" in result.findings[0].message


def test_sum_axes_and_keepdims() -> None:
    result = run(
        '%0 = const.tensor F32 ["2", "3"] fill=Some(1.0)\n'
        "%1 = sum %0 axes=[0, 1] keepdims=false\n"
        "%2 = sum %0 axes=[1] keepdims=true\n"
        "%3 = sum %0 axes=[] keepdims=false\n"
        "%4 = sum %0 axes=[2] keepdims=false\n"
        "%5 = sum %0 axes=[-1] keepdims=false\n"
        "%6 = sum %0 axes=[0, 0] keepdims=false\n"
    )
    assert result.values[1].shape == () and float(result.values[1]) == 6.0
    assert result.values[2].shape == (2, 1)
    assert float(result.values[3]) == 6.0
    assert kinds(result) == [(FindingKind.MISFIT, i) for i in (4, 5, 6)]


def declared(*shapes: tuple[int, ...]) -> str:
    """Parameter declarations %0, %1, ... in MIND's printed form, to bind values to."""
    lines = []
    for value_id, shape in enumerate(shapes):
        dims = ", ".join(f'"{d}"' for d in shape)
        lines.append(
            f"%{value_id} = const.tensor F32 [{dims}] fill=Some(0.0)\noutput %{value_id}\n"
        )
    return "".join(lines)


def test_mean_like_sum_divided_by_the_count() -> None:
    x = torch.randn(2, 3)
    result = run(
        declared((2, 3))
        + "%1 = mean %0 axes=[1] keepdims=false\n%2 = mean %0 axes=[] keepdims=true\n",
        bindings={0: x},
    )
    assert result.findings == ()
    assert torch.allclose(result.values[1], x.mean(dim=1))
    assert torch.allclose(result.values[2], x.mean(dim=[0, 1], keepdim=True))
    bad = run(declared((2, 3)) + "%1 = mean %0 axes=[2] keepdims=false\n", bindings={0: x})
    assert kinds(bad) == [(FindingKind.MISFIT, 1)]


def test_dot_needs_two_vectors_of_one_length() -> None:
    a, b = torch.randn(3), torch.randn(3)
    result = run(declared((3,), (3,)) + "%2 = dot %0, %1\n", bindings={0: a, 1: b})
    assert result.findings == () and torch.allclose(result.values[2], a @ b)
    bad = run(declared((3,), (4,)) + "%2 = dot %0, %1\n", bindings={0: a, 1: torch.randn(4)})
    assert kinds(bad) == [(FindingKind.MISFIT, 2)]


def test_shape_ops_reshape_expand_dims_squeeze() -> None:
    x = torch.randn(2, 3)
    result = run(
        declared((2, 3))
        + '%1 = reshape %0 ["3", "2"]\n%2 = expand_dims %0 axis=1\n%3 = squeeze %2 axes=[1]\n',
        bindings={0: x},
    )
    assert result.findings == ()
    assert torch.equal(result.values[1], x.reshape(3, 2))
    assert result.values[2].shape == (2, 1, 3)
    assert torch.equal(result.values[3], x)
    bad = run(
        declared((2, 3))
        + '%1 = reshape %0 ["4", "2"]\n%2 = expand_dims %0 axis=3\n%3 = squeeze %0 axes=[0]\n',
        bindings={0: x},
    )
    assert kinds(bad) == [(FindingKind.MISFIT, 1), (FindingKind.MISFIT, 2), (FindingKind.MISFIT, 3)]


def test_slice_and_index_read_the_printed_specs() -> None:
    x = torch.randn(4, 3)
    result = run(
        declared((4, 3))
        + "%1 = slice %0 [SliceSpec { axis: 0, start: 1, end: Some(3), stride: 1 }]\n"
        "%2 = slice %0 [SliceSpec { axis: 1, start: 0, end: None, stride: 2 }]\n"
        "%3 = index %0 [IndexSpec { axis: 0, index: 1 }]\n",
        bindings={0: x},
    )
    assert result.findings == ()
    assert torch.equal(result.values[1], x[1:3])
    assert torch.equal(result.values[2], x[:, ::2])
    assert torch.equal(result.values[3], x[1])
    bad = run(
        declared((4, 3))
        + "%1 = slice %0 [SliceSpec { axis: 0, start: 1, end: Some(5), stride: 1 }]\n"
        "%2 = index %0 [IndexSpec { axis: 1, index: 3 }]\n",
        bindings={0: x},
    )
    assert kinds(bad) == [(FindingKind.MISFIT, 1), (FindingKind.MISFIT, 2)]
    odd = run(
        declared((4, 3)) + "%1 = slice %0 [SliceSpec { axis: 0, step: 2 }]\n", bindings={0: x}
    )
    assert kinds(odd) == [(FindingKind.UNSUPPORTED, 1)]


def test_relu_and_relu_grad_gate_the_first_operand_by_the_second() -> None:
    grad = torch.tensor([1.0, 2.0, 3.0, 4.0])
    src = torch.tensor([-1.0, 0.0, 0.5, 2.0])
    result = run(
        '%0 = const.tensor F32 ["4"] fill=Some(0.0)\n'
        "output %0\n"
        '%1 = const.tensor F32 ["4"] fill=Some(0.0)\n'
        "output %1\n"
        "%2 = relu %1\n"
        "%3 = relu_grad %0 %1\n"
        "%4 = relu_grad %1 %0\n",
        bindings={0: grad, 1: src},
    )
    assert result.findings == ()
    assert torch.equal(result.values[2], torch.tensor([0.0, 0.0, 0.5, 2.0]))
    assert torch.equal(result.values[3], torch.tensor([0.0, 0.0, 3.0, 4.0]))
    assert torch.equal(result.values[4], src)  # swapped operands: a different value


def test_relu_grad_needs_equal_shapes_and_dtypes() -> None:
    result = run(
        '%0 = const.tensor F32 ["4"] fill=Some(1.0)\n'
        '%1 = const.tensor F32 ["2", "4"] fill=Some(1.0)\n'
        "%2 = relu_grad %0 %1\n"
        "%3 = const.i64 1\n"
        "%4 = relu_grad %3 %0\n"
    )
    assert kinds(result) == [(FindingKind.MISFIT, 2), (FindingKind.MISFIT, 4)]
    assert "relu_grad does not broadcast" in result.findings[0].message


def test_unsupported_op_is_a_finding_and_its_dependents_are_not_evaluated() -> None:
    result = run(
        '%0 = const.tensor F32 ["4"] fill=Some(1.0)\n%1 = exp %0\n%2 = mul %1, %1\n%3 = relu %0\n'
    )
    assert kinds(result) == [(FindingKind.UNSUPPORTED, 1)]
    assert result.findings[0].message == "unsupported op exp at %1"
    assert result.not_evaluated == (2,)
    assert 3 in result.values and result.misfit_count == 0


def test_undefined_and_unreadable_operands_are_findings() -> None:
    result = run(
        "%0 = relu %7\n"
        "%1 = relu %2\n"
        '%2 = const.tensor F32 ["4"] fill=Some(1.0)\n'
        "%3 = transpose %2\n"
        "%4 = relu %3\n"
        "%2 = relu %2\n"
    )
    assert kinds(result) == [
        (FindingKind.UNDEFINED, 0),
        (FindingKind.UNDEFINED, 1),
        (FindingKind.MALFORMED, 3),
        (FindingKind.MALFORMED, 2),
    ]
    assert result.findings[0].message == "relu: operand %7 is not defined anywhere"
    assert result.findings[1].message == "relu: operand %2 is not defined before its use"
    assert result.findings[3].message == "%2 is defined twice"
    assert result.not_evaluated == (4,)


def test_head_small_mlp_as_printed_misfits_at_the_scalar_seed() -> None:
    result = execute(parse_module(ir_samples.SMALL_MLP_GRADIENT))
    assert result.reading is Reading.AS_PRINTED
    assert kinds(result) == [(FindingKind.MISFIT, 14), (FindingKind.MISFIT, 15)]
    assert "%11 I64 [] has rank 0" in result.findings[0].message
    # relu_grad and the last two matmuls depend on the misfits: not counted again.
    assert result.not_evaluated == (16, 19, 20)
    assert result.misfit_count == 2


def test_seed_reading_reads_the_scalar_seed_as_ones_of_the_summed_shape() -> None:
    result = execute(parse_module(ir_samples.SMALL_MLP_GRADIENT), Reading.SEED)
    assert result.reading is Reading.SEED
    assert result.findings == () and result.not_evaluated == ()
    assert torch.equal(result.values[11], torch.ones(32, 10))
    assert result.values[19].shape == (32, 784)
    assert result.values[20].shape == (784, 256)
    quadratic = execute(parse_module(ir_samples.SIMPLE_QUADRATIC_GRADIENT), Reading.SEED)
    assert quadratic.findings == () and quadratic.values[6].shape == (1000,)


@pytest.mark.parametrize(
    ("seed_line", "why"),
    [("%3 = const.i64 2", "not a scalar constant 1"), ("%3 = relu %0", "not a scalar constant 1")],
)
def test_seed_reading_that_does_not_apply_says_so_and_reads_as_printed(
    seed_line: str, why: str
) -> None:
    text = ir_samples.SIMPLE_QUADRATIC_GRADIENT.replace("%3 = const.i64 1", seed_line)
    result = execute(parse_module(text), Reading.SEED)
    assert result.reading is Reading.AS_PRINTED
    assert result.findings[0].kind is FindingKind.NO_SEED
    assert why in result.findings[0].message


def test_seed_reading_needs_a_sum_target() -> None:
    text = ir_samples.SIMPLE_QUADRATIC_GRADIENT.replace(
        "%2 = sum %1 axes=[0] keepdims=false", "%2 = relu %1"
    )
    result = execute(parse_module(text), Reading.SEED)
    assert result.reading is Reading.AS_PRINTED
    assert "the target %2 is not a `sum`" in result.findings[0].message


def test_parameters_bind_in_declaration_order_instead_of_fills() -> None:
    module = parse_module(ir_samples.SMALL_MLP_GRADIENT)
    assert parameter_ids(module) == (0, 1, 2, 3, 4)
    generator = torch.Generator().manual_seed(1)
    shapes = [(32, 784), (784, 256), (256,), (256, 10), (10,)]
    x, w1, b1, w2, b2 = (torch.randn(s, generator=generator) for s in shapes)
    result = execute(module, Reading.SEED, bind_in_order(module, [x, w1, b1, w2, b2]))
    assert torch.equal(result.values[1], w1)
    expected = (torch.relu(x @ w1 + b1) @ w2 + b2).sum()
    assert torch.allclose(result.values[10], expected, rtol=1e-5)


def test_bad_bindings_are_caller_errors() -> None:
    module = parse_module(ir_samples.SMALL_MLP_GRADIENT)
    with pytest.raises(ValueError, match="declared F32 \\[256\\], bound to %2 F32 \\[10\\]"):
        execute(module, bindings={2: torch.zeros(10)})
    with pytest.raises(ValueError, match="declared F32"):
        execute(module, bindings={2: torch.zeros(256, dtype=torch.float64)})
    with pytest.raises(ValueError, match="%5 is not a parameter"):
        execute(module, bindings={5: torch.zeros(32, 256)})
    with pytest.raises(ValueError, match="5 parameters, 2 tensors"):
        bind_in_order(module, [torch.zeros(1), torch.zeros(1)])


# --- the gradient program, compiled once and run on given primal values ------------


def random_bindings(module_text: str, rng_seed: int = 0) -> dict[int, torch.Tensor]:
    module = parse_module(module_text)
    generator = torch.Generator().manual_seed(rng_seed)
    shapes = [i.tensor_shape() for i in module.primal if i.op == "const.tensor"]
    return bind_in_order(module, [torch.randn(s or (), generator=generator) for s in shapes])


@pytest.mark.parametrize(
    "text",
    [
        *ir_samples.GRAD_IR.values(),
        ir_samples.SMALL_MLP_ALL_GRADIENTS,
        ir_samples.relu_matmul_chain_grad_ir(3),
    ],
    ids=[*ir_samples.GRAD_IR, "small_mlp_all", "relu_matmul_chain_3"],
)
def test_the_compiled_program_computes_what_execute_computed(text: str) -> None:
    module = parse_module(text)
    execution = execute(module, Reading.SEED, random_bindings(text))
    program = compile_gradient(module, execution)
    primal = primal_values(module, execution)
    before = {k: v.clone() for k, v in primal.items()}
    values = program.run(primal)
    assert [step[0] for step in program.steps] == [i.value_id for i in module.gradient]
    for instruction in module.gradient:
        assert torch.equal(values[instruction.value_id], execution.values[instruction.value_id])
    assert all(torch.equal(primal[k], before[k]) for k in before)  # inputs untouched
    assert program.reading is Reading.SEED


def test_the_compiled_program_parses_nothing_when_it_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    text = ir_samples.GRAD_IR["matmul_chain"]
    module = parse_module(text)
    execution = execute(module, Reading.SEED, random_bindings(text))
    program = compile_gradient(module, execution)
    monkeypatch.setattr(ir_executor, "_OPS", {})
    monkeypatch.setattr(ir_executor, "_KERNELS", {})
    monkeypatch.setattr(ir_executor, "_seed", None)
    values = program.run(primal_values(module, execution))
    assert torch.equal(values[20], execution.values[20])


def test_only_a_module_without_findings_compiles() -> None:
    module = parse_module(ir_samples.SMALL_MLP_GRADIENT)
    as_printed = execute(module, Reading.AS_PRINTED, random_bindings(ir_samples.SMALL_MLP_GRADIENT))
    with pytest.raises(ValueError, match="without findings compiles: %14: matmul"):
        compile_gradient(module, as_printed)
