"""The fixture's runtime engine (`mind eval --exec` with `grad`), case by case as real
MIND v0.10.2 answers them (the shapes of output, stderr and exit code)."""

from __future__ import annotations

import subprocess

import pytest

from tests.mind_binaries import fixture_runtime_bin_dir

pytestmark = pytest.mark.cargo

QUADRATIC = "let x: Tensor[f32,(1000)] = 3; grad(tensor.sum(x * x), wrt=[x])"
SMALL_MLP = (
    "let x: Tensor[f32,(32,784)] = 2; let w1: Tensor[f32,(784,256)] = 3; "
    "let b1: Tensor[f32,(256)] = 5; let w2: Tensor[f32,(256,10)] = 7; "
    "let b2: Tensor[f32,(10)] = 11; let h = tensor.relu(tensor.matmul(x, w1) + b1); "
    "grad(tensor.sum(tensor.matmul(h, w2) + b2), wrt=[x, w1, b1, w2, b2])"
)


def mind(label: str, *args: str, cpu_exec: bool = True) -> subprocess.CompletedProcess[str]:
    binary = fixture_runtime_bin_dir(label, cpu_exec=cpu_exec) / "mind"
    return subprocess.run([binary, *args], capture_output=True, text=True, check=False)


def test_a_gradient_is_a_fill_with_its_debug_line_on_stderr() -> None:
    ran = mind("runtime-grad", "eval", "--exec", QUADRATIC)
    assert (ran.stdout, ran.stderr, ran.returncode) == (
        "grad{ x: Tensor[F32,(1000)] fill=6 }\n",
        'grad "x" fill Some(6.0)\n',
        0,
    )


def test_the_right_matmul_rule_and_the_pass_through_one() -> None:
    """The same fills: torch's values at runtime-grad, real HEAD's at the pass-through."""
    right = mind("runtime-grad", "eval", "--exec", SMALL_MLP)
    assert right.stdout == (
        "grad{ b1: Tensor[F32,(256)] fill=2240, b2: Tensor[F32,(10)] fill=32, "
        "w1: Tensor[F32,(784,256)] fill=4480, w2: Tensor[F32,(256,10)] fill=150688, "
        "x: Tensor[F32,(32,784)] fill=53760 }\n"
    )
    passed = mind("runtime-matmul-passthrough", "eval", "--exec", SMALL_MLP)
    assert passed.stdout == (
        "grad{ b1: Tensor[F32,(256)] fill=32, b2: Tensor[F32,(10)] fill=32, "
        "w1: Tensor[F32,(784,256)] fill=1, w2: Tensor[F32,(256,10)] fill=1, "
        "x: Tensor[F32,(32,784)] fill=1 }\n"
    )
    assert passed.stderr.splitlines()[:2] == [
        'grad "b1" fill Some(32.0)',
        'grad "b2" fill Some(32.0)',
    ]
    assert passed.returncode == 0


def test_a_forward_matmul_is_materialized() -> None:
    program = "let x: Tensor[f32,(2,3)] = 1; let w: Tensor[f32,(3,4)] = 2; tensor.matmul(x, w)"
    ran = mind("runtime-grad", "eval", "--exec", program)
    assert ran.stdout == "Tensor[F32,(2,4)] materialized (sample=[6,6,6,6,6,6,6,6])\n"
    assert (ran.stderr, ran.returncode) == ("", 0)


@pytest.mark.parametrize(
    ("program", "first_line"),
    [
        (
            "let x = tensor.rand(3); grad(tensor.sum(x * x), wrt=[x])",
            "Evaluation error: unsupported: unsupported node in autodiff",
        ),
        (
            "let x: Tensor[f32,(3)] = 0.5; grad(tensor.sum(x * x), wrt=[x])",
            "Evaluation error: type error",
        ),
        (
            "let x: Tensor[f32,(3)] = [1.0, 2.0, 3.0]; grad(tensor.sum(x * x), wrt=[x])",
            "Evaluation error: type error",
        ),
    ],
)
def test_errors_exit_0_with_nothing_on_stdout(program: str, first_line: str) -> None:
    ran = mind("runtime-grad", "eval", "--exec", program)
    assert (ran.stdout, ran.returncode) == ("", 0)
    assert ran.stderr.splitlines()[0] == first_line


def test_a_fractional_fill_is_e2001_as_mind_says_it() -> None:
    ran = mind("runtime-grad", "eval", "--exec", "let x: Tensor[f32,(3)] = 0.5; x")
    assert ran.stderr.splitlines()[1] == (
        "[E2001] type mismatch for `x`: annotation Tensor[f32, (3)] vs inferred Scalar[f64]"
    )
    assert "  --> line 1 column 26" in ran.stderr


def test_grad_without_exec_prints_its_answer_then_panics() -> None:
    ran = mind(
        "runtime-grad", "eval", "let x: Tensor[f32,(3)] = 2; grad(tensor.sum(x * x), wrt=[x])"
    )
    assert ran.stdout == "grad{ x: Tensor[F32,(3)] fill=4 }\n"
    assert ran.returncode == 101
    assert "panicked at" in ran.stderr and "no IR lowering for `CallGrad`" in ran.stderr


def test_without_cpu_exec_exec_falls_back_to_the_preview() -> None:
    ran = mind("runtime-grad", "eval", "--exec", QUADRATIC, cpu_exec=False)
    assert ran.stderr.splitlines()[0] == (
        "--exec requested but cpu-exec feature is not enabled; running in preview."
    )
    assert ran.returncode == 101
