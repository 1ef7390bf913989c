"""Faults before and around a run: the toolchain, asv's mirror and build cache, options.

The build and install hooks are run as asv runs them (`python -m mind_runner
build ...` in a subprocess) against tiny crates and stand-in cargos.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mind_runner.commands import cli
from mind_runner.commands.asv_command import _raise_for_nothing_selected
from mind_runner.commands.preflight import preflight
from mind_runner.commands.shard import range_commits
from mind_runner.hooks.manifest import BINARIES, BuildManifest
from mind_runner.results.mirror import kept_mirror, mismatch, refresh_mirror
from mind_runner.util import run_log
from mind_runner.util.errors import MachineFault, UserError
from tests.conftest import copy_project
from tests.test_build import write_crate

PROJECT_ROOT = Path(__file__).resolve().parent.parent
COMMIT = "5eed" * 10


def hook(
    tmp_path: Path, *args: str, env: dict[str, str], log: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m mind_runner ARGS` as asv's build/install command runs it."""
    variables = {**os.environ, **env}
    if log is not None:
        variables[run_log.RUN_LOG_VARIABLE] = str(log)
    return subprocess.run(
        [sys.executable, "-m", "mind_runner", *args],
        cwd=PROJECT_ROOT,
        env=variables,
        capture_output=True,
        text=True,
        timeout=120,
    )


def build_args(tmp_path: Path, source: Path, log_dir: Path | None = None) -> list[str]:
    return [
        "build",
        "--source",
        str(source),
        "--commit",
        COMMIT,
        "--cache",
        str(tmp_path / "cache" / COMMIT),
        "--target-dir",
        str(tmp_path / "target"),
        "--log-dir",
        str(log_dir or tmp_path / "logs"),
    ]


def stand_in_cargo(tmp_path: Path, body: str) -> Path:
    cargo = tmp_path / "cargo"
    cargo.write_text(f"#!/bin/sh\n{body}\n")
    cargo.chmod(0o755)
    return cargo


def only_fault(log: Path) -> run_log.Entry:
    (entry,) = run_log.read(log)
    assert entry.kind is run_log.Kind.HARNESS and entry.commit == COMMIT
    return entry


# --- the build hook: faults of this machine, not "does not build" -------------------------


def test_no_cargo_is_a_fault_of_the_machine_not_a_commit_that_does_not_build(
    tmp_path: Path,
) -> None:
    source = write_crate(tmp_path / "src", "autodiff = []\n")
    log = tmp_path / "run.jsonl"
    completed = hook(
        tmp_path, *build_args(tmp_path, source), env={"CARGO": "/nonexistent/cargo"}, log=log
    )
    assert completed.returncode == 1
    assert completed.stderr == (
        "mind_runner: /nonexistent/cargo not found: install Rust (rustup), or set "
        "CARGO=/path/to/cargo\n"
    )
    assert only_fault(log).what == "/nonexistent/cargo not found"
    assert not (tmp_path / "logs" / f"{COMMIT}.log").exists()  # no build log to point at


def test_a_build_killed_by_a_signal_is_a_fault_of_the_machine(tmp_path: Path) -> None:
    """The kernel's OOM killer ends cargo (or rustc) with SIGKILL: not MIND's doing."""
    source = write_crate(tmp_path / "src", "autodiff = []\n")
    cargo = stand_in_cargo(tmp_path, "kill -KILL $$")
    log = tmp_path / "run.jsonl"
    completed = hook(tmp_path, *build_args(tmp_path, source), env={"CARGO": str(cargo)}, log=log)
    assert completed.returncode == 1
    assert completed.stderr.startswith(
        f"mind_runner: the build of MIND {COMMIT[:8]} was killed (SIGKILL): out of memory?"
    )
    assert only_fault(log).what == f"the build of MIND {COMMIT[:8]} was killed (SIGKILL)"


