"""asv's mirror of a remote MIND repository, one per repository.

asv clones a remote `repo` once, into `<conf dir>/<project>` (here `mind/`), and
from then on fetches into that mirror from wherever the mirror came from: with
MIND_REPO pointing at another URL, asv would silently benchmark the first
repository's commits. So before asv runs, the mirror's origin is compared with
the configured URL. A mirror of another repository is moved to
`.asv/mirrors/<name of its URL>`, and a mirror of the configured URL kept there
earlier is moved back (else asv clones it afresh). A local repository needs no
mirror: asv reads it in place.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from pathlib import Path

from mind_runner.util.errors import UserError
from mind_runner.util.layout import MIRRORS_DIR


def mirror_path(conf: object, config_dir: Path) -> Path:
    """Where asv keeps its mirror: the project name, relative to the config's folder."""
    return config_dir / str(getattr(conf, "project", ""))


def is_local(repo: str) -> bool:
    path = Path(repo)
    return path.is_dir() and ((path / ".git").exists() or (path / "objects").is_dir())


def origin_of(mirror: Path) -> str | None:
    """The URL a mirror fetches from (None if it is not a git repository)."""
    completed = subprocess.run(
        ["git", "-C", str(mirror), "config", "--get", "remote.origin.url"],
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        return None
    return completed.stdout.strip() or None


def kept_mirror(config_dir: Path, url: str) -> Path:
    """The folder for the mirror of `url` while another repository is benchmarked."""
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", url).strip("_")[-60:]
    digest = hashlib.sha256(url.encode()).hexdigest()[:12]
    return config_dir / MIRRORS_DIR / f"{readable}-{digest}"


def mismatch(conf: object, config_dir: Path) -> str | None:
    """Why the mirror on disk is not the configured repository's, or None."""
    repo = str(getattr(conf, "repo", ""))
    mirror = mirror_path(conf, config_dir)
    if is_local(repo) or not mirror.exists():
        return None
    origin = origin_of(mirror)
    if origin == repo:
        return None
    return f"{mirror} mirrors {origin or 'an unknown repository'}, not {repo}"


def refresh_mirror(conf: object, config_dir: Path) -> str | None:
    """Make asv's mirror the configured repository's; a line saying what moved, or None."""
    problem = mismatch(conf, config_dir)
    if problem is None:
        return None
    repo = str(getattr(conf, "repo", ""))
    mirror = mirror_path(conf, config_dir)
    origin = origin_of(mirror)
    try:
        if origin is None:
            aside = mirror.with_name(mirror.name + ".not-a-mirror")
            if aside.exists():
                raise UserError(
                    f"{mirror} is not a git mirror and {aside} exists: move one of them away"
                )
        else:
            aside = kept_mirror(config_dir, origin)
            shutil.rmtree(aside, ignore_errors=True)
        aside.parent.mkdir(parents=True, exist_ok=True)
        mirror.rename(aside)
        wanted = kept_mirror(config_dir, repo)
        restored = wanted.is_dir() and origin_of(wanted) == repo
        if restored:
            wanted.rename(mirror)
    except OSError as error:
        raise UserError(
            f"{problem}, and it could not be moved aside ({error.strerror}): delete {mirror} "
            "so that asv clones the configured repository"
        ) from None
    then = "put back the mirror of it kept there" if restored else "asv clones it afresh"
    return f"{problem}: moved that mirror to {aside}; {then}"
