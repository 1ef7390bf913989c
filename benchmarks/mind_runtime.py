"""MIND's runtime gradients: `grad(...)` evaluated by `mind eval --exec` (feature cpu-exec).

Unlike `mindc`'s gradient IR, which nothing in MIND's CLI executes, the runtime engine
computes gradients per call: the per-iteration tier, beside PyTorch's forward+backward.
Its tensors are declared with constant whole-number fills (the only values it takes),
and constant tensors stay symbolic, so a timing says whether the gradients were
materialized (`track_runtime_materialized_gradients`). Every answer is judged against
`torch.autograd.grad` on the same fills (mind_runner.mind.runtime_check), once per
commit in one `setup_cache`; the call is timed whatever the verdict, and the verdict
stands beside it. A commit whose `mind` lacks cpu-exec (the build manifest) skips.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from benchmarks.common import (
    MODELS,
    PARAMETERS,
    NotMeasured,
    mindc_timeout,
    prepared,
    require_tool,
    with_attributes,
)
from mind_runner.measure.callgrind import SeededCounts, count_seeded, find_valgrind
from mind_runner.measure.fixed_seed import shim_library
from mind_runner.mind.correctness import VERDICT_CODES, VERDICT_UNIT
from mind_runner.mind.driver import CannotDifferentiate, MindFailed, run_timed_call
from mind_runner.mind.models import SEED_MODELS
from mind_runner.mind.runtime_driver import RuntimeDriver

if TYPE_CHECKING:
    from mind_runner.mind.runtime_answer import RuntimeJudgement


def judge_models(models: list[str]) -> dict[str, RuntimeJudgement | NotMeasured]:
    """Every model's runtime answer, judged, or why there is none (never raises)."""
    try:
        driver = RuntimeDriver.locate()
    except CannotDifferentiate as missing:
        return dict.fromkeys(models, NotMeasured(str(missing)))
    from mind_runner.mind.runtime_check import judge_runtime  # torch: once per commit

    judged: dict[str, RuntimeJudgement | NotMeasured] = {}
    for model in models:
        try:
            call = driver.call(SEED_MODELS[model])
        except CannotDifferentiate as reason:
            judged[model] = NotMeasured(str(reason))
        except MindFailed as failure:
            judged[model] = NotMeasured(str(failure), failed=True)
        else:
            judged[model] = judge_runtime(call.case, call.answer)
    return judged


class _RuntimeJudged:
    """One `setup_cache` for every runtime correctness figure (asv keys it by this line)."""

    @with_attributes(timeout=120)
    def setup_cache(self) -> dict[str, RuntimeJudgement | NotMeasured]:
        """One call per model and the torch reference, once per commit (2.5 s at real
        HEAD here, torch's import included)."""
        return judge_models(MODELS)

    def judgement(
        self, judged: dict[str, RuntimeJudgement | NotMeasured], model: str
    ) -> RuntimeJudgement:
        entry = judged[model]
        if isinstance(entry, NotMeasured):
            entry.raise_it()
        return entry


class RuntimeCorrectness(_RuntimeJudged):
    """Tier: gradient correctness of MIND's runtime (`mind eval --exec`), per seed model."""

    version = 1  # raised only when what a figure means changes (see versions.json)

    params = [MODELS]
    param_names = ["model"]

    def setup(self, judged: dict[str, RuntimeJudgement | NotMeasured], model: str) -> None:
        self.judged = self.judgement(judged, model)

    @with_attributes(unit="gradients")
    def track_runtime_incorrect_gradients(
        self, judged: dict[str, RuntimeJudgement | NotMeasured], model: str
    ) -> int:
        """Tier: gradient correctness, runtime. Parameters whose gradient `mind eval
        --exec` leaves out or gets wrong, each against `torch.autograd.grad` on the same
        constant fills (distinct odd primes); an answer that is an error counts every
        parameter. Per parameter: RuntimeParameterGradients."""
        return self.judged.correctness.incorrect

    @with_attributes(unit="gradients")
    def track_runtime_silent_failures(
        self, judged: dict[str, RuntimeJudgement | NotMeasured], model: str
    ) -> int:
        """Tier: gradient correctness, runtime. Gradients absent or wrong while `mind eval
        --exec` exited 0 and printed no error: what a user would train on unwarned
        (MIND's docs promise to fail loud instead)."""
        return self.judged.silent_failures

    @with_attributes(unit="gradients")
    def track_runtime_materialized_gradients(
        self, judged: dict[str, RuntimeJudgement | NotMeasured], model: str
    ) -> int:
        """Tier: what the runtime's timing covers. Gradients printed as computed buffers
        (`materialized`); the others stayed one symbolic fill, so no element-wise work
        was done for them."""
        return self.judged.materialized


