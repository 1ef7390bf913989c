"""What a build step leaves beside the binaries, so results can say what was measured.

The manifest travels from the build into asv's build cache and from there into
the environment's `bin/`, where the driver reads it: it is the only record of
which cargo features a commit was built with.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from mind_runner.util.files import write_atomically

MANIFEST_NAME = "mind-build.json"
BINARIES = ("mindc",)
"""What is built, cached and installed: the benchmarks run `mindc` only."""


class CorruptManifest(ValueError):
    """A manifest that cannot be read: its build cache entry cannot be trusted either."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path} is not a readable build manifest ({reason})")
        self.reason = reason


@dataclass(frozen=True)
class BuildManifest:
    commit: str
    features: tuple[str, ...]
    declared_features: tuple[str, ...]
    rustc_version: str
    build_seconds: float
    binaries: tuple[str, ...]

    def save(self, directory: Path) -> Path:
        return write_atomically(directory / MANIFEST_NAME, json.dumps(asdict(self), indent=2))

    @classmethod
    def load(cls, directory: Path) -> BuildManifest | None:
        """The manifest in `directory`, or None where there is none (a hand-made install)."""
        path = directory / MANIFEST_NAME
        if not path.is_file():
            return None
        try:
            data = json.loads(path.read_text())
            return cls(
                commit=str(data["commit"]),
                features=tuple(data["features"]),
                declared_features=tuple(data["declared_features"]),
                rustc_version=str(data["rustc_version"]),
                build_seconds=float(data["build_seconds"]),
                binaries=tuple(data["binaries"]),
            )
        except (ValueError, KeyError, TypeError) as error:
            # JSONDecodeError and UnicodeDecodeError are ValueErrors.
            reason = f"missing {error}" if isinstance(error, KeyError) else type(error).__name__
            raise CorruptManifest(path, reason) from None
