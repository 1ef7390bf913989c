"""Faults around asv's result files: nothing measured is lost, no false all-clear.

Result files are written and read with asv's own Results API, as `asv run` and
`asv publish` do; the guard's wrappers are called the way asv calls the
methods they wrap.
"""

from __future__ import annotations

import dataclasses
import errno
import json
import math
import time
from pathlib import Path
from typing import Any

import pytest

from mind_runner.commands import cli
from mind_runner.commands import config as project_config
from mind_runner.commands.guard import HARNESS_FAULT_STATUS, Guard, summary
from mind_runner.regressions.asv_findings import report as regressions_report
from mind_runner.results.asv_results import publishable
from mind_runner.results.kept import keep_earlier
from mind_runner.util import run_log
from mind_runner.util.errors import UserError

MACHINE = "box"
ENV = "virtualenv-py3.11"
COMMIT = "ab12cd34" * 5
OTHER = "99887766" * 5
GRADIENT = "mind_cli.GradientGeneration.track_gradient_ir_instructions"
BACKWARD = "pytorch_autograd.Backward.time_pytorch_backward"
MODELS = ["'simple_quadratic'", "'small_mlp'", "'matmul_chain'"]
DEVICES = ["'cpu'", "'cuda'"]
NAN = math.nan


def new_results(commit: str = COMMIT) -> Any:
    from asv.results import Results

    params = {"machine": MACHINE, "python": "3.11"}
    return Results(params, {}, commit, 1_772_442_000_000, "3.11", ENV, {})


def add(results: Any, name: str, values: list[Any], axes: list[list[str]], code: int = 0) -> None:
    """One benchmark's outcome as asv's runner reports it (a number per combination)."""
    from asv.runner import BenchmarkResult

    samples = [[v] if isinstance(v, float) and not math.isnan(v) else None for v in values]
    number = [1 if s is not None else None for s in samples]
    outcome = [True if s is not None else v for v, s in zip(values, samples, strict=True)]
    results.add_result(
        {"name": name, "version": "1", "params": axes},
        BenchmarkResult(outcome, samples, number, code, "", None),
    )


def stored(results_dir: Path, commit: str = COMMIT) -> dict[str, Any]:
    """benchmark -> values, read back with json alone (NaN as Python reads it)."""
    from asv.results import get_filename

    data = json.loads((results_dir / get_filename(MACHINE, commit, ENV)).read_text())
    return {name: row[0] for name, row in data["results"].items()}


def save_plainly(results: Any, results_dir: Path) -> None:
    """What asv did before the guard: its own save."""
    type(results).save(results, str(results_dir))


@pytest.fixture
def earlier(tmp_path: Path) -> Path:
    """A results dir with a good run of COMMIT: gradient IR sizes, PyTorch timings."""
    results_dir = tmp_path / "results"
    results = new_results()
    add(results, GRADIENT, [4.0, 10.0, 13.0], [MODELS])
    add(results, BACKWARD, [5e-5, 3e-4, 2e-3, NAN, NAN, NAN], [MODELS, DEVICES])
    save_plainly(results, results_dir)
    return results_dir


def guard_for(tmp_path: Path, *entries: run_log.Entry) -> Guard:
    log = tmp_path / "run.jsonl"
    for entry in entries:
        run_log.record(entry, log)
    return Guard(log=log, scratch=tmp_path / "saving")


def a_fault(commit: str = COMMIT) -> run_log.Entry:
    return run_log.Entry(
        run_log.Kind.HARNESS, commit, "cargo not found", "install Rust (rustup), or set CARGO="
    )


def faulted_run(commit: str = COMMIT) -> Any:
    """What asv saves after a failed build: every benchmark null."""
    results = new_results(commit)
    add(results, GRADIENT, [None, None, None], [MODELS])
    add(results, BACKWARD, [None] * 6, [MODELS, DEVICES])
    return results


# --- nothing measured is lost -------------------------------------------------------------


def test_a_fault_of_the_machine_never_replaces_earlier_results(
    tmp_path: Path, earlier: Path
) -> None:
    before = stored(earlier)
    guard = guard_for(tmp_path, a_fault())
    guard.save(save_plainly, faulted_run(), str(earlier))
    assert stored(earlier) == before
    assert guard.kept == [COMMIT]


def test_without_the_guard_asv_overwrites_them(earlier: Path) -> None:
    """The fault as reported: the same save, unguarded, turns good figures into nulls."""
    save_plainly(faulted_run(), earlier)
    assert stored(earlier)[GRADIENT] is None


