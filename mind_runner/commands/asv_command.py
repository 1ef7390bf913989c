"""Run asv's own commands with this project's configuration applied.

The only thing added to asv is the configuration of `commands.config` (the
MIND_REPO override) and one-line errors: everything else is asv's parser and
asv's command classes, called the way `asv` itself calls them.
"""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from mind_runner.commands.config import CONFIG_PATH, load_config
from mind_runner.util.errors import UserError

# asv commands that record results for a machine, and would prompt to describe it.
MACHINE_COMMANDS = ("run", "continuous", "find")
# asv run's range that names a file of commit hashes, one per line.
HASHFILE = "HASHFILE:"


def parse_asv_args(argv: list[str], config_path: Path = CONFIG_PATH) -> argparse.Namespace:
    """`asv ARGV...` parsed by asv's own parser."""
    from asv import commands

    parser, _ = commands.make_argparser()
    args: argparse.Namespace = parser.parse_args([*argv, "--config", str(config_path)])
    return args


def asv_main(
    argv: list[str],
    config_path: Path = CONFIG_PATH,
    adjust: Callable[[argparse.Namespace], None] | None = None,
) -> int:
    """`asv ARGV...`, as asv's own entry point runs it, but with MIND_REPO honoured;
    `adjust` may change the parsed arguments first."""
    from asv.console import log
    from asv.plugin_manager import plugin_manager

    argv = [absolute_hashfile(arg) for arg in argv]
    args = parse_asv_args(argv, config_path)
    if adjust is not None:
        adjust(args)
    enable_asv_log(args.verbose)
    if argv and argv[0] in MACHINE_COMMANDS:
        ensure_machine(args.machine)
    with in_config_dir(config_path):
        try:
            conf = load_config(config_path)
            for plugin in conf.plugins:
                plugin_manager.import_plugin(plugin)
            result = args.func.__self__.run_from_conf_args(conf, args)
        finally:
            log.flush()
    return int(result or 0)


@contextmanager
def in_config_dir(config_path: Path = CONFIG_PATH) -> Iterator[None]:
    """Where asv works (the config's folder, its paths are relative to it), asv's errors
    made one line."""
    from asv import util

    previous = Path.cwd()
    os.chdir(config_path.parent)
    try:
        yield
    except util.UserError as error:
        raise UserError(str(error)) from None
    except util.ProcessError as error:
        # asv lets a failing git (a clone without network, a bad range) escape as a traceback.
        detail = str(error.stderr or error.stdout or "").strip().splitlines()
        reason = detail[-1] if detail else f"exit status {error.retcode}"
        command = " ".join([Path(str(error.args[0])).name, *map(str, error.args[1:])])
        raise UserError(f"`{command}` failed: {reason}") from None
    finally:
        os.chdir(previous)


def absolute_hashfile(arg: str) -> str:
    """asv opens `HASHFILE:path` after the move into the config's folder: a relative path
    is the caller's, so it is made absolute here (`HASHFILE:-`, stdin, stays)."""
    if not arg.startswith(HASHFILE):
        return arg
    path = arg[len(HASHFILE) :]
    return arg if path == "-" else HASHFILE + str(Path(path).expanduser().absolute())


def enable_asv_log(verbose: bool) -> None:
    """asv's console output, switched on once per process.

    asv's `log.enable` adds a handler to the root logger on every call: `run` calls
    asv twice (run, then publish), and the second command printed each line twice.
    """
    from asv.console import log

    root = logging.getLogger()
    ours = log._stream_formatter
    if not any(getattr(handler, "emit", None) == ours for handler in root.handlers):
        log.enable(verbose)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)


def ensure_machine(machine: str | None) -> None:
    """Describe this machine to asv once, with asv's defaults (asv would prompt)."""
    from asv import util
    from asv.machine import Machine, MachineCollection

    name = machine or Machine.get_unique_machine_name()
    try:
        MachineCollection.load(name)
    except util.UserError:
        description = Machine.get_defaults()
        description["machine"] = name
        MachineCollection.save(name, description)
