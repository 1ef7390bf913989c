"""Faults: a misbehaving mindc, a broken machine, corrupt files, a user's mistake.

Each test plays one fault and checks three things: it is classed right (a fact
about MIND, a fault of this machine, a user error), the user gets one line that
says what to do, and nothing measured before is lost. Misbehaving `mindc`s are
small shell scripts in tmp_path: what matters is how the process ends (a
signal, no end, endless output), which a script does exactly as a binary would.
"""

from __future__ import annotations

import json
import os
import select
import sys
import time
from pathlib import Path

import pytest

from mind_runner.hooks.manifest import BINARIES, BuildManifest
from mind_runner.measure.bounded import MEBIBYTE, run_bounded
from mind_runner.measure.environment import FIXED_ENVIRONMENT
from mind_runner.measure.peak_memory import peak_rss_bytes
from mind_runner.mind.driver import (
    CannotDifferentiate,
    MindDriver,
    MindFailed,
    run_timed_call,
)
from mind_runner.mind.models import SEED_MODELS
from mind_runner.mind.preparation import PreparationCache
from mind_runner.util import run_log
from mind_runner.util.errors import MachineFault
from tests import ir_samples

PROJECT_ROOT = Path(__file__).resolve().parent.parent
COMMIT = "c0ffee00" * 5
HANG_S = 600
"""How long a hanging stand-in sleeps: returning in a tenth of it means it was not waited out."""


def stand_in(directory: Path, body: str, name: str = "mindc") -> Path:
    """An executable shell script; `--version` answers like MIND, the rest is `body`."""
    directory.mkdir(parents=True, exist_ok=True)
    script = directory / name
    script.write_text(
        '#!/bin/sh\nif [ "$1" = --version ]; then echo "mind 0.10.2"; exit 0; fi\n' + body + "\n"
    )
    script.chmod(0o755)
    return script


def manifest_for(directory: Path, commit: str = COMMIT) -> BuildManifest:
    manifest = BuildManifest(
        commit, ("autodiff",), ("autodiff",), "rustc", 1.0, BINARIES, {"mindc": ("autodiff",)}
    )
    manifest.save(directory)
    return manifest


def driver_for(directory: Path, body: str, timeout_s: float = 5.0) -> MindDriver:
    mindc = stand_in(directory, body)
    return MindDriver(
        mindc=mindc,
        manifest=manifest_for(directory),
        cache=PreparationCache(directory / "prepared"),
        timeout_s=timeout_s,
    )


