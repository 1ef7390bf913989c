"""The fixed conditions every measured command runs under.

Instruction counts move with the environment's size, the working directory and
the program path's length (on real MIND: one more environment variable +441
instructions, a longer path +35), so every measured call gets this environment
and directory, and callers keep file paths fixed: the programs they pass, and the
executable itself (`at_fixed_path`).
"""

from __future__ import annotations

import filecmp
import hashlib
import os
import shutil
import tempfile
from pathlib import Path

FIXED_ENVIRONMENT: dict[str, str] = {"LC_ALL": "C", "PATH": "/usr/bin:/bin"}
FIXED_DIRECTORY = Path("/")


def at_fixed_path(program: Path, directory: Path) -> Path:
    """A copy of `program` at a path whose length does not depend on where it lives.

    Counts move with the executable's own path too, and not only through argv[0]:
    through a symlink they still follow the target's path. asv installs MIND into
    `<env_dir>/<hash>/bin`, so without this a worker with its own env dir, or a CI
    checkout, counts differently from `.asv/env`. The copy is named after the
    original's path (fixed-length hash), so parallel workers never share one.
    """
    source = program.resolve()
    key = hashlib.sha256(str(source).encode()).hexdigest()[:16]
    target = directory / key / program.name
    if target.is_file() and filecmp.cmp(source, target, shallow=False):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{program.name}.")
    os.close(fd)
    try:
        shutil.copy2(source, temporary)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target
