"""MIND's git history, read through asv's repo API where it is already on disk."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from mind_runner.results.mirror import mismatch


class MindHistory:
    """MIND's git history through asv's repo API, used only where it is already on disk.

    The report must work offline and fast: asv would clone a missing mirror from
    GitHub, so without a local repository (MIND_REPO, or asv's mirror from an
    earlier run) names stay unresolved and the version reads "unknown".
    """

    def __init__(self, repo: Any | None, unavailable: str | None) -> None:
        self.repo = repo
        self.unavailable = unavailable

    @classmethod
    def open(cls, conf: Any, config_dir: Path) -> MindHistory:
        import copy

        from asv import util
        from asv.plugins.git import Git  # registers asv's git plugin for get_repo
        from asv.repo import get_repo

        local = copy.copy(conf)
        local.project = str(config_dir / str(conf.project))
        repo_url = str(conf.repo)
        if not (Git.is_local_repo(repo_url) or Git.is_local_repo(local.project)):
            return cls(
                None,
                f"MIND's repository {repo_url} is not on disk and asv has no mirror at "
                f"{local.project}: set MIND_REPO to a local clone",
            )
        problem = mismatch(conf, config_dir)
        if problem is not None:
            return cls(
                None,
                f"{problem} (the next `python -m mind_runner run` sets it aside): "
                "set MIND_REPO to a local clone",
            )
        try:
            return cls(get_repo(local), None)
        except (util.UserError, util.ProcessError, OSError) as error:
            return cls(None, f"MIND's repository could not be opened: {error}")

    def _ask(self, method: str, *args: Any) -> Any:
        """asv's repo method, or None where the repository cannot answer."""
        from asv import util

        if self.repo is None:
            return None
        try:
            return getattr(self.repo, method)(*args)
        # NoSuchNameError is a RuntimeError, ProcessError a CalledProcessError.
        except (RuntimeError, util.ProcessError, util.UserError, OSError, ValueError):
            return None

    def resolve(self, name: str) -> str | None:
        """A git name (branch, tag, short hash) as a full hash, or None."""
        found = self._ask("get_hash_from_name", name)
        return str(found) if found else None

    def order(self, hashes: Iterable[str]) -> dict[str, int]:
        """Position of each commit in the history (asv publish's ordering), if known."""
        if not hasattr(self.repo, "get_revisions"):
            return {}
        found = self._ask("get_revisions", set(hashes))
        return {str(k): int(v) for k, v in found.items()} if isinstance(found, dict) else {}

    def name(self, commit: str) -> str | None:
        """asv's symbolic name for the commit, e.g. 'main~3' or a tag."""
        found = self._ask("get_name_from_hash", commit)
        return str(found) if found else None

    def describe(self, commit: str) -> str | None:
        """`git describe --first-parent`, from asv's tag list and first-parent history."""
        tags = self._ask("get_tags")
        ancestors = self._ask("get_hashes_from_range", commit) if tags else None
        if not isinstance(tags, dict) or not isinstance(ancestors, list):
            return None
        tag_of = {str(target): str(tag) for tag, target in tags.items()}
        for distance, ancestor in enumerate(ancestors):
            tag = tag_of.get(ancestor)
            if tag is not None:
                return tag if distance == 0 else f"{tag}-{distance}-g{commit[:8]}"
        return None
