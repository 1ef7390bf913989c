"""Checks before asv starts an command that builds and measures MIND.

What the whole run needs is checked once, up front, so that a missing tool
stops it with one line instead of turning every commit into nulls: cargo and
rustc, a readable `mindc` timeout setting, asv's mirror of the configured
repository (see `results.mirror`), and asv's build cache, whose damaged entries
are removed so that asv builds those commits again during this very run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mind_runner.hooks.build import find_tool
from mind_runner.hooks.cache_entry import entry_problem, remove_entry
from mind_runner.mind.driver import call_timeout
from mind_runner.results.mirror import refresh_mirror


def damaged_cache_entries(conf: Any, config_dir: Path) -> list[tuple[Path, str]]:
    """Entries asv would reuse (they have asv's timestamp) that cannot be installed."""
    env_root = config_dir / str(conf.env_dir)
    damaged = []
    for stamp in sorted(env_root.glob("*/asv-build-cache/*.timestamp")):
        entry = stamp.with_suffix("")
        if entry.is_dir():
            problem = entry_problem(entry)
            if problem is not None:
                damaged.append((entry, problem))
    return damaged


def preflight(conf: Any, config_dir: Path, *, builds: bool) -> list[str]:
    """Raise a UserError (MachineFault) for what stops the run; lines for what was fixed."""
    notes = []
    if builds:
        find_tool("cargo")
        find_tool("rustc")
    call_timeout()
    moved = refresh_mirror(conf, config_dir)
    if moved is not None:
        notes.append(moved)
    for entry, problem in damaged_cache_entries(conf, config_dir):
        remove_entry(entry)
        notes.append(f"build cache entry {entry} was damaged ({problem}): removed, asv rebuilds it")
    return notes
