"""The series of one asv machine's results, for `mind_runner.regressions.detector`.

Every result file of the machine is read through asv's own loader
(`mind_runner.results.load_machine`, which uses `asv.results.Results.load`),
grouped by asv environment, ordered by MIND's history where it is given (the
first-parent order `asv run` and `asv find` use) and by the commit date asv
recorded otherwise, and cut into one series per benchmark and parameter
combination. Only figures that repeat exactly are compared commit by commit:
`EXACT_FIGURE` says which.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import re
import subprocess
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mind_runner.regressions.detector import Point, Rule, Series, SeriesSteps, detect
from mind_runner.results.asv_results import ResultFile, load_machine
from mind_runner.util.errors import UserError
from mind_runner.util.text import param_from_repr

HIGHER_IS_BETTER = re.compile(r"\.track_rules_right$")
"""Figures where more is better (how many rules are right); every other one is a cost."""

# The one place that says which figures repeat exactly (matched against the method
# name, the last part of asv's benchmark name): instruction counts (callgrind, and
# the size of the printed gradient IR), byte counts (saved tensors), and the count of
# absent or wrong gradients, rule verdicts and right rules. Peak RSS is in bytes but
# moves by a few % run to run.
EXACT_FIGURE = re.compile(
    r"""^track_(?:
        (?!.*peak_rss).*instructions
      | (?!.*peak_rss).*bytes
      | incorrect_gradients
      | rule_verdict
      | rules_right
      | silent_failures
    )$""",
    re.VERBOSE,
)

# A figure's run-to-run spread, in % of it, is recorded by a sibling benchmark of the
# same class: track_autodiff_instructions -> track_autodiff_spread_percent,
# track_gradient_call_instructions -> track_gradient_call_spread_percent. Figures
# without such a sibling (front end, IR size, bytes) repeat exactly: spread 0.
SPREAD_SUFFIX = "_spread_percent"
_SPREAD_OF = re.compile(r"_(?:instructions|bytes)$")

# 1 %, as asv.conf.json's regressions_thresholds for counts; twice the spread.
DEFAULT_RULE = Rule(threshold=0.01, spread_factor=2.0)
ASV_DEFAULT_THRESHOLD = 0.05
"""asv publish's threshold for a benchmark no regressions_thresholds pattern matches."""


def default_rule(_benchmark: str) -> Rule:
    """The rule when no asv.conf.json is at hand: counts' 1 % for every figure."""
    return DEFAULT_RULE


def rules_from_thresholds(thresholds: Mapping[str, float]) -> Callable[[str], Rule]:
    """asv.conf.json's `regressions_thresholds`, read as asv's publish reads them: the
    largest threshold whose pattern `re.match`es the benchmark's name, 5 % if none does.
    One setting then governs both detectors: a correctness count's 0.0005 makes
    1000 -> 1001 incorrect gradients a step here too."""
    try:
        patterns = [(re.compile(pattern), float(value)) for pattern, value in thresholds.items()]
    except (re.error, TypeError, ValueError) as error:
        raise UserError(
            f"asv.conf.json's regressions_thresholds cannot be read ({error}): each entry "
            'must be a regular expression and a number, e.g. ".*\\.time_": 0.10'
        ) from None

    def rule_for(benchmark: str) -> Rule:
        matching = [value for pattern, value in patterns if pattern.match(benchmark)]
        threshold = max(matching) if matching else ASV_DEFAULT_THRESHOLD
        return Rule(threshold=threshold, spread_factor=DEFAULT_RULE.spread_factor)

    return rule_for


def is_exact(benchmark: str) -> bool:
    """Whether asv benchmark `benchmark` (module.Class.method) repeats exactly."""
    return EXACT_FIGURE.match(benchmark.rsplit(".", 1)[-1]) is not None


def spread_benchmark(benchmark: str) -> str | None:
    """The sibling benchmark that would record `benchmark`'s spread (if it exists)."""
    sibling = _SPREAD_OF.sub(SPREAD_SUFFIX, benchmark)
    return None if sibling == benchmark else sibling


