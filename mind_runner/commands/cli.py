"""`python -m mind_runner ...`: asv's build hooks and the project's commands."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from mind_runner.util.errors import MachineFault, UserError
from mind_runner.util.run_log import record_fault


def _build(args: argparse.Namespace) -> int:
    from mind_runner.hooks.build import BuildRequest, build

    try:
        build(
            BuildRequest(
                source=Path(args.source),
                commit=args.commit,
                cache_dir=Path(args.cache),
                target_dir=Path(args.target_dir),
                log_dir=Path(args.log_dir),
                lock_dir=Path(args.lock_dir) if args.lock_dir else None,
                record_dir=Path(args.record_dir) if args.record_dir else None,
            )
        )
    except MachineFault as fault:
        raise record_fault(fault, commit=args.commit) from None
    return 0


def _install(args: argparse.Namespace) -> int:
    from mind_runner.hooks.install import install

    try:
        install(Path(args.cache), Path(args.env_dir))
    except MachineFault as fault:
        # asv names a build cache entry by its commit.
        commit = os.environ.get("ASV_COMMIT") or Path(args.cache).name
        raise record_fault(fault, commit=commit) from None
    return 0


def _uninstall(args: argparse.Namespace) -> int:
    from mind_runner.hooks.install import uninstall

    uninstall(Path(args.env_dir))
    return 0


def _asv(args: argparse.Namespace) -> int:
    from mind_runner.commands.asv_command import asv_main

    return asv_main(args.asv_args)


def _run(args: argparse.Namespace) -> int:
    """asv run (its own parser reads the range and every option), then publish.

    `commands.run` asks asv twice: MIND's benchmarks at every commit, PyTorch's at
    the newest one (`--pytorch-everywhere`: all at every commit). The closing lines
    (faults of this machine, facts about MIND) come from `asv_main`; the site is
    published whatever the run's status.
    """
    from mind_runner.commands.run import run

    status = run(None, args.asv_args, pytorch_everywhere=args.pytorch_everywhere)
    publish_status = _publish_after_run()
    return status or publish_status


def _publish_after_run() -> int:
    """The site, published whatever the run's status; a refusal is one line, status 1."""
    try:
        return _publish_offline([])
    except UserError as error:
        print(f"mind_runner: {error}", file=sys.stderr)
        return 1


def _publish_offline(asv_args: list[str]) -> int:
    """asv publish, then the site's CDN libraries served from html/vendor/.

    Never over a good site with an empty one: results asv would ignore as a
    whole (a machine without machine.json, nothing readable) stop it first;
    single unreadable files are named, left out, and make the status 1.
    """
    from mind_runner.commands import config
    from mind_runner.commands.asv_command import asv_main
    from mind_runner.commands.config import html_dir, results_dir, vendor_cache_dir
    from mind_runner.commands.regressions import load_exact_steps, write_steps
    from mind_runner.results.asv_results import publishable
    from mind_runner.site.offline import make_offline

    left_out = publishable(results_dir(config.CONFIG_PATH))
    status = asv_main(["publish", *asv_args])
    if status == 0:
        print(make_offline(html_dir(), vendor_cache_dir()).summary())
        found, site = load_exact_steps(config.CONFIG_PATH)
        print(f"mind_runner: steps in exact figures: {write_steps(site, found)}")
        coverage = _write_coverage(site)
        if coverage is not None:
            print(f"mind_runner: rule coverage: {coverage}")
    for unreadable in left_out:
        print(f"mind_runner: left out of the site: {unreadable.line()}", file=sys.stderr)
    return status or (1 if left_out else 0)


def _write_coverage(site: Path) -> Path | None:
    """The rule-coverage page, from every machine's results; None where none has any."""
    from mind_runner.commands import config
    from mind_runner.results.asv_results import list_machines, load_machine
    from mind_runner.site.coverage_page import write_coverage_page

    conf = config.load_config(config.CONFIG_PATH)
    results = config.results_dir(config.CONFIG_PATH)
    machines = [load_machine(results, name) for name in list_machines(results)]
    return write_coverage_page(site, machines, str(conf.show_commit_url or ""))


def _publish(args: argparse.Namespace) -> int:
    return _publish_offline([*([args.range] if args.range else []), *args.no_pull])


def _regressions(args: argparse.Namespace) -> int:
    from mind_runner.commands.regressions import run_regressions

    text, status = run_regressions(machine=args.machine, everything=args.all)
    print(text)
    return status


def _find(args: argparse.Namespace) -> int:
    from mind_runner.commands.find import find

    options = [*args.invert, *args.skip_save, *args.show_stderr]
    if args.machine:
        options += ["--machine", args.machine]
    return find(args.range, args.bench, options)


def _shard(args: argparse.Namespace) -> int:
    from mind_runner.commands.shard import shard

    return shard(args.range, args.shards, Path(args.out), pull=not args.no_pull)


