"""A page of rule coverage over the history: op x engine x commit, linked from the site.

asv's graphs show one figure at a time; a MIND developer asking "which derivative
rules are right, and since when" needs every rule at once. One row per (op,
engine): its state at the newest measured commit, the commit where it last
changed (linked to GitHub), and a strip with one cell per measured commit, oldest
first. States are words as well as colours. Plain HTML, no script, no network.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mind_runner.mind.coverage import ENGINES, CellState
from mind_runner.results.asv_results import CommitResults, MachineResults, ResultFile
from mind_runner.results.coverage import NOT_MEASURED, VERDICT, Coverage, read_coverage
from mind_runner.util.files import write_atomically

PAGE = "coverage.html"
_NAV_ANCHOR = '<li id="nav-li-regressions"><a href="#/regressions">Regressions</a></li>'
_NAV_LINK = '<li id="nav-li-coverage"><a href="coverage.html">Rule coverage</a></li>'
_CLASSES = {
    CellState.RIGHT.value: "right",
    CellState.WRONG.value: "wrong",
    CellState.ABSENT.value: "absent",
    CellState.NOT_EXPRESSIBLE.value: "inexpressible",
    CellState.ERROR.value: "error",
    NOT_MEASURED: "unmeasured",
}
_STYLE = """
body { font-family: sans-serif; margin: 1.5em; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; text-align: left; vertical-align: top; }
td.strip { overflow-wrap: anywhere; line-height: 1.6; }
span.cell { display: inline-block; width: 0.9em; height: 0.9em; margin-right: 1px;
  border: 1px solid #888; }
.right { background: #b7e4b7; } .wrong { background: #f4a3a3; }
.absent { background: #f7d68a; } .inexpressible { background: #ddd; }
.error { background: #8b0000; color: #fff; } .unmeasured { background: #fff; }
td.state { white-space: nowrap; }
"""


@dataclass(frozen=True)
class MeasuredCommit:
    commit: str
    date: int | None
    coverage: Coverage


def measured_commits(machine: MachineResults) -> list[MeasuredCommit]:
    """The machine's commits that ran the coverage suite, oldest first (by commit date)."""
    chosen: dict[str, ResultFile] = {}
    for file in machine.files:
        if VERDICT in file.results.get_all_result_keys():
            chosen.setdefault(file.commit_hash, file)
    ordered = sorted(chosen.values(), key=lambda f: (f.date or 0, f.commit_hash))
    return [
        MeasuredCommit(f.commit_hash, f.date, read_coverage(CommitResults(machine, f)))
        for f in ordered
    ]


def _cell(state: str, title: str) -> str:
    return f"<span class='cell {_CLASSES[state]}' title='{html.escape(title)}'></span>"


def _since(states: Sequence[str], commits: Sequence[MeasuredCommit], url: str) -> str:
    """The commit from which the newest state holds (the first measured one if always);
    a commit where the cell was not run (a partial `asv run --bench`) changes nothing."""
    index = len(states) - 1
    earlier = index - 1
    while earlier >= 0 and states[earlier] in (states[-1], NOT_MEASURED):
        if states[earlier] == states[-1]:
            index = earlier
        earlier -= 1
    commit = commits[index].commit
    prefix = "" if earlier >= 0 else "since first measured: "
    return f"{prefix}<a href='{html.escape(url + commit)}'><code>{commit[:8]}</code></a>"


def _machine_table(name: str, commits: Sequence[MeasuredCommit], url: str) -> list[str]:
    newest = commits[-1].coverage
    right = "not recorded" if newest.rules_right is None else str(newest.rules_right)
    parts = [
        f"<h2>{html.escape(name)}</h2>",
        f"<p>{len(commits)} commits measured, ordered by commit date; at the newest, "
        f"<code>{commits[-1].commit[:8]}</code>, {right} of {2 * len(newest.cells)} rules "
        "are right.</p>",
        "<table><tr><th>op</th><th>engine</th><th>state now</th><th>since</th>"
        "<th>history, oldest first</th></tr>",
    ]
    for op in newest.cells:
        for engine in ENGINES:
            states = [c.coverage.cells[op][engine].state for c in commits]
            strip = "".join(
                _cell(state, f"{c.commit[:8]}: {state}")
                for state, c in zip(states, commits, strict=True)
            )
            parts.append(
                f"<tr><td>{html.escape(op)}</td><td>{engine}</td>"
                f"<td class='state {_CLASSES[states[-1]]}'>{html.escape(states[-1])}</td>"
                f"<td>{_since(states, commits, url)}</td><td class='strip'>{strip}</td></tr>"
            )
    parts.append("</table>")
    return parts


def render_page(machines: Sequence[tuple[str, Sequence[MeasuredCommit]]], url: str) -> str:
    legend = " ".join(_cell(state, state) + html.escape(state) for state in _CLASSES)
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        "<title>Rule coverage</title>",
        '<link rel="shortcut icon" href="swallow.ico">',
        f"<style>{_STYLE}</style></head><body>",
        '<p><a href="index.html">&larr; back to the benchmarks</a></p>',
        "<h1>Rule coverage: every op MIND documents as differentiable</h1>",
        "<p>One small model per op, judged in both engines against "
        "<code>torch.autograd.grad</code> (benchmarks/mind_coverage.py): right, wrong, "
        "absent (a gradient missing or of another shape), not expressible (MIND refused "
        "the program), error (MIND panicked, crashed or hung), not measured.</p>",
        f"<p>{legend}</p>",
    ]
    for name, commits in machines:
        if commits:
            parts += _machine_table(name, commits, url)
    parts.append("</body></html>\n")
    return "\n".join(parts)


def write_coverage_page(
    html_dir: Path, machines: Sequence[MachineResults], commit_url: str
) -> Path | None:
    """coverage.html and its link in index.html's navigation bar (once); None when no
    machine has coverage results."""
    measured = [(m.name, measured_commits(m)) for m in machines]
    if not any(commits for _, commits in measured):
        return None
    page = write_atomically(html_dir / PAGE, render_page(measured, commit_url))
    index = html_dir / "index.html"
    text = index.read_text(encoding="utf-8")
    if _NAV_LINK not in text and _NAV_ANCHOR in text:
        write_atomically(index, text.replace(_NAV_ANCHOR, _NAV_ANCHOR + "\n\t" + _NAV_LINK))
    return page
