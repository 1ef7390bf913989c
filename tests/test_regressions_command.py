"""`python -m mind_runner regressions` on results written by asv's own API."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from mind_runner.hooks.lockfile import BuildRecord, LockOrigin
from tests.conftest import copy_project
from tests.test_regressions_history import (
    AUTODIFF,
    AUTODIFF_SPREAD,
    DAY,
    MACHINE,
    per_model,
    sha,
    write_benchmarks_json,
    write_result,
)

DAY0 = 1_780_000_000_000
NAV = '<li id="nav-li-regressions"><a href="#/regressions">Regressions</a></li>'


def project_with(tmp_path: Path, levels: list[tuple[float, float]]) -> Path:
    """A project copy whose results hold one autodiff level per commit (c0, c1, ...)."""
    root = copy_project(tmp_path / "project")
    results = root / "results"
    for index, (quadratic, mlp) in enumerate(levels):
        write_result(
            results,
            sha(f"c{index}"),
            DAY0 + index * DAY,
            {AUTODIFF: per_model(quadratic, mlp), AUTODIFF_SPREAD: per_model(0.0, 0.0)},
        )
    write_benchmarks_json(results, [AUTODIFF, AUTODIFF_SPREAD])
    (root / "html").mkdir()
    (root / "html" / "index.html").write_text(f"<html><ul>{NAV}</ul></html>")
    return root


def regressions(
    root: Path, *args: str, mind_repo: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """The command in `root`; with `mind_repo`, along that repository's history."""
    environment = {k: v for k, v in os.environ.items() if k != "MIND_REPO"}
    if mind_repo is not None:
        environment["MIND_REPO"] = str(mind_repo)
    return subprocess.run(
        [sys.executable, "-m", "mind_runner", "regressions", *args],
        cwd=root,
        env={**environment, "HOME": str(root)},
        capture_output=True,
        text=True,
        check=False,
    )


def test_a_revert_pair_and_a_step_still_present(tmp_path: Path) -> None:
    # small_mlp, as real MIND's allocator: -27 % at c2, its revert at c3 (+37 %), re-landed
    # at c4 (-27 %), then +4.5 % at c5 that stays.
    mlp = [61_000, 61_000, 44_530, 61_000, 44_530, 46_534]
    root = project_with(tmp_path, [(40_000, level) for level in mlp])
    latest = regressions(root)
    assert latest.returncode == 1, latest.stderr
    assert "1 regression(s) still present" in latest.stdout
    assert "(model=small_mlp): regression +4.5 %" in latest.stdout
    assert "improvement" not in latest.stdout  # only what is still present, by default
    assert "ordered by commit date" in latest.stdout

    everything = regressions(root, "--all")
    assert everything.returncode == 1
    assert everything.stdout.count("(model=small_mlp): ") == 4
    assert f"undoes:  {sha('c2')[:8]} (-27.0 %)" in everything.stdout
    assert f"undone:  by {sha('c4')[:8]}" in everything.stdout
    assert "simple_quadratic" not in everything.stdout  # flat: no step

    steps = json.loads((root / "html" / "steps.json").read_text())
    (machine,) = steps["machines"]
    assert machine["machine"] == MACHINE
    kinds = [(s["first_after"], s["kind"], s["still_present"]) for s in machine["steps"]]
    assert kinds == [
        (sha("c2"), "improvement", False),
        (sha("c3"), "regression", False),
        (sha("c4"), "improvement", False),
        (sha("c5"), "regression", True),
    ]
    assert machine["steps"][1]["undoes"] == sha("c2")
    page = (root / "html" / "steps.html").read_text()
    assert page.count("<tr class=") == 4 and "still present" in page
    index = (root / "html" / "index.html").read_text()
    assert index.count('href="steps.html"') == 1
    regressions(root)
    assert (root / "html" / "index.html").read_text() == index  # linked once


def test_only_improvements_exit_zero(tmp_path: Path) -> None:
    root = project_with(tmp_path, [(40_000, 61_000), (30_000, 50_000)])
    completed = regressions(root)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "0 regression(s) still present" in completed.stdout


def test_nothing_to_judge_is_an_error(tmp_path: Path) -> None:
    root = copy_project(tmp_path / "project")
    completed = regressions(root)
    assert completed.returncode == 1
    assert completed.stdout == ""
    (line,) = completed.stderr.splitlines()
    assert "nothing to judge" in line and "python -m mind_runner run" in line