class RuntimeParameterGradients(_RuntimeJudged):
    """Tier: gradient correctness of MIND's runtime, per seed model and parameter."""

    version = 1  # raised only when what a figure means changes (see versions.json)

    params = [MODELS, PARAMETERS]
    param_names = ["model", "parameter"]

    def setup(
        self, judged: dict[str, RuntimeJudgement | NotMeasured], model: str, parameter: str
    ) -> None:
        if parameter not in [p.name for p in SEED_MODELS[model].params]:
            raise NotImplementedError(f"{model} has no parameter {parameter}")
        verdict = self.judgement(judged, model).correctness.verdict_of(parameter).verdict
        self.code = VERDICT_CODES[verdict]

    @with_attributes(unit=VERDICT_UNIT)
    def track_runtime_gradient_verdict(
        self, judged: dict[str, RuntimeJudgement | NotMeasured], model: str, parameter: str
    ) -> int:
        """Tier: gradient correctness, runtime. The verdict on this parameter's gradient
        from `mind eval --exec`, against `torch.autograd.grad` on the same fills:
        0 present and right, 1 absent (or the call gave an error), 2 wrong."""
        return self.code


class CompileTimeSilentFailures:
    """Tier: gradient correctness of MIND's compile-time engine (`mindc --emit-grad-ir`)."""

    version = 1  # raised only when what a figure means changes (see versions.json)

    params = [MODELS]
    param_names = ["model"]

    def setup(self, model: str) -> None:
        # The driver keeps only modules from calls that exited 0 with empty stderr.
        self.incorrect = prepared(model)[1].correctness.incorrect

    @with_attributes(unit="gradients")
    def track_compile_time_silent_failures(self, model: str) -> int:
        """Tier: gradient correctness, compile-time. Gradients absent or wrong in the
        gradient IR of a `mindc` call that exited 0 and printed no error (the gradient
        check's verdicts): the compile-time counterpart of track_runtime_silent_failures."""
        return self.incorrect


@cache
def runtime_command(model: str) -> tuple[str, ...]:
    """The model's runtime call, checked once per process (setup runs per sample): an
    answer that is an error is a failure of this commit's MIND; no runtime, a skip."""
    driver = RuntimeDriver.locate()
    call = driver.call(SEED_MODELS[model])
    if call.answer.error is not None:
        raise MindFailed(f"mind eval --exec on {model}: {call.answer.error}")
    return tuple(driver.command(call.program))


class RuntimeGradient:
    """Tier: per-iteration gradient execution, MIND side: MIND's interpreter
    (`mind eval --exec`), whole process, constant-filled tensors; whether the gradients
    were materialized is RuntimeCorrectness.track_runtime_materialized_gradients, whether
    they are right track_runtime_incorrect_gradients."""

    version = 1  # raised only when what a figure means changes (see versions.json)

    params = [MODELS]
    param_names = ["model"]

    def setup(self, model: str) -> None:
        self.command = runtime_command(model)

    def time_mind_runtime_gradient(self, model: str) -> None:
        """Tier: per-iteration gradient execution. Timer: one whole `mind eval --exec
        'let ...; grad(tensor.sum(...), wrt=[...])'` process (spawn, start-up, parse,
        type-check, forward and reverse on constant-filled tensors, printing), timed
        whatever its verdict (RuntimeCorrectness)."""
        run_timed_call(self.command, mindc_timeout())


class RuntimeInstructionCounts:
    """Tier: per-iteration gradient execution, MIND side, as instructions retired: the
    runtime call of RuntimeGradient under callgrind, median over 3 fixed hash seeds."""

    version = 1  # raised only when what a figure means changes (see versions.json)

    params = [MODELS]
    param_names = ["model"]

    @with_attributes(timeout=300)
    def setup_cache(self) -> dict[str, SeededCounts | NotMeasured]:
        """All callgrind runs, once per commit (4 per model; 10 s at real HEAD here,
        where matmul_chain's call retires 179 M instructions)."""
        counted: dict[str, SeededCounts | NotMeasured] = {}
        for model in MODELS:
            try:
                valgrind = require_tool(find_valgrind)
                shim_library()
                command = runtime_command(model)
            except MindFailed as failure:
                counted[model] = NotMeasured(str(failure), failed=True)
            except NotImplementedError as reason:
                counted[model] = NotMeasured(str(reason))
            else:
                counted[model] = count_seeded(command, valgrind=valgrind)
        return counted

    def setup(self, counted: dict[str, SeededCounts | NotMeasured], model: str) -> None:
        entry = counted[model]
        if isinstance(entry, NotMeasured):
            entry.raise_it()
        self.counts = entry

    @with_attributes(unit="instructions")
    def track_runtime_gradient_instructions(
        self, counted: dict[str, SeededCounts | NotMeasured], model: str
    ) -> int:
        """Tier: per-iteration gradient execution. Instructions of one whole `mind eval
        --exec` gradient process, constant-filled tensors (median over 3 fixed hash
        seeds; the seed shim's own loading adds a constant)."""
        return self.counts.median

    @with_attributes(unit="%")
    def track_runtime_gradient_spread_percent(
        self, counted: dict[str, SeededCounts | NotMeasured], model: str
    ) -> float:
        """Tier: measurement quality. The runtime call counted twice under the first
        seed, difference in % of the median (0.00 when it repeats exactly)."""
        return self.counts.spread_percent
