"""Run asv's own commands with this project's configuration applied.

What is added to asv is the configuration of `commands.config` (the MIND_REPO
override), one-line errors, and, around a command that builds and measures
MIND, the preflight checks (`commands.preflight`), the run log and the guard
over asv's results (`commands.guard`), and a closing line per fault or fact.
Everything else is asv's parser and asv's command classes, called the way
`asv` itself calls them.
"""

from __future__ import annotations

import errno
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mind_runner.commands.config import CONFIG_PATH, load_config
from mind_runner.commands.guard import guarded, summary
from mind_runner.commands.preflight import preflight
from mind_runner.util.errors import UserError
from mind_runner.util.layout import RUN_LOG_DIR, SAVING_DIR
from mind_runner.util.run_log import Kind, new_log, read

# asv commands that record results for a machine, and would prompt to describe it.
MACHINE_COMMANDS = ("run", "continuous", "find")

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


def asv_main(argv: list[str], config_path: Path = CONFIG_PATH) -> int:
    """`asv ARGV...`, as asv's own entry point runs it, but with MIND_REPO honoured."""
    from asv import commands, util
    from asv.console import log
    from asv.plugin_manager import plugin_manager

    parser, _ = commands.make_argparser()
    args = parser.parse_args([*argv, "--config", str(config_path)])
    log.enable(args.verbose)
    measures = bool(argv) and argv[0] in MACHINE_COMMANDS
    log_path = new_log(config_path.parent / RUN_LOG_DIR)
    previous = Path.cwd()
    os.chdir(config_path.parent)
    try:
        conf = load_config(config_path)
        if measures:
            ensure_machine(args.machine)
            for note in preflight(conf, config_path.parent, builds=_builds(args)):
                print(f"mind_runner: {note}", file=sys.stderr)
        for plugin in conf.plugins:
            plugin_manager.import_plugin(plugin)
        if not measures:
            return int(args.func.__self__.run_from_conf_args(conf, args) or 0)
        with guarded(log_path, config_path.parent / SAVING_DIR) as guard, _asv_errors() as errors:
            status = int(args.func.__self__.run_from_conf_args(conf, args) or 0)
        if status == 1:
            _raise_for_nothing_selected(errors.messages, args)
        lines, status = summary(guard, status)
        if lines:
            print(flush=True)  # asv leaves its progress line open
        for line in lines:
            print(f"mind_runner: {line}", file=sys.stderr)
        return status
    except util.UserError as error:
        # e.g. asv found no commit to discover the benchmarks with: say why, if it was this machine.
        faults = [e.line() for e in read(log_path) if e.kind is Kind.HARNESS]
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
        log.flush()
        os.chdir(previous)


def _builds(args: Any) -> bool:
    """Whether asv will build MIND (not with --python=same / -E existing:...)."""
    specs = list(getattr(args, "env_spec", None) or [])
    return not (specs and all(str(spec).startswith("existing") for spec in specs))


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
