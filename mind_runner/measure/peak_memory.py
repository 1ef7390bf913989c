"""Peak resident memory of one command, not of the Python process that starts it.

`os.wait4` on a direct child is not enough. Linux keeps a process's peak RSS
across exec, and a child begins as its parent's copy (fork) or shares its memory
(vfork, posix_spawn): the child of a Python process that holds torch reports at
least that process's RSS (measured here: a parent at 525 MB made `/bin/true`
report 525 MB). So GNU time starts the command: a process of about 1 MiB that
forks it and reads its peak with wait4. That 1 MiB is the floor: a command that
stays below it reads as the floor.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path

from mind_runner.measure.bounded import MEBIBYTE, run_bounded
from mind_runner.measure.environment import FIXED_ENVIRONMENT
from mind_runner.measure.repeated import RepeatedRuns
from mind_runner.util.text import first_line
from mind_runner.util.tools import locate_program

GNU_TIME_VARIABLE = "MIND_BENCH_GNU_TIME"
"""Which GNU time to run (a name on PATH or a path); for tests and odd machines."""

MISSING_GNU_TIME = "GNU time not installed (apt-get install time)"
DEFAULT_RUNS = 3
DEFAULT_TIMEOUT_S = 60.0


class GnuTimeMissing(NotImplementedError):
    """No GNU time on this machine: asv records a skip with this reason."""


class PeakMemoryFailed(RuntimeError):
    """The command failed, or GNU time reported nothing usable."""


def find_gnu_time(name: str | None = None) -> Path:
    """GNU time by `name`, else $MIND_BENCH_GNU_TIME, else /usr/bin/time; a skip when missing."""
    found, wanted = locate_program("/usr/bin/time", variable=GNU_TIME_VARIABLE, explicit=name)
    if found is None:
        raise GnuTimeMissing(MISSING_GNU_TIME + f" ({wanted} not found)")
    if not _is_gnu_time(str(found)):
        raise GnuTimeMissing(MISSING_GNU_TIME + f" ({wanted} is not GNU time)")
    return found


@cache
def _is_gnu_time(path: str) -> bool:
    """BusyBox's and shells' `time` cannot report a peak RSS to a file."""
    probe = subprocess.run(
        [path, "--version"], capture_output=True, text=True, check=False, env=FIXED_ENVIRONMENT
    )
    return "GNU" in probe.stdout + probe.stderr


def peak_rss_bytes(
    command: Sequence[str],
    *,
    gnu_time: Path | None = None,
    environment: Mapping[str, str] = FIXED_ENVIRONMENT,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> int:
    """Peak RSS of one run of `command` (its own process only, children not waited for),
    bounded by `timeout_s` (GNU time and the command are killed together)."""
    launcher = gnu_time if gnu_time is not None else find_gnu_time()
    with tempfile.TemporaryDirectory(prefix="mind-peak-rss-") as scratch:
        report = Path(scratch) / "report"
        completed = run_bounded(
            [str(launcher), "--format=%M %x", f"--output={report}", *command],
            timeout_s=timeout_s,
            output_cap=MEBIBYTE,
            env=environment,
            capture_stdout=False,
        )
        if completed.stopped is not None:
            raise PeakMemoryFailed(f"{' '.join(command)}: {completed.stopped}")
        lines = report.read_text().splitlines() if report.is_file() else []
    fields = lines[-1].split() if lines else []
    if len(fields) != 2 or not all(f.lstrip("-").isdigit() for f in fields):
        detail = lines[0] if lines else first_line(completed.stderr)
        raise PeakMemoryFailed(f"{' '.join(command)}: no peak RSS reported ({detail})")
    kibibytes, exit_code = (int(f) for f in fields)
    if exit_code != 0 or completed.exit_code != 0:
        # GNU time puts "Command terminated by signal 9" on the line before the figures.
        detail = first_line(completed.stderr + "\n" + "\n".join(lines[:-1]))
        raise PeakMemoryFailed(
            f"{' '.join(command)} exited {exit_code or completed.exit_code}: {detail}"
        )
    return kibibytes * 1024  # ru_maxrss is in KiB on Linux


def measure_peak_rss(
    command: Sequence[str],
    *,
    runs: int = DEFAULT_RUNS,
    gnu_time: Path | None = None,
    environment: Mapping[str, str] = FIXED_ENVIRONMENT,
) -> RepeatedRuns:
    """Several runs: the peak moves by a few pages run to run."""
    if runs < 1:
        raise ValueError(f"runs must be at least 1, got {runs}")
    launcher = gnu_time if gnu_time is not None else find_gnu_time()
    return RepeatedRuns(
        tuple(
            peak_rss_bytes(command, gnu_time=launcher, environment=environment) for _ in range(runs)
        )
    )
