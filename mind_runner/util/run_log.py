"""What happened to MIND commits in one asv command that asv's result files cannot say.

asv keeps, per benchmark, a number, NaN (skipped) or null (failed), and no
reason. That cannot keep a fact about MIND (it crashed, it hung, it does not
build) apart from a fault of this machine or harness (cargo missing, a corrupt
build cache, asv's own timeout, a full disk), and a fault must never replace a
result measured earlier. So every process of one asv command run by mind_runner
(asv itself, the build and install hooks, each benchmark process) appends what
it saw to one log, a JSON line per entry, named by $MIND_RUNNER_RUN_LOG (asv
passes the environment on to all of them). `commands` reads the log when asv
saves a commit's results and when the command ends; `report` reads the logs
kept in `.asv/run-logs/` to explain a figure. Without the variable (plain
`asv`), nothing is logged.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from mind_runner.util.errors import MachineFault

RUN_LOG_VARIABLE = "MIND_RUNNER_RUN_LOG"
"""The log of the asv command in progress (an absolute path), set by mind_runner."""


class Kind(Enum):
    """The two kinds of outcome asv's files cannot tell apart (user errors stop earlier)."""

    MIND = "mind"
    HARNESS = "harness"


@dataclass(frozen=True)
class Entry:
    """One thing that happened to one commit: what, and what to do or where to look."""

    kind: Kind
    commit: str
    what: str
    detail: str = ""
    # What it concerns: a model's program, a benchmark; "" for the whole commit.
    subject: str = ""
    at: float = 0.0

    def line(self) -> str:
        subject = f" ({self.subject})" if self.subject else ""
        detail = f": {self.detail}" if self.detail else ""
        return f"MIND {self.commit[:8]}{subject}: {self.what}{detail}"


def current_log() -> Path | None:
    value = os.environ.get(RUN_LOG_VARIABLE)
    return Path(value) if value else None


def current_commit() -> str:
    """The commit asv is building or benchmarking (asv sets ASV_COMMIT for both)."""
    return os.environ.get("ASV_COMMIT") or "unknown"


def record(entry: Entry, log: Path | None = None) -> None:
    """Append one entry; a single short append is atomic, so processes never mix lines."""
    path = log or current_log()
    if path is None:
        return
    data = {
        "kind": entry.kind.value,
        "commit": entry.commit,
        "what": entry.what,
        "detail": entry.detail,
        "subject": entry.subject,
        "at": entry.at or time.time(),
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(data) + "\n")
    except OSError as error:
        # A full disk can keep the log from being written; say so rather than hide it.
        print(f"mind_runner: could not write to {path} ({error.strerror})", file=sys.stderr)


def record_fault(fault: MachineFault, commit: str | None = None, subject: str = "") -> MachineFault:
    """Log a fault of this machine for `commit` (default: asv's current one); return it."""
    record(Entry(Kind.HARNESS, commit or current_commit(), fault.what, fault.remedy, subject))
    return fault


def record_fact(
    what: str, *, commit: str | None = None, detail: str = "", subject: str = ""
) -> None:
    """Log a fact about MIND that asv will record only as a null or NaN."""
    record(Entry(Kind.MIND, commit or current_commit(), what, detail, subject))


def read(path: Path) -> list[Entry]:
    """Every whole entry of one log (a line cut short by a crash is left out)."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        return []
    entries = []
    for line in lines:
        try:
            data = json.loads(line)
            entries.append(
                Entry(
                    kind=Kind(data["kind"]),
                    commit=str(data["commit"]),
                    what=str(data["what"]),
                    detail=str(data.get("detail") or ""),
                    subject=str(data.get("subject") or ""),
                    at=float(data.get("at") or 0.0),
                )
            )
        except (ValueError, KeyError, TypeError):
            continue
    return entries


def new_log(directory: Path) -> Path:
    """A fresh log's path for one asv command (created on the first entry)."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    return directory / f"{stamp}-{os.getpid()}.jsonl"


def entries_for(directory: Path, commit: str) -> list[Entry]:
    """Every entry about `commit` in the kept logs, oldest first."""
    if not directory.is_dir():
        return []
    found = [
        e for log in sorted(directory.glob("*.jsonl")) for e in read(log) if e.commit == commit
    ]
    return sorted(found, key=lambda entry: entry.at)