def test_a_fault_at_a_commit_never_measured_leaves_no_file(tmp_path: Path, earlier: Path) -> None:
    """Nulls of a fault must not read as 'MIND failed' on the site: no file at all."""
    guard = guard_for(tmp_path, a_fault(OTHER))
    guard.save(save_plainly, faulted_run(OTHER), str(earlier))
    assert sorted(p.name for p in (earlier / MACHINE).iterdir()) == [f"ab12cd34-{ENV}.json"]


def test_what_this_run_did_measure_stays_and_the_gaps_are_filled(
    tmp_path: Path, earlier: Path
) -> None:
    """valgrind missing: the PyTorch figures of this run are new, the counts are kept."""
    results = new_results()
    results.load_data(str(earlier))  # asv loads the earlier file first
    add(results, GRADIENT, [NAN, NAN, NAN], [MODELS])  # skipped: no valgrind
    add(results, BACKWARD, [6e-5, None, 2.5e-3, NAN, NAN, NAN], [MODELS, DEVICES])
    guard = guard_for(tmp_path, a_fault())
    guard.save(save_plainly, results, str(earlier))
    after = stored(earlier)
    assert after[GRADIENT] == [4, 10, 13]
    backward = after[BACKWARD]
    assert backward[0] == pytest.approx(6e-5) and backward[2] == pytest.approx(2.5e-3)
    assert backward[1] == pytest.approx(3e-4)  # this run's null: the earlier figure


def test_a_commit_without_faults_records_what_mind_did(tmp_path: Path, earlier: Path) -> None:
    """No fault logged: a null is a fact about MIND, and it is saved as such."""
    guard = guard_for(tmp_path, a_fault(OTHER))
    guard.save(save_plainly, faulted_run(), str(earlier))
    assert stored(earlier)[GRADIENT] is None


def test_asvs_own_timeout_is_a_fault_of_the_machine(tmp_path: Path, earlier: Path) -> None:
    from asv.util import TIMEOUT_RETCODE

    results = new_results()
    results.load_data(str(earlier))
    add(results, GRADIENT, [None, None, None], [MODELS], code=TIMEOUT_RETCODE)
    guard = guard_for(tmp_path)
    guard.save(save_plainly, results, str(earlier))
    assert stored(earlier)[GRADIENT] == [4, 10, 13]
    lines, status = summary(guard, 2)
    assert status == HARNESS_FAULT_STATUS
    assert lines == [
        f"MIND {COMMIT[:8]} not measured ({GRADIENT}), a fault of this machine, not of MIND: "
        "asv's benchmark timeout ran out: the machine was too busy or too slow: run this "
        "commit again, or raise the benchmark's timeout [earlier results kept]"
    ]


def test_keep_earlier_takes_no_figure_of_another_benchmark_version(earlier: Path) -> None:
    from asv.results import Results, get_filename

    old = Results.load(str(earlier / get_filename(MACHINE, COMMIT, ENV)))
    new = new_results()
    add(new, GRADIENT, [None, 11.0, None], [MODELS])
    new.benchmark_version[GRADIENT] = "2"  # the benchmark changed since
    assert keep_earlier(new, old, [GRADIENT]) == []
    assert new.get_result_value(GRADIENT, [MODELS])[0] is None


def test_a_full_disk_while_saving_leaves_the_old_file_whole(tmp_path: Path, earlier: Path) -> None:
    before = (earlier / MACHINE / f"ab12cd34-{ENV}.json").read_text()

    def full_disk(results: Any, result_dir: str) -> None:
        path = Path(result_dir) / MACHINE / f"ab12cd34-{ENV}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text('{"commit_hash": "ab12')  # asv writes in place, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    results = new_results()
    add(results, GRADIENT, [5.0, 10.0, 13.0], [MODELS])
    with pytest.raises(UserError) as raised:
        guard_for(tmp_path).save(full_disk, results, str(earlier))
    assert str(raised.value).startswith(
        f"could not save the results of MIND {COMMIT[:8]} to "
    ) and str(raised.value).endswith(
        "(No space left on device): free disk space and run again; results saved before are intact"
    )
    assert (earlier / MACHINE / f"ab12cd34-{ENV}.json").read_text() == before
    assert list((tmp_path / "saving").iterdir()) == []


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda text: text[: len(text) // 2], id="truncated"),
        pytest.param(lambda text: "", id="empty"),
        pytest.param(lambda text: json.dumps({"version": 2}), id="no-keys"),
    ],
)
def test_an_unreadable_results_file_is_set_aside_and_the_commit_measured_afresh(
    tmp_path: Path, earlier: Path, damage: Any
) -> None:
    from asv.results import Results

    path = earlier / MACHINE / f"ab12cd34-{ENV}.json"
    garbage = damage(path.read_text())
    path.write_text(garbage)
    with pytest.raises(Exception, match=r"Error loading results file|Error parsing JSON"):
        new_results().load_data(str(earlier))  # what stopped a whole `asv run`
    guard = guard_for(tmp_path)
    results = new_results()
    guard.load_data(Results.load_data, results, str(earlier))
    aside = path.with_name(path.name + ".unreadable")
    assert aside.read_text() == garbage  # nothing deleted
    assert not path.exists()
    (line,) = guard.set_aside
    assert line.startswith(f"{path} was unreadable (")
    assert line.endswith(
        f"set aside as {aside.name}, and MIND {COMMIT[:8]} measured afresh; to keep its old "
        "figures, repair that file and put it back before the next run of this commit"
    )


