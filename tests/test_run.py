"""`python -m mind_runner run`: MIND's benchmarks at every commit, PyTorch's at the newest."""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

import pytest

from mind_runner.commands import run as run_command
from mind_runner.commands.asv_command import parse_asv_args
from mind_runner.commands.config import CONFIG_PATH
from mind_runner.util.errors import UserError
from tests.asv_results import load_results
from tests.conftest import MACHINE, Project, copy_project, isolated_environment
from tests.fixture_history import make_history

PYTORCH_SIDE = {
    "pytorch_autograd.AotCapture.time_pytorch_aot_capture",
    "pytorch_autograd.Backward.time_pytorch_backward",
    "pytorch_autograd.Backward.time_pytorch_forward_backward",
    "pytorch_autograd.SameFillsAsMindRuntime.time_pytorch_forward_backward_same_fills",
    "pytorch_autograd.SavedTensors.track_saved_tensor_bytes",
    "scaling.ReluMatmulChain.time_pytorch_aot_capture",
    "scaling.ReluMatmulChain.time_pytorch_backward",
}


def discovered() -> dict[str, list[list[str]]]:
    from asv_runner.discovery import disc_benchmarks

    root = Path(__file__).resolve().parent.parent / "benchmarks"
    return {b.name: b.params for b in disc_benchmarks(str(root))}


def selects(regexes: list[str], name: str) -> bool:
    return any(re.search(regex, name) for regex in regexes)


def test_every_benchmark_is_on_exactly_one_side() -> None:
    """The PyTorch side is PyTorch alone; everything that runs mindc is on the MIND side."""
    names = set(discovered())
    pytorch = {n for n in names if selects(run_command.side_regexes(None, True), n)}
    mind = {n for n in names if selects(run_command.side_regexes(None, False), n)}
    assert pytorch == PYTORCH_SIDE
    assert mind == names - PYTORCH_SIDE and not mind & pytorch
    assert "scaling.ReluMatmulChain.track_mind_autodiff_instructions" in mind


def test_the_users_selection_narrows_each_side() -> None:
    user = ["^mind_cli", "small_mlp"]
    mind = run_command.side_regexes(user, False)
    pytorch = run_command.side_regexes(user, True)
    assert selects(mind, "mind_cli.CliStages.time_startup")
    assert selects(mind, "mind_counts.InstructionCounts.track_autodiff_instructions('small_mlp')")
    assert not selects(mind, "mind_counts.InstructionCounts.track_autodiff_instructions('x')")
    assert selects(pytorch, "pytorch_autograd.Backward.time_pytorch_backward('small_mlp', 'cpu')")
    assert not selects(pytorch, "pytorch_autograd.Backward.time_pytorch_backward('x', 'cpu')")
    assert run_command.selected_count(run_command.side_regexes(["^mind_"], True)) == 0


@pytest.fixture
def asv_calls(monkeypatch: pytest.MonkeyPatch) -> list[argparse.Namespace]:
    """Each asv command `run` would give, parsed and adjusted, instead of running it."""
    calls: list[argparse.Namespace] = []

    def fake_asv_main(argv: list[str], config_path: Path, adjust: object = None) -> int:
        args = parse_asv_args(argv, config_path)
        if callable(adjust):
            adjust(args)
        calls.append(args)
        return 2 if len(calls) == 1 else 0

    monkeypatch.setattr(run_command, "asv_main", fake_asv_main)
    return calls


def test_mind_everywhere_then_pytorch_at_the_newest_commit(
    asv_calls: list[argparse.Namespace],
) -> None:
    status = run_command.run("main~20..main", ["--machine", "m", "--steps", "5"])
    assert status == 2  # the worse of the two
    mind, pytorch = asv_calls
    assert (mind.range, mind.machine, mind.steps) == ("main~20..main", "m", 5)
    assert mind.bench == run_command.side_regexes(None, False)
    assert (pytorch.range, pytorch.machine, pytorch.steps) == ("main~20..main", "m", 1)
    assert pytorch.bench == run_command.side_regexes(None, True)


def test_a_side_the_users_bench_leaves_empty_is_not_run(
    asv_calls: list[argparse.Namespace],
) -> None:
    run_command.run("main", ["--bench", "^mind_", "-a", "repeat=3"])
    (only,) = asv_calls
    assert only.bench == run_command.side_regexes(["^mind_"], False)
    assert only.steps is None and only.attribute == {"repeat": 3}


def test_pytorch_everywhere_is_plain_asv_run(asv_calls: list[argparse.Namespace]) -> None:
    run_command.run("main~3..main", ["--bench", "Backward"], pytorch_everywhere=True)
    (only,) = asv_calls
    assert (only.bench, only.steps) == (["Backward"], None)


def test_a_bench_that_selects_nothing_says_so(asv_calls: list[argparse.Namespace]) -> None:
    with pytest.raises(UserError, match=r"^no benchmark matches --bench no_such_thing: names"):
        run_command.run("main", ["--bench", "no_such_thing"])
    assert asv_calls == []


