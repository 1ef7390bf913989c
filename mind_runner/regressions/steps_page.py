"""A page of the history's steps in exact figures, linked from the site's navigation bar.

asv's Regressions tab shows only what asv's own fit finds, and only steps still
present at the newest commit; the exact figures' steps (reverts included) live
here, as a plain table that needs no script and no network.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mind_runner.util.files import write_atomically
from mind_runner.util.numbers import format_with_unit

PAGE = "steps.html"
_NAV_ANCHOR = '<li id="nav-li-regressions"><a href="#/regressions">Regressions</a></li>'
_NAV_LINK = '<li id="nav-li-steps"><a href="steps.html">Steps (exact figures)</a></li>'

# The page fits a 1366-pixel window: figure names and commands wrap anywhere (they have
# no spaces), the figure column shows the class and method (the module on hover), and
# the `find` command folds away under its range.
_STYLE = """
body { font-family: sans-serif; margin: 1.5em; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; text-align: left; vertical-align: top; }
td.figure, td.commit { overflow-wrap: anywhere; }
td.figure { max-width: 32em; }
td.change { white-space: nowrap; }
code { white-space: pre-wrap; overflow-wrap: anywhere; }
tr.regression td.change { color: #b00; }
tr.improvement td.change { color: #070; }
"""


def _change(step: Mapping[str, Any]) -> str:
    change = step["change"]
    return "from 0" if change is None else f"{100.0 * change:+.1f} %"


def _commits(step: Mapping[str, Any]) -> str:
    good, bad = str(step["last_before"])[:8], str(step["first_after"])[:8]
    link = f'<a href="{html.escape(step["url"])}">'
    if step["single_commit"]:
        return f"{link}{bad}</a>"
    command = html.escape(step["find_command"] or "")
    return (
        f"{link}{good}..{bad}</a> ({step['commits_between']} between)"
        f"<details><summary>narrow it</summary><code>{command}</code></details>"
    )


def _figure(step: Mapping[str, Any]) -> str:
    """Class.method(parameters), the full asv name on hover."""
    params = ", ".join(f"{k}={v}" for k, v in step["params"].items())
    full = f"{step['benchmark']}({params})"
    short = f"{step['benchmark'].split('.', 1)[-1]}({params})"
    return f"<td class='figure' title='{html.escape(full)}'>{html.escape(short)}</td>"


def _notes(step: Mapping[str, Any]) -> str:
    notes = []
    if step["still_present"]:
        notes.append("<strong>still present</strong>")
    if step["undoes"]:
        notes.append(f"undoes {step['undoes'][:8]}")
    if step["undone_by"]:
        notes.append(f"undone by {step['undone_by'][:8]}")
    if step["dependency_changes"]:
        notes.append("dependency set changed: not MIND's alone")
    return ", ".join(notes)


def _changes_table(changes: list[Mapping[str, Any]]) -> list[str]:
    """Where a figure stops or starts having a number (a clean refusal that becomes a
    panic): no size, so a table of its own, before the steps."""
    if not changes:
        return []
    rows = [
        "<p>Changes of state: a figure that was skipped (MIND refuses the program "
        "cleanly), failed (MIND panicked or did not build) or had a number, and then "
        "another of these.</p>",
        "<table class='changes'><tr><th>figure</th><th>commit</th><th>before</th>"
        "<th>after</th></tr>",
    ]
    for change in changes:
        good, bad = str(change["last_before"])[:8], str(change["first_after"])[:8]
        link = f'<a href="{html.escape(change["url"])}">'
        where = (
            f"{link}{bad}</a>"
            if change["single_commit"]
            else f"{link}{good}..{bad}</a> ({change['commits_between']} between)"
        )
        rows.append(
            f"<tr>{_figure(change)}<td class='commit'>{where}</td>"
            f"<td>{html.escape(change['before'])}</td><td>{html.escape(change['after'])}</td></tr>"
        )
    rows.append("</table>")
    return rows


def render_page(document: Mapping[str, Any]) -> str:
    rule = document["rule"]
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        "<title>Steps in exact figures</title>",
        '<link rel="shortcut icon" href="swallow.ico">',
        f"<style>{_STYLE}</style></head><body>",
        '<p><a href="index.html">&larr; back to the benchmarks</a></p>',
        "<h1>Steps in exact figures</h1>",
        "<p>Figures that repeat exactly run to run (instruction counts, IR sizes, saved "
        "bytes, incorrect gradients), each measured commit compared with the previous one: "
        "a step is a change over the figure's threshold in asv.conf.json's "
        f"regressions_thresholds ({100 * rule['threshold']:g} % for counts) and over "
        f"{rule['spread_factor']:g} &times; the recorded run-to-run spread. Wall times are "
        "judged by asv's own detection (the Regressions tab).</p>",
    ]
    for machine in document["machines"]:
        steps = machine["steps"]
        aside = machine.get("measured_not_compared", [])
        changes = machine.get("changes", [])
        parts.append(
            f"<h2>{html.escape(machine['machine'])} ({html.escape(machine['env'])})</h2>"
            f"<p>{len(machine['commits']) + len(aside)} commits measured, ordered by "
            f"{html.escape(machine['ordered_by'])}; {len(steps)} steps"
            + (f", {len(changes)} changes of state" if changes else "")
            + ".</p>"
        )
        if aside:
            items = "".join(
                f"<li>measured, not compared: <code>{html.escape(entry['commit'][:8])}</code> "
                f"({html.escape(entry['reason'])})</li>"
                for entry in aside
            )
            parts.append(f"<ul class='not-compared'>{items}</ul>")
        parts += _changes_table(changes)
        if not steps:
            continue
        parts.append(
            "<table><tr><th>figure</th><th>commit</th><th>before</th><th>after</th>"
            "<th>change</th><th>notes</th></tr>"
        )
        for step in steps:
            unit = step["unit"]
            parts.append(
                f"<tr class='{step['kind']}'>{_figure(step)}"
                f"<td class='commit'>{_commits(step)}</td>"
                f"<td>{format_with_unit(step['before'], unit)}</td>"
                f"<td>{format_with_unit(step['after'], unit)}</td>"
                f"<td class='change'>{step['kind']} {_change(step)}</td>"
                f"<td>{_notes(step)}</td></tr>"
            )
        parts.append("</table>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


def write_steps_page(html_dir: Path, document: Mapping[str, Any]) -> Path:
    """steps.html, and a link to it in index.html's navigation bar (once)."""
    page = write_atomically(html_dir / PAGE, render_page(document))
    index = html_dir / "index.html"
    text = index.read_text(encoding="utf-8")
    if _NAV_LINK not in text and _NAV_ANCHOR in text:
        write_atomically(index, text.replace(_NAV_ANCHOR, _NAV_ANCHOR + "\n\t" + _NAV_LINK))
    return page
