"""Run asv's own commands with this project's configuration applied.

The only thing added to asv is the MIND_REPO override: asv.conf.json names
MIND on GitHub, and MIND_REPO (a git URL or a local path) points every asv
command at another repository without editing a tracked file. Everything else
is asv's parser and asv's command classes, called the way `asv` itself calls them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from mind_runner.errors import UserError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONFIG_PATH = PROJECT_ROOT / "asv.conf.json"
# asv commands that record results for a machine, and would prompt to describe it.
MACHINE_COMMANDS = ("run", "continuous", "find")


def load_config(config_path: Path = CONFIG_PATH) -> Any:
    """asv's Config for this project, with MIND_REPO applied."""
    from asv import util
    from asv.config import Config

    try:
        conf = Config.load(str(config_path))
    except util.UserError as error:
        raise UserError(str(error)) from None
    override = os.environ.get("MIND_REPO")
    if override:
        conf.repo = resolve_mind_repo(override)
    return conf


def resolve_mind_repo(value: str) -> str:
    """An existing local path (made absolute) or a URL; a path that is not there is an error."""
    local = Path(value).expanduser()
    if local.exists():
        return str(local.resolve())
    if "://" in value or "@" in value.split("/", 1)[0]:
        return value
    raise UserError(
        f"MIND_REPO={value} is neither an existing directory nor a git URL: "
        "give a clone of MIND or a URL such as https://github.com/star-ga/mind.git"
    )


def asv_main(argv: list[str], config_path: Path = CONFIG_PATH) -> int:
    """`asv ARGV...`, as asv's own entry point runs it, but with MIND_REPO honoured."""
    from asv import commands, util
    from asv.console import log
    from asv.plugin_manager import plugin_manager

    parser, _ = commands.make_argparser()
    args = parser.parse_args([*argv, "--config", str(config_path)])
    log.enable(args.verbose)
    if argv and argv[0] in MACHINE_COMMANDS:
        ensure_machine(args.machine)
    previous = Path.cwd()
    os.chdir(config_path.parent)
    try:
        conf = load_config(config_path)
        for plugin in conf.plugins:
            plugin_manager.import_plugin(plugin)
        result = args.func.__self__.run_from_conf_args(conf, args)
    except util.UserError as error:
        raise UserError(str(error)) from None
    except util.ProcessError as error:
        # asv lets a failing git (a clone without network, a bad range) escape as a traceback.
        detail = str(error.stderr or error.stdout or "").strip().splitlines()
        reason = detail[-1] if detail else f"exit status {error.retcode}"
        command = " ".join([Path(str(error.args[0])).name, *map(str, error.args[1:])])
        raise UserError(f"`{command}` failed: {reason}") from None
    finally:
        log.flush()
        os.chdir(previous)
    return int(result or 0)


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
