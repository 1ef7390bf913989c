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
from mind_runner.hooks.manifest import BINARIES, RUNTIME_BINARY, RUNTIME_FEATURES, BuildManifest
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


def cargo_command(features: tuple[str, ...], binaries: tuple[str, ...] = BINARIES) -> list[str]:
    """`cargo build --release --bin NAME...`: only what the benchmarks run.

    MIND's release profile links every binary as a whole program (LTO, one codegen
    unit), so `--bins` would pay for links nothing measures. The package, profile and
    features are those of a plain release build, so `mindc` is the binary MIND ships.
    `mind` (the runtime) gets a cargo call of its own: features unify across one
    call's library, and `mindc` would be linked with cpu-exec's code.
    """
    command = [find_tool("cargo"), "build", "--release"]
    for name in binaries:
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
        with log_path.open("w") as log:
            log.write(f"$ {' '.join(command)}\n# commit {request.commit}, features {features}\n")
            if starting is not None:
                log.write(f"# {_lock_note(starting)}\n")
        completed = _cargo(command, request, log_path, started)
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
    runtime = _build_runtime(request, declared, log_path)

    try:
        bin_dir = request.cache_dir / "bin"
        bin_dir.mkdir(parents=True, exist_ok=True)
        built = {name: executables[name] for name in BINARIES}
        if runtime.executable is not None:
            built[RUNTIME_BINARY] = runtime.executable
        for name, executable in built.items():
            shutil.copy2(executable, bin_dir / name)
        shutil.copy2(log_path, request.cache_dir / "build.log")
        dependencies = _keep_lock(request, starting)
        binary_features = dict.fromkeys(BINARIES, features)
        if runtime.executable is not None:
            binary_features[RUNTIME_BINARY] = runtime.features
        manifest = BuildManifest(
            commit=request.commit,
            features=features,
            declared_features=declared,
            rustc_version=rustc_version(),
            build_seconds=round(seconds, 3),
            binaries=tuple(built),
            binary_features=binary_features,
            runtime_not_built=runtime.not_built,
        )
        manifest.save(bin_dir)
    except OSError as error:
        # Half an entry must not stay: asv would reuse it.
        shutil.rmtree(request.cache_dir / "bin", ignore_errors=True)
        raise MachineFault.unwritable(
            f"cannot write {error.filename or request.cache_dir}", error
        ) from None
    runtime_note = (
        f"; {RUNTIME_BINARY} with [{', '.join(runtime.features)}] in {runtime.seconds:.2f} s"
        if runtime.executable is not None
        else f"; no {RUNTIME_BINARY}: {runtime.not_built}"
    )
    print(
        f"mind_runner: built MIND {short} with features [{', '.join(features)}] in {seconds:.2f} s"
        + runtime_note
        + (f"; {dependencies}" if dependencies else ""),
        file=sys.stderr,
    )
    return manifest


@dataclass(frozen=True)
class RuntimeBuild:
    """The second cargo call's outcome: `mind`, or why there is none."""

    features: tuple[str, ...]
    executable: Path | None
    seconds: float
    not_built: str | None


def _build_runtime(
    request: BuildRequest, declared: tuple[str, ...], log_path: Path
) -> RuntimeBuild:
    """`mind` with cpu-exec (and autodiff) where the commit declares cpu-exec.

    A `mind` that does not build is a fact about MIND's runtime, not about the commit:
    `mindc`'s figures are kept and the runtime's benchmarks skip with the reason.
    """
    features = tuple(f for f in RUNTIME_FEATURES if f in declared)
    if "cpu-exec" not in features:
        return RuntimeBuild(features, None, 0.0, "this commit declares no cpu-exec feature")
    command = cargo_command(features, (RUNTIME_BINARY,))
    started = time.perf_counter()
    try:
        with log_path.open("a") as log:
            log.write(f"\n$ {' '.join(command)}\n# the runtime engine, features {features}\n")
        completed = _cargo(command, request, log_path, started)
    except OSError as error:
        raise MachineFault.unwritable(f"cannot write {error.filename or log_path}", error) from None
    seconds = time.perf_counter() - started
    if completed.returncode != 0:
        _raise_if_killed(request.commit, completed.returncode, log_path)
        reason = f"`{RUNTIME_BINARY}` with {', '.join(features)} does not build (cargo exit " + (
            f"{completed.returncode}); build log: {log_path}"
        )
        record_fact(reason, commit=request.commit)
        return RuntimeBuild(features, None, seconds, reason)
    executable = executables_from_messages(completed.stdout).get(RUNTIME_BINARY)
    if executable is None:
        reason = f"the build produced no `{RUNTIME_BINARY}` binary; build log: {log_path}"
        return RuntimeBuild(features, None, seconds, reason)
    return RuntimeBuild(features, executable, seconds, None)


def _cargo(
    command: list[str], request: BuildRequest, log_path: Path, started: float
) -> subprocess.CompletedProcess[str]:
    """One cargo call in the checkout, its diagnostics appended to the build log; a
    SIGTERM (asv's install_timeout) is the machine's fault."""
    environment = dict(os.environ, CARGO_TARGET_DIR=str(request.target_dir))
    try:
        with log_path.open("a") as log, _stopped_by_sigterm():
            return subprocess.run(
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
            f"the build of MIND {request.commit[:8]} was stopped (SIGTERM) after "
            f"{time.perf_counter() - started:.0f} s",
            "if asv's install_timeout stopped it, raise install_timeout in asv.conf.json "
            f"and run again; build log: {log_path}",
        ) from None


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


def _raise_if_killed(commit: str, returncode: int, log_path: Path) -> None:
    """A signal killed cargo or a compiler: the machine's fault, never MIND's."""
    killed = _KILLED.search(log_path.read_text(errors="replace")) if log_path.is_file() else None
    if returncode < 0 or killed is not None:
        name = killed["name"] if killed is not None else signal.Signals(-returncode).name
        raise MachineFault(
            f"the build of MIND {commit[:8]} was killed ({name})",
            f"out of memory? a MIND build needs about 1 GB; run again (build log: {log_path})",
        )


def _raise_for_failed_build(commit: str, returncode: int, log_path: Path) -> None:
    """cargo said no: MIND's fact, unless a signal killed cargo or a compiler (the machine's)."""
    short = commit[:8]
    _raise_if_killed(commit, returncode, log_path)
    record_fact(
        f"does not build (cargo exit {returncode})", commit=commit, detail=f"build log: {log_path}"
    )
    raise UserError(
        f"build of MIND {short} failed (cargo exit {returncode}); build log: {log_path}"
    )