def test_a_step_where_the_crates_changed_says_so(tmp_path: Path) -> None:
    """results/builds/ records the crates of each build: a step at a commit built with
    another dependency set than its predecessor may not be MIND's own change."""
    root = project_with(tmp_path, [(40_000, 61_000), (40_000, 61_000), (40_000, 64_000)])
    crates = {
        "c0": ("hashbrown 0.14.5 registry+https://github.com/rust-lang/crates.io-index",),
        "c1": ("hashbrown 0.14.5 registry+https://github.com/rust-lang/crates.io-index",),
        "c2": ("hashbrown 0.15.0 registry+https://github.com/rust-lang/crates.io-index",),
    }
    for name, packages in crates.items():
        BuildRecord(sha(name), LockOrigin.CARRIED, sha("c0"), packages).save(
            root / "results" / "builds"
        )
    completed = regressions(root)
    assert completed.returncode == 1, completed.stderr
    assert "(model=small_mlp): regression +4.9 %" in completed.stdout
    assert f"note:    the dependency set changed at {sha('c2')[:8]}" in completed.stdout
    (machine,) = json.loads((root / "html" / "steps.json").read_text())["machines"]
    (step,) = machine["steps"]
    assert step["dependency_changes"] == [sha("c2")]

    # The same crates throughout: no note.
    BuildRecord(sha("c2"), LockOrigin.CARRIED, sha("c0"), crates["c0"]).save(
        root / "results" / "builds"
    )
    assert "dependency set changed" not in regressions(root).stdout


def test_without_a_published_site_the_exact_figures_are_judged_all_the_same(
    tmp_path: Path,
) -> None:
    """asv's own findings come from the published site; the exact figures do not."""
    root = project_with(tmp_path, [(40_000, 61_000), (40_000, 64_000)])
    shutil.rmtree(root / "html")
    completed = regressions(root)
    assert completed.returncode == 1, completed.stderr
    assert "1 regression(s) still present" in completed.stdout
    assert "step detection runs at publish" in completed.stdout
    assert "`python -m mind_runner publish`" in completed.stdout
    assert (root / "html" / "steps.json").is_file()
    assert not (root / "html" / "steps.html").exists()  # no site to link it from


def test_thresholds_are_asv_conf_jsons_regressions_thresholds(tmp_path: Path) -> None:
    """One setting for both detectors: a correctness count's 0.0005 in asv.conf.json
    makes one more incorrect gradient among 1000 a step; counts keep 1 %."""
    incorrect = "mind_correctness.ChainCorrectness.track_incorrect_gradients"
    root = copy_project(tmp_path / "project")
    results = root / "results"
    levels = [((1000, 1000), (40_000, 61_000)), ((1000, 1001), (40_200, 61_300))]
    for index, (wrong, autodiff) in enumerate(levels):
        write_result(
            results,
            sha(f"c{index}"),
            DAY0 + index * DAY,
            {
                incorrect: per_model(*wrong),
                AUTODIFF: per_model(*autodiff),
                AUTODIFF_SPREAD: per_model(0.0, 0.0),
            },
        )
    write_benchmarks_json(results, [incorrect, AUTODIFF, AUTODIFF_SPREAD])
    completed = regressions(root)
    assert completed.returncode == 1, completed.stdout + completed.stderr
    assert "1 regression(s) still present" in completed.stdout
    assert f"{incorrect}(model=small_mlp): regression +0.1 %" in completed.stdout
    assert AUTODIFF not in completed.stdout  # +0.5 %: under counts' 1 %
    (machine,) = json.loads((root / "html" / "steps.json").read_text())["machines"]
    assert [step["threshold"] for step in machine["steps"]] == [0.0005]


def test_a_threshold_that_is_not_a_number_is_named(tmp_path: Path) -> None:
    root = project_with(tmp_path, [(40_000, 61_000), (40_000, 64_000)])
    config = root / "asv.conf.json"
    config.write_text(
        config.read_text().replace(
            '"regressions_thresholds": {', '"regressions_thresholds": {"x": "ten",', 1
        )
    )
    completed = regressions(root)
    assert completed.returncode == 1 and completed.stdout == ""
    (line,) = completed.stderr.splitlines()
    assert "regressions_thresholds cannot be read" in line and "a number" in line


def git_in(repo: Path, *args: str) -> str:
    """git in a throw-away repository, the user's configuration neither read nor written."""
    environment = {
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
        "PATH": os.environ["PATH"],
    }
    return subprocess.run(
        ["git", "-C", str(repo), *args], env=environment, check=True, capture_output=True, text=True
    ).stdout.strip()


