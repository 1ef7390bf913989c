"""Cargo.lock carried from build to build, recorded per commit, with a registry on disk.

No network: CARGO_HOME is a temporary directory whose config.toml replaces crates.io
with a `directory` source (vendored crates, each with a .cargo-checksum.json), the
way an offline mirror does. The crate `dep` exists there as 1.0.0 first; 1.1.0
appears later, as a new release appears on crates.io between two builds.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from mind_runner.commands.config import CONFIG_PATH, load_config
from mind_runner.hooks.build import BuildRequest, build
from mind_runner.hooks.lockfile import (
    BuildRecord,
    LockOrigin,
    dependency_changes,
    load_records,
)
from mind_runner.util.errors import UserError
from mind_runner.util.layout import (
    BUILD_LOG_DIR,
    BUILD_RECORD_DIR,
    CARGO_LOCK_DIR,
    CARGO_TARGET_DIR,
)

CRATES_IO = "registry+https://github.com/rust-lang/crates.io-index"
MINDC = 'fn main() { println!("{}", dep::VERSION); }\n'


def vendor(registry: Path, version: str) -> None:
    """One crate in a directory source: its sources and the checksum file cargo wants."""
    crate = registry / f"dep-{version}"
    (crate / "src").mkdir(parents=True)
    (crate / "Cargo.toml").write_text(
        f'[package]\nname = "dep"\nversion = "{version}"\nedition = "2021"\n'
    )
    (crate / "src" / "lib.rs").write_text(f'pub const VERSION: &str = "{version}";\n')
    package = hashlib.sha256(f"dep {version}".encode()).hexdigest()
    (crate / ".cargo-checksum.json").write_text(f'{{"files": {{}}, "package": "{package}"}}')


def checkout(root: Path, requirement: str, revision: int) -> Path:
    """A MIND stand-in at one commit, as asv leaves it: no Cargo.lock, fresh mtimes."""
    source = root / f"checkout-{revision}"
    (source / "src" / "bin").mkdir(parents=True)
    (source / "Cargo.toml").write_text(
        '[package]\nname = "mind"\nversion = "0.1.0"\nedition = "2021"\n\n'
        "[features]\nautodiff = []\n\n"
        f'[dependencies]\ndep = "{requirement}"\n'
    )
    (source / "src" / "bin" / "mindc.rs").write_text(MINDC + f"// revision {revision}\n")
    return source


@pytest.fixture
def registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cargo_home = tmp_path / "cargo-home"
    cargo_home.mkdir()
    crates = tmp_path / "vendor"
    crates.mkdir()
    (cargo_home / "config.toml").write_text(
        '[source.crates-io]\nreplace-with = "on-disk"\n\n'
        f'[source.on-disk]\ndirectory = "{crates}"\n'
    )
    monkeypatch.setenv("CARGO_HOME", str(cargo_home))
    monkeypatch.delenv("MIND_BENCH_LOCKFILE", raising=False)
    vendor(crates, "1.0.0")
    return crates


def build_commit(tmp_path: Path, source: Path, commit: str) -> str:
    """Build like asv's build_command, run the binary: the dep version it was linked with."""
    build(
        BuildRequest(
            source=source,
            commit=commit,
            cache_dir=tmp_path / "cache" / commit,
            target_dir=tmp_path / "target",
            log_dir=tmp_path / "logs",
            lock_dir=tmp_path / "lock",
            record_dir=tmp_path / "results" / "builds",
        )
    )
    mindc = tmp_path / "cache" / commit / "bin" / "mindc"
    return subprocess.run([mindc], capture_output=True, text=True, check=True).stdout.strip()