def _merge(args: argparse.Namespace) -> int:
    from mind_runner.commands.config import results_dir
    from mind_runner.commands.merge import merge

    merge(
        [Path(folder) for folder in args.folders], Path(args.into) if args.into else results_dir()
    )
    return 0


def _rehash(args: argparse.Namespace) -> int:
    from mind_runner.commands.rehash import rehash

    return rehash(
        Path(args.folder),
        Path(args.map),
        Path(args.out),
        reverse=args.reverse,
        machines=tuple(args.machine),
    )


def _backfill(args: argparse.Namespace) -> int:
    from mind_runner.commands.backfill import backfill

    status = backfill(args.range, args.shards, args.machine, args.asv_args, every=args.every)
    publish_status = _publish_after_run()
    return status or publish_status


def _machine_class(args: argparse.Namespace) -> int:
    from mind_runner.commands.machine_class import describe_class

    print(describe_class(args.prefix))
    return 0


def _bisect(args: argparse.Namespace) -> int:
    from asv.machine import Machine

    from mind_runner.commands.asv_command import ensure_machine
    from mind_runner.commands.bisect import bisect, render

    machine = args.machine or Machine.get_unique_machine_name()
    ensure_machine(machine)
    narrowed = bisect(machine, args.asv_args, width=args.shards)
    print(render(narrowed))
    publish_status = _publish_after_run() if narrowed.measured else 0
    return publish_status


def _harness_cost(args: argparse.Namespace) -> int:
    from mind_runner.commands.harness_cost import harness_cost

    print(harness_cost(args.machine))
    return 0


def _versions(args: argparse.Namespace) -> int:
    from mind_runner.commands.versions import versions

    text, status = versions(record=args.record, keep_meaning=args.keep_meaning)
    print(text)
    return status


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return int(text)


