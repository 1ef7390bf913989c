"""`asv find` over MIND commits, going past commits that do not build.

asv's bisection already steps over a commit whose benchmark has no value (it
tries the neighbour), but a failed *build* never gets that far: the build's
`ProcessError` escapes `Find.run` and the search dies with a traceback. Here asv's
own `Find` runs unchanged, with two of the names it calls wrapped for the duration:
its environments catch a failed build of the commit under test, and
`run_benchmarks` then records that commit's benchmarks as skipped (what `asv run`
does after a failed build) instead of running them against a missing binary. asv's
search sees no value there and moves to a neighbour.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mind_runner.commands.asv_command import asv_main
from mind_runner.commands.config import build_log_dir, load_config
from mind_runner.util.errors import UserError

FOUND_PREFIX = "Greatest regression found: "
FOUND_PREFIXES = (FOUND_PREFIX, "Greatest improvement found: ")


@dataclass
class Bisection:
    """What happened to each commit asv's search touched, in the order it did."""

    log_dir: Path | None
    unbuildable: list[str] = field(default_factory=list)
    values: dict[str, list[float | None]] = field(default_factory=dict)
    found: str | None = None
    # Discovery installs a commit too; a build failure there stays asv's business.
    searching: bool = False

    def build_log(self, commit: str) -> str:
        if self.log_dir is None:
            return "no build log configured"
        path = self.log_dir / f"{commit}.log"
        return str(path) if path.is_file() else f"no build log at {path}"


class _SkippingEnvironment:
    """An asv environment whose failed build marks the commit instead of raising."""

    def __init__(self, environment: Any, bisection: Bisection) -> None:
        self._environment = environment
        self._bisection = bisection
        self.failed_commit: str | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._environment, name)

    def install_project(self, conf: Any, repo: Any, commit_hash: str) -> None:
        from asv import util
        from asv.console import log

        self.failed_commit = None
        try:
            self._environment.install_project(conf, repo, commit_hash)
        except util.ProcessError:
            if not self._bisection.searching:
                raise
            self.failed_commit = commit_hash
            if commit_hash not in self._bisection.unbuildable:
                self._bisection.unbuildable.append(commit_hash)
            log.warning(
                f"commit {commit_hash[:8]} does not build "
                f"(log: {self._bisection.build_log(commit_hash)}), skipped"
            )


class _FoundHandler(logging.Handler):
    """Keeps asv's closing 'Greatest regression found: HASH' line (asv logs via logging)."""

    def __init__(self, bisection: Bisection) -> None:
        super().__init__(level=logging.INFO)
        self._bisection = bisection

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        for prefix in FOUND_PREFIXES:
            if message.startswith(prefix):
                self._bisection.found = message[len(prefix) :].split()[0]


@contextmanager
def _skipping_failed_builds(bisection: Bisection) -> Iterator[None]:
    """Wrap the names asv's find module calls: Setup, Benchmarks, run_benchmarks."""
    import asv.commands.find as find_module
    from asv.runner import skip_benchmarks

    real_setup = find_module.Setup
    real_benchmarks = find_module.Benchmarks
    real_run_benchmarks = find_module.run_benchmarks

    class Setup(real_setup):  # type: ignore[misc, valid-type]
        @classmethod
        def run(cls, *args: Any, **kwargs: Any) -> list[Any]:
            environments = real_setup.run(*args, **kwargs)
            return [_SkippingEnvironment(env, bisection) for env in environments]

    class Benchmarks(real_benchmarks):  # type: ignore[misc, valid-type]
        @classmethod
        def discover(cls, *args: Any, **kwargs: Any) -> Any:
            found = real_benchmarks.discover(*args, **kwargs)
            bisection.searching = True
            return found

    def run_benchmarks(benchmarks: Any, env: Any, results: Any = None, **kwargs: Any) -> Any:
        if isinstance(env, _SkippingEnvironment) and env.failed_commit is not None:
            return skip_benchmarks(benchmarks, env, results=results)
        outcome = real_run_benchmarks(benchmarks, env, results=results, **kwargs)
        (name,) = benchmarks.keys()
        values = outcome.get_result_value(name, benchmarks[name]["params"])
        commit = getattr(results, "commit_hash", None)
        if commit:
            bisection.values[commit] = list(values) if isinstance(values, list) else [values]
        return outcome

    handler = _FoundHandler(bisection)
    logging.getLogger().addHandler(handler)
    find_module.Setup = Setup
    find_module.Benchmarks = Benchmarks
    find_module.run_benchmarks = run_benchmarks
    try:
        yield
    finally:
        find_module.Setup = real_setup
        find_module.Benchmarks = real_benchmarks
        find_module.run_benchmarks = real_run_benchmarks
        logging.getLogger().removeHandler(handler)


def _value_text(values: list[float | None]) -> str:
    shown = ["failed" if v is None else f"{v:.6g}" for v in values]
    return shown[0] if len(shown) == 1 else "[" + ", ".join(shown) + "]"


def _commits_in_order(range_spec: str) -> list[str]:
    """The range's commits oldest first, as asv's find orders them."""
    from asv.repo import get_repo

    return list(get_repo(load_config()).get_hashes_from_range(range_spec))[::-1]


def summary(bisection: Bisection, commits: list[str]) -> list[str]:
    """What was measured where, and where the step can lie given the skipped commits."""
    lines: list[str] = []
    touched = [c for c in commits if c in bisection.values or c in bisection.unbuildable]
    if bisection.unbuildable:
        lines.append(
            f"skipped {len(bisection.unbuildable)} commit(s) that do not build: "
            + ", ".join(
                f"{c[:8]} (log: {bisection.build_log(c)})"
                for c in commits
                if c in bisection.unbuildable
            )
        )
    if touched:
        lines.append(
            "commits tried, oldest first: "
            + " | ".join(
                f"{c[:8]} does not build"
                if c in bisection.unbuildable
                else f"{c[:8]} {_value_text(bisection.values[c])}"
                for c in touched
            )
        )
    found = next((c for c in commits if bisection.found and c.startswith(bisection.found)), None)
    if found is not None:
        position = commits.index(found)
        before = [c for c in commits[:position] if c in bisection.values]
        start = commits.index(before[-1]) + 1 if before else 0
        hidden = commits[start:position]
        if hidden:
            lines.append(
                f"the step is in {found[:8]} or in the unmeasured commit(s) before it: "
                + ", ".join(
                    c[:8] + (" (does not build)" if c in bisection.unbuildable else " (not tried)")
                    for c in hidden
                )
            )
    return lines


def find(range_spec: str, bench: str, asv_options: list[str]) -> int:
    """`asv find RANGE BENCH`, skipping commits that do not build, then a summary."""

    bisection = Bisection(log_dir=build_log_dir())
    try:
        with _skipping_failed_builds(bisection):
            status = asv_main(["find", range_spec, bench, *asv_options])
    except UserError as error:
        if not bisection.unbuildable:
            raise
        details = summary(bisection, _commits_in_order(range_spec))
        advice = (
            "asv cannot split the range further around them: run the commits next to them "
            "by hand (python -m mind_runner asv run HASH^!) or search a wider range"
        )
        raise UserError("; ".join([f"asv find stopped ({error})", *details, advice])) from None
    for line in summary(bisection, _commits_in_order(range_spec)):
        print(f"mind_runner: {line}")
    return status
