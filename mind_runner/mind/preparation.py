"""What the driver learned about one model at one built `mindc`, kept between processes.

asv runs every benchmark in a process of its own, about 20 per commit, and each
asks the driver which dialect to use. Choosing it means judging every candidate
dialect's gradients (`gradient_check`), which imports torch: 1-2 s a process.
So the chosen dialect, its printed module and its verdicts are stored, one small
JSON file per model, keyed by a digest of the `mindc` binary, the model (so its
program texts) and the judging code: the first process of a commit judges, the
others read. A file from another binary (stale) or one that cannot be read
(corrupt) is judged again and replaced; a reader never sees half a file (atomic
writes). The driver does not store a failure: trying the dialects again is cheap,
and a failure may not last (a timeout on a busy machine).
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from mind_runner.mind.correctness import Correctness
from mind_runner.mind.models import Model
from mind_runner.util.files import write_atomically

FORMAT = 1
# The code whose change can change an outcome: a new version of any is a new key.
_JUDGING_CODE = (
    "correctness.py",
    "dialects.py",
    "driver.py",
    "gradient_check.py",
    "gradient_ir.py",
    "ir_executor.py",
    "models.py",
    "preparation.py",
)


@dataclass(frozen=True)
class Preparation:
    """One model at one binary: the chosen dialect, what it printed and its verdicts,
    or (`failure`) why no dialect differentiates the model."""

    dialect: str | None
    printed: str
    correctness: Correctness | None
    failure: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "dialect": self.dialect,
            "printed": self.printed,
            "correctness": None if self.correctness is None else self.correctness.to_json(),
            "failure": self.failure,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Preparation:
        dialect, correctness = data["dialect"], data["correctness"]
        chosen = dialect is not None and correctness is not None and not data["failure"]
        failed = dialect is None and correctness is None and bool(data["failure"])
        if not (chosen or failed):
            raise ValueError("a preparation has a dialect and verdicts, or a failure")
        return cls(
            dialect=None if dialect is None else str(dialect),
            printed=str(data["printed"]),
            correctness=None if correctness is None else Correctness.from_json(correctness),
            failure=str(data["failure"]),
        )


def preparation_key(mindc: Path, case: Model) -> str:
    """A digest of everything an outcome depends on: the binary, the model (with
    dialects.py among the code, its program texts) and the judging code."""
    digest = hashlib.sha256(f"format {FORMAT}\n".encode())
    digest.update(_binary_digest(mindc, *_identity(mindc)).encode())
    digest.update(_code_digest().encode())
    digest.update(repr(case).encode())
    return digest.hexdigest()


def _identity(path: Path) -> tuple[int, int, int, int]:
    status = path.stat()
    return status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns


@cache
def _binary_digest(path: Path, *identity: int) -> str:
    """sha256 of the binary, once per process and file version (~10 ms per 20 MB)."""
    with path.open("rb") as binary:
        return hashlib.file_digest(binary, "sha256").hexdigest()


@cache
def _code_digest() -> str:
    here = Path(__file__).parent
    digest = hashlib.sha256()
    for name in _JUDGING_CODE:
        digest.update((here / name).read_bytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class PreparationCache:
    """One file per model in `directory`, holding the outcome for the last key seen."""

    directory: Path

    def path(self, model: str) -> Path:
        return self.directory / f"{model}.json"

    def load(self, model: str, key: str) -> Preparation | None:
        """The stored outcome for `key`; None when absent, stale or unreadable."""
        try:
            data = json.loads(self.path(model).read_text())
            if data.get("key") != key:
                return None
            return Preparation.from_json(data["preparation"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None

    def save(self, model: str, key: str, preparation: Preparation) -> None:
        """Store atomically; a cache that cannot be written only costs time."""
        text = json.dumps({"key": key, "preparation": preparation.to_json()}, indent=1)
        try:
            write_atomically(self.path(model), text + "\n")
        except OSError as error:
            print(f"mind_runner: not caching {model}: {error}", file=sys.stderr)
