"""Around an asv command that measures: nothing measured is lost, every fault is named.

asv saves each commit's results as soon as its benchmarks ran. Three things go
wrong there that asv does not mind, and this module does, for the duration of
one command (asv's own `Results.save` and `Results.load_data` are wrapped, the
way `commands.find` wraps asv names):

- A fault of this machine at a commit (logged in the run log by the hooks and
  the benchmark processes, or asv's own benchmark timeout) leaves nulls that
  would replace earlier results: they are mended from the earlier file first
  (`results.kept`).
- asv writes a results file in place: a full disk would leave it cut short.
  Here it is written beside and renamed over the old one.
- An unreadable results file of a commit about to be run stops the whole asv
  command. Here it is set aside (renamed, nothing deleted), named with what to
  do, and the commit is measured afresh.

At the end, `summary` turns the run log into one line per fault or fact.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mind_runner.results.kept import keep_earlier
from mind_runner.util.errors import UserError
from mind_runner.util.files import replaced_from_staging
from mind_runner.util.run_log import RUN_LOG_VARIABLE, Entry, Kind, read, record

HARNESS_FAULT_STATUS = 3
"""Exit status of a command during which this machine had a fault (asv: 2 = failures)."""

UNREADABLE_SUFFIX = ".unreadable"


@dataclass
class Guard:
    """One asv command's run log, and what the guard did during it."""

    log: Path
    scratch: Path
    set_aside: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)

    def faults_of(self, commit: str) -> list[Entry]:
        return [e for e in read(self.log) if e.kind is Kind.HARNESS and e.commit == commit]

    # -- asv's Results, wrapped ---------------------------------------------------------

    def load_data(self, real: Any, results: Any, result_dir: str) -> None:
        """asv's load of a commit's earlier results; an unreadable file is set aside."""
        from asv import util
        from asv.results import get_filename

        try:
            real(results, result_dir)
        except (util.UserError, ValueError, KeyError, TypeError, AttributeError) as error:
            path = Path(result_dir).resolve() / get_filename(
                results.params["machine"], results.commit_hash, results.env_name
            )
            aside = path.with_name(path.name + UNREADABLE_SUFFIX)
            os.replace(path, aside)
            reason = str(error).split("': ", 1)[-1] or type(error).__name__
            self.set_aside.append(
                f"{path} was unreadable ({reason}): set aside as {aside.name}, and MIND "
                f"{results.commit_hash[:8]} measured afresh; to keep its old figures, repair "
                "that file and put it back before the next run of this commit"
            )

    def save(self, real: Any, results: Any, result_dir: str) -> None:
        """asv's save, after mending faulted benchmarks, written beside and renamed."""
        from asv import util
        from asv.results import Results, get_filename

        commit = str(results.commit_hash)
        relative = get_filename(results.params["machine"], commit, results.env_name)
        path = Path(result_dir) / relative
        timed_out = sorted(k for k, code in results.errcode.items() if code == util.TIMEOUT_RETCODE)
        for key in timed_out:
            record(
                Entry(
                    Kind.HARNESS,
                    commit,
                    "asv's benchmark timeout ran out",
                    "the machine was too busy or too slow: run this commit again, or raise "
                    "the benchmark's timeout",
                    subject=key,
                ),
                self.log,
            )
        faulted = list(results.get_all_result_keys()) if self.faults_of(commit) else timed_out
        if faulted:
            try:
                earlier = Results.load(str(path)) if path.is_file() else None
            except (util.UserError, ValueError, KeyError, TypeError, AttributeError):
                earlier = None
            if keep_earlier(results, earlier, faulted):
                self.kept.append(commit)
            if earlier is None and not list(results.get_all_result_keys()):
                return  # nothing measured, nothing before: no file rather than a file of faults
        try:
            with replaced_from_staging(path, self.scratch, relative) as staging:
                real(results, str(staging))
        except OSError as error:
            raise UserError(
                f"could not save the results of MIND {commit[:8]} to {path} ({error.strerror}): "
                "free disk space and run again; results saved before are intact"
            ) from None


@contextmanager
def guarded(log: Path, scratch: Path) -> Iterator[Guard]:
    """asv's Results wrapped, and $MIND_RUNNER_RUN_LOG set, for one asv command."""
    from asv.results import Results

    guard = Guard(log=log, scratch=scratch)
    real_save, real_load_data = Results.save, Results.load_data
    previous = os.environ.get(RUN_LOG_VARIABLE)

    def save(results: Any, result_dir: str) -> None:
        guard.save(real_save, results, result_dir)

    def load_data(results: Any, result_dir: str) -> None:
        guard.load_data(real_load_data, results, result_dir)

    os.environ[RUN_LOG_VARIABLE] = str(log)
    Results.save, Results.load_data = save, load_data
    try:
        yield guard
    finally:
        Results.save, Results.load_data = real_save, real_load_data
        if previous is None:
            os.environ.pop(RUN_LOG_VARIABLE, None)
        else:
            os.environ[RUN_LOG_VARIABLE] = previous


def summary(guard: Guard, asv_status: int) -> tuple[list[str], int]:
    """One line per fault or fact of this command, and the command's exit status."""
    groups: dict[tuple[Kind, str, str, str], list[str]] = {}
    for entry in read(guard.log):
        subjects = groups.setdefault((entry.kind, entry.commit, entry.what, entry.detail), [])
        if entry.subject and entry.subject not in subjects:
            subjects.append(entry.subject)
    lines = []
    faults = False
    for (kind, commit, what, detail), subjects in groups.items():
        on = f" ({', '.join(subjects)})" if subjects else ""
        if kind is Kind.HARNESS:
            faults = True
            kept = "earlier results kept" if commit in guard.kept else "nothing recorded"
            lines.append(
                f"MIND {commit[:8]} not measured{on}, a fault of this machine, not of MIND: "
                f"{what}: {detail} [{kept}]"
            )
        else:
            lines.append(f"MIND {commit[:8]}{on}: {what}" + (f" ({detail})" if detail else ""))
    lines += guard.set_aside
    if asv_status == 2 and not groups:
        lines.append(
            "asv recorded failed benchmarks: see its output above (--show-stderr shows "
            "each benchmark's own message)"
        )
    status = HARNESS_FAULT_STATUS if faults else asv_status
    return lines, status
