"""The rule-coverage matrix at one commit, as the report's table and JSON."""

from __future__ import annotations

from typing import Any

from mind_runner.mind.coverage import ENGINES
from mind_runner.results.coverage import Coverage


def coverage_rows(coverage: Coverage) -> list[list[str]]:
    """The matrix as rows: the op, then per engine its state and incorrect gradients."""
    rows = [["Op", *ENGINES]]
    for op, row in coverage.cells.items():
        cells = [row[engine] for engine in ENGINES]
        rows.append(
            [op, *(f"{c.state}{f' ({c.incorrect})' if c.incorrect else ''}" for c in cells)]
        )
    return rows


def coverage_json(coverage: Coverage) -> dict[str, Any]:
    return {
        "rules_right": coverage.rules_right,
        "cells": {
            op: {
                engine: {"state": cell.state, "incorrect_gradients": cell.incorrect}
                for engine, cell in row.items()
            }
            for op, row in coverage.cells.items()
        },
    }
