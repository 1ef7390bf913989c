"""MIND_REPO and asv's own failures, as one-line errors."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mind_runner.commands.config import resolve_mind_repo
from mind_runner.util.errors import UserError
from tests.conftest import copy_project


def test_existing_paths_become_absolute_and_urls_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "mind").mkdir()
    monkeypatch.chdir(tmp_path)
    assert resolve_mind_repo("mind") == str(tmp_path / "mind")
    url = "https://github.com/star-ga/mind.git"
    assert resolve_mind_repo(url) == url
    assert resolve_mind_repo("git@github.com:star-ga/mind.git") == "git@github.com:star-ga/mind.git"


def test_a_path_that_is_not_there_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="is neither an existing directory nor a git URL"):
        resolve_mind_repo(str(tmp_path / "missing"))


def test_a_repository_that_cannot_be_cloned_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    completed = subprocess.run(
        [sys.executable, "-m", "mind_runner", "asv", "run", "--machine", "m", "main^!"],
        cwd=project,
        env={
            "PATH": "/usr/bin:/bin",
            "HOME": str(tmp_path),
            # Loopback, port 9 (discard): refused at once, no traffic leaves the machine.
            "MIND_REPO": "https://127.0.0.1:9/mind.git",
            # The preflight checks the toolchain before asv starts.
            "CARGO": str(shutil.which("cargo")),
            "RUSTC": str(shutil.which("rustc")),
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 1
    last = completed.stderr.strip().splitlines()[-1]
    assert last.startswith("mind_runner: `git clone --mirror https://127.0.0.1:9/mind.git")
    assert "Traceback" not in completed.stderr


def test_asv_output_is_printed_once_however_often_asv_is_called() -> None:
    """`run` calls asv twice (run, publish): each call used to add one more log handler."""
    script = (
        "from asv.console import log\n"
        "from mind_runner.commands.asv_command import enable_asv_log\n"
        "enable_asv_log(False)\n"
        "enable_asv_log(False)\n"
        "log.info('Writing index')\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script],
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        check=True,
    )
    assert completed.stdout.count("Writing index") == 1, completed.stdout
