"""Which crate versions each build used, kept so that builds can be repeated and compared.

MIND commits no Cargo.lock, so cargo resolves its dependencies as of the day it
runs: two builds of one commit a month apart may link different crates, and a step
between two commits may be a dependency's doing. So:

- The previous build's Cargo.lock is carried into the next checkout (unless the
  commit has its own, or MIND_BENCH_LOCKFILE=fresh): cargo keeps every version it
  can and changes only what a commit's Cargo.toml forces.
- Every build's resolved Cargo.lock goes into asv's build cache beside the binary,
  and its package list into a small record per commit next to the results
  (`results/builds/<commit>.toml`), which is kept with them.
- `dependency_changes` reads the records along MIND's history and names the
  commits where the set of crates changed.

Only crates from a registry or git count as dependencies: MIND's own packages
(path sources) change version with MIND itself.
"""

from __future__ import annotations

import json
import os
import shutil
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from mind_runner.util.errors import MachineFault, UserError
from mind_runner.util.files import write_atomically

LOCK_NAME = "Cargo.lock"
CARRIED_FROM_NAME = "commit"
"""Beside the carried lock: the commit whose build resolved it."""
MODE_VARIABLE = "MIND_BENCH_LOCKFILE"


class LockOrigin(Enum):
    """Where the Cargo.lock a build started from came from."""

    COMMITTED = "committed"  # the commit's own
    CARRIED = "carried"  # the previous build's, adjusted by cargo where Cargo.toml forces it
    FRESH = "fresh"  # none: cargo resolved every dependency as of today


@dataclass(frozen=True)
class StartingLock:
    origin: LockOrigin
    carried_from: str | None
    packages: frozenset[str]
    """The dependency set the build started from (empty unless carried)."""


@dataclass(frozen=True)
class BuildRecord:
    """What `results/builds/<commit>.toml` says about one commit's build."""

    commit: str
    lockfile: LockOrigin
    carried_from: str | None
    packages: tuple[str, ...]
    """`name version source` of every registry or git crate, sorted."""

    def save(self, directory: Path) -> Path:
        lines = [
            f"# The crates MIND {self.commit[:8]} was built with (mind_runner build);",
            "# lockfile: committed (MIND's own Cargo.lock), carried (the previous build's,",
            "# changed by cargo only where Cargo.toml forced it) or fresh (resolved that day).",
            f"commit = {json.dumps(self.commit)}",
            f"lockfile = {json.dumps(self.lockfile.value)}",
        ]
        if self.carried_from is not None:
            lines.append(f"carried_from = {json.dumps(self.carried_from)}")
        lines.append("packages = [")
        lines += [f"    {json.dumps(package)}," for package in self.packages]
        lines.append("]")
        return write_atomically(directory / f"{self.commit}.toml", "\n".join(lines) + "\n")

    @classmethod
    def load(cls, path: Path) -> BuildRecord:
        try:
            data = tomllib.loads(path.read_text())
            return cls(
                commit=str(data["commit"]),
                lockfile=LockOrigin(data["lockfile"]),
                carried_from=data.get("carried_from"),
                packages=tuple(str(p) for p in data["packages"]),
            )
        except (tomllib.TOMLDecodeError, KeyError, ValueError, TypeError) as error:
            raise UserError(
                f"unreadable build record {path} ({type(error).__name__}: {error}): "
                "delete it; the commit's next build writes it again"
            ) from None


def dependency_set(lock_text: str) -> frozenset[str]:
    """`name version source` of every package of a Cargo.lock that comes from outside."""
    packages = tomllib.loads(lock_text).get("package", [])
    return frozenset(
        f"{p['name']} {p['version']} {p['source']}" for p in packages if p.get("source")
    )


def lock_mode() -> LockOrigin:
    """CARRIED by default; MIND_BENCH_LOCKFILE=fresh resolves every build as of today."""
    value = os.environ.get(MODE_VARIABLE, "carry")
    if value == "carry":
        return LockOrigin.CARRIED
    if value == "fresh":
        return LockOrigin.FRESH
    raise UserError(f"{MODE_VARIABLE}={value} is not understood: use carry (default) or fresh")


def start_from(source: Path, carried_dir: Path) -> StartingLock:
    """Put the previous build's lock into the checkout, unless it has its own."""
    if (source / LOCK_NAME).is_file():
        return StartingLock(LockOrigin.COMMITTED, None, frozenset())
    carried = carried_dir / LOCK_NAME
    if lock_mode() is LockOrigin.FRESH or not carried.is_file():
        return StartingLock(LockOrigin.FRESH, None, frozenset())
    shutil.copyfile(carried, source / LOCK_NAME)
    carried_from = (carried_dir / CARRIED_FROM_NAME).read_text().strip() or None
    return StartingLock(LockOrigin.CARRIED, carried_from, dependency_set(carried.read_text()))


def carry_forward(lock: Path, commit: str, carried_dir: Path) -> None:
    """This build's lock becomes the next build's starting point."""
    write_atomically(carried_dir / LOCK_NAME, lock.read_text())
    write_atomically(carried_dir / CARRIED_FROM_NAME, commit + "\n")


def copy_carried(from_dir: Path, to_dir: Path) -> bool:
    """The lock carried in `from_dir`, and its commit, carried in `to_dir` too (each file
    replaced whole); False if `from_dir` carries none."""
    if not (from_dir / LOCK_NAME).is_file():
        return False
    try:
        for name in (LOCK_NAME, CARRIED_FROM_NAME):
            if (from_dir / name).is_file():
                write_atomically(to_dir / name, (from_dir / name).read_text())
    except OSError as error:
        where = f"cannot carry {from_dir / LOCK_NAME} to {to_dir}"
        raise MachineFault.unwritable(where, error) from None
    return True


def load_records(directory: Path) -> dict[str, BuildRecord]:
    """Every record in `directory` (results/builds/), by commit."""
    if not directory.is_dir():
        return {}
    records = (BuildRecord.load(path) for path in sorted(directory.glob("*.toml")))
    return {record.commit: record for record in records}


@dataclass(frozen=True)
class DependencyChange:
    """A commit built with another set of crates than the commit before it."""

    commit: str
    previous: str
    added: tuple[str, ...]
    removed: tuple[str, ...]


def dependency_changes(
    records: Mapping[str, BuildRecord], history: Iterable[str]
) -> list[DependencyChange]:
    """The commits of `history` (MIND's commits, oldest first) whose dependency set differs
    from that of the last earlier commit with a record; commits without one are passed over.

    Along the history, not in build order: asv builds a range newest first."""
    changes = []
    previous: BuildRecord | None = None
    for commit in history:
        record = records.get(commit)
        if record is None:
            continue
        if previous is not None and set(record.packages) != set(previous.packages):
            changes.append(
                DependencyChange(
                    commit=commit,
                    previous=previous.commit,
                    added=_sorted(set(record.packages) - set(previous.packages)),
                    removed=_sorted(set(previous.packages) - set(record.packages)),
                )
            )
        previous = record
    return changes


def describe_change(before: Iterable[str], after: Iterable[str]) -> str:
    """`+name version, -name version` between two dependency sets (sources left out)."""
    old, new = set(before), set(after)
    added = [f"+{' '.join(p.split()[:2])}" for p in _sorted(new - old)]
    removed = [f"-{' '.join(p.split()[:2])}" for p in _sorted(old - new)]
    return ", ".join(added + removed)


def _sorted(packages: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(packages))
