"""Run asv's own commands with this project's configuration applied.

What is added to asv is the configuration of `commands.config` (the MIND_REPO
override), one-line errors, a machine file replaced whole (`commands.machine_file`)
and, around a command that builds and measures MIND, the preflight checks
(`commands.preflight`), the run log and the guard over asv's results
(`commands.guard`), and a closing line per fault or fact.
Everything else is asv's parser and asv's command classes, called the way
`asv` itself calls them.
"""

from __future__ import annotations

import argparse
import errno
import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mind_runner.commands.config import CONFIG_PATH, load_config
from mind_runner.commands.guard import guarded, summary
from mind_runner.commands.machine_file import machine_file_replaced_whole
from mind_runner.commands.preflight import preflight
from mind_runner.util.errors import UserError
from mind_runner.util.layout import RUN_LOG_DIR, SAVING_DIR
from mind_runner.util.run_log import Kind, new_log, read

# asv commands that record results for a machine, and would prompt to describe it.
MACHINE_COMMANDS = ("run", "continuous", "find")
LAUNCH_METHOD = "forkserver"
"""How asv starts each benchmark unless `--launch-method` says otherwise: forked from one
process that imported the suite once, not a fresh interpreter per benchmark and
parameter combination (0.2 s each, most of the harness's time per commit: README,
"Harness cost"). The figures do not move: each `mindc` call is a process of its own,
and PyTorch's timings are taken in the forked process as before."""
# asv run's range that names a file of commit hashes, one per line.
HASHFILE = "HASHFILE:"

# asv's own words when a command selects nothing, and what the user can do about it.
_NOTHING_SELECTED = {
    "No benchmarks selected": (
        "no benchmark matches --bench {bench}: names look like "
        "mind_cli.GradientGeneration.time_mind_gradient_ir (see benchmarks/)"
    ),
    "No commit hashes selected": (
        "the range selects no commit: check it with `git log {range}` in MIND's repository"
    ),
}


class _Errors(logging.Handler):
    """asv's error lines (asv logs through the root logger)."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextmanager
def _asv_errors() -> Iterator[_Errors]:
    handler = _Errors()
    logging.getLogger().addHandler(handler)
    try:
        yield handler
    finally:
        logging.getLogger().removeHandler(handler)


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
    with machine_file_replaced_whole():  # workers started together read it as asv writes it
        return _asv_main(argv, config_path, adjust)


def _asv_main(
    argv: list[str],
    config_path: Path,
    adjust: Callable[[argparse.Namespace], None] | None,
) -> int:
    from asv.console import log
    from asv.plugin_manager import plugin_manager

    argv = [absolute_hashfile(arg) for arg in argv]
    args = parse_asv_args(argv, config_path)
    if adjust is not None:
        adjust(args)
    if getattr(args, "launch_method", "") is None:
        args.launch_method = LAUNCH_METHOD
    enable_asv_log(args.verbose)
    measures = bool(argv) and argv[0] in MACHINE_COMMANDS
    if measures:
        ensure_machine(args.machine)
    log_path = new_log(config_path.parent / RUN_LOG_DIR)
    with in_config_dir(config_path, run_log=log_path):
        try:
            conf = load_config(config_path)
            if measures:
                for note in preflight(conf, config_path.parent, builds=_builds(args)):
                    print(f"mind_runner: {note}", file=sys.stderr)
            for plugin in conf.plugins:
                plugin_manager.import_plugin(plugin)
            if not measures:
                return int(args.func.__self__.run_from_conf_args(conf, args) or 0)
            with (
                guarded(log_path, config_path.parent / SAVING_DIR) as guard,
                _asv_errors() as errors,
            ):
                status = int(args.func.__self__.run_from_conf_args(conf, args) or 0)
        finally:
            log.flush()
        if status == 1:
            _raise_for_nothing_selected(errors.messages, args)
    lines, status = summary(guard, status)
    if lines:
        print(flush=True)  # asv leaves its progress line open
    for line in lines:
        print(f"mind_runner: {line}", file=sys.stderr)
    return status


@contextmanager
def in_config_dir(config_path: Path = CONFIG_PATH, run_log: Path | None = None) -> Iterator[None]:
    """Where asv works (the config's folder, its paths are relative to it), asv's errors
    made one line (with the first fault of this machine in `run_log`, if any)."""
    from asv import util

    previous = Path.cwd()
    os.chdir(config_path.parent)
    try:
        yield
    except util.UserError as error:
        # e.g. asv found no commit to discover the benchmarks with: say why, if it was this machine.
        logged = read(run_log) if run_log is not None else []
        faults = [e.line() for e in logged if e.kind is Kind.HARNESS]
        raise UserError("; ".join([str(error).rstrip("."), *faults[:1]])) from None
    except util.ProcessError as error:
        # asv lets a failing git (a clone without network, a bad range) escape as a traceback.
        detail = str(error.stderr or error.stdout or "").strip().splitlines()
        reason = detail[-1] if detail else f"exit status {error.retcode}"
        command = " ".join([Path(str(error.args[0])).name, *map(str, error.args[1:])])
        raise UserError(f"`{command}` failed: {reason}") from None
    except OSError as error:
        if error.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        raise UserError(
            f"no space left on the device writing {error.filename or 'a file'}: free disk "
            "space and run again; results saved before are intact"
        ) from None
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


def _builds(args: Any) -> bool:
    """Whether asv will build MIND (not with --python=same / -E existing:...)."""
    specs = list(getattr(args, "env_spec", None) or [])
    return not (specs and all(str(spec).startswith("existing") for spec in specs))


def no_benchmark_matches(bench: list[str] | None) -> str:
    """What to say when `--bench` selects no benchmark (asv's or `run`'s own check)."""
    return _NOTHING_SELECTED["No benchmarks selected"].format(bench=" ".join(bench or []))


def _raise_for_nothing_selected(messages: list[str], args: Any) -> None:
    for message in messages:
        for words, advice in _NOTHING_SELECTED.items():
            if message.startswith(words):
                bench = " ".join(getattr(args, "bench", None) or [])
                raise UserError(advice.format(bench=bench, range=getattr(args, "range", "")))


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
