"""How many of a model's gradients MIND's IR gets right, as plain data (no torch).

The gradient check (`gradient_check`) needs torch; the driver caches its verdicts
and every benchmark process reads them, so the verdicts live here, in a form
that goes to JSON and back without importing torch.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class Verdict(enum.Enum):
    PRESENT = "present"  # some gradient value of this shape matches PyTorch
    ABSENT = "absent"  # no gradient value has this parameter's shape
    WRONG = "wrong"  # values of this shape exist, none matches
    UNCHECKED = "unchecked"  # the module could not be run against the model (`Correctness.note`)


# The per-parameter asv figure: higher is worse. A wrong gradient ranks below an
# absent one because a user notices a missing gradient but trains on a wrong one.
VERDICT_CODES: dict[Verdict, int] = {Verdict.PRESENT: 0, Verdict.ABSENT: 1, Verdict.WRONG: 2}
VERDICT_UNIT = "verdict (0 present, 1 absent, 2 wrong)"
VERDICTS_BY_CODE = {code: verdict for verdict, code in VERDICT_CODES.items()}


@dataclass(frozen=True)
class ParameterVerdict:
    """One parameter: its verdict and the gradient value it rests on.

    `value_id` is the matching value (PRESENT) or the closest candidate in
    the least-squares sense (WRONG); `relative_error` is that value's max|candidate - reference| /
    max|reference| (inf when not finite); both None when ABSENT or UNCHECKED.
    """

    name: str
    shape: tuple[int, ...]
    verdict: Verdict
    value_id: int | None = None
    relative_error: float | None = None


def count_present(parameters: tuple[ParameterVerdict, ...]) -> int:
    return sum(1 for p in parameters if p.verdict is Verdict.PRESENT)


def summarise(parameters: tuple[ParameterVerdict, ...]) -> str:
    """E.g. `3/5 (b1, b2 absent)`, `1/5 (x, w1 wrong; b1, b2 absent)`."""
    groups = [
        f"{', '.join(p.name for p in parameters if p.verdict is verdict)} {verdict.value}"
        for verdict in (Verdict.WRONG, Verdict.ABSENT, Verdict.UNCHECKED)
        if any(p.verdict is verdict for p in parameters)
    ]
    counts = f"{count_present(parameters)}/{len(parameters)}"
    return f"{counts} ({'; '.join(groups)})" if groups else counts


@dataclass(frozen=True)
class Correctness:
    """One model's gradient IR judged parameter by parameter (README: "reading")."""

    reading: str  # the reading the verdicts are of: "seed" or "as printed"
    parameters: tuple[ParameterVerdict, ...]
    as_printed_misfits: int  # instructions whose operands do not fit as printed
    note: str = ""  # why the verdicts are UNCHECKED, if they are

    @classmethod
    def unchecked(cls, names_and_shapes: Mapping[str, tuple[int, ...]], why: str) -> Correctness:
        parameters = tuple(
            ParameterVerdict(name, shape, Verdict.UNCHECKED)
            for name, shape in names_and_shapes.items()
        )
        return cls(reading="seed", parameters=parameters, as_printed_misfits=0, note=why)

    @property
    def present(self) -> int:
        return count_present(self.parameters)

    @property
    def incorrect(self) -> int:
        """Parameters whose gradient is absent, wrong or unchecked: the figure to track."""
        return len(self.parameters) - self.present

    @property
    def missing(self) -> tuple[str, ...]:
        """The parameters a user would still have to differentiate by other means."""
        return tuple(p.name for p in self.parameters if p.verdict is not Verdict.PRESENT)

    def summary(self) -> str:
        text = summarise(self.parameters)
        return f"{text}: {self.note}" if self.note else text

    def verdict_of(self, name: str) -> ParameterVerdict:
        for parameter in self.parameters:
            if parameter.name == name:
                return parameter
        raise KeyError(f"no parameter {name!r} (have: {', '.join(self.missing)})")

    def to_json(self) -> dict[str, Any]:
        return {
            "reading": self.reading,
            "as_printed_misfits": self.as_printed_misfits,
            "note": self.note,
            "parameters": [
                {
                    "name": p.name,
                    "shape": list(p.shape),
                    "verdict": p.verdict.value,
                    "value_id": p.value_id,
                    # JSON has no infinity: a non-finite error is stored as a string.
                    "relative_error": (
                        p.relative_error
                        if p.relative_error is None or math.isfinite(p.relative_error)
                        else str(p.relative_error)
                    ),
                }
                for p in self.parameters
            ],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Correctness:
        """The inverse of `to_json`; KeyError, TypeError or ValueError when it is not one."""
        parameters = []
        for item in data["parameters"]:
            error = item["relative_error"]
            value_id = item["value_id"]
            parameters.append(
                ParameterVerdict(
                    name=str(item["name"]),
                    shape=tuple(int(d) for d in item["shape"]),
                    verdict=Verdict(item["verdict"]),
                    value_id=None if value_id is None else int(value_id),
                    relative_error=None if error is None else float(error),
                )
            )
        return cls(
            reading=str(data["reading"]),
            parameters=tuple(parameters),
            as_printed_misfits=int(data["as_printed_misfits"]),
            note=str(data["note"]),
        )
