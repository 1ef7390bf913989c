"""The verdicts as plain data: what the driver caches and the benchmarks read, without torch."""

from __future__ import annotations

import json
import math
import subprocess
import sys

from mind_runner.mind.correctness import (
    VERDICT_CODES,
    Correctness,
    ParameterVerdict,
    Verdict,
)
from tests.conftest import PROJECT_ROOT


def sample() -> Correctness:
    return Correctness(
        reading="seed",
        parameters=(
            ParameterVerdict("x", (32, 784), Verdict.WRONG, 19, math.inf),
            ParameterVerdict("w1", (784, 256), Verdict.PRESENT, 20, 1.5e-7),
            ParameterVerdict("b1", (256,), Verdict.ABSENT),
            ParameterVerdict("w2", (256, 10), Verdict.WRONG, 15, 0.25),
            ParameterVerdict("b2", (10,), Verdict.ABSENT),
        ),
        as_printed_misfits=2,
    )


def test_summary_names_wrong_then_absent() -> None:
    correctness = sample()
    assert correctness.summary() == "1/5 (x, w2 wrong; b1, b2 absent)"
    assert (correctness.present, correctness.incorrect) == (1, 4)
    assert correctness.missing == ("x", "b1", "w2", "b2")
    assert correctness.verdict_of("w2").relative_error == 0.25


def test_json_round_trip_is_exact_and_strict_json() -> None:
    correctness = sample()
    text = json.dumps(correctness.to_json(), allow_nan=False)
    assert Correctness.from_json(json.loads(text)) == correctness


def test_unchecked_counts_every_parameter_as_incorrect_and_says_why() -> None:
    correctness = Correctness.unchecked({"x": (1000,)}, "the module declares parameters []")
    assert correctness.incorrect == 1
    assert correctness.summary() == "0/1 (x unchecked): the module declares parameters []"
    assert Verdict.UNCHECKED not in VERDICT_CODES  # no code: the figure skips with the note


def test_importing_the_verdicts_does_not_import_torch() -> None:
    code = "import mind_runner.mind.correctness, sys; print('torch' in sys.modules)"
    completed = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    )
    assert completed.stdout.strip() == "False"
