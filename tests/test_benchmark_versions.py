"""Results survive benchmark edits: every benchmark has an explicit asv version, and an
edit of its source is either a version bump or named as keeping the meaning."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from mind_runner.commands.versions import versions
from tests.conftest import PROJECT_ROOT, copy_project

EDITED = "mind_cli.CliStages.time_startup"


def versions_in(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "MIND_REPO"}
    return subprocess.run(
        [sys.executable, "-m", "mind_runner", "versions", *args],
        cwd=root,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )


def test_every_benchmark_version_is_accounted_for() -> None:
    """The guard itself: fails on an edit that is neither a bump nor named."""
    text, status = versions(config_path=PROJECT_ROOT / "asv.conf.json")
    assert status == 0, text


def edit(root: Path, old: str, new: str) -> None:
    path = root / "benchmarks" / "mind_cli.py"
    text = path.read_text()
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new))


def test_an_edit_fails_until_its_version_is_raised_and_recorded(tmp_path: Path) -> None:
    root = copy_project(tmp_path / "project")
    assert versions_in(root).returncode == 0
    # time_startup now times the front end: its meaning changed.
    edit(root, "run_mindc(self.startup)", "run_mindc(self.front_end)")
    failed = versions_in(root)
    assert failed.returncode == 1
    assert f"{EDITED} changed under version 1: if what it measures changed, raise its " in (
        failed.stdout
    )
    edit(
        root,
        'gradient generation."""\n\n    version = 1',
        'gradient generation."""\n\n    version = 2',
    )
    unrecorded = versions_in(root)
    assert unrecorded.returncode == 1
    assert f"{EDITED} version 2 is not recorded" in unrecorded.stdout
    recorded = versions_in(root, "--record")
    assert recorded.returncode == 0, recorded.stdout
    assert f"recorded {EDITED} version 2" in recorded.stdout
    assert versions_in(root).returncode == 0


def test_an_edit_that_keeps_the_meaning_is_named_once(tmp_path: Path) -> None:
    root = copy_project(tmp_path / "project")
    edit(root, "run_mindc(self.startup)", "run_mindc(self.startup)  # --version")  # a comment
    assert versions_in(root).returncode == 0  # asv's token fingerprint ignores comments
    edit(root, "self.startup = driver", "self.startup_call = driver")
    edit(root, "run_mindc(self.startup)", "run_mindc(self.startup_call)")
    assert versions_in(root).returncode == 1
    kept = versions_in(root, "--keep-meaning", "CliStages")
    assert kept.returncode == 0, kept.stdout
    assert f"kept the meaning of {EDITED} version 1" in kept.stdout
    nothing = versions_in(root, "--keep-meaning", "CliStages")
    assert nothing.returncode == 1 and nothing.stdout == ""
    assert nothing.stderr.startswith("mind_runner: --keep-meaning CliStages matches no edited")


def test_a_benchmark_without_an_explicit_version_is_named(tmp_path: Path) -> None:
    root = copy_project(tmp_path / "project")
    path = root / "benchmarks" / "mind_extra.py"
    path.write_text("class Extra:\n    def track_one(self) -> int:\n        return 1\n")
    failed = versions_in(root)
    assert failed.returncode == 1
    assert "mind_extra.Extra.track_one has no explicit `version`: give its class" in failed.stdout