def test_a_carried_lock_keeps_versions_until_a_cargo_toml_forces_a_change(
    tmp_path: Path, registry: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second, third = "a" * 40, "b" * 40, "c" * 40
    assert build_commit(tmp_path, checkout(tmp_path, "1", 1), first) == "1.0.0"
    vendor(registry, "1.1.0")  # a new release appears between two builds
    assert build_commit(tmp_path, checkout(tmp_path, "1", 2), second) == "1.0.0"
    assert build_commit(tmp_path, checkout(tmp_path, "1.1", 3), third) == "1.1.0"

    records = load_records(tmp_path / "results" / "builds")
    assert records[first] == BuildRecord(first, LockOrigin.FRESH, None, (f"dep 1.0.0 {CRATES_IO}",))
    assert records[second] == BuildRecord(
        second, LockOrigin.CARRIED, first, (f"dep 1.0.0 {CRATES_IO}",)
    )
    assert records[third].packages == (f"dep 1.1.0 {CRATES_IO}",)
    (change,) = dependency_changes(records, [first, second, third])
    assert (change.commit, change.previous) == (third, second)
    assert change.added == (f"dep 1.1.0 {CRATES_IO}",)
    assert change.removed == (f"dep 1.0.0 {CRATES_IO}",)
    # Every build's resolved lock is in asv's build cache beside the binary.
    cached = (tmp_path / "cache" / second / "Cargo.lock").read_text()
    assert 'name = "dep"\nversion = "1.0.0"' in cached
    log = (tmp_path / "logs" / f"{third}.log").read_text()
    assert f"Cargo.lock carried from the build of {second[:8]}" in log

    # Without the carried lock, the same commit would have picked up the new release.
    monkeypatch.setenv("MIND_BENCH_LOCKFILE", "fresh")
    assert build_commit(tmp_path, checkout(tmp_path, "1", 4), "d" * 40) == "1.1.0"
    assert load_records(tmp_path / "results" / "builds")["d" * 40].lockfile is LockOrigin.FRESH


def test_changes_follow_the_history_not_the_build_order(tmp_path: Path, registry: Path) -> None:
    """asv builds a range newest first: the change is still marked where history has it."""
    older, newer = "e" * 40, "f" * 40
    vendor(registry, "1.1.0")
    assert build_commit(tmp_path, checkout(tmp_path, "1.1", 1), newer) == "1.1.0"
    assert build_commit(tmp_path, checkout(tmp_path, "=1.0.0", 2), older) == "1.0.0"
    records = load_records(tmp_path / "results" / "builds")
    assert [c.commit for c in dependency_changes(records, [older, newer])] == [newer]
    assert dependency_changes(records, [older]) == []


def test_a_commits_own_lock_is_used_and_recorded_as_such(tmp_path: Path, registry: Path) -> None:
    vendor(registry, "1.1.0")
    assert build_commit(tmp_path, checkout(tmp_path, "1", 1), "1" * 40) == "1.1.0"
    own = checkout(tmp_path, "1", 2)
    checksum = hashlib.sha256(b"dep 1.0.0").hexdigest()
    (own / "Cargo.lock").write_text(
        "version = 4\n\n"
        f'[[package]]\nname = "dep"\nversion = "1.0.0"\nsource = "{CRATES_IO}"\n'
        f'checksum = "{checksum}"\n\n'
        '[[package]]\nname = "mind"\nversion = "0.1.0"\ndependencies = [\n "dep",\n]\n'
    )
    assert build_commit(tmp_path, own, "2" * 40) == "1.0.0"
    assert load_records(tmp_path / "results" / "builds")["2" * 40].lockfile is (
        LockOrigin.COMMITTED
    )


def test_an_unknown_lockfile_mode_says_what_to_use(
    tmp_path: Path, registry: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MIND_BENCH_LOCKFILE", "frozen")
    with pytest.raises(UserError, match=r"MIND_BENCH_LOCKFILE=frozen .* use carry \(default\)"):
        build_commit(tmp_path, checkout(tmp_path, "1", 1), "3" * 40)


def test_a_broken_record_is_named(tmp_path: Path) -> None:
    (tmp_path / ("4" * 40 + ".toml")).write_text("commit = \n")
    with pytest.raises(UserError, match=r"unreadable build record .*: delete it"):
        load_records(tmp_path)


def test_asv_conf_build_command_names_the_layouts_folders() -> None:
    (command,) = load_config(CONFIG_PATH).build_command
    for folder in (BUILD_LOG_DIR, CARGO_TARGET_DIR, CARGO_LOCK_DIR, BUILD_RECORD_DIR):
        assert f"{{conf_dir}}/{folder} " in command + " ", folder
