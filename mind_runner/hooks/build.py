"""Build MIND's CLI at one commit, the way asv's `build_command` calls it.

asv checks every commit out into the same directory and runs `git clean -fdx`
there, so the cargo target directory lives outside the checkout and is shared
between commits: the next commit recompiles only what changed. The binaries are
taken from cargo's own artifact messages, never from `target/release`, where a
failed build leaves the previous commit's binary behind. The Cargo.lock a build
starts from and the one it ends with are `lockfile`'s business.

A build that cargo rejects is a fact about MIND (the commit does not build). A
build that could not happen or was cut short (no cargo, a full disk, a compiler
killed for memory, asv's install_timeout) is a fault of this machine: it is
raised as `MachineFault`, so that it is logged as one and no result is replaced.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from mind_runner.hooks import lockfile
from mind_runner.hooks.manifest import BINARIES, BuildManifest
from mind_runner.util.errors import MachineFault, UserError
from mind_runner.util.run_log import record_fact
from mind_runner.util.tools import locate_program

# Cargo features the benchmarks need, passed only where the commit declares them.
WANTED_FEATURES = ("autodiff",)


@dataclass(frozen=True)
class BuildRequest:
    source: Path
    commit: str
    cache_dir: Path
    target_dir: Path
    log_dir: Path
    lock_dir: Path | None = None
    """Where the previous build's Cargo.lock is carried (None: cargo resolves afresh)."""
    record_dir: Path | None = None
    """Where each commit's dependency record goes (results/builds/; None: nowhere)."""


def declared_features(source: Path) -> tuple[str, ...]:
    """The `[features]` this commit's Cargo.toml declares."""
    cargo_toml = source / "Cargo.toml"
    try:
        data = tomllib.loads(cargo_toml.read_text())
    except FileNotFoundError:
        raise UserError(f"{source} has no Cargo.toml: is MIND_REPO a MIND checkout?") from None
    except tomllib.TOMLDecodeError as error:
        raise UserError(f"{cargo_toml} is not valid TOML ({error})") from None
    features = data.get("features", {})
    return tuple(sorted(name for name in features if name != "default"))


def find_tool(name: str) -> str:
    """cargo/rustc from $CARGO/$RUSTC, PATH or rustup's default place."""
    found, wanted = locate_program(
        name, variable=name.upper(), extra_dirs=(Path.home() / ".cargo" / "bin",)
    )
    if found is None:
        raise MachineFault(
            f"{wanted} not found", f"install Rust (rustup), or set {name.upper()}=/path/to/{name}"
        )
    return str(found)


def rustc_version() -> str:
    completed = subprocess.run(
        [find_tool("rustc"), "--version"], capture_output=True, text=True, check=False
    )
    return completed.stdout.strip() or "unknown"


def cargo_command(features: tuple[str, ...]) -> list[str]:
    """`cargo build --release --bin mindc`: only what the benchmarks run.

    MIND's release profile links every binary as a whole program (LTO, one codegen
    unit), so `--bins` paid for a second link of `mind`, which nothing measures. The
    package, profile and features are those of a plain release build, so `mindc` is
    the binary MIND ships.
    """
    command = [find_tool("cargo"), "build", "--release"]
    for name in BINARIES:
        command += ["--bin", name]
    command.append("--message-format=json-render-diagnostics")
    if features:
        command += ["--features", ",".join(features)]
    return command


def executables_from_messages(stdout: str) -> dict[str, Path]:
    """Binary name -> path, from cargo's `compiler-artifact` JSON messages."""
    found: dict[str, Path] = {}
    for line in stdout.splitlines():
        if not line.startswith("{"):
            continue
        message = json.loads(line)
        executable = message.get("executable")
        if message.get("reason") == "compiler-artifact" and executable:
            found[message["target"]["name"]] = Path(executable)
    return found


# cargo's report of a compiler process killed by a signal, e.g. by the kernel's OOM killer.
_KILLED = re.compile(r"\(signal: \d+, (?P<name>SIG[A-Z]+)")


class _Stopped(Exception):
    """SIGTERM arrived: asv stops a build that outlives its install_timeout this way."""


def _stop(signum: int, frame: FrameType | None) -> None:
    raise _Stopped


