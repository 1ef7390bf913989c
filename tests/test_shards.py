"""Sharding, worker dirs, merging and machine classes, without running asv."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mind_runner.commands.asv_command import absolute_hashfile
from mind_runner.commands.config import load_config
from mind_runner.commands.machine_class import class_name
from mind_runner.commands.merge import merge
from mind_runner.commands.shard import range_commits, split, write_shards
from mind_runner.commands.worker_dir import WORKER_DIR_VARIABLE, apply_worker_dir
from mind_runner.commands.workers import plan, start_locks
from mind_runner.util.errors import MachineFault, UserError
from tests.test_bisect import linear_repo

COMMITS = [f"{n:02d}" * 20 for n in range(10, 0, -1)]  # newest first, as asv lists them


@pytest.mark.parametrize("shards", [1, 2, 3, 4, 7, 10])
def test_shards_are_contiguous_balanced_and_cover_the_range_once(shards: int) -> None:
    slices = split(COMMITS, shards)
    assert [c for s in slices for c in s] == COMMITS
    sizes = [len(s) for s in slices]
    assert len(slices) == shards and max(sizes) - min(sizes) <= 1


def test_more_shards_than_commits_gives_one_commit_each() -> None:
    assert split(COMMITS[:3], 20) == [[c] for c in COMMITS[:3]]


def test_shard_files_are_asv_hashfiles_and_stale_ones_are_refused(tmp_path: Path) -> None:
    paths = write_shards(split(COMMITS, 3), tmp_path)
    assert [p.name for p in paths] == ["shard-01.txt", "shard-02.txt", "shard-03.txt"]
    assert paths[0].read_text().splitlines() == COMMITS[:4]
    with pytest.raises(UserError, match="shard files of another plan"):
        write_shards(split(COMMITS, 2), tmp_path)


def test_a_relative_hashfile_is_the_callers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert absolute_hashfile("HASHFILE:shards/shard-01.txt") == (
        f"HASHFILE:{tmp_path}/shards/shard-01.txt"
    )
    assert absolute_hashfile("HASHFILE:-") == "HASHFILE:-"
    assert absolute_hashfile("main~3..main") == "main~3..main"


def test_a_worker_dir_moves_env_results_site_target_dir_and_carried_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    worker = tmp_path / "odd{name}"
    monkeypatch.setenv(WORKER_DIR_VARIABLE, str(worker))
    conf = load_config()
    assert (conf.env_dir, conf.results_dir, conf.html_dir) == (
        str(worker / "env"),
        str(worker / "results"),
        str(worker / "html"),
    )
    (build,) = conf.build_command
    # asv formats the command: braces in the path come out single.
    formatted = build.format(conf_dir="/project", build_dir="b", commit="c", build_cache_dir="d")
    assert f"--target-dir {worker}/cargo-target " in formatted
    assert f"--lock-dir {worker}/cargo-lock " in formatted  # each worker carries its own lock
    assert "{conf_dir}/.asv/build-logs" in build  # build logs stay shared


def test_every_worker_starts_from_the_lock_carried_now(tmp_path: Path) -> None:
    carried = tmp_path / "cargo-lock"
    carried.mkdir()
    (carried / "Cargo.lock").write_text("version = 3\n")
    (carried / "commit").write_text(COMMITS[0] + "\n")
    first, second = plan(COMMITS, 2, tmp_path / "backfill")
    # An earlier plan left another lock in the first worker's folder.
    (first.lock_dir).mkdir(parents=True)
    (first.lock_dir / "commit").write_text(COMMITS[2] + "\n")
    start_locks([first, second], carried)
    for worker in (first, second):
        assert (worker.lock_dir / "Cargo.lock").read_text() == "version = 3\n"
        assert (worker.lock_dir / "commit").read_text() == COMMITS[0] + "\n"


def test_a_lock_that_cannot_be_carried_is_one_line_saying_what_to_do(tmp_path: Path) -> None:
    carried = tmp_path / "cargo-lock"
    carried.mkdir()
    (carried / "Cargo.lock").write_text("version = 3\n")
    (worker,) = plan(COMMITS[:1], 1, tmp_path / "backfill")
    worker.folder.write_text("a file where the worker's folder should be")
    with pytest.raises(MachineFault) as raised:
        start_locks([worker], carried)
    assert str(raised.value) == (
        f"cannot carry {carried / 'Cargo.lock'} to {worker.lock_dir} (Not a directory): "
        "free disk space (or fix permissions) and run again"
    )


def test_a_build_command_without_the_target_dir_is_refused(tmp_path: Path) -> None:
    conf = load_config()
    conf.build_command = ["python -m mind_runner build --target-dir /elsewhere"]
    with pytest.raises(UserError, match="must name"):
        apply_worker_dir(conf, tmp_path)


# --- merge -------------------------------------------------------------------------

MACHINE = {"machine": "m", "cpu": "AMD EPYC 7763", "num_cpu": "4", "version": 1}


def worker_results(
    folder: Path, results: dict[str, Any], machine: dict[str, Any] = MACHINE
) -> Path:
    """A results folder as asv writes it: benchmarks.json, machine.json, one file a commit."""
    (folder / "m").mkdir(parents=True)
    (folder / "benchmarks.json").write_text(json.dumps({"b": {"name": "b"}, "version": 2}))
    (folder / "m" / "machine.json").write_text(json.dumps(machine))
    for commit, value in results.items():
        record = {"commit_hash": commit, "results": {"b": [value]}}
        (folder / "m" / f"{commit[:8]}-env.json").write_text(json.dumps(record))
    return folder


def test_disjoint_shards_merge_into_one_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = worker_results(tmp_path / "w1", {COMMITS[0]: 1, COMMITS[1]: 2})
    second = worker_results(tmp_path / "w2", {COMMITS[2]: 3})
    merge([first, second], tmp_path / "results")
    merged = sorted(p.name for p in (tmp_path / "results" / "m").iterdir())
    assert merged == sorted([f"{c[:8]}-env.json" for c in COMMITS[:3]] + ["machine.json"])
    assert (tmp_path / "results" / "benchmarks.json").is_file()
    assert "merged 3 result file(s) from 2 folder(s)" in capsys.readouterr().out


def test_identical_duplicates_are_fine_and_merging_twice_changes_nothing(tmp_path: Path) -> None:
    first = worker_results(tmp_path / "w1", {COMMITS[0]: 1})
    again = worker_results(tmp_path / "w1-downloaded-twice", {COMMITS[0]: 1})
    plan = merge([first, again], tmp_path / "results")
    assert plan.duplicates == 1 and len(plan.copies) == 3
    assert merge([first], tmp_path / "results").copies == []


def test_a_commit_measured_twice_differently_is_a_conflict_and_nothing_is_copied(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = worker_results(tmp_path / "w1", {COMMITS[0]: 1, COMMITS[1]: 2})
    second = worker_results(tmp_path / "w2", {COMMITS[1]: 2.5, COMMITS[2]: 3})
    with pytest.raises(UserError, match=r"1 conflict.*nothing was merged: keep one copy"):
        merge([first, second], tmp_path / "results")
    err = capsys.readouterr().err
    assert f"commit {COMMITS[1][:8]}): 2 different copies, in {first}, {second}" in err
    assert not (tmp_path / "results").exists()


def test_a_result_already_in_the_destination_is_never_overwritten(tmp_path: Path) -> None:
    destination = worker_results(tmp_path / "results", {COMMITS[0]: 1})
    worker = worker_results(tmp_path / "w1", {COMMITS[0]: 9})
    with pytest.raises(UserError, match="conflict"):
        merge([worker], destination)
    assert json.loads((destination / "m" / f"{COMMITS[0][:8]}-env.json").read_text())[
        "results"
    ] == {"b": [1]}


def test_workers_sharing_a_name_on_different_hardware_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = worker_results(tmp_path / "w1", {COMMITS[0]: 1})
    intel = dict(MACHINE, cpu="Intel Xeon 8370C")
    second = worker_results(tmp_path / "w2", {COMMITS[1]: 2}, machine=intel)
    with pytest.raises(UserError, match="different machine names"):
        merge([first, second], tmp_path / "results")
    assert "cpu: 'AMD EPYC 7763' vs 'Intel Xeon 8370C'" in capsys.readouterr().err


def test_a_half_written_result_file_is_reported(tmp_path: Path) -> None:
    worker = worker_results(tmp_path / "w1", {COMMITS[0]: 1})
    (worker / "m" / f"{COMMITS[0][:8]}-env.json").write_text('{"commit_hash": ')
    with pytest.raises(UserError, match="conflict"):
        merge([worker], tmp_path / "results")


def test_a_folder_that_is_not_a_results_folder_says_what_to_give(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="is not a worker's results folder"):
        merge([tmp_path], tmp_path / "results")


def test_machine_class_names_are_plain_and_differ_by_cpu_and_core_count() -> None:
    amd = {"cpu": "AMD EPYC 7763 64-Core Processor", "num_cpu": "4"}
    assert class_name("gha", amd) == "gha-amd-epyc-7763-64-core-processor-4cpu"
    assert class_name("gha", dict(amd, num_cpu="2")) != class_name("gha", amd)


def test_workers_that_ran_different_benchmark_code_are_refused(tmp_path: Path) -> None:
    first = worker_results(tmp_path / "w1", {COMMITS[0]: 1})
    second = worker_results(tmp_path / "w2", {COMMITS[1]: 2})
    (second / "benchmarks.json").write_text(json.dumps({"c": {"name": "c"}, "version": 2}))
    with pytest.raises(UserError, match="conflict"):
        merge([first, second], tmp_path / "results")


def test_a_worker_dir_kept_from_an_earlier_run_merges_only_this_runs_commits(
    tmp_path: Path,
) -> None:
    """The destination moved on (PyTorch's figures added to a commit in place); the
    worker's old copy of that commit is not this run's and is left out, not a conflict."""
    destination = worker_results(tmp_path / "results", {COMMITS[0]: 1})
    record = json.loads((destination / "m" / f"{COMMITS[0][:8]}-env.json").read_text())
    record["results"]["torch"] = [2]
    (destination / "m" / f"{COMMITS[0][:8]}-env.json").write_text(json.dumps(record))
    worker = worker_results(tmp_path / "w1", {COMMITS[0]: 1, COMMITS[1]: 5})
    with pytest.raises(UserError, match="conflict"):
        merge([worker], destination)
    merge([worker], destination, commits=[COMMITS[1]])
    assert (destination / "m" / f"{COMMITS[1][:8]}-env.json").is_file()
    kept = json.loads((destination / "m" / f"{COMMITS[0][:8]}-env.json").read_text())
    assert kept["results"]["torch"] == [2]


def test_a_hash_file_lists_the_commits_in_its_order_and_an_unknown_one_is_named(
    tmp_path: Path,
) -> None:
    """`backfill HASHFILE:path` measures exactly the listed commits, as `asv run` does."""
    commits = linear_repo(tmp_path / "mind", 4)
    config = tmp_path / "asv.conf.json"
    config.write_text(
        json.dumps({"version": 1, "project": "mind", "repo": str(tmp_path / "mind"), "dvcs": "git"})
    )
    listed = tmp_path / "commits.txt"
    listed.write_text(f"{commits[2][:10]}\n\n{commits[0]}\n")
    spec = f"HASHFILE:{listed}"
    assert range_commits(spec, pull=False, config_path=config) == [commits[2], commits[0]]
    listed.write_text(f"{commits[1]}\nfeedface\n")
    with pytest.raises(UserError, match=r"'feedface' in .*commits.txt is no commit of MIND's"):
        range_commits(spec, pull=False, config_path=config)
    with pytest.raises(UserError, match="cannot read the hash file"):
        range_commits(f"HASHFILE:{tmp_path / 'missing.txt'}", pull=False, config_path=config)
