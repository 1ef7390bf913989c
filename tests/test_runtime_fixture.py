"""The runtime driver against the fixture's `mind eval --exec`, built as the build step
builds it: right at runtime-grad, the pass-through matmul rule at the next commit."""

from __future__ import annotations

import pytest

from mind_runner.mind.correctness import Verdict
from mind_runner.mind.driver import CannotDifferentiate
from mind_runner.mind.models import SEED_MODELS
from mind_runner.mind.runtime_answer import RuntimeJudgement
from mind_runner.mind.runtime_check import judge_runtime
from mind_runner.mind.runtime_driver import RuntimeDriver
from tests.mind_binaries import fixture_runtime_bin_dir

pytestmark = pytest.mark.cargo


def _judged(
    label: str, monkeypatch: pytest.MonkeyPatch, **build: bool
) -> dict[str, RuntimeJudgement]:
    monkeypatch.setenv("MIND_BIN_DIR", str(fixture_runtime_bin_dir(label, **build)))
    driver = RuntimeDriver.locate()
    judged = {}
    for name, case in SEED_MODELS.items():
        call = driver.call(case)
        judged[name] = judge_runtime(call.case, call.answer)
    return judged


def test_the_right_runtime_has_every_gradient_right(monkeypatch: pytest.MonkeyPatch) -> None:
    judged = _judged("runtime-grad", monkeypatch)
    for name, judgement in judged.items():
        assert judgement.correctness.incorrect == 0, (name, judgement.correctness.summary())
        assert judgement.silent_failures == 0


def test_the_pass_through_rule_is_wrong_and_silent(monkeypatch: pytest.MonkeyPatch) -> None:
    judged = _judged("runtime-matmul-passthrough", monkeypatch)
    mlp = judged["small_mlp"].correctness
    assert {p.name: p.verdict for p in mlp.parameters} == {
        "x": Verdict.WRONG,
        "w1": Verdict.WRONG,
        "b1": Verdict.WRONG,
        "w2": Verdict.WRONG,
        "b2": Verdict.PRESENT,
    }
    assert judged["small_mlp"].silent_failures == 4
    assert judged["matmul_chain"].silent_failures == 4
    assert judged["simple_quadratic"].correctness.incorrect == 0


def test_a_mind_without_cpu_exec_is_a_skip(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIND_BIN_DIR", str(fixture_runtime_bin_dir("runtime-grad", cpu_exec=False)))
    with pytest.raises(CannotDifferentiate, match="no runtime engine: --exec requested"):
        RuntimeDriver.locate().call(SEED_MODELS["simple_quadratic"])