def test_the_closing_lines_keep_faults_and_facts_apart(tmp_path: Path) -> None:
    entries = [
        a_fault(),
        run_log.Entry(
            run_log.Kind.MIND,
            OTHER,
            "does not build (cargo exit 101)",
            "build log: .asv/build-logs/x.log",
        ),
        *(
            run_log.Entry(run_log.Kind.MIND, OTHER, "crashed (SIGSEGV)", subject=s)
            for s in ("small_mlp.let-form.mind", "matmul_chain.let-form.mind")
        ),
    ]
    guard = guard_for(tmp_path, *entries)
    lines, status = summary(guard, 2)
    assert status == HARNESS_FAULT_STATUS
    assert lines == [
        f"MIND {COMMIT[:8]} not measured, a fault of this machine, not of MIND: cargo not "
        "found: install Rust (rustup), or set CARGO= [nothing recorded]",
        f"MIND {OTHER[:8]}: does not build (cargo exit 101) (build log: .asv/build-logs/x.log)",
        f"MIND {OTHER[:8]} (small_mlp.let-form.mind, matmul_chain.let-form.mind): "
        "crashed (SIGSEGV)",
    ]
    # Failures asv recorded with nothing in the log: said so, not blamed on a build.
    lines, status = summary(guard_for(tmp_path / "quiet"), 2)
    assert status == 2
    assert lines == [
        "asv recorded failed benchmarks: see its output above (--show-stderr shows each "
        "benchmark's own message)"
    ]


# --- no false all-clear: publish, regressions, report ------------------------------------