def test_a_measured_commit_on_a_merged_side_branch_is_listed_not_compared(
    tmp_path: Path,
) -> None:
    """main: c0 - c1 - merge(side) - c3; side: s1 off c0. s1 has full results at another
    level: comparing it with a first-parent neighbour would invent a step, so it is
    listed under its machine as measured, not compared, in all three outputs."""
    repo = tmp_path / "mind"
    repo.mkdir()
    git_in(repo, "init", "-q", "-b", "main")
    git_in(repo, "commit", "-q", "--allow-empty", "-m", "c0")
    git_in(repo, "checkout", "-q", "-b", "side")
    git_in(repo, "commit", "-q", "--allow-empty", "-m", "s1")
    side = git_in(repo, "rev-parse", "HEAD")
    git_in(repo, "checkout", "-q", "main")
    git_in(repo, "commit", "-q", "--allow-empty", "-m", "c1")
    git_in(repo, "merge", "-q", "--no-ff", "-m", "merge side", "side")
    git_in(repo, "commit", "-q", "--allow-empty", "-m", "c3")
    main_line = git_in(repo, "rev-list", "--first-parent", "--reverse", "main").split()
    assert side not in main_line and len(main_line) == 4

    root = copy_project(tmp_path / "project")
    results = root / "results"
    levels = {main_line[0]: 61_000, side: 90_000, main_line[2]: 61_000, main_line[3]: 64_000}
    for index, (commit, level) in enumerate(levels.items()):
        write_result(
            results,
            commit,
            DAY0 + index * DAY,
            {AUTODIFF: per_model(40_000, level), AUTODIFF_SPREAD: per_model(0.0, 0.0)},
        )
    write_benchmarks_json(results, [AUTODIFF, AUTODIFF_SPREAD])
    (root / "html").mkdir()
    (root / "html" / "index.html").write_text(f"<html><ul>{NAV}</ul></html>")
    completed = regressions(root, "--all", mind_repo=repo)
    assert completed.returncode == 1, completed.stdout + completed.stderr
    assert "4 commits measured, ordered by git history" in completed.stdout
    assert (
        f"measured, not compared: {side[:8]} (not on the first-parent line of main)"
        in completed.stdout
    )
    # Only the step along main: 61,000 -> 64,000 at c3; none at s1 or at the merge.
    assert completed.stdout.count("(model=small_mlp): ") == 1
    assert "regression +4.9 %" in completed.stdout

    (machine,) = json.loads((root / "html" / "steps.json").read_text())["machines"]
    assert machine["commits"] == [main_line[0], main_line[2], main_line[3]]
    assert machine["measured_not_compared"] == [
        {"commit": side, "reason": "not on the first-parent line of main"}
    ]
    assert [step["first_after"] for step in machine["steps"]] == [main_line[3]]
    page = (root / "html" / "steps.html").read_text()
    assert "4 commits measured" in page
    assert f"measured, not compared: <code>{side[:8]}</code>" in page


def test_a_refusal_that_became_a_panic_is_shown_with_its_range(tmp_path: Path) -> None:
    """small_mlp was refused cleanly (a skip) at c0 and c1 and fails from c3 on, with c2
    not built: no number steps, yet `regressions` names where what a user meets changed."""
    repo = tmp_path / "mind"
    repo.mkdir()
    git_in(repo, "init", "-q", "-b", "main")
    for index in range(5):
        git_in(repo, "commit", "-q", "--allow-empty", "-m", f"c{index}")
    line = git_in(repo, "rev-list", "--first-parent", "--reverse", "main").split()
    root = copy_project(tmp_path / "project")
    results = root / "results"
    for index in (0, 1, 3, 4):
        mlp = float("nan") if index < 3 else None
        write_result(
            results,
            line[index],
            DAY0 + index * DAY,
            {AUTODIFF: per_model(40_000, mlp), AUTODIFF_SPREAD: per_model(0.0, None)},
        )
    write_benchmarks_json(results, [AUTODIFF, AUTODIFF_SPREAD])
    (root / "html").mkdir()
    (root / "html" / "index.html").write_text(f"<html><ul>{NAV}</ul></html>")
    completed = regressions(root, mind_repo=repo)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "0 step(s) in the history" in completed.stdout
    assert "1 change(s) of state" in completed.stdout
    assert f"(model=small_mlp): skipped -> failed\n  commits: {line[1][:8]}..{line[3][:8]}" in (
        completed.stdout
    )
    assert "1 commit between: 1 not run" in completed.stdout
    assert "bisect:  python -m mind_runner bisect" in completed.stdout
    (machine,) = json.loads((root / "html" / "steps.json").read_text())["machines"]
    (change,) = machine["changes"]
    assert change["params"] == {"model": "small_mlp"}
    assert (change["before"], change["after"]) == ("skipped", "failed")
    assert (change["last_before"], change["first_after"]) == (line[1], line[3])
    assert not change["single_commit"] and change["commits_between"] == 1
    page = (root / "html" / "steps.html").read_text()
    assert "0 steps, 1 changes of state" in page
    assert f"{line[1][:8]}..{line[3][:8]}</a> (1 between)</td><td>skipped</td><td>failed</td>" in (
        page
    )