@pytest.fixture
def log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This test is one asv command run by mind_runner: its run log."""
    path = tmp_path / "run-logs" / "run.jsonl"
    monkeypatch.setenv(run_log.RUN_LOG_VARIABLE, str(path))
    monkeypatch.setenv("ASV_COMMIT", COMMIT)
    return path


# --- a misbehaving mindc: facts about MIND, bounded -----------------------------------


def test_a_hang_is_a_failure_in_seconds_and_is_not_waited_for_twice(
    tmp_path: Path, log: Path
) -> None:
    calls = tmp_path / "calls"
    hang = f'echo "$@" >> {calls}; exec sleep {HANG_S}'  # one line per call
    driver = driver_for(tmp_path / "bin", hang, timeout_s=1.0)
    started = time.monotonic()
    with pytest.raises(MindFailed) as raised:
        driver.prepare(SEED_MODELS["small_mlp"])
    assert not isinstance(raised.value, NotImplementedError)  # asv: failed, not skipped
    assert str(raised.value) == (
        "this MIND failed on small_mlp (a fact about this commit): "
        "let-form: hung: no answer within 1 s"
    )
    # The timeout was waited for, not the hang.
    assert 1.0 <= time.monotonic() - started < HANG_S / 10
    # One dialect, one timeout: the others are not tried.
    assert len(calls.read_text().splitlines()) == 1
    # Another benchmark process of the same asv command: the hang is not paid again.
    with pytest.raises(MindFailed, match="in an earlier benchmark of this run; not tried again"):
        driver.prepare(SEED_MODELS["small_mlp"])
    assert len(calls.read_text().splitlines()) == 1
    (entry,) = run_log.read(log)
    assert entry.kind is run_log.Kind.MIND
    assert (entry.commit, entry.subject) == (COMMIT, "small_mlp.let-form.mind")


def test_a_hang_that_forks_is_killed_with_its_children(tmp_path: Path) -> None:
    """`sh -c 'sleep 600'` keeps the pipes open in a grandchild: the whole group goes."""
    driver = driver_for(tmp_path / "bin", f"sleep {HANG_S}; echo never", timeout_s=0.5)
    started = time.monotonic()
    with pytest.raises(MindFailed, match=r"hung: no answer within 0\.5 s"):
        driver.prepare(SEED_MODELS["simple_quadratic"])
    assert time.monotonic() - started < HANG_S / 10  # the grandchild's pipes were not waited on


def test_children_left_holding_the_pipes_are_killed_too(tmp_path: Path) -> None:
    """The command exits at once, a child it left behind keeps printing: cut at the
    deadline, and the child is gone with its process group."""
    pid_file = tmp_path / "child.pid"
    script = f"sleep {HANG_S} & echo $! > {pid_file}; exit 0"
    finished = run_bounded(["sh", "-c", script], timeout_s=0.5, output_cap=MEBIBYTE, env={})
    assert finished.misbehaved() == "hung: no answer within 0.5 s"
    # The kernel says when the child ends (a pidfd turns readable, zombies included);
    # it may be gone already. Not ending within 5 s means it was not killed.
    try:
        pidfd = os.pidfd_open(int(pid_file.read_text()))
    except ProcessLookupError:
        return
    with os.fdopen(pidfd) as handle:
        ended, _, _ = select.select([handle], [], [], 5.0)
    assert ended, "the child left holding the pipes still runs"


def test_a_crash_by_signal_is_named_and_recorded_as_a_failure_not_a_skip(
    tmp_path: Path, log: Path
) -> None:
    driver = driver_for(tmp_path / "bin", "kill -SEGV $$")
    with pytest.raises(MindFailed) as raised:
        driver.prepare(SEED_MODELS["small_mlp"])
    reason = str(raised.value)
    # A crash is cheap: every dialect is tried, and each crashed.
    assert reason == (
        "this MIND failed on small_mlp (a fact about this commit): "
        "let-form: crashed (SIGSEGV) | function-form: crashed (SIGSEGV) | "
        "single-expression: crashed (SIGSEGV)"
    )
    assert "exit -11" not in reason and "(no message)" not in reason
    assert [e.what for e in run_log.read(log)] == ["crashed (SIGSEGV)"] * 3


def test_a_crash_in_one_dialect_does_not_hide_a_dialect_that_works(tmp_path: Path) -> None:
    correct = tmp_path / "correct.txt"
    correct.write_text(ir_samples.GRAD_IR["small_mlp"])
    body = f'case "$1" in *.let-form.mind) kill -SEGV $$;; *) cat {correct};; esac'
    prepared = driver_for(tmp_path / "bin", body).prepare(SEED_MODELS["small_mlp"])
    assert prepared.dialect == "function-form"


def test_endless_output_is_capped_and_memory_stays_small(tmp_path: Path) -> None:
    """100 MB on stdout: read up to 8 MiB, then the process is killed. The probe's peak
    RSS is taken by GNU time (a child of this process would start at pytest's peak)."""
    stand_in(tmp_path / "bin", "head -c 104857600 /dev/zero | tr '\\0' x")
    manifest_for(tmp_path / "bin")
    probe = (
        "from mind_runner.mind.driver import MindDriver, MindFailed\n"
        "from mind_runner.mind.models import SEED_MODELS\n"
        "try:\n"
        "    MindDriver.locate().prepare(SEED_MODELS['small_mlp'])\n"
        "except MindFailed as failure:\n"
        "    assert str(failure) == (\n"
        "        'this MIND failed on small_mlp (a fact about this commit): '\n"
        "        'let-form: printed more than 8 MiB on stdout (stopped there)'\n"
        "    ), failure\n"
        "else:\n"
        "    raise SystemExit('no failure')\n"
    )
    environment = {
        **FIXED_ENVIRONMENT,
        "MIND_BIN_DIR": str(tmp_path / "bin"),
        "PYTHONPATH": str(PROJECT_ROOT),
    }
    peak = peak_rss_bytes([sys.executable, "-c", probe], environment=environment)
    assert peak < 150 * MEBIBYTE, f"peak RSS {peak / MEBIBYTE:.0f} MiB"


def test_a_timed_call_is_bounded_too(tmp_path: Path) -> None:
    hang = stand_in(tmp_path / "bin", f"exec sleep {HANG_S}")
    started = time.monotonic()
    with pytest.raises(MindFailed, match=r"did not finish within 0.5 s, after passing setup"):
        run_timed_call([str(hang), "x.mind"], 0.5)
    assert time.monotonic() - started < HANG_S / 10
    crash = stand_in(tmp_path / "crash", "kill -SEGV $$")
    with pytest.raises(MindFailed, match=r"crashed \(SIGSEGV\), after passing setup"):
        run_timed_call([str(crash), "x.mind"], 5.0)


def test_ordinary_refusals_stay_skips(tmp_path: Path) -> None:
    """An error message and exit 1 is MIND saying no: cannot differentiate, a skip."""
    body = 'echo "error[autodiff][E4001]: IR module contains multiple outputs" >&2; exit 1'
    with pytest.raises(CannotDifferentiate):
        driver_for(tmp_path / "bin", body).prepare(SEED_MODELS["small_mlp"])


def test_gradient_ir_with_undefined_operands_is_never_timed(tmp_path: Path) -> None:
    broken = tmp_path / "broken.txt"
    broken.write_text(ir_samples.GRAD_IR["small_mlp"].replace("matmul %11, %12", "matmul %11, %99"))
    with pytest.raises(CannotDifferentiate, match=r"reads %99, which no line above defines"):
        driver_for(tmp_path / "bin", f"cat {broken}").prepare(SEED_MODELS["small_mlp"])


# --- the installation, not MIND: faults of this machine --------------------------------


def test_a_corrupt_installed_manifest_is_one_line_and_a_logged_fault(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, log: Path
) -> None:
    stand_in(tmp_path / "bin", "exit 0")
    (tmp_path / "bin" / "mind-build.json").write_text('{"commit": "c0ff')
    monkeypatch.setenv("MIND_BIN_DIR", str(tmp_path / "bin"))
    with pytest.raises(MachineFault) as raised:
        MindDriver.locate()
    assert "JSONDecodeError" in str(raised.value) and "is not a readable build manifest" in str(
        raised.value
    )
    assert "\n" not in str(raised.value)
    (entry,) = run_log.read(log)
    assert entry.kind is run_log.Kind.HARNESS and entry.commit == COMMIT


def test_inside_asv_only_the_environments_own_mindc_counts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, log: Path
) -> None:
    """Another mindc on PATH is some other commit's: benchmarking it would be wrong data."""
    stand_in(tmp_path / "elsewhere", "exit 0")
    monkeypatch.setenv("PATH", f"{tmp_path / 'elsewhere'}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv("MIND_BIN_DIR", raising=False)
    monkeypatch.setenv("ASV_ENV_DIR", str(tmp_path / "env"))
    with pytest.raises(MachineFault, match=r"env/bin/mindc is missing although asv installed"):
        MindDriver.locate()
    assert [e.kind for e in run_log.read(log)] == [run_log.Kind.HARNESS]


def test_a_mindc_the_system_cannot_start_is_a_fault_of_the_installation(tmp_path: Path) -> None:
    mindc = tmp_path / "bin" / "mindc"
    mindc.parent.mkdir()
    mindc.write_bytes(b"\x7fELF truncated")
    mindc.chmod(0o755)
    driver = MindDriver(mindc=mindc, manifest=None, cache=PreparationCache(tmp_path / "prepared"))
    with pytest.raises(MachineFault, match=r"cannot start .*mindc \(Exec format error\)"):
        driver.prepare(SEED_MODELS["small_mlp"])


def test_a_bad_timeout_setting_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stand_in(tmp_path / "bin", "exit 0")
    monkeypatch.setenv("MIND_BIN_DIR", str(tmp_path / "bin"))
    monkeypatch.setenv("MIND_BENCH_MINDC_TIMEOUT", "soon")
    with pytest.raises(MachineFault, match=r"MIND_BENCH_MINDC_TIMEOUT=soon is not a number"):
        MindDriver.locate()


def test_the_run_log_keeps_whole_lines_only(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    run_log.record(run_log.Entry(run_log.Kind.MIND, COMMIT, "crashed (SIGSEGV)"), path)
    with path.open("a") as handle:
        handle.write('{"kind": "harness", "commit": "c0')  # a writer killed mid-line
    assert [e.what for e in run_log.read(path)] == ["crashed (SIGSEGV)"]
    assert json.loads(path.read_text().splitlines()[0])["kind"] == "mind"
