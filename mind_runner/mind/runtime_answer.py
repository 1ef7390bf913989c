"""What `mind eval --exec` prints for `grad(...)`, read strictly.

MIND's runtime prints its gradients on one line, e.g.
`grad{ x: Tensor[F32,(1000)] fill=6 }`: each a constant tensor (`fill=V`), a
materialized one (`materialized (sample=[v,v,...])`, its first 8 values, `...`
when there are more), or a bare `Tensor[F32,(3)]` whose value is unknown. On
stderr it repeats each answer as a debug line (`grad "x" fill Some(6.0)`). Its
errors exit 0 ("Evaluation error: ...", type errors) and a gradient outside
`--exec` panics (101), so the exit code alone says nothing: an answer counts only
when stdout parses, stderr holds nothing but lines that repeat it, and MIND exited 0.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from mind_runner.util.text import first_line

_ANSWER = re.compile(r"^grad\{ (?P<body>.*) \}$")
_ENTRY = re.compile(
    r"(?P<name>[A-Za-z_]\w*): Tensor\[(?P<dtype>\w+),\((?P<shape>[^)]*)\)\]"
    r"(?: fill=(?P<fill>\S+?)| materialized \(sample=\[(?P<sample>[^\]]*)\]\))?"
    r"(?=, [A-Za-z_]\w*: Tensor\[|$)"
)
_DEBUG = re.compile(r'^grad "(?P<name>[^"]+)" fill (?:Some\((?P<fill>[^)]+)\)|None)$')


@dataclass(frozen=True)
class PrintedTensor:
    """One gradient as MIND printed it."""

    dtype: str
    shape: tuple[int, ...]
    fill: float | None = None
    sample: tuple[float, ...] | None = None
    """The first values of a materialized tensor, row-major."""
    truncated: bool = False
    """The sample ends with `...`: the tensor has more values than printed."""

    @property
    def has_value(self) -> bool:
        return self.fill is not None or self.sample is not None


@dataclass(frozen=True)
class RuntimeAnswer:
    gradients: dict[str, PrintedTensor]


class UnreadableAnswer(ValueError):
    """MIND's runtime gave no usable answer: an error, a panic, stray stderr, or text
    that is not a gradient map. Its message says which, in one line."""


def _number(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(text)
    return value


def _tensor(match: re.Match[str]) -> PrintedTensor:
    shape = tuple(int(d) for d in match["shape"].split(",") if d.strip())
    if match["fill"] is not None:
        return PrintedTensor(match["dtype"], shape, fill=_number(match["fill"]))
    if match["sample"] is not None:
        items = [item.strip() for item in match["sample"].split(",") if item.strip()]
        truncated = bool(items) and items[-1] == "..."
        values = tuple(_number(item) for item in (items[:-1] if truncated else items))
        return PrintedTensor(match["dtype"], shape, sample=values, truncated=truncated)
    return PrintedTensor(match["dtype"], shape)


def parse_gradients(line: str) -> dict[str, PrintedTensor]:
    """`grad{ name: Tensor[...] ..., ... }` -> name -> tensor; UnreadableAnswer otherwise."""
    answer = _ANSWER.match(line.strip())
    if answer is None:
        raise UnreadableAnswer(f"not a gradient map: {line.strip()[:120]!r}")
    body = answer["body"]
    gradients: dict[str, PrintedTensor] = {}
    position = 0
    while position < len(body):
        entry = _ENTRY.match(body, position)
        if entry is None:
            raise UnreadableAnswer(f"unreadable gradient entry: {body[position:][:120]!r}")
        try:
            gradients[entry["name"]] = _tensor(entry)
        except ValueError as error:
            raise UnreadableAnswer(f"unreadable value {error} in {entry[0]!r}") from None
        position = entry.end()
        if body.startswith(", ", position):
            position += 2
    return gradients


def _repeats_the_answer(line: str, gradients: dict[str, PrintedTensor]) -> bool:
    """A debug line `grad "x" fill Some(6.0)` that says what the answer says of x."""
    debug = _DEBUG.match(line)
    if debug is None or debug["name"] not in gradients:
        return False
    printed = gradients[debug["name"]]
    if debug["fill"] is None:
        return printed.fill is None
    try:
        return printed.fill is not None and math.isclose(
            _number(debug["fill"]), printed.fill, rel_tol=1e-6
        )
    except ValueError:
        return False


def read_answer(exit_code: int, stdout: str, stderr: str) -> RuntimeAnswer:
    """The gradients of one `mind eval --exec` call, or UnreadableAnswer saying why not."""
    errors = stderr.splitlines()
    if exit_code == 101 or "panicked at" in stderr:
        at = next((i for i, line in enumerate(errors) if "panicked at" in line), None)
        detail = first_line(errors[at + 1 :] if at is not None else errors)
        raise UnreadableAnswer(f"panicked (exit {exit_code}): {detail}")
    if exit_code != 0:
        raise UnreadableAnswer(f"exit {exit_code}: {first_line(errors)}")
    lines = [line for line in stdout.splitlines() if line.strip()]
    if not lines:
        if not stderr.strip():
            raise UnreadableAnswer("exit 0 with nothing printed")
        raise UnreadableAnswer(f"exit 0 with no answer; stderr says: {first_line(errors)}")
    if len(lines) != 1:
        raise UnreadableAnswer(f"{len(lines)} lines printed where one gradient map was expected")
    gradients = parse_gradients(lines[0])
    stray = [line for line in errors if line.strip() and not _repeats_the_answer(line, gradients)]
    if stray:
        raise UnreadableAnswer(f"exit 0 but stderr says: {stray[0].strip()[:200]}")
    return RuntimeAnswer(gradients)
