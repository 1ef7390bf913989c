"""Instructions retired by one command, counted under valgrind's callgrind.

A `mindc` call takes about a millisecond, most of it process start-up, so wall
time cannot show a 1 % change in MIND's autodiff. The number of instructions the
call retires can, if the call does the same work every run. Some MIND commits
seed hash maps at random (up to 0.76 % run to run), so `count_seeded` runs the
command under fixed seeds (`fixed_seed`): the figure is the median over the
seeds, and one seed counted twice shows whether anything else still varies.

Counts also move with the binary's and the program's paths, the environment and
the working directory (MIND's README: a longer path +35, one more variable
+441). Every run here uses one fixed environment and working directory; the
driver fixes the paths. Compare counts only when they were taken that way.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from mind_runner.measure.bounded import MEBIBYTE, run_bounded
from mind_runner.measure.environment import FIXED_DIRECTORY, FIXED_ENVIRONMENT
from mind_runner.measure.fixed_seed import (
    PRELOAD_FAILED,
    SEEDS,
    seeded_environment,
    shim_library,
)
from mind_runner.measure.repeated import RepeatedRuns
from mind_runner.util.text import first_line
from mind_runner.util.tools import locate_program

VALGRIND_VARIABLE = "MIND_BENCH_VALGRIND"
"""Which valgrind to run (a name on PATH or a path); for machines with several, and tests."""

MISSING_VALGRIND = "valgrind not installed (apt-get install valgrind)"
DEFAULT_RUNS = 3
# One run under callgrind: a 1000-layer chain takes about 1 s; a hang must not take forever.
DEFAULT_TIMEOUT_S = 300.0


class ValgrindMissing(NotImplementedError):
    """No valgrind on this machine: asv records a skip with this reason."""


class CallgrindFailed(RuntimeError):
    """The command failed under valgrind, or callgrind wrote no count."""


class MalformedCallgrindOutput(ValueError):
    """A callgrind out file without an instruction total."""


def parse_callgrind_output(text: str) -> int:
    """Total instructions (event `Ir`) from a callgrind out file's `summary:` or `totals:`."""
    events: list[str] = ["Ir"]
    totals: dict[str, list[str]] = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key == "events":
            events = value.split()
        elif key in ("summary", "totals"):
            totals[key] = value.split()
    if "Ir" not in events:
        raise MalformedCallgrindOutput(f"callgrind output has no Ir event (events: {events})")
    for key in ("summary", "totals"):
        fields = totals.get(key, [])
        index = events.index("Ir")
        if len(fields) > index and fields[index].isdigit():
            return int(fields[index])
    raise MalformedCallgrindOutput("callgrind output has no summary: or totals: line")


def find_valgrind(name: str | None = None) -> Path:
    """valgrind by `name`, else $MIND_BENCH_VALGRIND, else on PATH; a skip when missing."""
    found, wanted = locate_program("valgrind", variable=VALGRIND_VARIABLE, explicit=name)
    if found is None:
        where = "" if wanted == "valgrind" else f" ({wanted} not found)"
        raise ValgrindMissing(MISSING_VALGRIND + where)
    return found


def count_instructions(
    command: Sequence[str],
    *,
    runs: int = DEFAULT_RUNS,
    valgrind: Path | None = None,
    environment: Mapping[str, str] = FIXED_ENVIRONMENT,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> RepeatedRuns:
    """Run `command` under callgrind `runs` times (fixed environment and directory), each
    run bounded by `timeout_s` (its output, discarded, costs nothing)."""
    if runs < 1:
        raise ValueError(f"runs must be at least 1, got {runs}")
    executable = valgrind if valgrind is not None else find_valgrind()
    counts = []
    with tempfile.TemporaryDirectory(prefix="mind-callgrind-") as scratch:
        # valgrind's own arguments do not reach the client: this path does not move counts.
        out_file = Path(scratch) / "callgrind.out"
        for _ in range(runs):
            completed = run_bounded(
                [str(executable), "--tool=callgrind", f"--callgrind-out-file={out_file}", *command],
                timeout_s=timeout_s,
                output_cap=MEBIBYTE,
                env=environment,
                cwd=FIXED_DIRECTORY,
                capture_stdout=False,
            )
            if completed.misbehaved() is not None:
                raise CallgrindFailed(
                    f"{' '.join(command)} under callgrind: {completed.misbehaved()}"
                )
            if completed.exit_code != 0:
                raise CallgrindFailed(
                    f"{' '.join(command)} exited {completed.exit_code} under callgrind: "
                    + first_line(completed.stderr, skip_prefix="==")
                )
            if PRELOAD_FAILED in completed.stderr:
                # ld.so goes on without the library: the count would not be the one asked for.
                raise CallgrindFailed(
                    f"{' '.join(command)}: LD_PRELOAD={environment.get('LD_PRELOAD')} "
                    "was not loaded under callgrind"
                )
            if not out_file.is_file():
                raise CallgrindFailed(f"callgrind wrote no {out_file.name} for {command[0]}")
            counts.append(parse_callgrind_output(out_file.read_text()))
            out_file.unlink()
    return RepeatedRuns(tuple(counts))


@dataclass(frozen=True)
class SeededCounts:
    """One command counted once under each fixed seed, and its first seed a second time."""

    seeds: tuple[int, ...]
    levels: RepeatedRuns
    """One count per seed, in the order of `seeds`."""
    repeat: int | None
    """A second count under `seeds[0]`: equal to the first where the command is
    repeatable; None where no spread figure needed it (not counted)."""

    @property
    def median(self) -> int:
        """The figure: the median over the seeds, the same every time it is measured."""
        return self.levels.median

    @property
    def spread(self) -> int:
        """Run to run: how far the second count under one seed moved from the first."""
        if self.repeat is None:
            raise ValueError("counted without the repeat: no run-to-run spread was measured")
        return abs(self.repeat - self.levels.runs[0])

    @property
    def spread_percent(self) -> float:
        """The run-to-run spread in % of the median: 0.0 when nothing varies but the seed."""
        return 100.0 * self.spread / self.median if self.median else 0.0

    @property
    def seed_spread_percent(self) -> float:
        """How far the level moves with the seed alone, in % of the median."""
        return self.levels.spread_percent


def count_seeded(
    command: Sequence[str],
    *,
    seeds: Sequence[int] = SEEDS,
    valgrind: Path | None = None,
    environment: Mapping[str, str] = FIXED_ENVIRONMENT,
    repeat: bool = True,
) -> SeededCounts:
    """Count `command` under each seed's shim environment, then (`repeat`) the first
    seed again: the run-to-run spread."""
    if not seeds:
        raise ValueError("count_seeded needs at least one seed")
    executable = valgrind if valgrind is not None else find_valgrind()
    library = shim_library()

    def count(seed: int) -> int:
        seeded = seeded_environment(seed, library, environment)
        return count_instructions(command, runs=1, valgrind=executable, environment=seeded).median

    levels = RepeatedRuns(tuple(count(seed) for seed in seeds))
    again = count(seeds[0]) if repeat else None
    return SeededCounts(seeds=tuple(seeds), levels=levels, repeat=again)
