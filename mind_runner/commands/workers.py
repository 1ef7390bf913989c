"""Parallel workers on one machine: each an `asv run HASHFILE:shard` in its own worker dir.

`backfill` (a range) and `bisect` (each round's commits) both measure this way: each
worker is the plain `asv run` of its shard in a worker dir of its own
(`commands.worker_dir`: asv env, results, cargo target dir), so the workers never share
a checkout or wait on each other's cargo lock. Each worker's builds start from the
Cargo.lock carried when the run started, and the last shard's carried lock (the last
build in asv's order) is carried on afterwards, as after a sequential run. The workers
run with `--no-pull` (concurrent fetches into one mirror fail on git's locks); inside a
worker, `--skip-existing-commits` keeps what it measured before an interruption.
Worker dirs are kept from run to run, so their asv envs, build caches and cargo target
dirs are reused.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from mind_runner.commands.asv_command import HASHFILE
from mind_runner.commands.config import CONFIG_PATH, results_dir
from mind_runner.commands.guard import HARNESS_FAULT_STATUS
from mind_runner.commands.merge import MACHINE_FILE, merge
from mind_runner.commands.shard import SHARD_PREFIX, split, write_shards
from mind_runner.commands.worker_dir import WORKER_DIR_VARIABLE, WORKER_LOCK_DIR
from mind_runner.hooks.lockfile import copy_carried
from mind_runner.util.layout import BACKFILL_DIR, CARGO_LOCK_DIR


@dataclass(frozen=True)
class Worker:
    """One shard and the folders its process owns."""

    hashfile: Path
    commits: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.hashfile.stem

    @property
    def folder(self) -> Path:
        return self.hashfile.with_suffix("")

    @property
    def log(self) -> Path:
        return self.hashfile.with_suffix(".log")

    @property
    def results_dir(self) -> Path:
        return self.folder / "results"

    @property
    def lock_dir(self) -> Path:
        return self.folder / WORKER_LOCK_DIR


@dataclass(frozen=True)
class Outcome:
    worker: Worker
    status: int
    seconds: float


def measured_commits(results: Path, machine: str) -> set[str]:
    """Commits with a result file for `machine` (any environment), read by asv."""
    from asv.results import iter_results_for_machine

    if not (results / machine).is_dir():
        return set()
    return {str(result.commit_hash) for result in iter_results_for_machine(str(results), machine)}


def plan(commits: Sequence[str], shards: int, folder: Path) -> list[Worker]:
    """Write the shard files into `folder` (replacing an earlier plan's) as workers."""
    for old in folder.glob(f"{SHARD_PREFIX}*.txt"):
        old.unlink()
    slices = split(commits, shards)
    paths = write_shards(slices, folder)
    return [Worker(path, tuple(c)) for path, c in zip(paths, slices, strict=True)]


def start_locks(workers: Sequence[Worker], carried: Path) -> None:
    """Every worker starts from the lock carried now (a rerun's workers too: its plan
    gives a worker other commits than before)."""
    for worker in workers:
        shutil.rmtree(worker.lock_dir, ignore_errors=True)
        copy_carried(carried, worker.lock_dir)


def worker_command(worker: Worker, machine: str, asv_args: Sequence[str]) -> list[str]:
    return [
        sys.executable,
        "-m",
        "mind_runner",
        "asv",
        "run",
        f"{HASHFILE}{worker.hashfile}",
        "--machine",
        machine,
        "--no-pull",
        "--skip-existing-commits",
        *asv_args,
    ]


def run_worker(worker: Worker, command: list[str], cwd: Path) -> Outcome:
    environment = dict(os.environ, **{WORKER_DIR_VARIABLE: str(worker.folder)})
    started = time.monotonic()
    with worker.log.open("w") as log:
        completed = subprocess.run(
            command, cwd=cwd, env=environment, stdout=log, stderr=subprocess.STDOUT, check=False
        )
    outcome = Outcome(worker, completed.returncode, time.monotonic() - started)
    print(
        f"{worker.name}: exit {outcome.status} after {outcome.seconds:.0f} s "
        f"({len(worker.commits)} commit(s); log {worker.log})",
        flush=True,
    )
    return outcome


def measure_in_workers(
    commits: Sequence[str],
    shards: int,
    machine: str,
    asv_args: Sequence[str],
    config_path: Path = CONFIG_PATH,
) -> int:
    """These commits as `shards` parallel workers (worker dirs kept from run to run, so
    their asv envs, build caches and cargo target dirs are reused), merged into
    results/; asv run's exit status."""
    workers = plan(commits, shards, config_path.parent / BACKFILL_DIR)
    print(f"{len(commits)} commit(s) in {len(workers)} worker(s), machine {machine}:")
    for worker in workers:
        print(f"  {worker.name}: {len(worker.commits)} commit(s), worker dir {worker.folder}")
    carried = config_path.parent / CARGO_LOCK_DIR
    start_locks(workers, carried)
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=len(workers)) as pool:
        outcomes = list(
            pool.map(
                lambda w: run_worker(w, worker_command(w, machine, asv_args), config_path.parent),
                workers,
            )
        )
    print(f"all workers done after {time.monotonic() - started:.0f} s")
    copy_carried(workers[-1].lock_dir, carried)
    with_results = [o.worker.results_dir for o in outcomes if _has_results(o.worker)]
    if with_results:
        merge(with_results, results_dir(config_path), commits)
    return _status(outcomes)


def _has_results(worker: Worker) -> bool:
    return any(worker.results_dir.glob(f"*/{MACHINE_FILE}"))


def _status(outcomes: Sequence[Outcome]) -> int:
    """0 if every worker succeeded, 2 (asv run's 'something failed') if one measured a
    failure, 3 if one met a fault of this machine, 1 if one stopped, with what to do
    (what they measured is merged all the same)."""
    stopped = [o for o in outcomes if o.status not in (0, 2, HARNESS_FAULT_STATUS)]
    if stopped:
        names = ", ".join(f"{o.worker.name} (exit {o.status}, log {o.worker.log})" for o in stopped)
        print(
            f"mind_runner: worker(s) stopped: {names}; run the same backfill again to measure "
            "only the commits still missing",
            file=sys.stderr,
        )
        return 1
    faulted = [o for o in outcomes if o.status == HARNESS_FAULT_STATUS]
    if faulted:
        names = ", ".join(f"{o.worker.name} (log {o.worker.log})" for o in faulted)
        print(
            f"mind_runner: worker(s) met a fault of this machine, not of MIND: {names}; their "
            "logs end with what to do",
            file=sys.stderr,
        )
        return HARNESS_FAULT_STATUS
    return 2 if any(o.status == 2 for o in outcomes) else 0
