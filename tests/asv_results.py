"""Read asv result files the plain way, independently of mind_runner's own reader."""

from __future__ import annotations

import ast
import itertools
import math
from pathlib import Path
from typing import Any

Values = dict[tuple[str, ...], float | None]


def load_results(results_dir: Path) -> dict[str, Any]:
    """commit hash -> asv Results, for one machine's directory."""
    from asv.results import iter_results

    return {result.commit_hash: result for result in iter_results(str(results_dir))}


def benchmark_values(result: Any, key: str) -> Values:
    """Parameter tuple (plain strings) -> value; None = failed, NaN = skipped."""
    params: list[list[str]] = result._benchmark_params[key]
    values = result.get_result_value(key, params)
    if not params and not isinstance(values, list):
        values = [values]
    combos = itertools.product(*params) if params else [()]
    plain = (tuple(str(ast.literal_eval(p)) for p in combo) for combo in combos)
    return dict(zip(plain, values, strict=True))


def is_skipped(value: float | None) -> bool:
    return value is not None and math.isnan(value)
