"""MIND's runtime engine (`mind eval --exec`): its answers read, its programs written,
its fills able to expose a wrong matmul rule, its gradients judged against torch."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from mind_runner.hooks.manifest import BuildManifest
from mind_runner.mind.correctness import Verdict
from mind_runner.mind.driver import CannotDifferentiate
from mind_runner.mind.models import SEED_MODELS, Model, Op, Ref
from mind_runner.mind.runtime_answer import NoRuntime, read_answer
from mind_runner.mind.runtime_check import judge_runtime, reference_gradients
from mind_runner.mind.runtime_driver import RuntimeDriver
from mind_runner.mind.runtime_program import (
    NotExpressible,
    render_runtime_let_grad,
    runtime_fills,
)

# --- reading answers (written in MIND's format, not copied from a capture) -------------


def test_symbolic_fills_with_their_debug_lines_are_an_answer() -> None:
    answer = read_answer(
        0,
        "grad{ a: Tensor[F32,(4,2)] fill=12, b: Tensor[F32,(9)] fill=-0.5 }\n",
        'grad "a" fill Some(12.0)\ngrad "b" fill Some(-0.5)\n',
    )
    assert answer.error is None and answer.silent
    a, b = answer.gradients
    assert (a.name, a.shape, a.fill, a.materialized) == ("a", (4, 2), 12.0, False)
    assert (b.name, b.shape, b.fill) == ("b", (9,), -0.5)
    assert answer.materialized == 0


def test_a_materialized_gradient_gives_its_sample_without_the_ellipsis() -> None:
    answer = read_answer(
        0,
        "grad{ w: Tensor[F32,(3,3)] materialized (sample=[1,2.5,3,4,5,6,7,8,...]), "
        "z: Tensor[F32,(2)] fill=4 }\n",
        'grad "w" fill None\ngrad "z" fill Some(4.0)\n',
    )
    w = answer.gradient_of("w")
    assert w is not None and w.sample == (1, 2.5, 3, 4, 5, 6, 7, 8) and w.fill is None
    assert answer.materialized == 1


def test_an_evaluation_error_with_exit_0_is_an_error_not_an_answer() -> None:
    answer = read_answer(0, "\n", "Evaluation error: unsupported: unsupported node in autodiff\n")
    assert answer.gradients == () and not answer.silent
    assert answer.error == "exit 0 but stderr says: Evaluation error: unsupported: " + (
        "unsupported node in autodiff"
    )


def test_a_panic_is_an_error_naming_the_panic_even_after_an_answer() -> None:
    answer = read_answer(
        101,
        "grad{ q: Tensor[F32,(3)] fill=4 }\n",
        "grad \"q\" fill Some(4.0)\n\nthread 'main' (77) panicked at src/x.rs:1:2:\n"
        "no lowering for this\nstack backtrace:\n",
    )
    assert answer.gradients == ()
    assert answer.error == "panicked (exit 101): no lowering for this"


def test_stray_stderr_beside_a_good_map_is_an_error() -> None:
    answer = read_answer(0, "grad{ q: Tensor[F32,(3)] fill=4 }\n", "warning: something odd\n")
    assert answer.error == "exit 0 but stderr says: warning: something odd"


def test_an_unparsable_answer_is_an_error() -> None:
    answer = read_answer(0, "grad{ q: Tensor[F32,(3)] fill=four }\n", "")
    assert answer.error is not None and answer.error.startswith("exit 0 with no gradients")


def test_a_binary_without_cpu_exec_has_no_runtime() -> None:
    with pytest.raises(NoRuntime, match="no runtime engine"):
        read_answer(
            0,
            "grad{ q: Tensor[F32,(3)] fill=4 }\n",
            "--exec requested but cpu-exec feature is not enabled; running in preview.\n",
        )


# --- writing programs --------------------------------------------------------------------


def test_small_mlp_in_the_runtime_dialect_with_odd_prime_fills() -> None:
    program = render_runtime_let_grad(runtime_fills(SEED_MODELS["small_mlp"]))
    assert program == (
        "let x: Tensor[f32,(32,784)] = 3; let w1: Tensor[f32,(784,256)] = 5; "
        "let b1: Tensor[f32,(256)] = 7; let w2: Tensor[f32,(256,10)] = 11; "
        "let b2: Tensor[f32,(10)] = 13; let h1 = tensor.relu(tensor.matmul(x, w1) + b1); "
        "let out = tensor.matmul(h1, w2) + b2; grad(tensor.sum(out), wrt=[x, w1, b1, w2, b2])"
    )


def test_a_partial_sum_cannot_be_written_for_the_runtime() -> None:
    case = SEED_MODELS["matmul_chain"]
    partial = Model(case.name, "", case.params, case.bindings, Op("sum", (Ref("abcd"),), (0,)))
    with pytest.raises(NotExpressible, match="reduces axes"):
        render_runtime_let_grad(runtime_fills(partial))


# --- the fills expose wrong matmul rules ------------------------------------------------

Rule = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


def _right(g: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return g @ b.T, a.T @ g


def _pass_through(
    g: torch.Tensor, a: torch.Tensor, b: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """The upstream gradient handed to both operands (real HEAD's rule, v0.10.2)."""
    return torch.full_like(a, float(g.mean())), torch.full_like(b, float(g.mean()))


def _swapped(
    g: torch.Tensor, a: torch.Tensor, b: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Each operand's gradient made with its own values where the other's belong
    (constant tensors: a tensor of b.T's shape holding a's fill)."""
    return (
        g @ torch.full_like(b.T, float(a.mean())),
        torch.full_like(a.T, float(b.mean())) @ g,
    )


def _missing_factor(
    g: torch.Tensor, a: torch.Tensor, b: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """The other operand's factor left out (ones in its place)."""
    return g @ torch.ones_like(b.T), torch.ones_like(a.T) @ g


WRONG_RULES: dict[str, Rule] = {
    "pass-through": _pass_through,
    "swapped": _swapped,
    "missing factor": _missing_factor,
}
THROUGH_A_MATMUL = {"small_mlp": {"x", "w1", "b1", "w2"}, "matmul_chain": {"A", "B", "C", "D"}}
"""The parameters whose gradient passes back through a matmul (b2's does not)."""


def _matmul_with(rule: Rule) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    class RuledMatmul(torch.autograd.Function):
        @staticmethod
        def forward(
            ctx: torch.autograd.function.FunctionCtx, a: torch.Tensor, b: torch.Tensor
        ) -> torch.Tensor:
            ctx.save_for_backward(a, b)
            return a @ b

        @staticmethod
        def backward(
            ctx: torch.autograd.function.FunctionCtx, g: torch.Tensor
        ) -> tuple[torch.Tensor, torch.Tensor]:
            a, b = ctx.saved_tensors  # type: ignore[attr-defined]
            return rule(g, a, b)

    def apply(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return RuledMatmul.apply(a, b)  # type: ignore[no-any-return, no-untyped-call]

    return apply


def _gradients(case: Model, rule: Rule) -> dict[str, torch.Tensor]:
    leaves = {
        p.name: torch.full(p.shape, float(p.fill), dtype=torch.float64, requires_grad=True)
        for p in case.params
    }
    loss = case.torch_forward(leaves, matmul=_matmul_with(rule))
    return dict(zip(leaves, torch.autograd.grad(loss, list(leaves.values())), strict=True))


def _differs(x: torch.Tensor, y: torch.Tensor) -> bool:
    return not torch.allclose(x, y, rtol=1e-6, atol=0.0)


def _exposed(case: Model) -> dict[str, set[str]]:
    """Per wrong rule: the parameters whose gradient it changes with `case`'s fills."""
    right = _gradients(case, _right)
    exposed = {}
    for label, rule in WRONG_RULES.items():
        wrong = _gradients(case, rule)
        exposed[label] = {n for n in right if _differs(right[n], wrong[n])}
    return exposed


@pytest.mark.parametrize("model", sorted(THROUGH_A_MATMUL))
def test_the_runtime_fills_expose_every_wrong_matmul_rule(model: str) -> None:
    case = runtime_fills(SEED_MODELS[model])
    right = _gradients(case, _right)
    torch_reference = reference_gradients(case)
    for name, gradient in right.items():  # the right rule is torch's own
        assert torch.allclose(gradient.float(), torch_reference[name], rtol=1e-5)
    assert _exposed(case) == dict.fromkeys(WRONG_RULES, THROUGH_A_MATMUL[model])


def test_fills_of_zero_and_one_hide_what_the_primes_expose() -> None:
    """Why the fills are distinct primes and not MIND's own 0 and 1: with the seed's
    fills (x, b1, b2 = 0; w1, w2 = 1) every wrong rule shows only in w2, and with all
    fills 1 a missing factor shows only in w2."""
    case = SEED_MODELS["small_mlp"]
    assert _exposed(case) == {rule: {"w2"} for rule in WRONG_RULES}
    ones = replace(case, params=tuple(replace(p, fill=1) for p in case.params))
    assert _exposed(ones)["missing factor"] == {"w2"}


# --- judging answers ---------------------------------------------------------------------


def _answer_of(case: Model, gradients: dict[str, torch.Tensor]) -> str:
    entries = []
    for p in sorted(case.params, key=lambda p: p.name):
        dims = ",".join(str(d) for d in p.shape)
        entries.append(
            f"{p.name}: Tensor[F32,({dims})] fill={float(gradients[p.name].flatten()[0]):g}"
        )
    return "grad{ " + ", ".join(entries) + " }\n"


def test_a_pass_through_answer_is_judged_wrong_and_silent() -> None:
    case = runtime_fills(SEED_MODELS["small_mlp"])
    stdout = _answer_of(case, _gradients(case, _pass_through))
    judged = judge_runtime(case, read_answer(0, stdout, ""))
    verdicts = {p.name: p.verdict for p in judged.correctness.parameters}
    assert verdicts == {
        "x": Verdict.WRONG,
        "w1": Verdict.WRONG,
        "b1": Verdict.WRONG,
        "w2": Verdict.WRONG,
        "b2": Verdict.PRESENT,
    }
    assert (judged.correctness.incorrect, judged.silent_failures) == (4, 4)


def test_a_right_answer_is_judged_right() -> None:
    case = runtime_fills(SEED_MODELS["matmul_chain"])
    stdout = _answer_of(case, _gradients(case, _right))
    judged = judge_runtime(case, read_answer(0, stdout, ""))
    assert (judged.correctness.incorrect, judged.silent_failures) == (0, 0)


def test_a_materialized_sample_is_compared_element_by_element() -> None:
    case = runtime_fills(SEED_MODELS["simple_quadratic"])  # x = 3: the gradient is 6
    good = judge_runtime(case, read_answer(0, _sampled([6] * 8), ""))
    bad = judge_runtime(case, read_answer(0, _sampled([6] * 7 + [5]), ""))
    assert good.correctness.incorrect == 0 and good.materialized == 1
    assert bad.correctness.verdict_of("x").verdict is Verdict.WRONG


def _sampled(values: list[int]) -> str:
    sample = ",".join(str(v) for v in values)
    return f"grad{{ x: Tensor[F32,(1000)] materialized (sample=[{sample},...]) }}\n"


def test_an_error_leaves_every_gradient_absent_and_is_not_silent() -> None:
    case = runtime_fills(SEED_MODELS["small_mlp"])
    judged = judge_runtime(case, read_answer(0, "", "Evaluation error: type error\n"))
    assert judged.correctness.incorrect == 5 and judged.silent_failures == 0
    assert {p.verdict for p in judged.correctness.parameters} == {Verdict.ABSENT}


# --- locating the runtime ------------------------------------------------------------------


def test_a_build_without_mind_is_a_skip_with_the_manifests_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    BuildManifest(
        commit="abcdef0123456789",
        features=("autodiff",),
        declared_features=("autodiff",),
        rustc_version="rustc 1.0",
        build_seconds=1.0,
        binaries=("mindc",),
        runtime_not_built="Cargo.toml declares no cpu-exec feature",
    ).save(tmp_path)
    monkeypatch.setenv("MIND_BIN_DIR", str(tmp_path))
    reason = r"abcdef01 has no runtime: Cargo\.toml declares no cpu-exec feature$"
    with pytest.raises(CannotDifferentiate, match=reason):
        RuntimeDriver.locate()
