"""PyTorch autograd on the same models as MIND (mind_runner.cases)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mind_runner.cases import SEED_CASES

if TYPE_CHECKING:
    import torch

MODELS = list(SEED_CASES)
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

    params = [MODELS, DEVICES]
    param_names = ["model", "device"]
    number = 1
    warmup_time = 0.0
    repeat = (10, 100, 10.0)

    def setup(self, model: str, device: str) -> None:
        require_device(device)
        case = SEED_CASES[model]
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
