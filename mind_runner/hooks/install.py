"""Put a cached build into (and take it out of) an asv environment's `bin/`.

The driver finds MIND there, and asv puts that directory first on PATH for the
benchmark processes. Uninstalling first means a commit whose build fails can
never be benchmarked with the binaries of the commit before it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from mind_runner.hooks.manifest import BINARIES, MANIFEST_NAME
from mind_runner.util.errors import UserError


def installed_files(env_dir: Path) -> list[Path]:
    bin_dir = env_dir / "bin"
    return [bin_dir / name for name in (*BINARIES, MANIFEST_NAME)]


def install(cache_dir: Path, env_dir: Path) -> None:
    source = cache_dir / "bin"
    missing = [name for name in (*BINARIES, MANIFEST_NAME) if not (source / name).is_file()]
    if missing:
        raise UserError(
            f"build cache {cache_dir} lacks {', '.join(missing)}: delete that directory "
            "so that asv builds this commit again"
        )
    uninstall(env_dir)
    for target in installed_files(env_dir):
        shutil.copy2(source / target.name, target)


def uninstall(env_dir: Path) -> None:
    for path in installed_files(env_dir):
        path.unlink(missing_ok=True)
