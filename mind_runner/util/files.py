"""Writing files so that nothing already measured is ever half-overwritten."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def write_atomically(path: Path, text: str) -> Path:
    """Write via a temporary file and rename: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


@contextmanager
def replaced_from_staging(path: Path, scratch: Path, written_as: str | Path) -> Iterator[Path]:
    """A fresh folder in `scratch`, for a writer that cannot be told to write atomically
    (asv's saves) to write `path`'s new content into, as `written_as`; when the block
    ends without an error, that file replaces `path` whole."""
    scratch.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=scratch))
    try:
        yield staging
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(staging / written_as, path)
        except OSError:
            shutil.move(staging / written_as, path)  # `scratch` on another file system
    finally:
        shutil.rmtree(staging, ignore_errors=True)
