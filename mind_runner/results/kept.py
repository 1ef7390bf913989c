"""Keep what was measured: a commit's results after a fault of this machine.

When the build, the install or a benchmark of a commit met a fault of this
machine (no cargo, a corrupt build cache, asv's own timeout...), asv still
saves the commit's results file, with a null (failed) or NaN (skipped) where
the fault struck, over whatever an earlier run measured there. Those are not
facts about MIND. So, for the benchmarks the fault may have touched, every
parameter combination this run has no number for gets back what the earlier
file held, and a benchmark that neither run measured is left out of the file.
Numbers this run did measure stay.

asv's Results API reads a result but only `add_result` writes one, and that
recomputes statistics from samples asv may not have kept; so entries move
between two `Results` of the same commit through the attributes asv's own
`Results.load_data` copies, a pinned asv's (0.6.6) layout.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from typing import Any

# Per-benchmark attributes of asv's Results (as `Results.load_data` lists them).
_PER_BENCHMARK = (
    "_results",
    "_samples",
    "_stats",
    "_benchmark_params",
    "_profiles",
    "_started_at",
    "_duration",
    "_benchmark_version",
)
# The three that hold one entry per parameter combination.
_PER_COMBINATION = ("_results", "_samples", "_stats")


def is_number(value: Any) -> bool:
    """A measured figure: not null (failed), not NaN (skipped)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and not math.isnan(value)


def _combinations(results: Any, key: str) -> int:
    return len(list(itertools.product(*results.get_result_params(key))))


def _column(results: Any, attribute: str, key: str) -> list[Any]:
    """One per-combination attribute as a list (asv compresses all-None lists to None)."""
    stored = getattr(results, attribute).get(key)
    return list(stored) if stored is not None else [None] * _combinations(results, key)


def _copy_benchmark(source: Any, target: Any, key: str) -> None:
    for attribute in _PER_BENCHMARK:
        values = getattr(source, attribute)
        if key in values:
            getattr(target, attribute)[key] = values[key]
        else:
            getattr(target, attribute).pop(key, None)


def _same_benchmark(old: Any, new: Any, key: str) -> bool:
    return bool(
        old.get_result_params(key) == new.get_result_params(key)
        and old.benchmark_version.get(key) == new.benchmark_version.get(key)
    )


def keep_earlier(new: Any, old: Any | None, keys: Iterable[str]) -> list[str]:
    """Mend `new` (asv Results) for `keys` from `old` (the same commit's earlier file,
    None if there was none); return the benchmarks where something was kept or left out."""
    mended = []
    for key in sorted(set(keys) & set(new.get_all_result_keys())):
        values = _column(new, "_results", key)
        measured = [is_number(value) for value in values]
        if all(measured):
            continue
        earlier = old is not None and key in old.get_all_result_keys()
        if not any(measured):
            if earlier:
                _copy_benchmark(old, new, key)
            else:
                new.remove_result(key)
            mended.append(key)
        elif earlier and _same_benchmark(old, new, key):
            for attribute in _PER_COMBINATION:
                mine, theirs = _column(new, attribute, key), _column(old, attribute, key)
                merged = [m if ok else t for m, t, ok in zip(mine, theirs, measured, strict=True)]
                getattr(new, attribute)[key] = merged
            mended.append(key)
    return mended
