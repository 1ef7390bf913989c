"""One command run with a time limit and a cap on what it prints.

A misbehaving program must cost seconds and bounded memory, never asv's
60-second benchmark timeout or a gigabyte of output held in memory.
`subprocess.run` reads output whole, and its `timeout` kills only the direct
child and then waits for every process still holding the pipes. Here the command
gets its own process group, its pipes are read as they fill, up to a cap, and
at the deadline or the cap the whole group is killed. A command killed by a
signal says which (`crashed (SIGSEGV)`), so a crash never reads as an exit code.

Timed calls (`run_timed`) cannot poll: `Popen.wait(timeout=...)` sleeps in
growing steps and doubled a 0.6 ms process's measured time here. They wait
blocking, with a SIGALRM watchdog that costs a few microseconds.
"""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

MEBIBYTE = 1 << 20
_CHUNK = 1 << 16


def signal_name(number: int) -> str:
    """'SIGSEGV' for 11; 'signal 64' for a number without a name."""
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


@dataclass(frozen=True)
class BoundedRun:
    """What a command did within its bounds; `stopped` says why it was cut short."""

    exit_code: int
    stdout: str
    stderr: str
    seconds: float
    stopped: str | None = None

    def misbehaved(self) -> str | None:
        """A hang, runaway output or a crash by signal; None for a normal exit."""
        return misbehaviour(self.exit_code, self.stopped)


def misbehaviour(exit_code: int, stopped: str | None) -> str | None:
    """Why a command's end was not its own (cut short, or killed by a signal), or None."""
    if stopped is not None:
        return stopped
    if exit_code < 0:
        return f"crashed ({signal_name(-exit_code)})"
    return None


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the command and everything it started (its own session)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        process.kill()


def run_bounded(
    command: Sequence[str],
    *,
    timeout_s: float,
    output_cap: int,
    env: Mapping[str, str],
    cwd: Path | None = None,
    capture_stdout: bool = True,
) -> BoundedRun:
    """Run `command`; kill it at `timeout_s` or once a stream passes `output_cap` bytes.

    Raises OSError when the command cannot be started at all.
    """
    started = time.monotonic()
    deadline = started + timeout_s
    hung = f"hung: no answer within {timeout_s:g} s"
    process = subprocess.Popen(
        list(command),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE if capture_stdout else subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=dict(env),
        cwd=cwd,
        start_new_session=True,
    )
    pipes = {"stdout": process.stdout, "stderr": process.stderr}
    buffers = {name: bytearray() for name, pipe in pipes.items() if pipe is not None}
    stopped: str | None = None
    try:
        with selectors.DefaultSelector() as selector:
            for name, pipe in pipes.items():
                if pipe is not None:
                    selector.register(pipe, selectors.EVENT_READ, name)
            while stopped is None and selector.get_map():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    stopped = hung
                    break
                for key, _ in selector.select(remaining):
                    chunk = os.read(key.fd, _CHUNK)
                    if not chunk:
                        selector.unregister(key.fileobj)
                        continue
                    buffer = buffers[key.data]
                    buffer += chunk
                    if len(buffer) > output_cap:
                        del buffer[output_cap:]
                        stopped = (
                            f"printed more than {output_cap / MEBIBYTE:g} MiB on {key.data} "
                            "(stopped there)"
                        )
                        break
        if stopped is None:
            try:
                process.wait(timeout=max(deadline - time.monotonic(), 0.001))
            except subprocess.TimeoutExpired:
                stopped = hung
    finally:
        # Stopped: the whole group goes, even if its leader exited and left children behind.
        if stopped is not None or process.poll() is None:
            _kill_group(process)
        process.wait()
        for pipe in pipes.values():
            if pipe is not None:
                pipe.close()
    return BoundedRun(
        exit_code=process.returncode,
        stdout=bytes(buffers.get("stdout", b"")).decode(errors="replace"),
        stderr=bytes(buffers["stderr"]).decode(errors="replace"),
        seconds=time.monotonic() - started,
        stopped=stopped,
    )


class TimedOut(RuntimeError):
    """A timed command did not finish within its limit (it was killed)."""


def _alarm(signum: int, frame: FrameType | None) -> None:
    raise TimedOut


def run_timed(command: Sequence[str], *, timeout_s: float, env: Mapping[str, str]) -> int:
    """Run `command` with output discarded; its exit code. Raises TimedOut at `timeout_s`.

    In the main thread (asv's benchmark processes) a SIGALRM watchdog bounds a
    blocking wait; elsewhere the wait polls, which is fine for calls not timed.
    """
    watchdog = threading.current_thread() is threading.main_thread() and signal.getitimer(
        signal.ITIMER_REAL
    ) == (0.0, 0.0)
    previous = signal.signal(signal.SIGALRM, _alarm) if watchdog else None
    try:
        process = subprocess.Popen(
            list(command),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=dict(env),
        )
        try:
            if watchdog:
                signal.setitimer(signal.ITIMER_REAL, timeout_s)
            return process.wait() if watchdog else process.wait(timeout=timeout_s)
        except (TimedOut, subprocess.TimeoutExpired):
            process.kill()
            process.wait()
            raise TimedOut(f"{command[0]} did not finish within {timeout_s:g} s") from None
    finally:
        if watchdog:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, signal.SIG_DFL if previous is None else previous)
