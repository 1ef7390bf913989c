"""A command stopped by `kill` ends what asv started, and says so in one line."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# A stand-in for a long asv step: the command's handler runs a child through asv's own
# check_output (a process group of its own, as asv runs every build and benchmark).
SCRIPT = """
import sys
from asv import util
from mind_runner.commands import cli

def long_step(_args):
    started = "echo $$ > {pid_file}.tmp && mv {pid_file}.tmp {pid_file}"
    util.check_output(["sh", "-c", started + " && exec sleep 600"])
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


def _wait_for(path: Path, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the child never started"
        time.sleep(0.05)


def test_sigterm_stops_the_command_and_the_group_asv_started(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    process = subprocess.Popen(
        [sys.executable, "-c", SCRIPT.format(pid_file=pid_file)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_for(pid_file, process)
    child = int(pid_file.read_text())
    assert _alive(child)
    process.send_signal(signal.SIGTERM)  # the command alone, as `kill PID` does
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130
    assert stderr.strip().splitlines()[-1] == (
        "mind_runner: machine-class stopped; what it measured is kept: run it again to go on"
    )
    assert "Traceback" not in stderr
    assert not _alive(child), "asv's child group outlived the command"
