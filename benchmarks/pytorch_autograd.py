"""PyTorch autograd on the same models as MIND (mind_runner.mind.models)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from benchmarks.common import (
    MODELS,
    capture_joint_graph,
    positional_forward,
    warm_up_aot_autograd,
    with_attributes,
)
from mind_runner.mind.models import SEED_MODELS, Model
from mind_runner.mind.runtime_program import runtime_fills

if TYPE_CHECKING:
    import torch

DEVICES = ["cpu", "cuda"]


def require_device(device: str) -> None:
    import torch

    if device == "cuda" and not torch.cuda.is_available():
        raise NotImplementedError("no CUDA device visible to PyTorch")


def synchronize(device: str) -> None:
    """CUDA kernels are asynchronous: a timer must wait for them to finish."""
    if device == "cuda":
        import torch

        torch.cuda.synchronize()


class Backward:
    """Tier: per-iteration gradient execution, PyTorch side.

    `number = 1`: asv re-runs setup before every timed call, so each call
    gets a freshly recorded forward graph (a graph can be walked back once).
    """

    version = 1  # raised only when what a figure means changes (see versions.json)

    params = [MODELS, DEVICES]
    param_names = ["model", "device"]
    number = 1
    warmup_time = 0.0
    repeat = (10, 100, 10.0)

    def setup(self, model: str, device: str) -> None:
        require_device(device)
        case = SEED_MODELS[model]
        self.parameters = case.torch_parameters(device)
        self.loss: torch.Tensor = case.torch_forward(self.parameters)
        self.case = case
        synchronize(device)

    def time_pytorch_backward(self, model: str, device: str) -> None:
        """Tier: per-iteration gradient execution. Timer: `loss.backward()` alone on a
        forward graph recorded in setup (the seed's "PyTorch (runtime)"), gradients
        for every leaf, synchronised on CUDA."""
        self.loss.backward()
        synchronize(device)

    def time_pytorch_forward_backward(self, model: str, device: str) -> None:
        """Tier: per-iteration gradient execution. Timer: one training step's autograd
        work: forward with tape recording, then `.backward()`, synchronised on CUDA."""
        self.case.torch_forward(self.parameters).backward()
        synchronize(device)


class AotCapture:
    """Tier: gradient generation (one-time), PyTorch side: the same tier as MIND's
    `mindc --autodiff`. Every sample is a fresh capture (nothing is cached between
    aot_function wrappers); one throw-away capture in setup pays for lazy imports."""

    version = 1  # raised only when what a figure means changes (see versions.json)

    params = [MODELS, DEVICES]
    param_names = ["model", "device"]
    number = 1
    warmup_time = 0.0

    def setup(self, model: str, device: str) -> None:
        require_device(device)
        warm_up_aot_autograd()
        case = SEED_MODELS[model]
        self.forward = positional_forward(case)
        self.inputs = list(case.torch_parameters(device).values())

    def time_pytorch_aot_capture(self, model: str, device: str) -> None:
        """Tier: gradient generation, one-time. Timer: `aot_function` with no-op
        compilers, called once: tracing the forward with fake tensors, building the
        joint forward/backward graph, partitioning it into forward and backward
        graphs, then running the captured forward once on the inputs (synchronised
        on CUDA). No compiler (Inductor) runs; the backward graph reaches its no-op
        hook only at a first backward, which is not timed (nothing to do there)."""
        capture_joint_graph(self.forward, self.inputs)
        synchronize(device)


class SavedTensors:
    """Tier: per-iteration gradient execution, memory: what a training step must keep."""

    version = 1  # raised only when what a figure means changes (see versions.json)

    params = [MODELS, DEVICES]
    param_names = ["model", "device"]

    def setup(self, model: str, device: str) -> None:
        require_device(device)
        self.case = SEED_MODELS[model]
        self.parameters = self.case.torch_parameters(device)

    @with_attributes(unit="bytes")
    def track_saved_tensor_bytes(self, model: str, device: str) -> int:
        """Tier: per-iteration gradient execution, memory. Bytes of the distinct
        storages autograd saves for backward during one forward (packed through
        `saved_tensors_hooks`), each storage counted once by
        `untyped_storage().nbytes()`; saved parameters count too (x*x saves x once)."""
        return saved_tensor_bytes(self.case, self.parameters)


def saved_tensor_bytes(case: Model, parameters: dict[str, torch.Tensor]) -> int:
    """Bytes of distinct storages saved for backward by one forward of `case`."""
    import torch

    storages: dict[tuple[str, int], int] = {}

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        storage = tensor.untyped_storage()
        storages[(str(tensor.device), storage.data_ptr())] = storage.nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        case.torch_forward(parameters)
    return sum(storages.values())


class SameFillsAsMindRuntime:
    """Tier: per-iteration gradient execution, PyTorch side, on the tensors MIND's runtime
    is given (mind_runtime.RuntimeGradient): constant fills, distinct odd primes."""

    version = 1  # raised only when what a figure means changes (see versions.json)

    params = [MODELS, DEVICES]
    param_names = ["model", "device"]

    def setup(self, model: str, device: str) -> None:
        import torch

        require_device(device)
        self.case = runtime_fills(SEED_MODELS[model])
        self.leaves: list[torch.Tensor] = [
            torch.full(p.shape, float(p.fill), device=device, requires_grad=True)
            for p in self.case.params
        ]
        self.names = [p.name for p in self.case.params]

    def time_pytorch_forward_backward_same_fills(self, model: str, device: str) -> None:
        """Tier: per-iteration gradient execution. Timer: forward with tape recording and
        `torch.autograd.grad` for every parameter, on the runtime's fills, synchronised
        on CUDA."""
        import torch

        loss = self.case.torch_forward(dict(zip(self.names, self.leaves, strict=True)))
        torch.autograd.grad(loss, self.leaves)
        synchronize(device)
