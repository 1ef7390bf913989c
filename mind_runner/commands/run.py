"""`python -m mind_runner run`: MIND's benchmarks at every commit, PyTorch's at the newest.

PyTorch's figures do not depend on MIND's commit, yet on real MIND they took 238 s
of about 5 minutes per commit. So `run` asks asv twice, with the same range and
options: first for the benchmarks that depend on MIND, then for those that do not
(`pytorch` in their name) with `--steps 1`, which asv's own range logic resolves
to the newest commit of the range. A new torch version is a new asv environment,
a new machine a new results folder: each gets its PyTorch figures at its next run.
`report` and the site take them from the commit that has them, marked as such.
`--pytorch-everywhere` runs every benchmark at every commit, as plain `asv run`.
Each asv command goes through `asv_main`, so each has the preflight, its own run
log, the guard over results and its closing lines; the exit status is the worse
of the two (3, a fault of this machine, over 2, failures asv recorded).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from mind_runner.commands.asv_command import asv_main, no_benchmark_matches, parse_asv_args
from mind_runner.commands.config import CONFIG_PATH, load_config
from mind_runner.util.errors import UserError

PYTORCH_SIDE = "pytorch"
"""In a benchmark's name: it does not depend on MIND's commit (tests check which these are)."""


def side_regexes(user: list[str] | None, pytorch: bool) -> list[str]:
    """asv `--bench` regexes for one side, inside the user's own selection.

    asv selects a benchmark when any regex matches its name (with its parameters),
    anywhere: each regex here is anchored at the start and made of lookaheads.
    """
    side = f"(?=.*{PYTORCH_SIDE})" if pytorch else f"(?!.*{PYTORCH_SIDE})"
    if not user:
        return ["^" + side]
    return [f"^{side}(?=.*(?:{regex}))" for regex in user]


def selected_count(regexes: list[str], config_path: Path = CONFIG_PATH) -> int:
    """How many benchmarks asv would select with `regexes`, found as asv finds them.

    asv answers "No benchmarks selected" with exit 1, so a side the user's own
    `--bench` leaves empty is not run at all.
    """
    from asv.benchmarks import Benchmarks
    from asv_runner.discovery import disc_benchmarks, update_sys_path

    conf = load_config(config_path)
    root = config_path.parent / str(conf.benchmark_dir)
    update_sys_path(str(root))
    found = [{"name": b.name, "params": b.params} for b in disc_benchmarks(str(root))]
    return len(Benchmarks(conf, found, regex=regexes))


def _selecting(regexes: list[str], *, newest: bool) -> Callable[[argparse.Namespace], None]:
    """Change the parsed `asv run` arguments: these benchmarks, at the newest commit only."""

    def select(args: argparse.Namespace) -> None:
        args.bench = regexes
        if newest:
            args.steps = 1  # asv's util.pick_n keeps the first of its commits: the newest

    return select


def run(
    range_spec: str | None,
    asv_options: list[str],
    *,
    pytorch_everywhere: bool = False,
    config_path: Path = CONFIG_PATH,
) -> int:
    """`asv run` over MIND's commits, PyTorch's benchmarks at the newest commit only."""
    argv = ["run", *([range_spec] if range_spec else []), *asv_options]
    if pytorch_everywhere:
        return asv_main(argv, config_path)
    user = parse_asv_args(argv, config_path).bench
    statuses = []
    for pytorch in (False, True):
        regexes = side_regexes(user, pytorch)
        if not selected_count(regexes, config_path):
            continue
        if pytorch:
            print(
                "mind_runner: PyTorch's benchmarks do not depend on MIND: measured at the "
                "newest commit of the range only (--pytorch-everywhere: at every commit)",
                file=sys.stderr,
            )
        statuses.append(asv_main(argv, config_path, adjust=_selecting(regexes, newest=pytorch)))
    if not statuses:
        raise UserError(no_benchmark_matches(user))
    return max(statuses)
