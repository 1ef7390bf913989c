"""Tier: gradient correctness. Is what MIND emits the gradient of each parameter?

Op counts cannot tell a right gradient from a wrong one, and MIND's printed IR names
no parameter. So the driver runs the printed IR on seeded random values and compares
each parameter's gradient with `torch.autograd.grad` (`mind_runner.mind.gradient_check`,
README.md "Glossary": reading); the verdicts come with the dialect the driver chose, kept
per built binary, so these figures import no torch. Every figure here is lower-is-better
and exact: asv.conf.json flags one more incorrect gradient or misfit. Gradient generation
is timed (mind_cli, mind_counts) whatever the verdict; the verdict stands beside it.
"""

from __future__ import annotations

from benchmarks.common import (
    CHAIN_LAYERS,
    MODELS,
    PARAMETERS,
    NotMeasured,
    prepared,
    with_attributes,
)
from mind_runner.mind.correctness import VERDICT_CODES, VERDICT_UNIT, Correctness
from mind_runner.mind.driver import CannotDifferentiate, MindDriver, MindFailed
from mind_runner.mind.models import SEED_MODELS, relu_matmul_chain

CorrectnessOrReason = Correctness | NotMeasured
"""A chain's verdicts, or why there are none (a skip, or a failure of this commit's MIND)."""


class GradientCorrectness:
    """Tier: gradient correctness, per seed model."""

    version = 1  # raised only when what a figure means changes (see versions.json)

    params = [MODELS]
    param_names = ["model"]

    def setup(self, model: str) -> None:
        self.correctness = prepared(model)[1].correctness

    @with_attributes(unit="gradients")
    def track_incorrect_gradients(self, model: str) -> int:
        """Tier: gradient correctness. Parameters whose gradient MIND's IR lacks or gets
        wrong, in the seed reading (the scalar seed of `sum` read as ones of the summed
        shape), each against `torch.autograd.grad` on the same seeded random values.
        Real MIND's small_mlp: 2 (b1, b2 absent); per parameter: ParameterGradients."""
        return self.correctness.incorrect

    @with_attributes(unit="instructions")
    def track_as_printed_misfits(self, model: str) -> int:
        """Tier: gradient correctness, as printed. Instructions of MIND's module whose
        operands do not fit as printed (shape, dtype, rank), not counting those that
        depend on one: real MIND's `const.i64 1` seed fed into matmul or mul gives 2."""
        return self.correctness.as_printed_misfits


class ParameterGradients:
    """Tier: gradient correctness, per seed model and parameter: which gradient is missing."""

    version = 1  # raised only when what a figure means changes (see versions.json)

    params = [MODELS, PARAMETERS]
    param_names = ["model", "parameter"]

    def setup(self, model: str, parameter: str) -> None:
        names = [p.name for p in SEED_MODELS[model].params]
        if parameter not in names:
            raise NotImplementedError(f"{model} has no parameter {parameter}")
        correctness = prepared(model)[1].correctness
        verdict = correctness.verdict_of(parameter).verdict
        if verdict not in VERDICT_CODES:
            raise NotImplementedError(f"{model}: {correctness.summary()}")
        self.code = VERDICT_CODES[verdict]

    @with_attributes(unit=VERDICT_UNIT)
    def track_gradient_verdict(self, model: str, parameter: str) -> int:
        """Tier: gradient correctness. The verdict on this parameter's gradient in MIND's
        IR (seed reading, against `torch.autograd.grad`): 0 present (a value of its
        shape matches within float32 tolerance), 1 absent (no value of its shape),
        2 wrong (values of its shape, none matches). Higher is worse: a wrong gradient
        is trained on unnoticed. Combinations of a model without the parameter skip."""
        return self.code


def judge_chains(layers: list[int]) -> dict[int, CorrectnessOrReason]:
    """Per N: the verdicts on the chain's gradients, or why there are none."""
    try:
        driver = MindDriver.locate()
    except CannotDifferentiate as missing:
        return dict.fromkeys(layers, NotMeasured(str(missing)))
    judged: dict[int, CorrectnessOrReason] = {}
    for n in layers:
        try:
            judged[n] = driver.prepare(relu_matmul_chain(n)).correctness
        except CannotDifferentiate as reason:
            judged[n] = NotMeasured(str(reason))
        except MindFailed as failure:
            judged[n] = NotMeasured(str(failure), failed=True)
    return judged


class ChainCorrectness:
    """Tier: gradient correctness against network depth N (scaling.ReluMatmulChain's
    chains): N relu(matmul) layers on 16x16, N + 1 parameters."""

    version = 1  # raised only when what a figure means changes (see versions.json)

    params = [CHAIN_LAYERS]
    param_names = ["N"]

    @with_attributes(timeout=300)
    def setup_cache(self) -> dict[int, CorrectnessOrReason]:
        """The driver's verdicts, once per commit (N=1000: about 2 s when not yet kept)."""
        return judge_chains(CHAIN_LAYERS)

    def setup(self, judged: dict[int, CorrectnessOrReason], N: int) -> None:
        entry = judged[N]
        if isinstance(entry, NotMeasured):
            entry.raise_it()
        self.correctness = entry

    @with_attributes(unit="gradients")
    def track_incorrect_gradients(self, judged: dict[int, CorrectnessOrReason], N: int) -> int:
        """Tier: gradient correctness. Parameters of the N-layer chain whose gradient
        MIND's IR lacks or gets wrong (seed reading, against `torch.autograd.grad` on
        seeded values: near-identity weights, so 1000 layers stay finite)."""
        return self.correctness.incorrect

    @with_attributes(unit="instructions")
    def track_as_printed_misfits(self, judged: dict[int, CorrectnessOrReason], N: int) -> int:
        """Tier: gradient correctness, as printed. Instructions of the N-layer chain's
        module whose operands do not fit as printed (the i64 seed into relu_grad: 1)."""
        return self.correctness.as_printed_misfits
