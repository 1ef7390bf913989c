"""Merge workers' asv results folders into one, before one `asv publish`.

asv keeps one JSON file per machine, commit and environment
(`<machine>/<commit[:8]>-<env>.json`), one `<machine>/machine.json` and one
`benchmarks.json`, so merging shards is copying files; what asv cannot tell is when
two copies disagree. Nothing is overwritten unless all copies agree:

- a result file present in several places must be identical in all of them (the
  same artifact downloaded twice, a shard re-run over a finished commit is fine);
  a commit measured twice with different figures is a conflict to resolve by hand;
- a machine's `machine.json` must be identical everywhere: workers that share a
  machine name must be the same hardware, or their wall times would share a line;
- the workers' `benchmarks.json` (asv's list of all benchmarks, independent of
  `--bench`) must agree with each other; it then replaces the destination's, as the
  next `asv run` would;
- the build records (`builds/<commit>.toml`, the crates each commit was built with)
  travel with their results, under the same rule as result files.

With any conflict nothing is copied, so merging again after fixing is always safe.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mind_runner.util.errors import UserError
from mind_runner.util.files import write_atomically

BENCHMARK_LIST = Path("benchmarks.json")
MACHINE_FILE = "machine.json"
BUILD_RECORDS = "builds"


@dataclass(frozen=True)
class Copy:
    """One file found in one folder."""

    origin: Path
    path: Path

    def content(self) -> Any:
        """The parsed JSON (a build record's text), or a marker that compares unequal to
        any other copy."""
        try:
            text = self.path.read_text(encoding="utf-8")
            return text if self.path.suffix == ".toml" else json.loads(text)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            return _Unreadable(self.path)


@dataclass(frozen=True)
class _Unreadable:
    path: Path


@dataclass
class MergePlan:
    destination: Path
    copies: list[tuple[Copy, Path]] = field(default_factory=list)
    duplicates: int = 0
    conflicts: list[str] = field(default_factory=list)
    machine_mismatch: bool = False
    replaces_benchmark_list: bool = False

    def copied_per_machine(self) -> Counter[str]:
        return Counter(
            target.relative_to(self.destination).parts[0]
            for _, target in self.copies
            if target.name != MACHINE_FILE
            and target.suffix == ".json"
            and len(target.relative_to(self.destination).parts) == 2
        )


def results_files(folder: Path) -> dict[Path, Path]:
    """relative path -> file, for asv's files and the build records in a results folder."""
    files = {path.relative_to(folder): path for path in folder.glob("*/*.json")}
    files |= {path.relative_to(folder): path for path in folder.glob(f"{BUILD_RECORDS}/*.toml")}
    if (folder / BENCHMARK_LIST).is_file():
        files[BENCHMARK_LIST] = folder / BENCHMARK_LIST
    return files


def check_source(folder: Path) -> None:
    if not folder.is_dir() or not any(folder.glob(f"*/{MACHINE_FILE}")):
        raise UserError(
            f"{folder} is not a worker's results folder (no <machine>/{MACHINE_FILE} in it): "
            "give the folder its results/ were copied or downloaded to"
        )


def _differences(first: Any, other: Any) -> str:
    """Which fields of two machine descriptions differ, as 'field: a vs b'."""
    if not (isinstance(first, dict) and isinstance(other, dict)):
        return "unreadable"
    keys = sorted(k for k in first.keys() | other.keys() if first.get(k) != other.get(k))
    return ", ".join(f"{k}: {first.get(k)!r} vs {other.get(k)!r}" for k in keys)


def _plan_file(plan: MergePlan, relative: Path, copies: list[Copy], has_destination: bool) -> None:
    contents = [copy.content() for copy in copies]
    unreadable = [
        copy for copy, c in zip(copies, contents, strict=True) if isinstance(c, _Unreadable)
    ]
    if unreadable:
        plan.conflicts.extend(
            f"{copy.path} is not valid JSON (a worker stopped while writing it?): delete it "
            "and run that shard again"
            for copy in unreadable
        )
    elif relative == BENCHMARK_LIST:
        _plan_benchmark_list(plan, copies, contents, has_destination)
    elif any(c != contents[0] for c in contents):
        plan.conflicts.append(_conflict(plan, relative, copies, contents))
    else:
        if relative.name != MACHINE_FILE:
            plan.duplicates += len(copies) - 1
        if not has_destination:
            plan.copies.append((copies[0], plan.destination / relative))


def _plan_benchmark_list(
    plan: MergePlan, copies: list[Copy], contents: list[Any], has_destination: bool
) -> None:
    """The workers' lists must agree; theirs replaces the destination's, as asv run would."""
    workers = [
        c for copy, c in zip(copies, contents, strict=True) if copy.origin != plan.destination
    ]
    target = plan.destination / BENCHMARK_LIST
    if any(c != workers[0] for c in workers):
        plan.conflicts.append(
            f"{BENCHMARK_LIST} differs between workers (they ran different benchmark "
            f"code): {', '.join(str(c.origin) for c in copies)}"
        )
    elif not has_destination:
        plan.copies.append((copies[0], target))
    elif contents[0] != workers[0]:
        plan.replaces_benchmark_list = True
        plan.copies.append((copies[-1], target))


def _conflict(plan: MergePlan, relative: Path, copies: list[Copy], contents: list[Any]) -> str:
    places = ", ".join(str(c.origin) for c in copies)
    if relative.name == MACHINE_FILE:
        plan.machine_mismatch = True
        other = next(c for c in contents if c != contents[0])
        return (
            f"machine {relative.parts[0]} is described differently in {places} "
            f"({_differences(contents[0], other)})"
        )
    distinct = [c for i, c in enumerate(contents) if c not in contents[:i]]
    commit = next((c.get("commit_hash") for c in contents if isinstance(c, dict)), None)
    return (
        f"{relative} (commit {str(commit or relative.stem.split('-')[0])[:8]}): "
        f"{len(distinct)} different copies, in {places}"
    )


def _of_commits(commits: Collection[str] | None) -> Callable[[Path], bool]:
    """Whether a file belongs to these commits (machine.json and benchmarks.json always);
    the commits' short hashes (asv's file names) are taken once, not once a file."""
    full = set(commits or ())
    short = {commit[:8] for commit in full}

    def belongs(relative: Path) -> bool:
        if commits is None or relative == BENCHMARK_LIST or relative.name == MACHINE_FILE:
            return True
        if relative.parts[0] == BUILD_RECORDS:
            return relative.stem in full
        return relative.name.split("-")[0] in short

    return belongs


def plan_merge(
    sources: Sequence[Path], destination: Path, commits: Collection[str] | None = None
) -> MergePlan:
    """What merging `sources` (only these commits' files, if given) into `destination`
    would copy, skip and refuse."""
    belongs = _of_commits(commits)
    for source in sources:
        check_source(source)
    found: dict[Path, list[Copy]] = {}
    in_destination = results_files(destination) if destination.is_dir() else {}
    for relative, path in in_destination.items():
        found.setdefault(relative, []).append(Copy(destination, path))
    for source in sources:
        if source.resolve() == destination.resolve():
            continue
        for relative, path in sorted(results_files(source).items()):
            if belongs(relative):
                found.setdefault(relative, []).append(Copy(source, path))
    plan = MergePlan(destination=destination)
    for relative, copies in sorted(found.items()):
        has_destination = relative in in_destination
        if has_destination and len(copies) == 1:
            continue
        _plan_file(plan, relative, copies, has_destination)
    return plan


def apply(plan: MergePlan) -> None:
    # machine.json first: a folder with result files but no machine.json is not asv's.
    for copy, target in sorted(plan.copies, key=lambda item: item[1].name != MACHINE_FILE):
        write_atomically(target, copy.path.read_text(encoding="utf-8"))


def merge(
    sources: Sequence[Path], destination: Path, commits: Collection[str] | None = None
) -> MergePlan:
    """Merge, or list every conflict on stderr and copy nothing. `commits`: only these
    commits' files (a worker dir kept from an earlier run also holds that run's copies,
    which the destination may have moved on from since)."""
    if not sources:
        raise UserError("give the results folders to merge, e.g. artifacts/*")
    plan = plan_merge(sources, destination, commits)
    if plan.conflicts:
        for line in plan.conflicts:
            print(f"mind_runner: conflict: {line}", file=sys.stderr)
        advice = (
            "give workers on different hardware different machine names (README, Backfill)"
            if plan.machine_mismatch
            else "keep one copy of each conflicting file (delete the others)"
        )
        raise UserError(
            f"{len(plan.conflicts)} conflict(s), listed above; nothing was merged: "
            f"{advice}, then merge again"
        )
    apply(plan)
    per_machine = plan.copied_per_machine()
    machines = ", ".join(f"{name}: {count}" for name, count in sorted(per_machine.items()))
    print(
        f"merged {sum(per_machine.values())} result file(s) from {len(sources)} folder(s) "
        f"into {destination}"
        + (f" ({machines})" if machines else "")
        + f"; {plan.duplicates} identical duplicate(s) skipped"
        + ("; benchmarks.json replaced by the workers'" if plan.replaces_benchmark_list else "")
    )
    return plan
