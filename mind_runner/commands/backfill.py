"""The sharded backfill on one machine: a range's commits as K parallel workers, one merge.

The same plan as on a CI matrix (`commands.shard`, `commands.merge`), with the workers
as local processes (`commands.workers`). MIND is fetched once, here, before the
workers start. Commits that already have results for the machine are left out of the
plan, so running the same backfill again after a worker failed half way runs only what
is missing.

Wall times measured this way share the machine with the other workers' builds and
benchmarks: only counts (instructions, IR sizes) are as good as a sequential run's.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from mind_runner.commands.asv_command import ensure_machine
from mind_runner.commands.config import CONFIG_PATH, results_dir
from mind_runner.commands.shard import every_kth, range_commits
from mind_runner.commands.workers import measure_in_workers, measured_commits


def backfill(
    range_spec: str,
    shards: int,
    machine: str | None,
    asv_args: Sequence[str],
    config_path: Path = CONFIG_PATH,
    every: int = 1,
) -> int:
    """Plan, run the workers in parallel, merge into results/; asv run's exit status.
    `every` K > 1 measures every K-th first-parent commit (and the newest): a sparse
    run whose steps `bisect` then narrows."""
    from asv.machine import Machine

    name = machine or Machine.get_unique_machine_name()
    ensure_machine(name)  # once, here, so that the workers all find it described
    destination = results_dir(config_path)
    commits = range_commits(range_spec, pull="--no-pull" not in asv_args, config_path=config_path)
    if every > 1:
        sparse = every_kth(commits, every)
        print(f"every {every}th commit: {len(sparse)} of {len(commits)}")
        commits = sparse
    done = measured_commits(destination, name)
    missing = [c for c in commits if c not in done]
    if len(missing) < len(commits):
        print(
            f"{len(commits) - len(missing)} of {len(commits)} commit(s) already have results "
            f"for machine {name} in {destination}: not run again"
        )
    if not missing:
        return 0
    return measure_in_workers(missing, shards, name, asv_args, config_path)
