"""The rule-coverage cells at one commit, read from asv's results (mind_coverage).

One row per op model, one column per engine: the cell's state as asv recorded it
(its verdict figure 0/1/2, a skip for "not expressible", a failure for "error"),
with the count of incorrect gradients. A cell never run at this commit says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from mind_runner.mind.coverage import ENGINES, STATE_CODES, CellState
from mind_runner.mind.op_models import OPS
from mind_runner.results.asv_results import CommitResults, Figure, Status

VERDICT = "mind_coverage.RuleCoverage.track_rule_verdict"
INCORRECT = "mind_coverage.RuleCoverage.track_incorrect_gradients"
RULES_RIGHT = "mind_coverage.RulesRight.track_rules_right"
NOT_MEASURED = "not measured"
_STATES_BY_CODE = {code: state for state, code in STATE_CODES.items()}


@dataclass(frozen=True)
class CoverageCell:
    state: str  # a CellState's value, or NOT_MEASURED
    incorrect: int | None


@dataclass(frozen=True)
class Coverage:
    """The matrix (op -> engine -> cell) and the suite-wide count of right rules."""

    cells: Mapping[str, Mapping[str, CoverageCell]]
    rules_right: int | None

    @property
    def measured(self) -> bool:
        return any(c.state != NOT_MEASURED for row in self.cells.values() for c in row.values())


def _state(figure: Figure) -> str:
    if figure.status is Status.SKIPPED:
        return CellState.NOT_EXPRESSIBLE.value
    if figure.status is Status.FAILED:
        return CellState.ERROR.value
    if figure.ok and figure.value is not None and int(figure.value) in _STATES_BY_CODE:
        return _STATES_BY_CODE[int(figure.value)].value
    return NOT_MEASURED


def read_coverage(results: CommitResults) -> Coverage:
    cells: dict[str, dict[str, CoverageCell]] = {}
    for op in OPS:
        row = {}
        for engine in ENGINES:
            wanted = {"op": op, "engine": engine}
            incorrect = results.figure(INCORRECT, wanted)
            row[engine] = CoverageCell(
                state=_state(results.figure(VERDICT, wanted)),
                incorrect=int(incorrect.value)
                if incorrect.ok and incorrect.value is not None
                else None,
            )
        cells[op] = row
    right = results.figure(RULES_RIGHT, {})
    return Coverage(cells, int(right.value) if right.ok and right.value is not None else None)