def write_machine_json(results_dir: Path, machine: str = MACHINE) -> None:
    from asv.machine import Machine

    described = Machine()
    described.__dict__.update({"machine": machine, "os": "Linux", "arch": "x86_64"})
    described.save(str(results_dir))


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, earlier: Path) -> Path:
    """A project folder with COMMIT's results and a good published site."""
    (tmp_path / "asv.conf.json").write_text(
        json.dumps(
            {
                "version": 1,
                "project": "mind",
                "repo": "https://example.invalid/star-ga/mind.git",
                "branches": ["main"],
                "results_dir": "results",
                "html_dir": "html",
            }
        )
    )
    write_machine_json(earlier)
    (tmp_path / "html").mkdir()
    (tmp_path / "html" / "index.html").write_text("<html>the good site</html>")
    monkeypatch.setattr(project_config, "CONFIG_PATH", tmp_path / "asv.conf.json")
    monkeypatch.delenv("MIND_REPO", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def one_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.startswith("mind_runner: ") and err.count("\n") == 1, err
    return err


def test_publish_without_machine_json_keeps_the_site_and_fails(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    machine_json = project / "results" / MACHINE / "machine.json"
    machine_json.unlink()
    assert cli.main(["publish"]) == 1
    err = one_line(capsys)
    assert err == (
        f"mind_runner: {machine_json} is missing: without it asv ignores every result in "
        f"{machine_json.parent}: restore it (e.g. `git checkout -- {machine_json}`), or run "
        "any commit on that machine, which writes it again (`python -m mind_runner run "
        f"HASH^! --machine {MACHINE}`)\n"
    )
    assert (project / "html" / "index.html").read_text() == "<html>the good site</html>"


def test_publish_with_nothing_readable_keeps_the_site_and_fails(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "results" / MACHINE / f"ab12cd34-{ENV}.json").write_text("{")
    assert cli.main(["publish"]) == 1
    err = one_line(capsys)
    assert "publishing would leave an empty site, so html/ is kept as it is" in err
    assert f"ab12cd34-{ENV}.json: truncated or not JSON" in err
    assert (project / "html" / "index.html").read_text() == "<html>the good site</html>"


def test_publish_names_each_file_it_must_leave_out(project: Path) -> None:
    bad = project / "results" / MACHINE / f"99887766-{ENV}.json"
    bad.write_text('{"results": ')
    (left_out,) = publishable(project / "results")
    assert left_out.path == bad
    assert left_out.line().startswith(f"unreadable asv results file {bad}: truncated or not JSON")


def write_site(html: Path, graph_points: list[list[Any]]) -> None:
    (html / "graphs" / "branch-main").mkdir(parents=True)
    (html / "graphs" / "branch-main" / f"{GRADIENT}.json").write_text(json.dumps(graph_points))
    (html / "index.json").write_text(
        json.dumps({"revision_to_hash": {"1": COMMIT}, "benchmarks": {}, "hash_length": 8})
    )
    (html / "regressions.json").write_text(json.dumps({"regressions": []}))


@pytest.mark.parametrize(
    "points",
    [
        pytest.param([], id="empty-site"),
        pytest.param([[1, [4, 10, 13]]], id="one-commit"),
        pytest.param([[1, [4, 10, 13]], [2, [None, None, None]]], id="one-measured-commit"),
    ],
)
def test_regressions_with_nothing_to_judge_is_an_error_not_an_all_clear(
    tmp_path: Path, points: list[list[Any]]
) -> None:
    write_site(tmp_path, points)
    with pytest.raises(UserError, match=r"^nothing to judge in .*: no benchmark there has"):
        regressions_report(tmp_path)


def test_regressions_with_a_history_and_no_step_is_an_all_clear(tmp_path: Path) -> None:
    write_site(tmp_path, [[1, [4, 10, 13]], [2, [4, 10, 13]]])
    assert regressions_report(tmp_path) == (f"no regressions in {tmp_path / 'regressions.json'}", 0)


def test_the_regressions_command_without_results_says_to_run_first(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for path in sorted((project / "results").rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    assert cli.main(["regressions"]) == 1
    err = one_line(capsys)
    assert "nothing to judge; run `python -m mind_runner run` first" in err


def test_the_regressions_command_with_one_measured_commit_has_nothing_to_judge(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One commit measured: no step can be found, and "no regression" would be false."""
    assert cli.main(["regressions"]) == 1
    err = one_line(capsys)
    assert err.startswith("mind_runner: nothing to judge: no figure that repeats exactly")
    assert "run `python -m mind_runner run RANGE` first" in err


def test_the_regressions_command_names_the_files_it_leaves_out(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results = new_results(OTHER)
    add(results, GRADIENT, [4.0, 10.0, 13.0], [MODELS])
    save_plainly(results, project / "results")
    bad = project / "results" / MACHINE / f"5ca1ab1e-{ENV}.json"
    bad.write_text('{"results": ')
    assert cli.main(["regressions"]) == 0
    captured = capsys.readouterr()
    assert "0 regression(s) still present" in captured.out
    assert captured.err.startswith(
        f"mind_runner: left out: unreadable asv results file {bad}: truncated or not JSON"
    )


def test_report_goes_on_past_another_commits_unreadable_file(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = project / "results" / MACHINE / f"99887766-{ENV}.json"
    bad.write_text('{"results": ')
    assert cli.main(["report"]) == 0
    captured = capsys.readouterr()
    assert f"Commit:   {COMMIT}" in captured.out
    assert captured.err == (
        f"mind_runner: left out: unreadable asv results file {bad}: truncated or not JSON: "
        "Expecting value: line 1 column 13 (char 12); fix or delete it (asv itself would skip "
        "it with a warning)\n"
    )
    # Asked for the commit whose file it is: an error naming the file.
    assert cli.main(["report", "--commit", "99887766"]) == 1
    assert f"unreadable asv results file {bad}" in one_line(capsys)


def test_report_shows_a_fault_at_a_later_attempt_apart_from_the_figures(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    later = dataclasses.replace(a_fault(), at=time.time() + 60)  # the next run, a minute on
    run_log.record(later, project / ".asv" / "run-logs" / "later.jsonl")
    assert cli.main(["report"]) == 0
    out = capsys.readouterr().out
    (line,) = [line for line in out.splitlines() if line.startswith("Run log:")]
    assert line.startswith("Run log:  fault of this machine, not a fact about MIND, at ")
    assert line.endswith(
        ": cargo not found: install Rust (rustup), or set CARGO=; the figures are from the "
        "earlier run"
    )
