"""`python -m mind_runner report`: read one commit's results, print the tables, write the JSON."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

from mind_runner.commands import config as project_config
from mind_runner.report.json_output import to_json, write_json
from mind_runner.report.measures import DEFAULT_ITERATIONS
from mind_runner.report.model import build_report
from mind_runner.report.run_notes import notes_for
from mind_runner.report.text import format_text
from mind_runner.results.asv_results import choose_machine, load_machine, select_commit
from mind_runner.results.mind_history import MindHistory
from mind_runner.util.layout import RUN_LOG_DIR


def run_report(
    *,
    commit: str | None,
    machine: str | None,
    iterations: int = DEFAULT_ITERATIONS,
    json_path: Path | None = None,
    env: str | None = None,
    config_path: Path | None = None,
    out: TextIO | None = None,
) -> int:
    """Read, format, and write the JSON (atomically) only once everything was read.

    An unreadable results file of another commit is named on stderr, and the
    report goes on; one of the commit asked for is an error that names it.
    """
    config = config_path or project_config.CONFIG_PATH
    conf = project_config.load_config(config)
    results_dir = config.parent / str(conf.results_dir)
    history = MindHistory.open(conf, config.parent)
    name = choose_machine(results_dir, machine)
    machine_results = load_machine(results_dir, name)
    chosen = select_commit(
        machine_results,
        commit,
        env=env,
        resolve=history.resolve if history.repo is not None else None,
        order=history.order(f.commit_hash for f in machine_results.files),
    )
    notes = notes_for(config.parent / RUN_LOG_DIR, chosen.file)
    report = build_report(chosen, history, iterations, notes)
    text = format_text(report)
    if json_path is not None:
        write_json(json_path, to_json(report))
        text += f"\nWrote {json_path}\n"
    for unreadable in machine_results.unreadable:
        print(f"mind_runner: left out: {unreadable.line()}", file=sys.stderr)
    (out or sys.stdout).write(text)
    return 0
