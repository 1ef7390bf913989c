"""What mind_runner's run logs say about a commit that asv's results file cannot.

Two outcomes leave no reason in asv's files: a fault of this machine (its
attempt at the commit is discarded, the earlier figures kept, see
`commands.guard`) and a crash or hang of MIND (asv records only a failure).
The run logs in `.asv/run-logs/` hold both; the report prints those that
concern the figures it shows, labelled by kind, so neither reads as the other.
"""

from __future__ import annotations

from pathlib import Path

from mind_runner.results.asv_results import ResultFile
from mind_runner.util.run_log import Kind, entries_for
from mind_runner.util.text import format_date


def notes_for(log_dir: Path, file: ResultFile) -> tuple[str, ...]:
    """Faults at attempts after these figures; facts about MIND from the run that made
    them. One line per kind and message, naming what each concerns."""
    first = file.first_started_at
    last = file.last_started_at
    groups: dict[str, list[str]] = {}
    for entry in entries_for(log_dir, file.commit_hash):
        at_ms = int(entry.at * 1000)
        if entry.kind is Kind.HARNESS and at_ms > last:
            note = (
                f"fault of this machine, not a fact about MIND, at {format_date(at_ms)}: "
                f"{entry.what}: {entry.detail}; the figures are from the earlier run"
            )
        elif entry.kind is Kind.MIND and first and at_ms >= first - 60_000:
            detail = f" ({entry.detail})" if entry.detail else ""
            note = f"fact about MIND: {entry.what}{detail}"
        else:
            continue
        subjects = groups.setdefault(note, [])
        if entry.subject and entry.subject not in subjects:
            subjects.append(entry.subject)
    return tuple(
        note + (f" [{', '.join(subjects)}]" if subjects else "")
        for note, subjects in groups.items()
    )
