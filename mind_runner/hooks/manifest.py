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
"""What every whole build holds: the compile-time engine."""
RUNTIME_BINARY = "mind"
"""The runtime engine (`mind eval --exec`), built where the commit declares `cpu-exec`."""
RUNTIME_FEATURES = ("autodiff", "cpu-exec")
"""What `mind` is built with, where declared: the features of MIND's own capture."""


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
    binary_features: dict[str, tuple[str, ...]] | None = None
    """Binary -> the features it was built with: `mindc` and `mind` are built by two
    cargo calls, since one call unifies features and would give `mindc` cpu-exec's code.
    None in a manifest written before `mind` was built (a stale cache entry)."""
    runtime_not_built: str | None = None
    """Why there is no `mind` (no cpu-exec declared, or it does not build), else None."""

    def features_of(self, binary: str) -> tuple[str, ...] | None:
        """The features `binary` was built with; None where it was not built."""
        if binary not in self.binaries:
            return None
        return (self.binary_features or {}).get(binary, self.features)

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
                binary_features=_binary_features(data.get("binary_features")),
                runtime_not_built=_optional_text(data.get("runtime_not_built")),
            )
        except (ValueError, KeyError, TypeError) as error:
            # JSONDecodeError and UnicodeDecodeError are ValueErrors.
            reason = f"missing {error}" if isinstance(error, KeyError) else type(error).__name__
            raise CorruptManifest(path, reason) from None


def _binary_features(value: object) -> dict[str, tuple[str, ...]] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise TypeError("binary_features")
    return {str(name): tuple(str(f) for f in features) for name, features in value.items()}


def _optional_text(value: object) -> str | None:
    return None if value is None else str(value)
