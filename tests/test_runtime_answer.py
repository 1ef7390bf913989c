"""Reading `mind eval --exec` answers, in MIND's printed format (strings written here,
in the shapes real MIND v0.10.2 prints: a gradient map on one line, debug lines on
stderr, errors with exit 0, a panic with 101)."""

from __future__ import annotations

import pytest

from mind_runner.mind.runtime_answer import PrintedTensor, UnreadableAnswer, read_answer

MLP_LINE = (
    "grad{ b1: Tensor[F32,(256)] fill=32, b2: Tensor[F32,(10)] fill=32, "
    "w1: Tensor[F32,(784,256)] fill=1, w2: Tensor[F32,(256,10)] fill=1, "
    "x: Tensor[F32,(32,784)] fill=1 }\n"
)
MLP_DEBUG = "".join(
    f'grad "{name}" fill Some({value})\n'
    for name, value in [("b1", "32.0"), ("b2", "32.0"), ("w1", "1.0"), ("w2", "1.0"), ("x", "1.0")]
)


def test_fills_with_their_debug_lines() -> None:
    answer = read_answer(0, MLP_LINE, MLP_DEBUG)
    assert list(answer.gradients) == ["b1", "b2", "w1", "w2", "x"]
    assert answer.gradients["w1"] == PrintedTensor("F32", (784, 256), fill=1.0)
    assert answer.gradients["b1"].fill == 32.0


def test_large_and_fractional_fills() -> None:
    line = "grad{ a: Tensor[F32,(64,128)] fill=1761607680, b: Tensor[F32,(3)] fill=0.333333 }"
    debug = 'grad "a" fill Some(1761607680.0)\ngrad "b" fill Some(0.3333333333333333)\n'
    answer = read_answer(0, line, debug)
    assert answer.gradients["a"].fill == 1761607680.0
    assert answer.gradients["b"].fill == pytest.approx(0.333333)


def test_a_materialized_sample_and_a_value_left_unknown() -> None:
    line = (
        "grad{ w: Tensor[F32,(3,4)] materialized (sample=[6,6,6,6,6,6,6,6,...]), "
        "x: Tensor[F32,(2,3)] materialized (sample=[1.5,2,2.5,3,3.5,4]), "
        "y: Tensor[F32,(3)] }"
    )
    answer = read_answer(0, line, 'grad "y" fill None\n')
    w, x, y = (answer.gradients[n] for n in ("w", "x", "y"))
    assert (w.sample, w.truncated) == ((6.0,) * 8, True)
    assert (x.sample, x.truncated) == ((1.5, 2.0, 2.5, 3.0, 3.5, 4.0), False)
    assert y == PrintedTensor("F32", (3,)) and not y.has_value


@pytest.mark.parametrize(
    ("exit_code", "stdout", "stderr", "reason"),
    [
        (
            0,
            "\n",
            "Evaluation error: unsupported: unsupported node in autodiff\n",
            "exit 0 with no answer; stderr says: Evaluation error: unsupported: "
            "unsupported node in autodiff",
        ),
        (
            0,
            "",
            "Evaluation error: type error\n[E2001] type mismatch for `x`: annotation "
            "Tensor[f32, (3)] vs inferred Scalar[f64]\n",
            "exit 0 with no answer; stderr says: Evaluation error: type error",
        ),
        (
            101,
            "grad{ x: Tensor[F32,(3)] fill=4 }\n",
            "grad \"x\" fill Some(4.0)\n\nthread 'main' (6388) panicked at src/eval/lower.rs:1:1:\n"
            "lower_expr: no IR lowering for `CallGrad` in value position\n",
            "panicked (exit 101): lower_expr: no IR lowering for `CallGrad` in value position",
        ),
        (0, "", "", "exit 0 with nothing printed"),
        (2, "", "error: unexpected argument '--exec' found\n", "exit 2: error: unexpected"),
        (0, "Tensor[F32,(2,4)] fill=6\n", "", "not a gradient map: 'Tensor[F32,(2,4)] fill=6'"),
        (0, "grad{ x: Tensor[F32,(3)] fill=4 }\n", "warning: slow path\n", "stderr says: warning"),
        # A debug line that contradicts the answer is not a repeat of it.
        (0, "grad{ x: Tensor[F32,(3)] fill=4 }\n", 'grad "x" fill Some(5.0)\n', "stderr says"),
        (0, "grad{ x: Tensor[F32,(3)] fill=four }\n", "", "unreadable value"),
        (0, "grad{ x: Tensor[F32,(3)] size=4 }\n", "", "unreadable gradient entry"),
    ],
)
def test_what_is_no_answer_whatever_the_exit_code(
    exit_code: int, stdout: str, stderr: str, reason: str
) -> None:
    with pytest.raises(UnreadableAnswer) as raised:
        read_answer(exit_code, stdout, stderr)
    assert reason in str(raised.value)
    assert "\n" not in str(raised.value)
