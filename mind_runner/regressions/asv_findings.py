"""The steps asv flagged, said so a MIND developer can act on them.

`asv publish` runs asv's step detection (thresholds per kind of figure from
`regressions_thresholds` in asv.conf.json) and writes `html/regressions.json`:
compact lists meant for the site's JavaScript, with revisions instead of commits
and parameters by position. This module reads that file and `index.json` beside
it and names each step: benchmark and parameters, the commits around the step,
the values before and after, their ratio, and the MIND commit on GitHub. It
detects nothing itself, so what it prints is what the site's Regressions tab shows.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mind_runner.util.errors import UserError
from mind_runner.util.numbers import format_with_unit
from mind_runner.util.text import param_from_repr


@dataclass(frozen=True)
class Step:
    """One upward step of one benchmark series (asv: a 'jump' of a regression)."""

    benchmark: str
    params: tuple[tuple[str, str], ...]
    graph_params: tuple[tuple[str, str], ...]
    unit: str
    # Last commit measured at the old level; None when the step is a single commit
    # (asv found no commit between the two, so `first_slow`'s parent was fine).
    last_good: str | None
    first_slow: str
    before: float
    after: float
    latest: float
    commit_url: str
    compare_url: str | None

    @property
    def ratio(self) -> float:
        return self.after / self.before if self.before else float("inf")

    @property
    def label(self) -> str:
        params = ", ".join(f"{name}={value}" for name, value in self.params)
        return f"{self.benchmark}({params})" if params else self.benchmark


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise UserError(
            f"no {path}: run `python -m mind_runner publish` first (asv publish writes it)"
        ) from None
    except ValueError as error:
        raise UserError(f"{path} is not valid JSON ({error}): publish again") from None


def _commit_urls(show_commit_url: str, first: str, last_good: str | None) -> tuple[str, str | None]:
    """The commit's page and, for a range, GitHub's compare page (as asv's feed builds it)."""
    commit_url = show_commit_url + first
    if last_good is None:
        return commit_url, None
    if "github.com" in show_commit_url:
        base = show_commit_url.rstrip("/").rsplit("/", 1)[0]
        return commit_url, f"{base}/compare/{last_good}...{first}"
    return commit_url, None


def load_steps(html_dir: Path) -> list[Step]:
    """Every step in `html_dir/regressions.json`, worst ratio first."""
    index = _load_json(html_dir / "index.json")
    data = _load_json(html_dir / "regressions.json")
    revision_to_hash: dict[str, str] = index["revision_to_hash"]
    show_commit_url = str(index.get("show_commit_url") or "")
    steps: list[Step] = []
    for entry in data.get("regressions", []):
        entry_name, _graph_path, graph_params, param_index, latest, _best, jumps = entry
        name = entry_name.split("(", 1)[0]
        benchmark = index["benchmarks"].get(name)
        if benchmark is None:
            continue  # benchmarks.json changed since publish; asv's page skips these too
        params: tuple[tuple[str, str], ...] = ()
        if param_index is not None:
            combination = next(
                itertools.islice(itertools.product(*benchmark["params"]), param_index, None)
            )
            params = tuple(
                (str(n), param_from_repr(v))
                for n, v in zip(benchmark["param_names"], combination, strict=True)
            )
        for rev_before, rev_after, before, after in jumps:
            last_good = None if rev_before is None else revision_to_hash[str(rev_before)]
            first_slow = revision_to_hash[str(rev_after)]
            commit_url, compare_url = _commit_urls(show_commit_url, first_slow, last_good)
            steps.append(
                Step(
                    benchmark=name,
                    params=params,
                    graph_params=tuple(sorted((k, str(v)) for k, v in graph_params.items())),
                    unit=str(benchmark.get("unit") or ""),
                    last_good=last_good,
                    first_slow=first_slow,
                    before=float(before),
                    after=float(after),
                    latest=float(latest),
                    commit_url=commit_url,
                    compare_url=compare_url,
                )
            )
    steps.sort(key=lambda step: (-step.ratio, step.label))
    return steps


def describe(step: Step, hash_length: int = 8) -> str:
    """A few lines: what got slower, where, by how much, and the link to the commit."""
    short = step.first_slow[:hash_length]
    lines = [step.label + "".join(f" [{k}={v}]" for k, v in step.graph_params)]
    good = None if step.last_good is None else step.last_good[:hash_length]
    if good is None:
        lines.append(f"  commit:  {short} (the step is this one commit)")
    else:
        lines.append(
            f"  commits: {good}..{short} (last at the old level .. first at the new one; "
            "the step is in this range)"
        )
    before, after, latest = (
        format_with_unit(v, step.unit) for v in (step.before, step.after, step.latest)
    )
    lines.append(
        f"  before:  {before}   after: {after}   ratio: {step.ratio:.2f}x   latest: {latest}"
    )
    lines.append(f"  link:    {step.commit_url}")
    if step.compare_url:
        lines.append(f"  compare: {step.compare_url}")
    if good is not None:
        lines.append(f"  bisect:  python -m mind_runner find {good}..{short} {step.benchmark}")
    return "\n".join(lines)


def _measured(value: Any) -> bool:
    """A graph point's value holds a number (a list for parametrized benchmarks)."""
    values = value if isinstance(value, list) else [value]
    return any(isinstance(v, int | float) and v == v for v in values)  # v == v: not NaN


def longest_history(html_dir: Path) -> int:
    """The most commits any one graph of the site has a measured value at."""
    longest = 0
    for graph in (html_dir / "graphs").rglob("*.json"):
        if "summary" in graph.relative_to(html_dir / "graphs").parts:
            continue
        try:
            points = json.loads(graph.read_text())
        except ValueError:
            continue
        if isinstance(points, list):
            measured = sum(
                1
                for point in points
                if isinstance(point, list) and len(point) > 1 and _measured(point[1])
            )
            longest = max(longest, measured)
    return longest


def report(html_dir: Path) -> tuple[str, int]:
    """The text to print and the exit status: 1 if asv flagged any step, else 0.

    A site with nothing to judge (no benchmark measured at two commits, e.g.
    published from results asv could not read) is an error, never an all-clear.
    """
    steps = load_steps(html_dir)
    if not steps and longest_history(html_dir) < 2:
        raise UserError(
            f"nothing to judge in {html_dir}: no benchmark there has results at two commits, "
            "and asv needs a history to find a step; run `python -m mind_runner run RANGE` "
            "(it publishes), then ask again"
        )
    hash_length = int(_load_json(html_dir / "index.json").get("hash_length") or 8)
    source = html_dir / "regressions.json"
    if not steps:
        return f"no regressions in {source}", 0
    blocks = [describe(step, hash_length) for step in steps]
    noun = "regression" if len(steps) == 1 else "regressions"
    header = f"{len(steps)} {noun} detected by asv ({source}), largest ratio first:"
    return "\n\n".join([header, *blocks]), 1
