"""A command stopped by `kill` ends what asv started, and says so in one line."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# A stand-in for a long asv step: the command's handler runs a child through asv's own
# check_output (a process group of its own, as asv runs every build and benchmark).
SCRIPT = """
import sys
from asv import util
from mind_runner.commands import cli

def long_step(_args):
    util.check_output(["sh", "-c", "echo $$ > {pid_fifo} && exec sleep 600"])
    return 0

cli._machine_class = long_step
sys.exit(cli.main(["machine-class"]))
"""


def _alive(pid: int) -> bool:
    """Running: a process that has exited but is not reaped yet (a zombie) is not."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


def _child_pid(fifo: Path, process: subprocess.Popen[str]) -> int:
    """The pid the child writes into `fifo` once it runs (select waits; no polling)."""
    descriptor = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        ready, _, _ = select.select([descriptor], [], [], 60)
        assert ready, ("the child never started", process.poll())
        return int(os.read(descriptor, 64).decode())
    finally:
        os.close(descriptor)


def test_sigterm_stops_the_command_and_the_group_asv_started(tmp_path: Path) -> None:
    pid_fifo = tmp_path / "child.pid"
    os.mkfifo(pid_fifo)
    process = subprocess.Popen(
        [sys.executable, "-c", SCRIPT.format(pid_fifo=pid_fifo)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    child = _child_pid(pid_fifo, process)
    assert _alive(child)
    process.send_signal(signal.SIGTERM)  # the command alone, as `kill PID` does
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130
    assert stderr.strip().splitlines()[-1] == (
        "mind_runner: machine-class stopped; what it measured is kept: run it again to go on"
    )
    assert "Traceback" not in stderr
    assert not _alive(child), "asv's child group outlived the command"
