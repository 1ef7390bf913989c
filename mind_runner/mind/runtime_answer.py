"""What one `mind eval --exec` call of `grad(...)` answered, read without torch.

MIND's runtime prints a gradient map on stdout,
`grad{ b: Tensor[F32,(10)] fill=32, w: Tensor[F32,(2,4)] materialized (sample=[6,6,...]) }`,
one entry per parameter it has a gradient for, in name order: a constant-filled
tensor stays symbolic (`fill=V`, nothing was computed element by element), a
buffer that was computed is `materialized` with its first 8 elements. It also
writes one debug line per gradient on stderr (`grad "b" fill Some(32.0)`); those
repeat the answer and are not errors. Anything else is: `Evaluation error: ...`
(with exit 0), a panic (exit 101), other stderr, an answer that does not parse.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mind_runner.mind.correctness import Correctness
from mind_runner.mind.driver import PANICKED
from mind_runner.util.text import first_line

_NUMBER = r"[-+]?(?:[0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?|inf|NaN)"
_ENTRY = re.compile(
    r"(?P<name>[A-Za-z_][A-Za-z0-9_]*): Tensor\[(?P<dtype>[A-Za-z0-9]+),\((?P<dims>[^()]*)\)\]"
    rf"(?: fill=(?P<fill>{_NUMBER})"
    rf"| materialized \(sample=\[(?P<sample>(?:{_NUMBER}|\.\.\.)(?:,(?:{_NUMBER}|\.\.\.))*)?\]\))?"
)
_DEBUG_LINE = re.compile(r'grad "[A-Za-z_][A-Za-z0-9_]*" fill (?:Some\([^()]*\)|None)')
_NO_CPU_EXEC = "cpu-exec feature is not enabled"


@dataclass(frozen=True)
class RuntimeGradient:
    """One parameter's gradient as printed: its shape, and its value where there is one."""

    name: str
    shape: tuple[int | str, ...]
    fill: float | None = None  # every element, when the tensor stayed symbolic
    sample: tuple[float, ...] | None = None  # the first elements, when materialized

    @property
    def materialized(self) -> bool:
        return self.sample is not None

    @property
    def has_value(self) -> bool:
        return self.fill is not None or self.sample is not None


@dataclass(frozen=True)
class RuntimeAnswer:
    """A call's gradients, or (`error`) why the call gave none; `exit_code` as it was."""

    exit_code: int
    gradients: tuple[RuntimeGradient, ...] = ()
    error: str | None = None

    @property
    def silent(self) -> bool:
        """Exit 0 and no error: whatever is wrong in it, MIND did not say so."""
        return self.exit_code == 0 and self.error is None

    def gradient_of(self, name: str) -> RuntimeGradient | None:
        for gradient in self.gradients:
            if gradient.name == name:
                return gradient
        return None

    @property
    def materialized(self) -> int:
        """How many gradients were computed element by element (not kept as a fill)."""
        return sum(1 for g in self.gradients if g.materialized)


class NoRuntime(NotImplementedError):
    """This binary has no runtime engine (`--exec` falls back to the preview)."""


def _number(text: str) -> float:
    return float(text)


def parse_gradient_map(stdout: str) -> tuple[RuntimeGradient, ...]:
    """The entries of `grad{ ... }`; ValueError saying where it stops making sense."""
    text = stdout.strip()
    if not (text.startswith("grad{") and text.endswith("}")) or "\n" in text:
        raise ValueError(f"not one gradient map: {first_line(text.splitlines())!r}")
    body = text[len("grad{") : -1].strip()
    gradients: list[RuntimeGradient] = []
    at = 0
    while at < len(body):
        match = _ENTRY.match(body, at)
        if match is None:
            raise ValueError(f"unreadable gradient entry at {body[at : at + 40]!r}")
        dims = [d.strip() for d in match["dims"].split(",") if d.strip()]
        sample = match["sample"]
        gradients.append(
            RuntimeGradient(
                name=match["name"],
                shape=tuple(int(d) if d.isdigit() else d for d in dims),
                fill=None if match["fill"] is None else _number(match["fill"]),
                sample=(
                    None
                    if sample is None
                    else tuple(_number(v) for v in sample.split(",") if v != "...")
                ),
            )
        )
        at = match.end()
        if at < len(body):
            if not body.startswith(", ", at):
                raise ValueError(f"unreadable gradient entry at {body[at : at + 40]!r}")
            at += 2
    return tuple(gradients)


def read_answer(exit_code: int, stdout: str, stderr: str) -> RuntimeAnswer:
    """A finished call's answer. NoRuntime where the binary lacks the runtime engine;
    a misbehaviour (hang, signal) is the caller's to judge before this."""
    if _NO_CPU_EXEC in stderr:
        raise NoRuntime(f"this mind has no runtime engine: {first_line(stderr.splitlines())}")
    lines = [line for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if not _DEBUG_LINE.fullmatch(line.strip())]
    if exit_code == 101:
        panic = next((line for line in lines if "panicked" in line), "")
        index = lines.index(panic) + 1 if panic else 0
        return RuntimeAnswer(exit_code, error=f"{PANICKED}: " + first_line(lines[index:]))
    if exit_code != 0:
        return RuntimeAnswer(exit_code, error=f"exit {exit_code}: {first_line(errors or lines)}")
    if errors:
        return RuntimeAnswer(exit_code, error=f"exit 0 but stderr says: {first_line(errors)}")
    try:
        gradients = parse_gradient_map(stdout)
    except ValueError as unreadable:
        return RuntimeAnswer(exit_code, error=f"exit 0 with no gradients: {unreadable}")
    return RuntimeAnswer(exit_code, gradients=gradients)


@dataclass(frozen=True)
class RuntimeJudgement:
    """Kept here, without torch, because benchmark processes unpickle it from setup_cache.

    One model's runtime answer judged: verdicts, and whether MIND said anything was wrong."""

    correctness: Correctness
    exit_code: int
    error: str | None
    materialized: int  # gradients computed element by element
    values: dict[str, str]  # per parameter: MIND's value as printed, "-" where none
    reference: dict[str, str]  # per parameter: torch's value (one number when uniform)

    @property
    def silent_failures(self) -> int:
        """Gradients absent or wrong while MIND exited 0 and printed no error."""
        return self.correctness.incorrect if self.error is None and self.exit_code == 0 else 0
