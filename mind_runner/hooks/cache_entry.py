"""Whether one of asv's build cache entries is whole enough to install.

asv reuses an entry whenever its directory holds any file: it never looks
inside. An entry that lost a binary, or whose manifest was cut short by a full
disk, would otherwise be installed and benchmarked, and each benchmark would
record a failure of MIND that is really a fault of this machine. So an entry is
checked before use; a bad one is removed, and asv, finding no entry, builds the
commit again (asv's own mechanism, not a second one).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from mind_runner.hooks.manifest import (
    BINARIES,
    MANIFEST_NAME,
    RUNTIME_BINARY,
    BuildManifest,
    CorruptManifest,
)


def entry_problem(cache_dir: Path) -> str | None:
    """Why the entry at `cache_dir` (asv names it by its commit) cannot be used, or None."""
    bin_dir = cache_dir / "bin"
    missing = [name for name in (*BINARIES, MANIFEST_NAME) if not (bin_dir / name).is_file()]
    if missing:
        return f"it lacks {', '.join(missing)}"
    unusable = [
        name
        for name in BINARIES
        if (bin_dir / name).stat().st_size == 0 or not os.access(bin_dir / name, os.X_OK)
    ]
    if unusable:
        return f"its {', '.join(unusable)} is empty or not executable"
    try:
        manifest = BuildManifest.load(bin_dir)
    except CorruptManifest as error:
        return f"its {MANIFEST_NAME} is not readable ({error.reason})"
    if manifest is None:
        return None
    if manifest.commit != cache_dir.name:
        return f"its manifest describes commit {manifest.commit[:8]}, not {cache_dir.name[:8]}"
    if manifest.binary_features is None:
        return f"it was built before mind_runner built `{RUNTIME_BINARY}` (the runtime engine)"
    lost = [name for name in manifest.binaries if not _runnable(bin_dir / name)]
    if lost:
        return f"it lacks a runnable {', '.join(lost)}"
    return None


def _runnable(path: Path) -> bool:
    return path.is_file() and path.stat().st_size > 0 and os.access(path, os.X_OK)


def remove_entry(cache_dir: Path) -> None:
    """Delete the entry: asv then sees no build for the commit and builds it again."""
    shutil.rmtree(cache_dir, ignore_errors=True)
