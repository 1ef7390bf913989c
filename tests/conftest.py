"""The fixture history, benchmarked once per test session by the real asv.

Like asv's own test suite, this drives the real `asv` over a throw-away git
repository (tests/fixture_history.py: a small Rust crate speaking MIND's CLI),
through the project's documented main command with MIND_REPO pointing at it.
Everything the slower tests need (results, the published site, build logs)
comes from this one run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fixture_history import FixtureHistory, make_history

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MACHINE = "fixture-machine"
# Few samples: the tests check what is recorded, not how precisely.
QUICK = ["-a", "repeat=3", "-a", "rounds=1", "-a", "warmup_time=0"]


@dataclass(frozen=True)
class Project:
    """A copy of this project, set up to benchmark the fixture history."""

    root: Path
    history: FixtureHistory
    environment: dict[str, str]

    @property
    def results_dir(self) -> Path:
        return self.root / "results" / MACHINE

    @property
    def html_dir(self) -> Path:
        return self.root / "html"

    @property
    def build_log_dir(self) -> Path:
        return self.root / ".asv" / "build-logs"

    def mind_runner(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """`python -m mind_runner ARGS` in the copy, as a user would type it."""
        completed = subprocess.run(
            [sys.executable, "-m", "mind_runner", *args],
            cwd=self.root,
            env=self.environment,
            capture_output=True,
            text=True,
            check=False,
        )
        if check and completed.returncode not in (0, 2):
            raise AssertionError(
                f"mind_runner {' '.join(args)} exited {completed.returncode}\n"
                f"{completed.stdout}\n{completed.stderr}"
            )
        return completed


@dataclass(frozen=True)
class PublishedHistory:
    project: Project
    run: subprocess.CompletedProcess[str]
    pytorch_run: subprocess.CompletedProcess[str]


def copy_project(destination: Path) -> Path:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    destination.mkdir(parents=True)
    shutil.copy2(PROJECT_ROOT / "asv.conf.json", destination / "asv.conf.json")
    for package in ("benchmarks", "mind_runner"):
        shutil.copytree(PROJECT_ROOT / package, destination / package, ignore=ignore)
    return destination


def isolated_environment(home: Path, mind_repo: Path) -> dict[str, str]:
    """HOME moves (asv writes ~/.asv-machine.json); the Rust toolchain must not."""
    real_home = Path.home()
    environment = dict(os.environ)
    environment.pop("PYTHONPATH", None)
    environment.update(
        HOME=str(home),
        MIND_REPO=str(mind_repo),
        RUSTUP_HOME=os.environ.get("RUSTUP_HOME", str(real_home / ".rustup")),
        CARGO_HOME=os.environ.get("CARGO_HOME", str(real_home / ".cargo")),
    )
    cargo_bin = str(real_home / ".cargo" / "bin")
    if shutil.which("cargo") is None and Path(cargo_bin).is_dir():
        environment["PATH"] = cargo_bin + os.pathsep + environment["PATH"]
    return environment


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests of the session's real asv run are slow; so are those that fetch from npm."""
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if "published_history" in fixtures:
            item.add_marker(pytest.mark.slow)
        if "npm_cache" in fixtures:
            item.add_marker(pytest.mark.npm)


@pytest.fixture(scope="session")
def published_history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PublishedHistory]:
    base = tmp_path_factory.mktemp("asv-history")
    history = make_history(base / "mind")
    (base / "home").mkdir()
    project = Project(
        root=copy_project(base / "project"),
        history=history,
        environment=isolated_environment(base / "home", history.repo),
    )
    last = history.commits[-1].sha
    # PyTorch does not depend on the MIND commit, and the depth sweep is slow: both are
    # measured at the tip only; the per-model MIND benchmarks at every commit.
    pytorch_run = project.mind_runner(
        "asv", "run", f"{last}^!", "--machine", MACHINE, "--bench", "pytorch|scaling", *QUICK
    )
    run = project.mind_runner(
        "run", "main", "--machine", MACHINE, "--bench", "^mind_", *QUICK, "--show-stderr"
    )
    yield PublishedHistory(project=project, run=run, pytorch_run=pytorch_run)