def test_asv_resolves_steps_1_to_the_newest_commit_of_a_range(tmp_path: Path) -> None:
    """What the PyTorch side relies on: asv's own range order and pick_n."""
    from asv.plugins.git import Git
    from asv.util import pick_n

    history = make_history(tmp_path / "mind")
    repo = Git(str(history.repo), str(tmp_path / "mirror"))
    first, last = history.commits[1].sha, history.commits[-1].sha
    assert pick_n(repo.get_hashes_from_range(f"{first}..{last}"), 1) == [last]
    assert pick_n(repo.get_hashes_from_range(f"{first}..main"), 1) == [last]


def test_steps_1_keeps_the_newest_commit_whatever_the_order_asv_lists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A HASHFILE or a list keeps its own order (oldest first here): asv's pick_n would
    keep the oldest; the PyTorch pass keeps the newest by commit date and names it."""
    from asv import util

    history = make_history(tmp_path / "mind")
    monkeypatch.setenv("MIND_REPO", str(history.repo))
    monkeypatch.chdir(CONFIG_PATH.parent)
    oldest_first = [c.sha for c in history.commits[1:5]]
    assert util.pick_n(oldest_first, 1) == [oldest_first[0]]  # asv's own choice
    with run_command.newest_picked(CONFIG_PATH):
        assert util.pick_n(oldest_first, 1) == [oldest_first[-1]]
        assert util.pick_n(oldest_first[::-1], 1) == [oldest_first[-1]]
        assert util.pick_n(oldest_first, 2) == [oldest_first[0], oldest_first[2]]  # as asv
    assert util.pick_n(oldest_first, 1) == [oldest_first[0]]  # restored
    logged = capsys.readouterr().err
    assert logged.count(f"newest of the 4 selected commit(s) only, {oldest_first[-1][:8]}") == 2


def test_the_pytorch_pass_is_given_the_commits_the_first_pass_measured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """NEW selects nothing once the first pass has stored results, so the PyTorch pass
    is given the first pass's own selection (as asv handed it to discovery)."""
    from asv.benchmarks import Benchmarks

    handed: list[list[str]] = []

    def discovered(cls: Any, /, conf: Any, repo: Any, envs: Any, hashes: Any, **kw: Any) -> None:
        handed.append(list(hashes))

    monkeypatch.setattr(Benchmarks, "discover", classmethod(discovered))
    calls: list[argparse.Namespace] = []
    selections = iter([["c3" * 20, "c1" * 20, "c2" * 20]])

    def fake_asv_main(argv: list[str], config_path: Path, adjust: Any = None) -> int:
        args = parse_asv_args(argv, config_path)
        adjust(args)
        calls.append(args)
        if len(calls) == 1:  # what asv's run does: discovery gets its final selection
            Benchmarks.discover(None, None, [], next(selections), regex=args.bench)
        return 0

    monkeypatch.setattr(run_command, "asv_main", fake_asv_main)
    run_command.run("NEW", ["--machine", "m"])
    mind, pytorch = calls
    assert mind.range == "NEW" and mind.steps is None
    assert (pytorch.range, pytorch.steps) == (["c3" * 20, "c1" * 20, "c2" * 20], 1)
    assert Benchmarks.discover.__func__ is discovered  # the recorder is gone again


@pytest.mark.slow
@pytest.mark.cargo
def test_a_hashfile_listed_oldest_first_gets_pytorch_at_its_newest_commit(tmp_path: Path) -> None:
    """As a user ran it on real MIND: `run HASHFILE:<file>`, commits oldest first."""
    history = make_history(tmp_path / "mind")
    (tmp_path / "home").mkdir()
    project = Project(
        copy_project(tmp_path / "project"),
        history,
        isolated_environment(tmp_path / "home", history.repo),
    )
    oldest, newest = history.by_label("works").sha, history.by_label("slow-autodiff").sha
    hashfile = tmp_path / "commits.txt"
    hashfile.write_text(f"{oldest}\n{newest}\n")
    completed = project.mind_runner(
        "run",
        f"HASHFILE:{hashfile}",
        "--machine",
        MACHINE,
        "--bench",
        "track_gradient_ir_instructions|track_saved_tensor_bytes",
        "-a",
        "repeat=1",
        "-a",
        "rounds=1",
        "-a",
        "warmup_time=0",
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert f"newest of the 2 selected commit(s) only, {newest[:8]}" in completed.stderr
    results = load_results(project.results_dir)
    assert set(results) == {oldest, newest}
    saved = "pytorch_autograd.SavedTensors.track_saved_tensor_bytes"
    assert saved in results[newest].get_all_result_keys()
    assert saved not in results[oldest].get_all_result_keys()
    for commit in (oldest, newest):
        assert "mind_cli.GradientGeneration.track_gradient_ir_instructions" in (
            results[commit].get_all_result_keys()
        )
