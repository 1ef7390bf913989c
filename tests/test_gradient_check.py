from __future__ import annotations

import re

import pytest
import torch

from mind_runner.mind.gradient_check import (
    GradientCheck,
    Verdict,
    check_gradients,
    fill_values,
    judge,
    matches,
    random_values,
    reference_gradients,
    relative_error,
)
from mind_runner.mind.gradient_ir import parse_module
from mind_runner.mind.ir_executor import Reading
from mind_runner.mind.models import SEED_MODELS, relu_matmul_chain
from tests import ir_samples

SMALL_MLP = SEED_MODELS["small_mlp"]


def verdicts(check: GradientCheck) -> dict[str, Verdict]:
    return {p.name: p.verdict for p in check.parameters}


def test_head_small_mlp_has_x_w1_w2_and_nothing_for_the_biases() -> None:
    check = check_gradients(SMALL_MLP, parse_module(ir_samples.SMALL_MLP_GRADIENT))
    assert check.reading is Reading.SEED
    assert verdicts(check) == {
        "x": Verdict.PRESENT,
        "w1": Verdict.PRESENT,
        "b1": Verdict.ABSENT,
        "w2": Verdict.PRESENT,
        "b2": Verdict.ABSENT,
    }
    assert [p.value_id for p in check.parameters] == [19, 20, None, 15, None]
    assert check.incorrect == 2
    assert check.summary() == "3/5 (b1, b2 absent)"
    assert check.as_printed_misfits == 2  # the i64 seed into two matmuls
    assert check.findings == ()


def test_as_printed_reading_finds_no_gradient_at_all() -> None:
    check = check_gradients(
        SMALL_MLP, parse_module(ir_samples.SMALL_MLP_GRADIENT), reading=Reading.AS_PRINTED
    )
    assert check.reading is Reading.AS_PRINTED
    assert check.summary() == "0/5 (x, w1, b1, w2, b2 absent)"
    assert check.as_printed_misfits == 2 and check.findings == check.as_printed_findings


@pytest.mark.parametrize("name", ["simple_quadratic", "matmul_chain"])
def test_head_quadratic_and_matmul_chain_are_all_present(name: str) -> None:
    case = SEED_MODELS[name]
    check = check_gradients(case, parse_module(ir_samples.GRAD_IR[name]))
    assert check.incorrect == 0
    assert check.summary() == f"{len(case.params)}/{len(case.params)}"
    assert all(p.relative_error is not None and p.relative_error < 1e-5 for p in check.parameters)
    assert check.as_printed_misfits == 2


def test_swapped_relu_grad_is_wrong_with_random_values_but_hidden_by_mind_fills() -> None:
    swapped = parse_module(ir_samples.SMALL_MLP_SWAPPED_RELU_GRAD)
    correct = parse_module(ir_samples.SMALL_MLP_GRADIENT)

    random = check_gradients(SMALL_MLP, swapped, rng_seed=3)
    assert verdicts(random)["x"] is Verdict.WRONG
    assert verdicts(random)["w1"] is Verdict.WRONG
    assert verdicts(random)["w2"] is Verdict.PRESENT
    assert random.summary() == "1/5 (x, w1 wrong; b1, b2 absent)"
    wrong = {p.name: p for p in random.parameters if p.verdict is Verdict.WRONG}
    assert wrong["x"].value_id == 19 and wrong["w1"].value_id == 20
    assert all(p.relative_error is not None and p.relative_error > 0.1 for p in wrong.values())

    # MIND's fills (x=0, w1=1, b1=0, w2=1, b2=0): the wrong rule looks exactly right.
    fills = fill_values(SMALL_MLP)
    assert [float(fills[p.name].flatten()[0]) for p in SMALL_MLP.params] == [0, 1, 0, 1, 0]
    hidden = check_gradients(SMALL_MLP, swapped, fills)
    assert hidden.summary() == check_gradients(SMALL_MLP, correct, fills).summary()
    assert verdicts(hidden)["x"] is Verdict.PRESENT
    assert verdicts(hidden)["w1"] is Verdict.PRESENT


def test_relu_matmul_chain_with_correct_ir_is_all_present() -> None:
    case = relu_matmul_chain(2)
    module = parse_module(ir_samples.relu_matmul_chain_grad_ir(2))
    check = check_gradients(case, module)
    assert check.summary() == "3/3"
    assert [p.value_id for p in check.parameters] == [17, 18, 13]
    # As printed, the i64 seed into relu_grad already does not fit.
    assert check.as_printed_misfits == 1