def test_a_build_stopped_by_asvs_install_timeout_is_a_fault_of_the_machine(
    tmp_path: Path,
) -> None:
    """asv stops a build past install_timeout with SIGTERM to its process group."""
    source = write_crate(tmp_path / "src", "autodiff = []\n")
    # The stand-in says it started through a FIFO; opened without blocking, the FIFO turns
    # readable only when it writes (Linux reports no hang-up before a first writer).
    started = tmp_path / "cargo-started"
    os.mkfifo(started)
    listening = os.open(started, os.O_RDONLY | os.O_NONBLOCK)
    cargo = stand_in_cargo(tmp_path, f"echo started > {started}; exec sleep 60")
    log = tmp_path / "run.jsonl"
    process = subprocess.Popen(
        [sys.executable, "-m", "mind_runner", *build_args(tmp_path, source)],
        cwd=PROJECT_ROOT,
        env={**os.environ, "CARGO": str(cargo), run_log.RUN_LOG_VARIABLE: str(log)},
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    # Stop it once cargo runs, as asv would: wait for the stand-in to say it started.
    said, _, _ = select.select([listening], [], [], 60.0)
    message = os.read(listening, 64) if said else b""
    os.close(listening)
    assert message == b"started\n", "the build hook never started cargo"
    os.killpg(process.pid, signal.SIGTERM)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 1
    assert stderr.startswith(f"mind_runner: the build of MIND {COMMIT[:8]} was stopped (SIGTERM)")
    assert "raise install_timeout in asv.conf.json" in stderr
    assert only_fault(log).what.startswith(f"the build of MIND {COMMIT[:8]} was stopped")


def test_a_build_that_cannot_write_its_log_is_a_fault_of_the_machine(tmp_path: Path) -> None:
    source = write_crate(tmp_path / "src", "autodiff = []\n")
    not_a_folder = tmp_path / "logs"
    not_a_folder.write_text("a file where the log folder should be")
    log = tmp_path / "run.jsonl"
    completed = hook(tmp_path, *build_args(tmp_path, source, not_a_folder), env={}, log=log)
    assert completed.returncode == 1
    assert completed.stderr.startswith("mind_runner: cannot write ")
    assert completed.stderr.endswith(": free disk space (or fix permissions) and run again\n")
    only_fault(log)


def test_a_commit_that_does_not_build_is_a_fact_about_mind(tmp_path: Path) -> None:
    source = write_crate(tmp_path / "src", "autodiff = []\n", broken=True)
    log = tmp_path / "run.jsonl"
    completed = hook(tmp_path, *build_args(tmp_path, source), env={}, log=log)
    assert completed.returncode == 1
    (entry,) = run_log.read(log)
    assert entry.kind is run_log.Kind.MIND
    assert entry.what == "does not build (cargo exit 101)"
    assert entry.detail == f"build log: {tmp_path / 'logs' / f'{COMMIT}.log'}"


# --- asv's build cache: a damaged entry is never benchmarked -------------------------------


def cache_entry(root: Path, commit: str = COMMIT) -> Path:
    """A whole entry as the build hook leaves it, with asv's timestamp beside it."""
    bin_dir = root / commit / "bin"
    bin_dir.mkdir(parents=True)
    for name in BINARIES:
        (bin_dir / name).write_text("#!/bin/sh\necho stand-in\n")
        (bin_dir / name).chmod(0o755)
    BuildManifest(
        commit, ("autodiff",), ("autodiff",), "rustc", 1.0, BINARIES, {"mindc": ("autodiff",)}
    ).save(bin_dir)
    (root / f"{commit}.timestamp").touch()
    return root / commit


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        pytest.param(
            lambda entry: (entry / "bin" / "mindc").unlink(), "it lacks mindc", id="no-mindc"
        ),
        pytest.param(
            lambda entry: (entry / "bin" / "mind-build.json").write_text('{"commit": "5ee'),
            "its mind-build.json is not readable (JSONDecodeError)",
            id="corrupt-manifest",
        ),
        pytest.param(
            lambda entry: (entry / "bin" / "mindc").write_bytes(b""),
            "its mindc is empty or not executable",
            id="empty-mindc",
        ),
    ],
)
def test_install_refuses_a_damaged_entry_and_removes_it(
    tmp_path: Path, damage: Any, problem: str
) -> None:
    entry = cache_entry(tmp_path / "cache")
    damage(entry)
    log = tmp_path / "run.jsonl"
    env_dir = tmp_path / "env"
    (env_dir / "bin").mkdir(parents=True)
    completed = hook(
        tmp_path, "install", "--cache", str(entry), "--env-dir", str(env_dir), env={}, log=log
    )
    assert completed.returncode == 1
    assert completed.stderr == (
        f"mind_runner: build cache entry {entry} is corrupt ({problem}): removed it; run this "
        "commit again and asv builds it afresh\n"
    )
    assert not entry.exists()  # asv finds no entry next time and builds the commit
    assert list((env_dir / "bin").iterdir()) == []  # nothing of it was installed
    only_fault(log)


