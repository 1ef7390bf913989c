"""Rule coverage: the op models, the executor's gather and conv2d, and the cells."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import torch

from mind_runner.mind.correctness import Correctness, ParameterVerdict, Verdict
from mind_runner.mind.coverage import (
    COMPILE_TIME,
    RUNTIME,
    Cell,
    CellState,
    _judged,
    _refused,
    judge_coverage,
)
from mind_runner.mind.dialects import render_let_form
from mind_runner.mind.gradient_check import reference_gradients
from mind_runner.mind.gradient_ir import parse_module
from mind_runner.mind.ir_executor import FindingKind, execute
from mind_runner.mind.models import OP_KINDS
from mind_runner.mind.op_models import OP_MODELS, OPS
from mind_runner.mind.runtime_program import render_runtime_let_grad, runtime_fills


def test_every_documented_op_has_a_model_whose_gradients_torch_can_take() -> None:
    used = {kind for case in OP_MODELS.values() for kind in case.forward_op_counts()}
    assert used == set(OP_KINDS)
    for case in OP_MODELS.values():
        values = case.torch_parameters()
        gradients = reference_gradients(case, values)
        assert set(gradients) == {p.name for p in case.differentiable}
        for p in case.differentiable:
            assert tuple(gradients[p.name].shape) == p.shape
            assert bool(torch.isfinite(gradients[p.name]).all())


@pytest.mark.parametrize(
    ("op", "call"),
    [
        ("mean_axis", "tensor.mean(x, axes=[1], keepdims=false)"),
        ("transpose", "tensor.transpose(x, axes=[1, 0])"),
        ("reshape", "tensor.reshape(x, (3, 2))"),
        ("expand_dims", "tensor.expand_dims(x, axis=1)"),
        ("squeeze", "tensor.squeeze(x, axes=[1])"),
        ("slice", "tensor.slice(x, axis=0, start=1, end=3)"),
        ("index", "tensor.index(x, axis=0, i=1)"),
        ("gather", "tensor.gather(x, axis=0, idx=idx)"),
        ("conv2d", "tensor.conv2d(x, w)"),
        ("dot", "tensor.sum(tensor.dot(a, b))"),
        ("sub_broadcast", "(x - b) * y"),
    ],
)
def test_each_op_is_written_as_mind_s_parser_reads_it(op: str, call: str) -> None:
    assert call in render_let_form(OP_MODELS[op])
    assert call in render_runtime_let_grad(runtime_fills(OP_MODELS[op]))


def test_an_index_tensor_is_declared_i32_keeps_its_fill_and_is_not_differentiated() -> None:
    gather = runtime_fills(OP_MODELS["gather"])
    program = render_runtime_let_grad(gather)
    assert "let idx: Tensor[i32,(2)] = 1;" in program
    assert program.endswith("wrt=[x, y])")
    assert "let idx: Tensor[i32,(2)] = 1;" in render_let_form(OP_MODELS["gather"])


def test_a_mean_over_all_axes_is_the_loss_itself_in_the_runtime() -> None:
    program = render_runtime_let_grad(runtime_fills(OP_MODELS["mean_all"]))
    assert program.endswith("grad(tensor.mean(x * y, axes=[0, 1], keepdims=false), wrt=[x, y])")


# Our own modules, in the form MIND's printer writes gather and conv2d (src/ir/print.rs).
_CONV_MODULE = """module {
  %0 = const.tensor F32 ["1", "5", "5", "2"] fill=Some(1.0)
  output %0
  %1 = const.tensor F32 ["3", "3", "2", "4"] fill=Some(1.0)
  output %1
  %2 = conv2d %0 %1 strides=(STRIDE, STRIDE) padding=PADDING
  %3 = sum %2 axes=[] keepdims=false
  output %3
  %4 = const.i64 1
  %5 = conv2d_grad_input %4 %1 input_shape=[1, 5, 5, 2] strides=(STRIDE, STRIDE) padding=PADDING
  %6 = conv2d_grad_filter %0 %4 filter_shape=[3, 3, 2, 4] strides=(STRIDE, STRIDE) padding=PADDING
}  // next_id = 7
"""


@pytest.mark.parametrize(("stride", "padding"), [(1, "valid"), (2, "same"), (1, "same")])
def test_conv2d_and_its_gradients_match_torch(stride: int, padding: str) -> None:
    text = _CONV_MODULE.replace("STRIDE", str(stride)).replace("PADDING", padding)
    module = parse_module(text)
    generator = torch.Generator().manual_seed(3)
    x = torch.randn((1, 5, 5, 2), generator=generator)
    w = torch.randn((3, 3, 2, 4), generator=generator)
    from mind_runner.mind.ir_executor import Reading

    run = execute(module, Reading.SEED, {0: x, 1: w})
    assert run.findings == ()
    leaves = (x.clone().requires_grad_(True), w.clone().requires_grad_(True))
    nchw = leaves[0].permute(0, 3, 1, 2)
    if padding == "same":
        out_size = -(-5 // stride)
        total = max((out_size - 1) * stride + 3 - 5, 0)
        nchw = torch.nn.functional.pad(nchw, [total // 2, total - total // 2] * 2)
    out = torch.nn.functional.conv2d(nchw, leaves[1].permute(3, 2, 0, 1), stride=stride)
    assert torch.allclose(run.values[2], out.permute(0, 2, 3, 1).detach(), atol=1e-5)
    dx, dw = torch.autograd.grad(out.sum(), leaves)
    assert torch.allclose(run.values[5], dx, atol=1e-5)
    assert torch.allclose(run.values[6], dw, atol=1e-4)


def test_gather_splices_the_index_shape_in_and_checks_its_indices() -> None:
    text = """module {
  %0 = const.tensor F32 ["4", "3"] fill=Some(2.0)
  output %0
  %1 = const.tensor I32 ["2"] fill=Some(1.0)
  output %1
  %2 = gather %0 indices=%1 axis=0
  output %2
}  // next_id = 3
"""
    module = parse_module(text)
    x = torch.arange(12, dtype=torch.float32).reshape(4, 3)
    run = execute(module, bindings={0: x, 1: torch.tensor([3, 0], dtype=torch.int32)})
    assert run.findings == ()
    assert run.values[2].tolist() == [[9.0, 10.0, 11.0], [0.0, 1.0, 2.0]]
    outside = execute(module, bindings={0: x, 1: torch.tensor([4, 0], dtype=torch.int32)})
    assert [f.kind for f in outside.findings] == [FindingKind.MISFIT]
    assert "leave axis 0" in outside.findings[0].message


def _verdicts(*verdicts: Verdict) -> Correctness:
    return Correctness(
        "seed",
        tuple(ParameterVerdict(f"p{i}", (2,), v) for i, v in enumerate(verdicts)),
        as_printed_misfits=0,
    )


def test_a_cell_is_wrong_before_absent_and_right_only_when_every_gradient_is() -> None:
    right = _judged("mul_broadcast", COMPILE_TIME, _verdicts(Verdict.PRESENT), silent=True)
    assert (right.state, right.incorrect, right.silent) == (CellState.RIGHT, 0, 0)
    both = _verdicts(Verdict.ABSENT, Verdict.WRONG, Verdict.PRESENT)
    wrong = _judged("relu", RUNTIME, both, silent=False)
    assert (wrong.state, wrong.incorrect, wrong.silent) == (CellState.WRONG, 2, 0)
    absent = _judged("sum_axis", COMPILE_TIME, _verdicts(Verdict.ABSENT), silent=True)
    assert (absent.state, absent.incorrect, absent.silent) == (CellState.ABSENT, 1, 1)


def test_a_refusal_is_not_expressible_and_a_panic_is_an_error() -> None:
    refused = _refused("mean_all", COMPILE_TIME, "let-form: exit 1: error[autodiff][E4001]: ...")
    assert refused.state is CellState.NOT_EXPRESSIBLE
    panicked = _refused("conv2d", COMPILE_TIME, "let-form: panicked (exit 101): lower_expr: ...")
    assert panicked.state is CellState.ERROR


def _bin_dir(tmp_path: Path, label: str) -> Path:
    from tests.mind_binaries import fixture_bin_dir, fixture_runtime_bin_dir

    directory = tmp_path / label
    directory.mkdir()
    shutil.copy2(fixture_bin_dir(label) / "mindc", directory / "mindc")
    shutil.copy2(fixture_runtime_bin_dir(label) / "mind", directory / "mind")
    return directory


@pytest.mark.cargo
def test_the_fixture_s_sum_rule_breaks_in_one_cell_and_one_right_rule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """sum-axis-broadcast -> sum-axis-passthrough: only (sum_axis, compile-time) changes,
    right to absent; an op the fixture does not parse is not expressible, with its error."""
    judged = {}
    for label in ("sum-axis-broadcast", "sum-axis-passthrough"):
        monkeypatch.setenv("MIND_BIN_DIR", str(_bin_dir(tmp_path, label)))
        judged[label] = judge_coverage(OPS)
    before, after = judged["sum-axis-broadcast"], judged["sum-axis-passthrough"]
    changed = {key for key in before if before[key] != after[key]}
    assert changed == {("sum_axis", COMPILE_TIME)}
    assert before[("sum_axis", COMPILE_TIME)].state is CellState.RIGHT
    assert after[("sum_axis", COMPILE_TIME)].state is CellState.ABSENT
    assert after[("sum_axis", COMPILE_TIME)].detail == "1/2 (x absent)"

    def right(cells: dict[tuple[str, str], Cell]) -> int:
        return sum(1 for c in cells.values() if c.state is CellState.RIGHT)

    assert right(after) == right(before) - 1
    mean = after[("mean_axis", COMPILE_TIME)]
    assert mean.state is CellState.NOT_EXPRESSIBLE and "E2001" in mean.detail
    assert os.environ["MIND_BIN_DIR"].endswith("sum-axis-passthrough")
