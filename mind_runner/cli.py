"""`python -m mind_runner ...`: asv's build hooks and the project's commands."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from mind_runner.errors import UserError


def _build(args: argparse.Namespace) -> int:
    from mind_runner.build import BuildRequest, build

    build(
        BuildRequest(
            source=Path(args.source),
            commit=args.commit,
            cache_dir=Path(args.cache),
            target_dir=Path(args.target_dir),
            log_dir=Path(args.log_dir),
        )
    )
    return 0


def _install(args: argparse.Namespace) -> int:
    from mind_runner.install import install

    install(Path(args.cache), Path(args.env_dir))
    return 0


def _uninstall(args: argparse.Namespace) -> int:
    from mind_runner.install import uninstall

    uninstall(Path(args.env_dir))
    return 0


def _asv(args: argparse.Namespace) -> int:
    from mind_runner.asv_commands import asv_main

    return asv_main(args.asv_args)


def _run(args: argparse.Namespace) -> int:
    from mind_runner.asv_commands import asv_main, ensure_machine

    ensure_machine(args.machine)
    machine = ["--machine", args.machine] if args.machine else []
    status = asv_main(["run", *([args.range] if args.range else []), *machine, *args.asv_args])
    publish_status = asv_main(["publish"])
    if status != 0:
        print(
            "mind_runner: asv run reported failures (a commit that does not build, or a "
            "benchmark error): see the output above and .asv/build-logs/",
            file=sys.stderr,
        )
    return status or publish_status


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m mind_runner", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    def command(
        name: str, handler: Callable[[argparse.Namespace], int], help_text: str
    ) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(handler=handler)
        return sub

    build = command("build", _build, "asv build_command: cargo build MIND at one commit")
    build.add_argument("--source", required=True, help="asv's checkout ({build_dir})")
    build.add_argument("--commit", required=True)
    build.add_argument("--cache", required=True, help="asv's {build_cache_dir}")
    build.add_argument("--target-dir", required=True, help="shared CARGO_TARGET_DIR")
    build.add_argument("--log-dir", required=True, help="where build logs are kept")

    install = command("install", _install, "asv install_command: binaries into the env")
    install.add_argument("--cache", required=True)
    install.add_argument("--env-dir", required=True)

    uninstall = command("uninstall", _uninstall, "asv uninstall_command")
    uninstall.add_argument("--env-dir", required=True)

    asv = command("asv", _asv, "any asv command, with MIND_REPO honoured")
    asv.add_argument("asv_args", nargs=argparse.REMAINDER)

    run = command("run", _run, "the main job: asv run over MIND commits, then asv publish")
    run.add_argument("range", nargs="?", help="git range, e.g. main~20..main (default: tip)")
    run.add_argument("--machine", help="asv machine name (default: this host)")
    run.epilog = "Any other option is passed on to `asv run` (e.g. --bench REGEX)."
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args, unknown = parser.parse_known_args(argv)
    if args.command == "run":
        args.asv_args = unknown
    elif unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    try:
        return int(args.handler(args))
    except UserError as error:
        print(f"mind_runner: {error}", file=sys.stderr)
        return 1