def test_preflight_removes_damaged_entries_so_asv_rebuilds_them_in_this_run(
    tmp_path: Path,
) -> None:
    caches = tmp_path / ".asv" / "env" / "0123abcd" / "asv-build-cache"
    whole = cache_entry(caches, "a" * 40)
    damaged = cache_entry(caches, "b" * 40)
    (damaged / "bin" / "mindc").unlink()
    conf = argparse.Namespace(env_dir=".asv/env", repo=str(tmp_path), project="mind")
    notes = preflight(conf, tmp_path, builds=False)
    assert notes == [
        f"build cache entry {damaged} was damaged (it lacks mindc): removed, asv rebuilds it"
    ]
    assert whole.is_dir() and not damaged.exists()


def test_preflight_stops_a_run_without_cargo_before_asv_starts(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    (tmp_path / "mind").mkdir()
    subprocess.run(["git", "init", "-q", str(tmp_path / "mind")], check=True)
    completed = subprocess.run(
        [sys.executable, "-m", "mind_runner", "run", "--machine", "m", "--bench", "x"],
        cwd=project,
        env={
            "PATH": os.environ["PATH"],
            "HOME": str(tmp_path),
            "MIND_REPO": str(tmp_path / "mind"),
            "CARGO": "/nonexistent/cargo",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 1
    assert completed.stderr == (
        "mind_runner: /nonexistent/cargo not found: install Rust (rustup), or set "
        "CARGO=/path/to/cargo\n"
    )
    assert not (project / "results").exists() and not (project / ".asv" / "env").exists()


# --- MIND_REPO: asv's mirror follows the repository ------------------------------------------


def git_repository(path: Path, message: str) -> str:
    environment = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    for command in (
        ["git", "init", "-q", "-b", "main", str(path)],
        ["git", "-C", str(path), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q",
         "--allow-empty", "-m", message],
    ):  # fmt: skip
        subprocess.run(command, check=True, env=environment)
    return "file://" + str(path)


def mirror_of(url: str, path: Path) -> None:
    """What asv does on its first run with a remote `repo`."""
    subprocess.run(["git", "clone", "-q", "--mirror", url, str(path)], check=True)


def test_another_mind_repo_never_reuses_the_first_ones_mirror(tmp_path: Path) -> None:
    first = git_repository(tmp_path / "upstream", "upstream")
    second = git_repository(tmp_path / "fork", "fork")
    project = tmp_path / "project"
    project.mkdir()
    mirror_of(first, project / "mind")
    conf = argparse.Namespace(repo=second, project="mind")
    assert mismatch(conf, project) == f"{project / 'mind'} mirrors {first}, not {second}"
    line = refresh_mirror(conf, project)
    assert line == (
        f"{project / 'mind'} mirrors {first}, not {second}: moved that mirror to "
        f"{kept_mirror(project, first)}; asv clones it afresh"
    )
    assert not (project / "mind").exists()  # asv clones the fork there
    mirror_of(second, project / "mind")
    # Back to the first: its mirror comes back, nothing is cloned again.
    conf = argparse.Namespace(repo=first, project="mind")
    line = refresh_mirror(conf, project)
    assert line is not None and line.endswith("put back the mirror of it kept there")
    assert mismatch(conf, project) is None
    assert kept_mirror(project, second).is_dir()


def test_shard_and_backfill_list_the_commits_of_the_repository_configured_now(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    first = git_repository(tmp_path / "upstream", "upstream")
    second = git_repository(tmp_path / "fork", "fork")
    project = tmp_path / "project"
    project.mkdir()
    config = project / "asv.conf.json"
    config.write_text(json.dumps({"version": 1, "project": "mind", "repo": first, "dvcs": "git"}))
    mirror_of(first, project / "mind")  # an earlier run's
    monkeypatch.setenv("MIND_REPO", second)
    fork = subprocess.run(
        ["git", "-C", str(tmp_path / "fork"), "rev-parse", "HEAD"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    assert range_commits("main", config_path=config) == [fork]
    assert f"moved that mirror to {kept_mirror(project, first)}" in capsys.readouterr().err


def test_a_local_repository_needs_no_mirror(tmp_path: Path) -> None:
    local = tmp_path / "mind-clone"
    git_repository(local, "local")
    conf = argparse.Namespace(repo=str(local), project="mind")
    assert refresh_mirror(conf, tmp_path) is None


# --- options without a range, and a --bench that matches nothing ---------------------------


@pytest.mark.parametrize(
    ("argv", "bench", "attribute", "range_"),
    [
        (["--bench", "track_gradient_ir"], ["track_gradient_ir"], None, None),
        (["-a", "repeat=1"], None, {"repeat": 1}, None),
        (["--machine", "m", "main~3..main", "-a", "repeat=1"], None, {"repeat": 1}, "main~3..main"),
    ],
)
def test_run_hands_every_argument_to_asvs_own_parser(
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    bench: list[str] | None,
    attribute: dict[str, int] | None,
    range_: str | None,
) -> None:
    """As the README says: options go to `asv run`; without a range asv takes the tip.

    `run` asks asv twice (MIND's side, then PyTorch's at the newest commit): each time
    with every argument as given, only the selection and steps adjusted."""
    from mind_runner.commands import run as run_command
    from mind_runner.commands.asv_command import parse_asv_args

    seen: list[list[str]] = []
    parsed = []

    def asv_main(args: list[str], config_path: Path, adjust: Any = None) -> int:
        seen.append(args)
        parsed.append(parse_asv_args(args, config_path))
        if adjust is not None:
            adjust(parsed[-1])
        return 0

    monkeypatch.setattr(run_command, "asv_main", asv_main)
    monkeypatch.setattr(cli, "_publish_offline", lambda args: 0)
    assert cli.main(["run", *argv]) == 0
    sides = [False, True]
    if bench is not None:  # a --bench of MIND's side only: PyTorch's side is not run
        sides = [False]
    assert seen == [["run", *argv]] * len(sides)
    for args, pytorch in zip(parsed, sides, strict=True):
        assert (args.attribute, args.range) == (attribute, range_)
        assert args.bench == run_command.side_regexes(bench, pytorch)
        assert args.steps == (1 if pytorch else None)


def test_a_bench_that_matches_nothing_is_a_user_error_not_a_build_failure() -> None:
    args = argparse.Namespace(bench=["no_such_thing"], range=None)
    with pytest.raises(UserError) as raised:
        _raise_for_nothing_selected(["No benchmarks selected"], args)
    assert str(raised.value) == (
        "no benchmark matches --bench no_such_thing: names look like "
        "mind_cli.GradientGeneration.time_mind_gradient_ir (see benchmarks/)"
    )
    assert not isinstance(raised.value, MachineFault)


def test_a_range_that_selects_nothing_says_how_to_check_it() -> None:
    args = argparse.Namespace(bench=None, range="main..main")
    with pytest.raises(UserError) as raised:
        _raise_for_nothing_selected(["No commit hashes selected"], args)
    assert str(raised.value) == (
        "the range selects no commit: check it with `git log main..main` in MIND's repository"
    )