def _report(args: argparse.Namespace) -> int:
    from mind_runner.commands.report import run_report

    return run_report(
        commit=args.commit,
        machine=args.machine,
        iterations=args.iterations,
        json_path=None if args.json is None else Path(args.json),
        env=args.env,
    )


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
    build.add_argument(
        "--lock-dir", help="carry the last build's Cargo.lock from here (default: do not)"
    )
    build.add_argument(
        "--record-dir", help="write each commit's dependency record here (results/builds)"
    )

    install = command("install", _install, "asv install_command: binaries into the env")
    install.add_argument("--cache", required=True)
    install.add_argument("--env-dir", required=True)

    uninstall = command("uninstall", _uninstall, "asv uninstall_command")
    uninstall.add_argument("--env-dir", required=True)

    asv = command("asv", _asv, "any asv command, with MIND_REPO honoured")
    asv.add_argument("asv_args", nargs=argparse.REMAINDER)

    run = command(
        "run", _run, "the main job: asv run over MIND commits, then publish (offline site)"
    )
    run.usage = "python -m mind_runner run [RANGE] [--pytorch-everywhere] [ASV RUN OPTIONS ...]"
    run.allow_abbrev = False  # an abbreviation of asv's own options is asv's to read
    run.add_argument(
        "--pytorch-everywhere",
        action="store_true",
        help="measure PyTorch at every commit too (default: at the newest commit of the range)",
    )
    run.epilog = (
        "RANGE is a git range, e.g. main~20..main (default: the tip of main). Every other "
        "argument goes to `asv run`, which reads it: --machine NAME, --bench REGEX, "
        "--steps N, -a repeat=5, ..."
    )

    publish = command(
        "publish", _publish, "asv publish, then make html/ work offline (libraries from npm)"
    )
    publish.add_argument("range", nargs="?", help="only these commits (asv publish RANGE)")
    publish.add_argument(
        "--no-pull", action="store_const", const=["--no-pull"], default=[], help="skip git pull"
    )

    regressions = command(
        "regressions",
        _regressions,
        "steps in the history: exact figures commit by commit, wall times as asv flagged them "
        "(exit 1 if a regression is still present)",
    )
    regressions.add_argument("--all", action="store_true", help="every step, reverts included")
    regressions.add_argument("--machine", help="only this asv machine's results")

    find = command(
        "find", _find, "asv find (bisect one benchmark), skipping commits that do not build"
    )
    find.add_argument("range", help="git range to search, e.g. GOOD..BAD")
    find.add_argument("bench", help="benchmark name (regex matching exactly one)")
    find.add_argument("--machine", help="asv machine name (default: this host)")
    for flag, help_text in (
        ("--invert", "search for an improvement instead"),
        ("--skip-save", "do not save the results measured on the way"),
        ("--show-stderr", "show the benchmarks' stderr"),
    ):
        find.add_argument(flag, action="store_const", const=[flag], default=[], help=help_text)

    shard = command(
        "shard", _shard, "split a range into N contiguous shards, one asv HASHFILE each"
    )
    shard.add_argument("range", help="git range, e.g. v0.7.1..main, or HASHFILE:path")
    shard.add_argument("--shards", type=_positive_int, required=True, help="how many workers")
    shard.add_argument("--out", default="shards", help="folder for shard-NN.txt (default shards)")
    shard.add_argument("--no-pull", action="store_true", help="do not fetch MIND first")
    shard.epilog = "Each worker then runs: python -m mind_runner run HASHFILE:shards/shard-01.txt"

    merge = command(
        "merge", _merge, "merge workers' results folders into results/ (conflicts refused)"
    )
    merge.add_argument("folders", nargs="+", metavar="DIR", help="a worker's results folder")
    merge.add_argument("--into", help="destination (default: asv.conf.json's results_dir)")

    rehash = command(
        "rehash",
        _rehash,
        "copy results measured on a rewritten MIND history with GitHub's commit hashes",
    )
    rehash.add_argument("folder", help="the results folder measured on the rewritten copy")
    rehash.add_argument("--map", required=True, help="commit map, two hashes a line (TSV)")
    rehash.add_argument(
        "--reverse", action="store_true", help="translate the second column to the first"
    )
    rehash.add_argument("--out", required=True, help="a new folder for the translated copy")
    rehash.add_argument(
        "--machine", action="append", default=[], help="only this machine's results (repeat)"
    )
    rehash.epilog = (
        "The rig's commit-map.tsv lists GitHub's hash first: pass --reverse. Then merge the "
        "copy into results/ with `python -m mind_runner merge OUT`."
    )

    backfill = command(
        "backfill",
        _backfill,
        "run a range as K parallel shards on this machine, merge, publish (offline site)",
    )
    backfill.add_argument(
        "range", help="git range, e.g. v0.7.1..main, or HASHFILE:path (one commit a line)"
    )
    backfill.add_argument("--shards", type=_positive_int, required=True, help="parallel workers")
    backfill.add_argument("--machine", help="asv machine name (default: this host)")
    backfill.add_argument(
        "--every",
        type=_positive_int,
        default=1,
        metavar="K",
        help="only every K-th first-parent commit and the newest (then: bisect)",
    )
    backfill.epilog = "Any other option is passed on to each worker's `asv run`."

    machine_class = command(
        "machine-class",
        _machine_class,
        "describe this machine to asv under a name per hardware class; print the name",
    )
    machine_class.add_argument("--prefix", default="host", help="e.g. gha (default host)")

    bisect = command(
        "bisect",
        _bisect,
        "narrow every step in exact figures to one commit, measuring midpoints through asv",
    )
    bisect.add_argument("--machine", help="asv machine name (default: this host)")
    bisect.add_argument(
        "--shards",
        type=_positive_int,
        default=1,
        help="commits built and measured at once, as backfill's parallel workers (default 1)",
    )
    bisect.epilog = "Any other option is passed on to each `asv run` (e.g. -a repeat=1)."

    harness = command(
        "harness-cost",
        _harness_cost,
        "seconds per commit per benchmark (asv's durations) and commits an hour",
    )
    harness.add_argument("--machine", help="asv machine name (default: the only one)")

    versions = command(
        "versions",
        _versions,
        "check that every benchmark's source is accounted for by its explicit asv version",
    )
    versions.add_argument(
        "--record", action="store_true", help="record benchmarks that are new or got a new version"
    )
    versions.add_argument(
        "--keep-meaning",
        metavar="REGEX",
        help="accept the edits of matching benchmarks under their version (meaning unchanged)",
    )

    report = command("report", _report, "the seed's comparison tables, from asv's results/")
    report.add_argument("--commit", help="hash prefix or git name (default: newest results)")
    report.add_argument("--machine", help="asv machine name (default: the only one)")
    report.add_argument("--env", help="asv environment name, if a commit has several")
    report.add_argument(
        "--iterations", type=_positive_int, default=1000, help="training loop N (default 1000)"
    )
    report.add_argument(
        "--json",
        nargs="?",
        const="real_autograd_results.json",
        metavar="PATH",
        help="also write the seed's JSON (PATH default: real_autograd_results.json)",
    )
    return parser


STOPPED_STATUS = 130
"""The shell's status for a command stopped by Ctrl-C."""


def _stop_on_sigterm() -> None:
    """`kill` stops a command as Ctrl-C does. asv runs every build and benchmark in a
    process group of its own and ends that group only when an exception unwinds it; a
    plain SIGTERM would leave cargo building with nobody to read its result."""

    def stop(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)


def main(argv: list[str] | None = None) -> int:
    _stop_on_sigterm()
    parser = _parser()
    args, unknown = parser.parse_known_args(argv)
    if args.command in ("run", "backfill", "bisect"):
        # asv's own parser reads them all: options and their values, and (for `run`) the
        # range wherever it stands (argparse here would take an option's value for it).
        args.asv_args = unknown
    elif unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    try:
        return int(args.handler(args))
    except UserError as error:
        print(f"mind_runner: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(
            f"mind_runner: {args.command} stopped; what it measured is kept: run it again to go on",
            file=sys.stderr,
        )
        return STOPPED_STATUS
