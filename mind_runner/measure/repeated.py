"""Several runs of one measurement, summarised the same way for every kind of figure."""

from __future__ import annotations

import statistics
from dataclasses import dataclass


@dataclass(frozen=True)
class RepeatedRuns:
    """The values of repeated runs of one command (instructions, bytes, ...)."""

    runs: tuple[int, ...]

    def __post_init__(self) -> None:
        if not self.runs:
            raise ValueError("a repeated measurement needs at least one run")

    @property
    def median(self) -> int:
        """The middle run (the lower middle for an even number): an observed value."""
        return int(statistics.median_low(self.runs))

    @property
    def minimum(self) -> int:
        return min(self.runs)

    @property
    def spread(self) -> int:
        """Largest minus smallest run."""
        return max(self.runs) - min(self.runs)

    @property
    def spread_percent(self) -> float:
        """The spread as a percentage of the median: 0.0 when every run agreed."""
        return 100.0 * self.spread / self.median if self.median else 0.0