@contextmanager
def _stopped_by_sigterm() -> Iterator[None]:
    previous = signal.signal(signal.SIGTERM, _stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def build(request: BuildRequest) -> BuildManifest:
    """Run cargo; on success fill the cache dir with binaries, log and manifest."""
    declared = declared_features(request.source)
    features = tuple(f for f in WANTED_FEATURES if f in declared)
    command = cargo_command(features)
    environment = dict(os.environ, CARGO_TARGET_DIR=str(request.target_dir))
    log_path = request.log_dir / f"{request.commit}.log"
    short = request.commit[:8]

    started = time.perf_counter()
    try:
        request.log_dir.mkdir(parents=True, exist_ok=True)
        starting = (
            lockfile.start_from(request.source, request.lock_dir)
            if request.lock_dir is not None
            else None
        )
        with log_path.open("w") as log, _stopped_by_sigterm():
            log.write(f"$ {' '.join(command)}\n# commit {request.commit}, features {features}\n")
            if starting is not None:
                log.write(f"# {_lock_note(starting)}\n")
            log.flush()
            completed = subprocess.run(
                command,
                cwd=request.source,
                env=environment,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                check=False,
            )
    except _Stopped:
        raise MachineFault(
            f"the build of MIND {short} was stopped (SIGTERM) after "
            f"{time.perf_counter() - started:.0f} s",
            "if asv's install_timeout stopped it, raise install_timeout in asv.conf.json "
            f"and run again; build log: {log_path}",
        ) from None
    except OSError as error:
        raise MachineFault.unwritable(f"cannot write {error.filename or log_path}", error) from None
    seconds = time.perf_counter() - started
    if completed.returncode != 0:
        _raise_for_failed_build(request.commit, completed.returncode, log_path)
    executables = executables_from_messages(completed.stdout)
    missing = [name for name in BINARIES if name not in executables]
    if missing:
        raise UserError(
            f"build of MIND {short} produced no {', '.join(missing)} binary; build log: {log_path}"
        )

    try:
        bin_dir = request.cache_dir / "bin"
        bin_dir.mkdir(parents=True, exist_ok=True)
        for name in BINARIES:
            shutil.copy2(executables[name], bin_dir / name)
        shutil.copy2(log_path, request.cache_dir / "build.log")
        dependencies = _keep_lock(request, starting)
        manifest = BuildManifest(
            commit=request.commit,
            features=features,
            declared_features=declared,
            rustc_version=rustc_version(),
            build_seconds=round(seconds, 3),
            binaries=BINARIES,
        )
        manifest.save(bin_dir)
    except OSError as error:
        # Half an entry must not stay: asv would reuse it.
        shutil.rmtree(request.cache_dir / "bin", ignore_errors=True)
        raise MachineFault.unwritable(
            f"cannot write {error.filename or request.cache_dir}", error
        ) from None
    print(
        f"mind_runner: built MIND {short} with features [{', '.join(features)}] in {seconds:.2f} s"
        + (f"; {dependencies}" if dependencies else ""),
        file=sys.stderr,
    )
    return manifest


def _lock_note(starting: lockfile.StartingLock) -> str:
    if starting.origin is lockfile.LockOrigin.CARRIED:
        return f"Cargo.lock carried from the build of {str(starting.carried_from)[:8]}"
    if starting.origin is lockfile.LockOrigin.COMMITTED:
        return "Cargo.lock: the commit's own"
    return "no Cargo.lock: cargo resolves every dependency as of today"


def _keep_lock(request: BuildRequest, starting: lockfile.StartingLock | None) -> str:
    """The resolved lock into the cache, the record and the carry; what changed, in words."""
    lock = request.source / lockfile.LOCK_NAME
    if not lock.is_file():
        return ""
    shutil.copy2(lock, request.cache_dir / lockfile.LOCK_NAME)
    packages = lockfile.dependency_set(lock.read_text())
    origin = starting.origin if starting is not None else lockfile.LockOrigin.FRESH
    carried_from = starting.carried_from if starting is not None else None
    if request.record_dir is not None:
        lockfile.BuildRecord(request.commit, origin, carried_from, tuple(sorted(packages))).save(
            request.record_dir
        )
    if request.lock_dir is not None:
        lockfile.carry_forward(lock, request.commit, request.lock_dir)
    if origin is lockfile.LockOrigin.COMMITTED:
        return "with the commit's own Cargo.lock"
    if origin is lockfile.LockOrigin.FRESH or starting is None:
        return "Cargo.lock resolved afresh"
    change = lockfile.describe_change(starting.packages, packages)
    return f"dependencies changed from {str(carried_from)[:8]}'s: {change}" if change else ""


def _raise_for_failed_build(commit: str, returncode: int, log_path: Path) -> None:
    """cargo said no: MIND's fact, unless a signal killed cargo or a compiler (the machine's)."""
    short = commit[:8]
    killed = _KILLED.search(log_path.read_text(errors="replace")) if log_path.is_file() else None
    if returncode < 0 or killed is not None:
        name = killed["name"] if killed is not None else signal.Signals(-returncode).name
        raise MachineFault(
            f"the build of MIND {short} was killed ({name})",
            f"out of memory? a MIND build needs about 1 GB; run again (build log: {log_path})",
        )
    record_fact(
        f"does not build (cargo exit {returncode})", commit=commit, detail=f"build log: {log_path}"
    )
    raise UserError(
        f"build of MIND {short} failed (cargo exit {returncode}); build log: {log_path}"
    )
