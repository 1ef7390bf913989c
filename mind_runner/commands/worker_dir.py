"""One worker's own folders, so that several `asv run`s can share one checkout.

asv keeps a checkout of MIND, the installed binaries and the results under the
config's folders, and cargo locks its target dir: two asv processes on the same
folders would overwrite each other's checkout and wait on each other's builds.
A worker dir moves exactly those (asv's env_dir, results_dir, html_dir, and the
cargo target dir and carried Cargo.lock named in build_command) under one folder,
for every command run with MIND_RUNNER_WORKER_DIR set, the way MIND_REPO moves
the repository. With one carried lock, two workers would each start a build from
whichever lock the other wrote last (and read its commit from the other's file).
Build logs stay shared: they are named by commit, and workers get disjoint commits.
A relative worker dir is taken from asv.conf.json's folder, as asv's own paths are.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mind_runner.util.errors import UserError
from mind_runner.util.layout import CARGO_LOCK_DIR, CARGO_TARGET_DIR

WORKER_DIR_VARIABLE = "MIND_RUNNER_WORKER_DIR"
# How asv.conf.json's build_command names the shared target dir ({conf_dir} is asv's).
CONFIGURED_TARGET_DIR = "{conf_dir}/" + CARGO_TARGET_DIR.as_posix()
# How it names the carried Cargo.lock (optional: without it every build resolves afresh).
CONFIGURED_LOCK_DIR = "{conf_dir}/" + CARGO_LOCK_DIR.as_posix()
WORKER_LOCK_DIR = "cargo-lock"
"""A worker's own carried Cargo.lock, under its worker dir."""


def apply_worker_dir(conf: Any, worker_dir: Path) -> None:
    """Point asv's Config `conf` at the worker's own env, results, site, target dir and
    carried lock."""
    root = worker_dir.expanduser().resolve()
    conf.env_dir = str(root / "env")
    conf.results_dir = str(root / "results")
    conf.html_dir = str(root / "html")
    # build_command entries are str.format templates: braces in the path are doubled.
    target, lock = (
        str(root / name).replace("{", "{{").replace("}", "}}")
        for name in ("cargo-target", WORKER_LOCK_DIR)
    )
    commands = conf.build_command if isinstance(conf.build_command, list) else [conf.build_command]
    if sum(str(command).count(CONFIGURED_TARGET_DIR) for command in commands) != 1:
        raise UserError(
            f"asv.conf.json's build_command must name {CONFIGURED_TARGET_DIR} exactly once "
            f"for {WORKER_DIR_VARIABLE} to give each worker its own cargo target dir"
        )
    conf.build_command = [
        str(c).replace(CONFIGURED_TARGET_DIR, target).replace(CONFIGURED_LOCK_DIR, lock)
        for c in commands
    ]
