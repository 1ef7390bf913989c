"""`python -m mind_runner regressions`: what asv flagged, said so a MIND developer can act.

The fixture history plants a 3x step in the autodiff work at `slow-autodiff`;
instruction counts (thresholded at 1 % in asv.conf.json) must show it, named
with its commit, the values around it, their ratio and the GitHub link.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

from asv.config import Config

from tests.asv_results import benchmark_values, load_results
from tests.conftest import PublishedHistory, copy_project

AUTODIFF = "mind_counts.InstructionCounts.track_autodiff_instructions"
MODELS = ("simple_quadratic", "small_mlp", "matmul_chain")
VALUES = re.compile(
    r"before:\s+(\S+) instructions\s+after: (\S+) instructions\s+ratio: (\S+)x\s+latest: (\S+)"
)


def test_the_planted_3x_step_is_named_with_commit_values_ratio_and_link(
    published_history: PublishedHistory,
) -> None:
    project = published_history.project
    history = project.history
    completed = project.mind_runner("regressions", check=False)
    assert completed.returncode == 1, completed.stdout + completed.stderr
    print(completed.stdout)

    flagged = json.loads((project.html_dir / "regressions.json").read_text())["regressions"]
    steps = sum(len(jumps) for *_, jumps in flagged)
    header = completed.stdout.splitlines()[0]
    assert header.startswith(f"{steps} regression"), header

    conf = Config.load(str(project.root / "asv.conf.json"))
    results = load_results(project.results_dir)
    labels = [commit.label for commit in history.commits]
    slow = history.by_label("slow-autodiff")
    old_level = [history.by_label(label) for label in ("works", "build-fixed")]
    new_level = history.commits[labels.index("slow-autodiff") :]
    blocks = completed.stdout.split("\n\n")
    for model in MODELS:
        title = f"{AUTODIFF}(model={model})"
        block = next((b for b in blocks if b.splitlines()[0] == title), None)
        assert block is not None, f"{title} not reported:\n{completed.stdout}"
        # build-fixed is measured and is slow-autodiff's parent: one commit, not a range.
        assert f"commit:  {slow.sha[:8]} (the step is this one commit)" in block
        assert f"link:    {conf.show_commit_url}{slow.sha}" in block
        match = VALUES.search(block)
        assert match, block
        before, after, ratio, latest = (float(v.replace(",", "")) for v in match.groups())
        old = {benchmark_values(results[c.sha], AUTODIFF)[(model,)] for c in old_level}
        new = {benchmark_values(results[c.sha], AUTODIFF)[(model,)] for c in new_level}
        assert before in old and after in new and latest in new, (before, after, old, new)
        assert ratio == round(after / before, 2)
        assert 2.5 < ratio < 3.5  # the fixture triples the autodiff work loop


def _project_with_site(published_history: PublishedHistory, destination: Path) -> Path:
    root = copy_project(destination)
    shutil.copytree(published_history.project.html_dir, root / "html")
    return root


def _regressions(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mind_runner", "regressions"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )


def test_no_regressions_exits_zero(published_history: PublishedHistory, tmp_path: Path) -> None:
    root = _project_with_site(published_history, tmp_path / "project")
    (root / "html" / "regressions.json").write_text(json.dumps({"regressions": []}))
    completed = _regressions(root)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == f"no regressions in {root / 'html' / 'regressions.json'}"


def test_without_a_published_site_one_line_says_to_publish(tmp_path: Path) -> None:
    root = copy_project(tmp_path / "project")
    completed = _regressions(root)
    assert completed.returncode == 1
    assert completed.stdout == ""
    lines = completed.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("mind_runner: no "), completed.stderr
    assert "run `python -m mind_runner publish` first" in lines[0]
