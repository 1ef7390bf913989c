"""Finding the external programs the project runs (cargo, valgrind, GNU time).

Each caller decides what a missing program means (a user error for cargo, a skip
for valgrind); finding it is the same everywhere: an override variable, then PATH.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path


def locate_program(
    default: str,
    *,
    variable: str,
    explicit: str | None = None,
    extra_dirs: Sequence[Path] = (),
) -> tuple[Path | None, str]:
    """(path or None, what was looked for): `explicit`, else $variable, else `default`;
    a name is looked up on PATH, then in `extra_dirs`."""
    wanted = explicit or os.environ.get(variable) or default
    found = shutil.which(wanted)
    for directory in extra_dirs:
        if found is not None:
            break
        found = shutil.which(wanted, path=str(directory))
    return (Path(found) if found is not None else None), wanted