@dataclass(frozen=True)
class History:
    """The series of one machine and one asv environment."""

    machine: str
    env: str
    # Every commit of MIND's history, oldest first, when the caller gave it; None when
    # the result files' commit dates ordered the commits (nothing known between them).
    history: tuple[str, ...] | None
    commits: tuple[str, ...]  # the commits with a result file, in the order used
    series: tuple[Series, ...]
    # Commits with a result file but not in the history given (e.g. on a merged side
    # branch): measured, never compared, and said so (`not_compared`).
    unplaced: tuple[str, ...] = ()
    # The machine's results files asv cannot read: left out, each named with what to do.
    unreadable: tuple[str, ...] = ()
    # The branch whose first-parent line `history` is.
    branch: str = "main"

    @property
    def ordered_by(self) -> str:
        return "commit date" if self.history is None else "git history"

    @property
    def measured(self) -> int:
        """Commits with results, compared or not."""
        return len(self.commits) + len(self.unplaced)

    def not_compared(self, hash_length: int = 8) -> list[str]:
        """One line per measured commit the step detector cannot place.

        A side-branch commit's tree lacks what main gained after the branch point and
        has what main gets only at the merge, so a difference from any first-parent
        neighbour is not one commit's doing: it is listed, never compared.
        """
        return [
            f"measured, not compared: {commit[:hash_length]} (not on the first-parent "
            f"line of {self.branch})"
            for commit in self.unplaced
        ]


@dataclass(frozen=True)
class FirstParentLine:
    """MIND's history as the step detector walks it: one branch's first parents."""

    branch: str
    commits: tuple[str, ...]  # oldest first


def git_history(repo: Path, branch: str = "main") -> list[str]:
    """`git rev-list --first-parent --reverse BRANCH`: asv run's and asv find's order."""
    try:
        completed = subprocess.run(
            ["git", "-C", str(repo), "rev-list", "--first-parent", "--reverse", branch, "--"],
            check=True,
            capture_output=True,
            text=True,
        )
    except (OSError, subprocess.CalledProcessError) as error:
        detail = getattr(error, "stderr", "") or str(error)
        raise UserError(f"cannot list {branch}'s history in {repo}: {detail.strip()}") from None
    return completed.stdout.split()


def load_histories(
    results_dir: Path,
    machine: str,
    history: Sequence[str] | FirstParentLine | None = None,
    exact: Callable[[str], bool] = is_exact,
) -> list[History]:
    """One History per asv environment of `results_dir/machine`, exact figures only.

    `history`: MIND's commits oldest first (see `git_history`), or a FirstParentLine
    that also names its branch; without it the commits are ordered by the commit date
    asv stored in each result file.
    """
    branch = "main"
    if isinstance(history, FirstParentLine):
        branch, history = history.branch, history.commits
    loaded = load_machine(results_dir, machine)
    names, units = _benchmark_info(results_dir)
    by_env: dict[str, list[ResultFile]] = {}
    for result in loaded.files:
        by_env.setdefault(result.env_name, []).append(result)
    unreadable = tuple(u.line() for u in loaded.unreadable)
    if not by_env and unreadable:
        by_env[""] = []  # a History that says which files were left out
    return [
        dataclasses.replace(
            _history(machine, env, files, history, names, units, exact),
            unreadable=unreadable,
            branch=branch,
        )
        for env, files in sorted(by_env.items())
    ]


def detect_history(
    loaded: History,
    rule_for: Callable[[str], Rule] = default_rule,
    dependency_changes: Collection[str] = (),
) -> list[SeriesSteps]:
    """The steps of every series of `loaded`."""
    return [
        detect(series, rule_for(series.benchmark), loaded.history, dependency_changes)
        for series in loaded.series
    ]


