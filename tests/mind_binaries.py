"""Real `mindc` binaries of the fixture history, built once per test process.

The counting and memory tests need a real compiled MIND stand-in (a shell
script's instruction count says nothing about MIND). Each label of the fixture
history is built at most once, in one scratch directory shared by the test
modules, with one cargo target dir, as the benchmark's build step does.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import tempfile
from functools import cache
from pathlib import Path

from tests.fixture_history import LABELS, FixtureHistory, make_history

CARGO = shutil.which("cargo")


@cache
def _scratch() -> Path:
    directory = Path(tempfile.mkdtemp(prefix="mind-binaries-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    return directory


@cache
def _history() -> FixtureHistory:
    return make_history(_scratch() / "history")


@cache
def fixture_bin_dir(label: str) -> Path:
    """A directory holding `mindc` of the fixture commit `label`, built with autodiff."""
    assert CARGO is not None, "the tests need cargo (install Rust)"
    source = _history().export(label, _scratch() / "src" / label)
    target = _scratch() / "cargo-target"
    completed = subprocess.run(
        [CARGO, "build", "--release", "--quiet", "--features", "autodiff"],
        cwd=source,
        env={**os.environ, "CARGO_TARGET_DIR": str(target)},
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"cargo build of fixture {label} failed:\n{completed.stderr}")
    # Same-length paths for every label: the binary's path moves instruction counts.
    bin_dir = _scratch() / "bin" / f"{LABELS.index(label):02d}"
    bin_dir.mkdir(parents=True)
    shutil.copy2(target / "release" / "mindc", bin_dir / "mindc")
    return bin_dir


@cache
def fixture_runtime_bin_dir(label: str, *, cpu_exec: bool = True) -> Path:
    """A directory holding `mind` (the runtime engine) of fixture commit `label`, built
    as the build step builds it: its own cargo call, with autodiff and cpu-exec."""
    assert CARGO is not None, "the tests need cargo (install Rust)"
    source = _history().export(label, _scratch() / "src-runtime" / label)
    target = _scratch() / "cargo-target"
    features = "autodiff,cpu-exec" if cpu_exec else "autodiff"
    completed = subprocess.run(
        [CARGO, "build", "--release", "--quiet", "--bin", "mind", "--features", features],
        cwd=source,
        env={**os.environ, "CARGO_TARGET_DIR": str(target)},
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"cargo build of fixture {label}'s mind failed:\n{completed.stderr}")
    suffix = "" if cpu_exec else "-preview"
    bin_dir = _scratch() / "runtime-bin" / f"{LABELS.index(label):02d}{suffix}"
    bin_dir.mkdir(parents=True, exist_ok=True)  # cached per call form: maybe made before
    shutil.copy2(target / "release" / "mind", bin_dir / "mind")
    return bin_dir