def test_relu_matmul_chain_with_a_wrong_transpose_is_wrong() -> None:
    case = relu_matmul_chain(2)
    text = ir_samples.relu_matmul_chain_grad_ir(2).replace(
        "%12 = matmul %9, %10", "%12 = matmul %9, %2"
    )
    check = check_gradients(case, parse_module(text))
    assert check.summary() == "1/3 (x, w0 wrong)"


def test_values_must_fit_the_case_and_the_module() -> None:
    module = parse_module(ir_samples.SMALL_MLP_GRADIENT)
    with pytest.raises(ValueError, match="declares parameters"):
        check_gradients(SEED_MODELS["simple_quadratic"], module)
    values = random_values(SMALL_MLP)
    del values["b2"]
    with pytest.raises(ValueError, match="no values for b2"):
        check_gradients(SMALL_MLP, module, values)


def test_random_values_are_the_ones_pytorch_uses() -> None:
    values = random_values(SMALL_MLP, rng_seed=5)
    leaves = SMALL_MLP.torch_parameters(rng_seed=5)
    assert all(torch.equal(values[n], leaves[n]) for n in leaves)
    assert not values["x"].requires_grad
    grads = reference_gradients(SMALL_MLP, values)
    assert grads["b2"].shape == (10,)
    assert torch.allclose(grads["b2"], torch.full((10,), 32.0))


def test_tolerance_is_relative_to_the_reference_magnitude() -> None:
    reference = torch.tensor([1000.0, 1.0, 0.0])
    assert matches(reference * (1 + 5e-5), reference)
    assert not matches(reference * (1 + 1e-3), reference)
    # Near-zero elements are judged against the tensor's magnitude (1e-5 * 1000).
    assert matches(reference + torch.tensor([0.0, 0.0, 5e-3]), reference)
    assert not matches(reference + torch.tensor([0.0, 0.0, 5e-2]), reference)
    assert not matches(torch.tensor([float("nan"), 1.0, 0.0]), reference)
    assert relative_error(reference + torch.tensor([0.0, 10.0, 0.0]), reference) == 0.01
    assert relative_error(torch.ones(2), torch.zeros(2)) == float("inf")
    assert relative_error(torch.zeros(2), torch.zeros(2)) == 0.0


def test_deep_chains_are_judged_on_values_that_stay_finite_and_nonzero() -> None:
    """Plain draws overflow through 100 relu(matmul) layers; near-identity weights do not."""
    case = relu_matmul_chain(1000)
    values = random_values(case)
    assert torch.equal(values["x"].diagonal() > 0.5, torch.ones(16, dtype=torch.bool))
    grads = reference_gradients(case, values)
    magnitudes = [float(g.abs().max()) for g in grads.values()]
    assert min(magnitudes) > 1.0 and max(magnitudes) < 1e6
    check = check_gradients(case, parse_module(ir_samples.relu_matmul_chain_grad_ir(1000)))
    assert check.summary() == "1001/1001"


def test_every_relu_grad_swapped_in_a_deep_chain_is_wrong_everywhere() -> None:
    text = ir_samples.relu_matmul_chain_grad_ir(100)
    swapped = re.sub(r"relu_grad %(\d+) %(\d+)", r"relu_grad %\2 %\1", text)
    check = check_gradients(relu_matmul_chain(100), parse_module(swapped))
    assert check.present == 0
    assert {p.verdict for p in check.parameters} == {Verdict.WRONG}
    assert all(p.relative_error is not None and p.relative_error > 0.01 for p in check.parameters)


def test_a_reference_that_is_not_finite_judges_nothing() -> None:
    module = parse_module(ir_samples.SIMPLE_QUADRATIC_GRADIENT)
    case = SEED_MODELS["simple_quadratic"]
    values = {"x": torch.full((1000,), float("inf"))}
    with pytest.raises(ValueError, match="gradient of x is not finite"):
        check_gradients(case, module, values)


def test_judge_gives_plain_verdicts_and_unchecked_where_the_module_does_not_fit() -> None:
    correctness = judge(SMALL_MLP, parse_module(ir_samples.SMALL_MLP_GRADIENT))
    assert correctness.summary() == "3/5 (b1, b2 absent)"
    assert (correctness.incorrect, correctness.missing) == (2, ("b1", "b2"))
    assert correctness.as_printed_misfits == 2 and correctness.reading == "seed"
    other = judge(SEED_MODELS["simple_quadratic"], parse_module(ir_samples.SMALL_MLP_GRADIENT))
    assert other.incorrect == 1 and other.parameters[0].verdict is Verdict.UNCHECKED
    assert other.summary().startswith("0/1 (x unchecked): the module declares parameters")
