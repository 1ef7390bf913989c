"""Results measured on the rig's rewritten MIND history, shipped under GitHub's hashes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mind_runner.commands.cli import main
from mind_runner.commands.merge import merge
from mind_runner.commands.rehash import read_map, rehash
from mind_runner.util.errors import UserError
from tests.asv_results import load_results

GITHUB = ["a1" * 20, "b2" * 20, "c3" * 20]
REWRITTEN = ["d4" * 20, "e5" * 20, "f6" * 20]
ENV = "virtualenv-py3.11"


def commit_map(folder: Path) -> Path:
    """The rig's commit-map.tsv: GitHub's hash, a tab, the rewritten one."""
    path = folder / "commit-map.tsv"
    path.write_text("".join(f"{g}\t{r}\n" for g, r in zip(GITHUB, REWRITTEN, strict=True)))
    return path


def rig_results(folder: Path, machine: str, commits: dict[str, float]) -> Path:
    """A results folder as asv and the build step write it, on rewritten hashes."""
    (folder / machine).mkdir(parents=True, exist_ok=True)
    (folder / machine / "machine.json").write_text(json.dumps({"machine": machine, "version": 1}))
    (folder / "benchmarks.json").write_text(json.dumps({"version": 2}))
    for index, (commit, value) in enumerate(commits.items()):
        record = {
            "commit_hash": commit,
            "env_name": ENV,
            "date": 1_780_000_000_000 + index,
            "params": {"python": "3.11", "machine": machine},
            "python": "3.11",
            "requirements": {},
            "env_vars": {},
            "result_columns": ["result", "params", "version"],
            "results": {"b.track_x": [[value], [], "v1"]},
            "durations": {},
            "version": 2,
        }
        (folder / machine / f"{commit[:8]}-{ENV}.json").write_text(json.dumps(record))
        builds = folder / "builds"
        builds.mkdir(exist_ok=True)
        (builds / f"{commit}.toml").write_text(
            f'# The crates MIND {commit[:8]} was built with\ncommit = "{commit}"\n'
        )
    return folder


def test_results_and_build_records_carry_github_hashes_after_rehash_and_merge(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = rig_results(tmp_path / "rig", "m", {REWRITTEN[0]: 1.0, REWRITTEN[2]: 3.0})
    status = main(
        ["rehash", str(folder), "--map", str(commit_map(tmp_path)), "--reverse",
         "--out", str(tmp_path / "out")]
    )  # fmt: skip
    assert status == 0
    assert "(2 build record(s))" in capsys.readouterr().out
    merge([tmp_path / "out"], tmp_path / "results")
    results = load_results(tmp_path / "results" / "m")
    assert sorted(results) == [GITHUB[0], GITHUB[2]]
    assert results[GITHUB[2]].get_result_value("b.track_x", []) == [3.0]
    record = (tmp_path / "results" / "builds" / f"{GITHUB[0]}.toml").read_text()
    assert GITHUB[0] in record and GITHUB[0][:8] in record and REWRITTEN[0][:8] not in record
    assert sorted(p.name for p in (tmp_path / "results" / "builds").iterdir()) == [
        f"{GITHUB[0]}.toml",
        f"{GITHUB[2]}.toml",
    ]


def test_only_the_named_machine_and_its_commits_build_records_are_copied(tmp_path: Path) -> None:
    folder = rig_results(tmp_path / "rig", "keep", {REWRITTEN[0]: 1.0})
    rig_results(folder, "drop", {REWRITTEN[1]: 2.0})
    assert main(
        ["rehash", str(folder), "--map", str(commit_map(tmp_path)), "--reverse",
         "--out", str(tmp_path / "out"), "--machine", "keep"]
    ) == 0  # fmt: skip
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "benchmarks.json",
        "builds",
        "keep",
    ]
    assert [p.name for p in (tmp_path / "out" / "builds").iterdir()] == [f"{GITHUB[0]}.toml"]


def test_a_commit_the_map_does_not_know_stops_before_anything_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = rig_results(tmp_path / "rig", "m", {REWRITTEN[0]: 1.0, "99" * 20: 2.0})
    status = main(
        ["rehash", str(folder), "--map", str(commit_map(tmp_path)), "--reverse",
         "--out", str(tmp_path / "out")]
    )  # fmt: skip
    assert status == 1
    err = capsys.readouterr().err
    assert "commit 99999999 is not in the commit map" in err and "--reverse" in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_the_map_read_the_wrong_way_round_says_so(tmp_path: Path) -> None:
    folder = rig_results(tmp_path / "rig", "m", {REWRITTEN[0]: 1.0})
    with pytest.raises(UserError, match="use --reverse"):
        rehash(folder, commit_map(tmp_path), tmp_path / "out", reverse=False)


def test_a_malformed_map_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "map.tsv"
    path.write_text(f"{GITHUB[0]}\t{REWRITTEN[0]}\nnot a hash line\n")
    with pytest.raises(UserError, match=r"map.tsv:2 is not two full commit hashes"):
        read_map(path, reverse=True)


def test_merge_refuses_two_different_build_records_of_one_commit(tmp_path: Path) -> None:
    first = rig_results(tmp_path / "w1", "m", {REWRITTEN[0]: 1.0})
    second = rig_results(tmp_path / "w2", "m", {REWRITTEN[0]: 1.0})
    (second / "builds" / f"{REWRITTEN[0]}.toml").write_text("lockfile = 'fresh'\n")
    with pytest.raises(UserError, match="1 conflict"):
        merge([first, second], tmp_path / "results")
    assert not (tmp_path / "results").exists()


def test_a_file_that_is_not_an_asv_result_is_named_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = rig_results(tmp_path / "rig", "m", {REWRITTEN[0]: 1.0})
    (folder / "m" / "notes.json").write_text("[1, 2")
    status = main(
        ["rehash", str(folder), "--map", str(commit_map(tmp_path)), "--reverse",
         "--out", str(tmp_path / "out")]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert status == 1 and "notes.json is not an asv result file" in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "out").exists()
