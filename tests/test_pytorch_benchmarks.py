"""The PyTorch benchmark classes, called as asv calls them: setup, then the method."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
import torch

import benchmarks.common as common
from benchmarks.common import positional_forward
from benchmarks.pytorch_autograd import AotCapture, Backward, SavedTensors
from mind_runner.mind.models import SEED_MODELS, Model

FLOAT32 = 4


def parameter_bytes(case: Model, *names: str) -> int:
    shapes = {p.name: p.shape for p in case.params}
    return sum(math.prod(shapes[name]) * FLOAT32 for name in names)


def test_saved_tensor_bytes_are_what_backward_needs_from_the_shapes() -> None:
    def saved(model: str) -> int:
        benchmark = SavedTensors()
        benchmark.setup(model, "cpu")
        return benchmark.track_saved_tensor_bytes(model, "cpu")

    quadratic, mlp, chain = (
        SEED_MODELS[m] for m in ("simple_quadratic", "small_mlp", "matmul_chain")
    )
    # x * x saves x (twice, one storage); sum saves only a shape.
    assert saved("simple_quadratic") == parameter_bytes(quadratic, "x")
    # Both matmuls save both operands; relu saves its 32x256 output h1, which the
    # second matmul saves too; the bias adds save nothing.
    assert saved("small_mlp") == parameter_bytes(mlp, "x", "w1", "w2") + 32 * 256 * FLOAT32
    # Each matmul saves both operands: A..D and the intermediates ab (64x256), abc (64x512).
    assert saved("matmul_chain") == (
        parameter_bytes(chain, "A", "B", "C", "D") + (64 * 256 + 64 * 512) * FLOAT32
    )


def recording_compiler(
    graphs: list[torch.fx.GraphModule],
) -> Callable[[torch.fx.GraphModule, object], object]:
    no_op = common.no_op_compiler

    def recording(graph: torch.fx.GraphModule, inputs: object) -> object:
        graphs.append(graph)
        return no_op(graph, inputs)

    return recording


def matmuls(graph: torch.fx.GraphModule) -> int:
    return sum(node.target == torch.ops.aten.mm.default for node in graph.graph.nodes)


def test_every_sample_is_a_fresh_capture(monkeypatch: pytest.MonkeyPatch) -> None:
    graphs: list[torch.fx.GraphModule] = []
    benchmark = AotCapture()
    benchmark.setup("matmul_chain", "cpu")  # includes a throw-away warm-up capture
    monkeypatch.setattr(common, "no_op_compiler", recording_compiler(graphs))
    benchmark.time_pytorch_aot_capture("matmul_chain", "cpu")
    benchmark.time_pytorch_aot_capture("matmul_chain", "cpu")
    # One forward graph per call: nothing cached between samples. (The backward
    # graph is partitioned out now too, but handed to the compiler hook only at
    # the first backward: a no-op hook has nothing to do then.)
    assert [matmuls(graph) for graph in graphs] == [3, 3]


def test_the_captured_graphs_compute_the_same_gradients_as_eager_autograd() -> None:
    from functorch.compile import aot_function

    case = SEED_MODELS["matmul_chain"]
    eager = case.torch_parameters()
    case.torch_forward(eager).backward()  # type: ignore[no-untyped-call]
    captured = list(case.torch_parameters().values())
    graphs: list[torch.fx.GraphModule] = []
    recording = recording_compiler(graphs)
    compiled = aot_function(positional_forward(case), fw_compiler=recording, bw_compiler=recording)
    compiled(*captured).backward()
    assert [matmuls(graph) for graph in graphs] == [3, 6]  # two gradient matmuls per matmul
    for expected, tensor in zip(eager.values(), captured, strict=True):
        assert tensor.grad is not None and expected.grad is not None
        torch.testing.assert_close(tensor.grad, expected.grad)


def test_backward_benchmarks_fill_every_gradient() -> None:
    benchmark = Backward()
    benchmark.setup("small_mlp", "cpu")
    benchmark.time_pytorch_backward("small_mlp", "cpu")
    assert all(p.grad is not None for p in benchmark.parameters.values())
    benchmark.time_pytorch_forward_backward("small_mlp", "cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is visible")
@pytest.mark.parametrize("benchmark_class", [AotCapture, SavedTensors, Backward])
def test_cuda_is_a_skip_without_a_gpu(benchmark_class: type) -> None:
    with pytest.raises(NotImplementedError, match="no CUDA device"):
        benchmark_class().setup("small_mlp", "cuda")
