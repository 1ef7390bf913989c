from __future__ import annotations

import re

import pytest

from mind_runner.mind.gradient_ir import MalformedIR, check_differentiates, parse_module
from mind_runner.mind.models import SEED_MODELS
from tests import ir_samples


def test_parse_splits_primal_from_gradient_at_the_last_output() -> None:
    module = parse_module(ir_samples.SMALL_MLP_GRADIENT)
    assert len(module.primal) == 11
    assert [i.op for i in module.gradient[:2]] == ["const.i64", "transpose"]
    assert len(module.gradient) == 10
    assert module.outputs == (0, 1, 2, 3, 4, 7, 9, 10)
    assert module.primal[0].tensor_shape() == (32, 784)
    assert module.primal[5].tensor_shape() is None


def test_correct_gradients_pass_the_check() -> None:
    mlp = parse_module(ir_samples.SMALL_MLP_GRADIENT)
    assert check_differentiates(mlp, SEED_MODELS["small_mlp"]) == []
    quadratic = parse_module(ir_samples.SIMPLE_QUADRATIC_GRADIENT)
    assert check_differentiates(quadratic, SEED_MODELS["simple_quadratic"]) == []


def test_lossy_module_is_rejected_with_reasons() -> None:
    problems = check_differentiates(
        parse_module(ir_samples.SMALL_MLP_LOSSY), SEED_MODELS["small_mlp"]
    )
    assert "primal IR has 1 'matmul', the model has 2" in problems
    assert "primal IR has 0 'relu', the model has 1" in problems
    assert "primal IR lost the parameter shape [784, 256]" in problems
    assert "gradient IR has 0 'relu_grad', a correct one has 1" in problems


def test_trivial_module_and_primal_only_module_are_rejected() -> None:
    trivial = parse_module(ir_samples.TRIVIAL_FUNCTION_MODULE)
    assert check_differentiates(trivial, SEED_MODELS["small_mlp"])
    primal_only = parse_module(ir_samples.SIMPLE_QUADRATIC_PRIMAL_ONLY)
    problems = check_differentiates(primal_only, SEED_MODELS["simple_quadratic"])
    assert "no gradient instructions after the primal outputs" in problems


def test_a_model_checked_against_the_wrong_case_fails() -> None:
    module = parse_module(ir_samples.SIMPLE_QUADRATIC_GRADIENT)
    assert check_differentiates(module, SEED_MODELS["matmul_chain"])


@pytest.mark.parametrize(
    "text",
    ["", "error[type-check][E2001]: unsupported call to `mul`", "module {\n  %0 = \n}"],
)
def test_text_that_is_not_a_module_raises(text: str) -> None:
    with pytest.raises(MalformedIR):
        parse_module(text)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        pytest.param(
            ("%14 = matmul %11, %12", "%14 = matmul %11, %99"),
            "'%14 = matmul %11, %99' reads %99, which no line above defines",
            id="operand-never-defined",
        ),
        pytest.param(
            ("%16 = relu_grad %14 %6", "%16 = relu_grad %17 %6"),
            "'%16 = relu_grad %17 %6' reads %17, which no line above defines",
            id="operand-defined-later",
        ),
        pytest.param(
            ("%6 = add %2, %5", "%6 = add %2, %6"),
            "'%6 = add %2, %6' reads %6",
            id="reads-itself",
        ),
        pytest.param(
            ("%13 = transpose %7 perm=[1, 0]", "%12 = transpose %7 perm=[1, 0]"),
            "'%12 = transpose %7 perm=[1, 0]' defines %12 a second time",
            id="id-defined-twice",
        ),
        pytest.param(
            ("output %9", "output %42"),
            "'output %42' names %42, which no line above defines",
            id="output-never-defined",
        ),
    ],
)
def test_a_module_whose_values_do_not_connect_is_malformed(
    damage: tuple[str, str], message: str
) -> None:
    """Op counts alone pass these: each is SMALL_MLP_GRADIENT with one reference broken."""
    old, new = damage
    assert ir_samples.SMALL_MLP_GRADIENT.count(old) == 1
    text = ir_samples.SMALL_MLP_GRADIENT.replace(old, new)
    with pytest.raises(MalformedIR, match=re.escape(message)):
        parse_module(text)


def test_every_module_in_mind_s_format_is_well_formed() -> None:
    """The samples (byte-identical to real HEAD output for GRAD_IR and EMIT_IR, and
    shaped like v0.2.0's and v0.4.0's modules) parse: the checks reject no real module."""
    texts = [
        *ir_samples.GRAD_IR.values(),
        *ir_samples.EMIT_IR.values(),
        ir_samples.SMALL_MLP_LOSSY,
        ir_samples.TRIVIAL_FUNCTION_MODULE,
    ]
    for text in texts:
        parse_module(text)
