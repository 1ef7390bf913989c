"""`python -m mind_runner run`: MIND's benchmarks at every commit, PyTorch's at the newest.

PyTorch's figures do not depend on MIND's commit, yet on real MIND they took 238 s
of about 5 minutes per commit. So `run` asks asv twice, with the same range and
options: first for the benchmarks that depend on MIND, then for those that do not
(`pytorch` in their name) at the newest of the commits the first pass measured:
asv's final selection (after its range, HASHFILE, EXISTING or NEW logic) is read
where asv hands it on, and the newest by commit date is passed as the range.
`--steps 1` alone would keep the first of asv's list, which for a HASHFILE or an
explicit list is whatever came first, and NEW would select nothing once the first
pass has stored its results. A new torch version is a new asv environment,
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
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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


def _selecting(
    regexes: list[str], *, newest: bool, among: Sequence[str] = ()
) -> Callable[[argparse.Namespace], None]:
    """Change the parsed `asv run` arguments: these benchmarks; with `newest`, at the
    newest commit only (of `among`, the first pass's commits, when it measured any)."""

    def select(args: argparse.Namespace) -> None:
        args.bench = regexes
        if newest:
            if among:
                args.range = list(among)  # asv takes a list as the commits themselves
                args.date_period = None
            args.steps = 1  # asv's util.pick_n, made to keep the newest (newest_picked)

    return select


@contextmanager
def selection_recorded(selected: list[str]) -> Iterator[None]:
    """Fill `selected` with the commits asv's `run` hands to benchmark discovery: its
    final selection, whatever form the range took."""
    from asv.benchmarks import Benchmarks

    original = Benchmarks.__dict__["discover"]  # the classmethod itself, restored as it was

    def discover(cls: Any, /, *args: Any, **kwargs: Any) -> Any:
        conf, repo, environments, hashes, *rest = args
        selected[:] = [str(commit) for commit in hashes]
        return original.__func__(cls, conf, repo, environments, hashes, *rest, **kwargs)

    Benchmarks.discover = classmethod(discover)
    try:
        yield
    finally:
        Benchmarks.discover = original


@contextmanager
def newest_picked(config_path: Path) -> Iterator[None]:
    """`--steps 1` keeps the newest commit by commit date, and the log says which.

    asv's `util.pick_n` keeps the first of its list, and only a range lists the newest
    first; a HASHFILE keeps the file's order."""
    from asv import util
    from asv.plugins.git import Git  # noqa: F401  (registers asv's git plugin for get_repo)
    from asv.repo import get_repo

    original = util.pick_n

    def pick_newest(items: Sequence[str], n: int) -> list[str]:
        if n != 1 or not items:
            return list(original(items, n))
        repo = get_repo(load_config(config_path))
        dated = [(repo.get_date(commit), -index, commit) for index, commit in enumerate(items)]
        when, _, newest = max(dated)  # ties: the first listed
        day = datetime.fromtimestamp(when / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")
        print(
            f"mind_runner: PyTorch's benchmarks do not depend on MIND: measured at the newest "
            f"of the {len(items)} selected commit(s) only, {newest[:8]} (committed {day}); "
            "--pytorch-everywhere: at every commit",
            file=sys.stderr,
        )
        return [newest]

    util.pick_n = pick_newest
    try:
        yield
    finally:
        util.pick_n = original


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
    measured: list[str] = []
    mind_side = side_regexes(user, pytorch=False)
    if selected_count(mind_side, config_path):
        with selection_recorded(measured):
            statuses.append(asv_main(argv, config_path, adjust=_selecting(mind_side, newest=False)))
    pytorch_side = side_regexes(user, pytorch=True)
    if selected_count(pytorch_side, config_path):
        adjust = _selecting(pytorch_side, newest=True, among=measured)
        with newest_picked(config_path):
            statuses.append(asv_main(argv, config_path, adjust=adjust))
    if not statuses:
        raise UserError(no_benchmark_matches(user))
    return max(statuses)
