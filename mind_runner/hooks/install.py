"""Put a cached build into (and take it out of) an asv environment's `bin/`.

The driver finds MIND there, and asv puts that directory first on PATH for the
benchmark processes. Uninstalling first means a commit whose build fails can
never be benchmarked with the binaries of the commit before it. An entry that
is not whole is never installed (see `cache_entry`).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from mind_runner.hooks.cache_entry import entry_problem, remove_entry
from mind_runner.hooks.manifest import BINARIES, MANIFEST_NAME, RUNTIME_BINARY
from mind_runner.util.errors import MachineFault


def installed_files(env_dir: Path) -> list[Path]:
    bin_dir = env_dir / "bin"
    return [bin_dir / name for name in (*BINARIES, RUNTIME_BINARY, MANIFEST_NAME)]


def install(cache_dir: Path, env_dir: Path) -> None:
    problem = entry_problem(cache_dir)
    if problem is not None:
        remove_entry(cache_dir)
        raise MachineFault(
            f"build cache entry {cache_dir} is corrupt ({problem})",
            "removed it; run this commit again and asv builds it afresh",
        )
    uninstall(env_dir)
    try:
        for target in installed_files(env_dir):
            source = cache_dir / "bin" / target.name
            if target.name == RUNTIME_BINARY and not source.exists():
                continue  # not built at this commit: the manifest says why
            shutil.copy2(source, target)
    except OSError as error:
        uninstall(env_dir)
        raise MachineFault.unwritable(
            f"cannot install MIND into {env_dir / 'bin'}", error
        ) from None


def uninstall(env_dir: Path) -> None:
    for path in installed_files(env_dir):
        path.unlink(missing_ok=True)
