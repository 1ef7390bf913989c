"""Peak RSS of a child process alone, whatever the Python process around it holds."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.common import prepared
from benchmarks.mind_counts import PeakMemory
from mind_runner.measure.peak_memory import (
    GnuTimeMissing,
    PeakMemoryFailed,
    find_gnu_time,
    measure_peak_rss,
    peak_rss_bytes,
)
from mind_runner.measure.repeated import RepeatedRuns
from tests.mind_binaries import fixture_bin_dir

MiB = 2**20


def allocate(mebibytes: int) -> list[str]:
    """A child that fills `mebibytes` of its own memory (bytes * n writes every page)."""
    return [sys.executable, "-c", f"block = b'x' * ({mebibytes} << 20)"]


def test_a_child_that_fills_200_mib_peaks_at_about_200_mib() -> None:
    peak = peak_rss_bytes(allocate(200))
    assert 200 * MiB <= peak < 260 * MiB  # plus the interpreter itself


def test_the_parents_memory_is_not_counted() -> None:
    ballast = b"y" * (400 * MiB)  # this process now holds 400 MiB more
    peak = peak_rss_bytes(["/bin/true"])
    assert peak < 16 * MiB
    # Why GNU time starts the command: wait4 on a direct child reports our RSS.
    child = subprocess.Popen(["/bin/true"])
    _, _, usage = os.wait4(child.pid, 0)
    child.returncode = 0
    assert usage.ru_maxrss * 1024 >= 400 * MiB
    del ballast


def test_repeated_runs_keep_the_median() -> None:
    measured = measure_peak_rss(allocate(50), runs=3)
    assert len(measured.runs) == 3
    assert measured.median == sorted(measured.runs)[1]
    assert RepeatedRuns((3, 1, 2, 4)).median == 2  # an observed run
    with pytest.raises(ValueError, match="at least one run"):
        RepeatedRuns(())


def test_a_failing_or_killed_command_is_a_one_line_error() -> None:
    with pytest.raises(PeakMemoryFailed, match=r"exited 3: boom$"):
        peak_rss_bytes(["/bin/sh", "-c", "echo boom >&2; exit 3"])
    with pytest.raises(PeakMemoryFailed, match=r"exited 137: Command terminated by signal 9"):
        peak_rss_bytes(["/bin/sh", "-c", "kill -9 $$"])
    with pytest.raises(PeakMemoryFailed, match=r"exited 127: .*cannot run /nonexistent"):
        peak_rss_bytes(["/nonexistent/mindc"])


def test_missing_or_foreign_time_is_a_skip_saying_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MIND_BENCH_GNU_TIME", "/nonexistent/time")
    with pytest.raises(GnuTimeMissing, match=r"apt-get install time\) \(/nonexistent/time"):
        find_gnu_time()
    busybox = tmp_path / "time"
    busybox.write_text("#!/bin/sh\necho 'BusyBox v1.36.1 multi-call binary.'\n")
    busybox.chmod(0o755)
    with pytest.raises(GnuTimeMissing, match="is not GNU time"):
        find_gnu_time(str(busybox))
    with pytest.raises(NotImplementedError, match=r"apt-get install time"):
        PeakMemory().setup("small_mlp")  # asv: skipped, before any MIND is looked for


@pytest.mark.cargo
def test_mindc_peak_rss_benchmark_measures_the_mindc_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MIND_BIN_DIR", str(fixture_bin_dir("build-fixed")))
    prepared.cache_clear()  # one driver per process under asv; here, this test's
    benchmark = PeakMemory()
    benchmark.setup("matmul_chain")
    assert Path(benchmark.command[0]).name == "mindc"
    peak = benchmark.track_mindc_peak_rss_bytes("matmul_chain")
    assert MiB < peak < 64 * MiB  # a small Rust process, not this torch-holding one