def _history(
    machine: str,
    env: str,
    files: list[ResultFile],
    history: Sequence[str] | None,
    names: Mapping[str, list[str]],
    units: Mapping[str, str],
    exact: Callable[[str], bool],
) -> History:
    by_commit: dict[str, ResultFile] = {}
    for result in files:
        kept = by_commit.get(result.commit_hash)
        if kept is None or result.last_started_at > kept.last_started_at:
            by_commit[result.commit_hash] = result  # asv keeps one file per commit+env
    unplaced: list[str] = []
    if history is None:
        ordered = sorted(
            by_commit.values(), key=lambda f: (f.date or 0, f.last_started_at, f.commit_hash)
        )
    else:
        position = {commit: index for index, commit in enumerate(history)}
        unplaced = sorted(commit for commit in by_commit if commit not in position)
        ordered = sorted(
            (f for f in by_commit.values() if f.commit_hash in position),
            key=lambda f: position[f.commit_hash],
        )
    tables = [_values(result) for result in ordered]
    keys = sorted(
        {key for table in tables for key in table if exact(key[0])},
        key=lambda key: (key[0], key[1]),
    )
    recorded_anywhere = {name for table in tables for name, _ in table}
    series = []
    for benchmark, combination in keys:
        spread_name = spread_benchmark(benchmark)
        if spread_name not in recorded_anywhere:
            spread_name = None  # no sibling in this history: the figure repeats exactly
        points = []
        for result, table in zip(ordered, tables, strict=True):
            if (benchmark, combination) not in table:
                points.append(Point(result.commit_hash, None, None, measured=False))
                continue
            value = table[(benchmark, combination)]
            spread: float | None = 0.0
            if spread_name is not None:
                # Where the sibling has no number at this commit the spread is unknown.
                recorded = table.get((spread_name, combination))
                spread = recorded if recorded is not None and math.isfinite(recorded) else None
            points.append(Point(result.commit_hash, value, spread))
        axis_names = names.get(benchmark) or [f"param{i + 1}" for i in range(len(combination))]
        series.append(
            Series(
                benchmark=benchmark,
                params=tuple(zip(axis_names, combination, strict=True)),
                points=tuple(points),
                unit=units.get(benchmark, ""),
                env=env,
                higher_is_worse=HIGHER_IS_BETTER.search(benchmark) is None,
            )
        )
    return History(
        machine=machine,
        env=env,
        history=None if history is None else tuple(history),
        commits=tuple(f.commit_hash for f in ordered),
        series=tuple(series),
        unplaced=tuple(unplaced),
    )


def _values(result: ResultFile) -> dict[tuple[str, tuple[str, ...]], float | None]:
    """(benchmark, plain parameter values) -> asv's value (NaN skipped, None failed)."""
    results = result.results
    table: dict[tuple[str, tuple[str, ...]], float | None] = {}
    try:
        for benchmark in results.get_all_result_keys():
            axes: list[list[str]] = results.get_result_params(benchmark)
            values = results.get_result_value(benchmark, axes)
            # asv gives a benchmark without parameters its one value in a list
            if not axes and not isinstance(values, list):
                values = [values]
            combinations = list(itertools.product(*axes))
            for combination, value in zip(combinations, values, strict=True):
                table[(benchmark, tuple(param_from_repr(p) for p in combination))] = _number(
                    value, result.path, benchmark
                )
    except (TypeError, ValueError, KeyError, AttributeError) as error:
        raise UserError(
            f"unreadable asv results file {result.path}: {type(error).__name__}: {error}"
        ) from None
    return table


def _number(value: Any, path: Path, benchmark: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise UserError(f"unreadable asv results file {path}: {benchmark} holds {value!r}")
    return float(value)


def _benchmark_info(results_dir: Path) -> tuple[dict[str, list[str]], dict[str, str]]:
    """Parameter names and units from asv's benchmarks.json beside the machine dirs."""
    from asv import util
    from asv.benchmarks import Benchmarks

    path = results_dir / "benchmarks.json"
    if not path.is_file():
        return {}, {}
    try:
        described = util.load_json(str(path), api_version=Benchmarks.api_version)
    except (util.UserError, ValueError, OSError) as error:
        raise UserError(f"unreadable {path}: {error}") from None
    names: dict[str, list[str]] = {}
    units: dict[str, str] = {}
    for name, entry in _entries(described):
        names[name] = [str(n) for n in entry.get("param_names") or []]
        units[name] = str(entry.get("unit") or "")
    return names, units


def _entries(described: Any) -> Iterable[tuple[str, Mapping[str, Any]]]:
    if not isinstance(described, dict):
        return []
    return [
        (str(name), entry)
        for name, entry in described.items()
        if name != "version" and isinstance(entry, dict)
    ]
