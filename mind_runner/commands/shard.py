"""Split a range of MIND commits into shards that separate workers run with plain asv.

asv has no distributed mode, but `asv run HASHFILE:path` measures exactly the
commits listed in a file (one hash per line, blank lines ignored, in the file's
order; a name git does not know is only warned about and dropped). So a shard is
such a file, and a worker is the ordinary `run` on it. Shards are contiguous runs
of the order `asv run RANGE` itself uses (`git rev-list --first-parent`, newest
first): neighbouring commits differ little, so each worker's builds after its first
stay incremental. Sizes differ by at most one commit.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mind_runner.commands.asv_command import HASHFILE, in_config_dir
from mind_runner.commands.config import CONFIG_PATH, load_config
from mind_runner.results.mirror import refresh_mirror
from mind_runner.util.errors import UserError
from mind_runner.util.files import write_atomically

SHARD_PREFIX = "shard-"


def split(commits: Sequence[str], shards: int) -> list[list[str]]:
    """`shards` contiguous slices of `commits` in their order, balanced, none empty
    (fewer slices when there are fewer commits than shards)."""
    if shards < 1:
        raise UserError(f"--shards {shards}: give a positive number of shards")
    count = min(shards, len(commits))
    if count == 0:
        return []
    size, extra = divmod(len(commits), count)
    slices: list[list[str]] = []
    start = 0
    for index in range(count):
        end = start + size + (1 if index < extra else 0)
        slices.append(list(commits[start:end]))
        start = end
    return slices


def range_commits(
    range_spec: str, *, pull: bool = True, config_path: Path = CONFIG_PATH
) -> list[str]:
    """The full hashes `asv run RANGE` would measure, in the order it measures them (of
    the repository configured now: a mirror of another one is moved aside first, as
    before every asv run, or the plan would list that one's commits). `HASHFILE:path`
    lists the commits one a line, as for `asv run`, in the order given."""
    hashfile, listed = None, []
    if range_spec.startswith(HASHFILE):
        hashfile = Path(range_spec[len(HASHFILE) :]).expanduser().absolute()
        try:
            listed = hashfile.read_text().split()
        except OSError as error:
            raise UserError(
                f"cannot read the hash file {hashfile} ({error.strerror}): give "
                "HASHFILE:PATH of a file with one MIND commit a line"
            ) from None
    from asv.plugins.git import Git  # noqa: F401  (registers asv's git plugin for get_repo)
    from asv.repo import get_repo

    with in_config_dir(config_path):
        conf = load_config(config_path)
        moved = refresh_mirror(conf, config_path.parent)
        if moved is not None:
            print(f"mind_runner: {moved}", file=sys.stderr)
        repo = get_repo(conf)
        if pull:
            repo.pull()
        if hashfile is not None:
            commits = [_full_hash(repo, name, hashfile) for name in listed]
        else:
            commits = [str(commit) for commit in repo.get_hashes_from_range(range_spec)]
    if not commits:
        raise UserError(f"the range {range_spec!r} selects no MIND commit: check it with git log")
    return commits


def _full_hash(repo: Any, name: str, hashfile: Path) -> str:
    """A hash file's line as asv resolves it; one MIND does not have is an error here
    (asv run only warns and goes on without it)."""
    from asv.repo import NoSuchNameError

    try:
        return str(repo.get_hash_from_name(name))
    except NoSuchNameError:
        raise UserError(
            f"{name!r} in {hashfile} is no commit of MIND's repository: fix the line or fetch "
            "MIND (MIND_REPO)"
        ) from None


def every_kth(commits_newest_first: Sequence[str], k: int) -> list[str]:
    """Every K-th commit from the oldest, and the newest always: a sparse run's plan."""
    oldest_first = list(reversed(commits_newest_first))
    picked = oldest_first[::k]
    if oldest_first and oldest_first[-1] not in picked:
        picked.append(oldest_first[-1])
    return list(reversed(picked))


def shard_paths(out_dir: Path, count: int) -> list[Path]:
    width = max(2, len(str(count)))
    return [out_dir / f"{SHARD_PREFIX}{index:0{width}d}.txt" for index in range(1, count + 1)]


def write_shards(shards: Sequence[Sequence[str]], out_dir: Path) -> list[Path]:
    """One HASHFILE per shard in `out_dir`; shard files of another plan there are an error
    (a CI matrix built from the folder's listing would run them too)."""
    paths = shard_paths(out_dir, len(shards))
    stale = sorted(
        set(out_dir.glob(f"{SHARD_PREFIX}*.txt")) - set(paths) if out_dir.is_dir() else set()
    )
    if stale:
        raise UserError(
            f"{out_dir} holds shard files of another plan ({stale[0].name}, ...): "
            "remove them or choose another --out"
        )
    for path, commits in zip(paths, shards, strict=True):
        write_atomically(path, "".join(f"{commit}\n" for commit in commits))
    return paths


def describe(path: Path, commits: Sequence[str]) -> str:
    return (
        f"{path}: {len(commits)} commit(s), {commits[0][:8]} (newest) .. {commits[-1][:8]} (oldest)"
    )


def shard(range_spec: str, shards: int, out_dir: Path, *, pull: bool = True) -> int:
    """`python -m mind_runner shard RANGE --shards N --out DIR`: write and list the shards."""
    commits = range_commits(range_spec, pull=pull)
    slices = split(commits, shards)
    paths = write_shards(slices, out_dir)
    for path, commits_of_shard in zip(paths, slices, strict=True):
        print(describe(path, commits_of_shard))
    if len(slices) < shards:
        print(f"only {len(commits)} commit(s): {len(slices)} shard(s), not {shards}")
    print(
        f"each worker: python -m mind_runner run HASHFILE:{paths[0]} --machine NAME "
        "(the same NAME on identical hardware; see README, Backfill)"
    )
    return 0
