"""The rule-coverage page: op x engine x commit, linked from the site's navigation bar."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from mind_runner.mind.op_models import OPS
from mind_runner.results.asv_results import load_machine
from mind_runner.site.coverage_page import PAGE, write_coverage_page
from tests.test_report import FIRST_DATE, MACHINE, Entry, write_results
from tests.test_site import _MEASURE, NARROW_WINDOW, chromium, serve

VERDICT = "mind_coverage.RuleCoverage.track_rule_verdict"
INCORRECT = "mind_coverage.RuleCoverage.track_incorrect_gradients"
RIGHT = "mind_coverage.RulesRight.track_rules_right"
URL = "https://github.com/star-ga/mind/commit/"
COMMITS = ["1" * 40, "2" * 40, "3" * 40, "4" * 40]
DAY = 86_400_000
NAV = '<li id="nav-li-coverage"><a href="coverage.html">Rule coverage</a></li>'
INDEX = '<ul><li id="nav-li-regressions"><a href="#/regressions">Regressions</a></li></ul>'


def _cells(overrides: dict[tuple[str, ...], Entry]) -> dict[tuple[str, ...], Entry]:
    cells: dict[tuple[str, ...], Entry] = {
        (op, engine): 0.0 for op in OPS for engine in ("compile-time", "runtime")
    }
    cells.update(overrides)
    return cells


def _history(root: Path) -> None:
    """Four commits: sum_axis right, then absent from the third; conv2d skipped (not
    expressible) at the first, then right; gather failed (error) throughout."""
    for index, commit in enumerate(COMMITS):
        overrides: dict[tuple[str, ...], Entry] = {("gather", "runtime"): None}
        if index >= 2:
            overrides[("sum_axis", "compile-time")] = 1.0
        if index == 0:
            overrides[("conv2d", "compile-time")] = math.nan
        verdicts = _cells(overrides)
        right = sum(1 for value in verdicts.values() if value == 0.0)
        write_results(
            root,
            commit,
            FIRST_DATE + index * DAY,
            {VERDICT: verdicts, INCORRECT: verdicts, RIGHT: {(): float(right)}},
        )


def _row(page: str, op: str, engine: str) -> str:
    match = re.search(rf"<tr><td>{op}</td><td>{engine}</td>(.*?)</tr>", page)
    assert match, f"no row for {op} {engine}"
    return match.group(1)


def _page(tmp_path: Path) -> tuple[Path, str]:
    _history(tmp_path)
    site = tmp_path / "html"
    site.mkdir()
    (site / "index.html").write_text(INDEX)
    machine = load_machine(tmp_path / "results", MACHINE)
    page = write_coverage_page(site, [machine], URL)
    assert page == site / PAGE
    return site, page.read_text()


def test_each_cell_says_its_state_since_when_and_its_history(tmp_path: Path) -> None:
    _, page = _page(tmp_path)
    broke = _row(page, "sum_axis", "compile-time")
    assert "<td class='state absent'>absent</td>" in broke
    assert f"<a href='{URL}{COMMITS[2]}'><code>{COMMITS[2][:8]}</code></a>" in broke
    assert broke.count("class='cell right'") == 2 and broke.count("class='cell absent'") == 2
    assert re.search(rf"title='{COMMITS[0][:8]}: right'.*title='{COMMITS[3][:8]}: absent'", broke)
    conv = _row(page, "conv2d", "compile-time")
    assert "<td class='state right'>right</td>" in conv and COMMITS[1][:8] in conv
    assert f"title='{COMMITS[0][:8]}: not expressible'" in conv
    gather = _row(page, "gather", "runtime")
    assert "<td class='state error'>error</td>" in gather
    assert f"since first measured: <a href='{URL}{COMMITS[0]}'>" in gather
    assert "4 commits measured" in page and f"{2 * len(OPS) - 2} of {2 * len(OPS)}" in page


def test_the_page_is_linked_once_from_the_index(tmp_path: Path) -> None:
    site, _ = _page(tmp_path)
    machine = load_machine(tmp_path / "results", MACHINE)
    write_coverage_page(site, [machine], URL)
    assert (site / "index.html").read_text().count(NAV) == 1


def test_no_coverage_results_write_no_page(tmp_path: Path) -> None:
    write_results(tmp_path, COMMITS[0], FIRST_DATE, {INCORRECT + "_other": {(): 1.0}})
    site = tmp_path / "html"
    site.mkdir()
    (site / "index.html").write_text(INDEX)
    machine = load_machine(tmp_path / "results", MACHINE)
    assert write_coverage_page(site, [machine], URL) is None
    assert not (site / PAGE).exists() and NAV not in (site / "index.html").read_text()


@pytest.mark.browser
def test_the_coverage_page_fits_a_1366_pixel_window(tmp_path: Path) -> None:
    site, page = _page(tmp_path)
    (site / PAGE).write_text(page.replace("</body>", _MEASURE))
    with serve(site) as (base, _):
        dom = chromium(tmp_path, f"{base}/{PAGE}", "--dump-dom", window=NARROW_WINDOW).stdout
    match = re.search(r'data-scroll-width="(\d+)"', dom)
    assert match, dom[:500]
    assert int(match.group(1)) <= NARROW_WINDOW[0]
    assert "absent" in dom and "not expressible" in dom


def test_a_commit_where_a_cell_was_not_run_does_not_move_its_since(tmp_path: Path) -> None:
    """relu's compile-time cell is missing at the second commit (a partial run): it has
    been right since the first, not since the third."""
    for index, commit in enumerate(COMMITS[:3]):
        verdicts = _cells({})
        if index == 1:
            del verdicts[("relu", "compile-time")]
            verdicts = {k: v for k, v in verdicts.items() if k[0] != "relu"}
        write_results(tmp_path, commit, FIRST_DATE + index * DAY, {VERDICT: verdicts})
    site = tmp_path / "html"
    site.mkdir()
    (site / "index.html").write_text(INDEX)
    write_coverage_page(site, [load_machine(tmp_path / "results", MACHINE)], URL)
    relu = _row((site / PAGE).read_text(), "relu", "compile-time")
    assert f"title='{COMMITS[1][:8]}: not measured'" in relu
    assert f"since first measured: <a href='{URL}{COMMITS[0]}'>" in relu
