"""Read asv's result files for one machine and one commit, through asv's own loader.

asv skips an unreadable results file with a warning that is easy to miss. Here
an unreadable file is named with what to do: an error where the figures asked
for are in it, a warning beside the figures of every other commit. In asv's
files a skipped benchmark is NaN and a failed one is null: both are kept apart
from each other, from zero, and from a figure never run.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from mind_runner.util.errors import UserError
from mind_runner.util.layout import BUILD_LOG_DIR

# Where a user turns to when no results exist yet.
RUN_HINT = "python -m mind_runner run"


class Status(Enum):
    """What asv recorded for one figure."""

    OK = "ok"
    SKIPPED = "skipped"
    FAILED = "failed"
    NOT_RUN = "not run"


@dataclass(frozen=True)
class Stats:
    """asv's summary of a timing's samples (asv_runner.statistics.compute_stats)."""

    q_25: float | None
    q_75: float | None
    ci_99_a: float | None
    ci_99_b: float | None
    number: int | None
    repeat: int | None

    @classmethod
    def from_asv(cls, stats: Mapping[str, Any] | None) -> Stats | None:
        if not stats:
            return None

        def number(key: str) -> float | None:
            """A finite number; asv's CI of a single sample is infinite: no interval."""
            value = stats.get(key)
            if isinstance(value, int | float) and math.isfinite(value):
                return float(value)
            return None

        def count(key: str) -> int | None:
            value = stats.get(key)
            return int(value) if isinstance(value, int | float) else None

        return cls(
            q_25=number("q_25"),
            q_75=number("q_75"),
            ci_99_a=number("ci_99_a"),
            ci_99_b=number("ci_99_b"),
            number=count("number"),
            repeat=count("repeat"),
        )


@dataclass(frozen=True)
class Figure:
    """One benchmark value at one parameter combination, or why there is none."""

    benchmark: str
    params: Mapping[str, str]
    status: Status
    value: float | None
    stats: Stats | None
    samples: tuple[float, ...] | None
    reason: str | None
    commit: str | None
    result_file: Path | None

    @property
    def ok(self) -> bool:
        return self.status is Status.OK and self.value is not None


@dataclass(frozen=True)
class ResultFile:
    """One `results/<machine>/<commit>-<env>.json`, loaded by asv."""

    path: Path
    results: Any  # asv.results.Results

    @property
    def commit_hash(self) -> str:
        return str(self.results.commit_hash)

    @property
    def env_name(self) -> str:
        return str(self.results.env_name)

    @property
    def date(self) -> int | None:
        date = self.results.date
        return int(date) if isinstance(date, int | float) else None

    @property
    def last_started_at(self) -> int:
        started = [v for v in self.results.started_at.values() if isinstance(v, int | float)]
        return int(max(started, default=0))

    @property
    def first_started_at(self) -> int:
        started = [v for v in self.results.started_at.values() if isinstance(v, int | float)]
        return int(min(started, default=0))

    def all_failed(self) -> bool:
        """Every benchmark null: what asv records when the commit did not build."""
        results = self.results
        keys = list(results.get_all_result_keys())
        return bool(keys) and all(
            value is None
            for key in keys
            for value in results.get_result_value(key, results.get_result_params(key))
        )

    def figure(self, benchmark: str, wanted: Mapping[str, str]) -> Figure | None:
        """The figure for `wanted` parameter values, or None if this file has none."""
        results = self.results
        try:
            if benchmark not in results.get_all_result_keys():
                return None
            selection, params = _select(results.get_result_params(benchmark), wanted)
            if selection is None:
                return None
            value = results.get_result_value(benchmark, selection)[0]
            stats = results.get_result_stats(benchmark, selection)[0]
            samples = results.get_result_samples(benchmark, selection)[0]
        except (TypeError, ValueError, IndexError, KeyError, AttributeError) as error:
            raise UserError(
                f"unreadable asv results file {self.path}: malformed entry for {benchmark} "
                f"({type(error).__name__}: {error})"
            ) from None
        return self._figure(benchmark, params, value, stats, samples)

    def _figure(
        self,
        benchmark: str,
        params: Mapping[str, str],
        value: Any,
        stats: Any,
        samples: Any,
    ) -> Figure:
        def make(
            status: Status,
            reason: str | None = None,
            number: float | None = None,
            summary: Stats | None = None,
            kept: tuple[float, ...] | None = None,
        ) -> Figure:
            return Figure(
                benchmark=benchmark,
                params=params,
                status=status,
                value=number,
                stats=summary,
                samples=kept,
                reason=reason,
                commit=self.commit_hash,
                result_file=self.path,
            )

        if value is None:
            if self.all_failed():
                log = BUILD_LOG_DIR / f"{self.commit_hash}.log"
                return make(
                    Status.FAILED,
                    "every benchmark failed at this commit, as when MIND does not build "
                    f"(build log: {log})",
                )
            return make(
                Status.FAILED, "asv recorded a failure (null): the benchmark raised or timed out"
            )
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise UserError(
                f"unreadable asv results file {self.path}: {benchmark} holds {value!r}, "
                "not a number"
            )
        if math.isnan(value):
            return make(
                Status.SKIPPED,
                "setup raised NotImplementedError; asv keeps no reason in its result files "
                "(`asv run --show-stderr` prints it)",
            )
        return make(
            Status.OK,
            number=float(value),
            summary=Stats.from_asv(stats if isinstance(stats, dict) else None),
            kept=_numbers(samples),
        )


def _numbers(samples: Any) -> tuple[float, ...] | None:
    """Recorded samples (`asv run --record-samples`), if asv kept any."""
    if (
        isinstance(samples, list)
        and samples
        and all(isinstance(x, int | float) and not isinstance(x, bool) for x in samples)
    ):
        return tuple(float(x) for x in samples)
    return None


def _select(
    stored: Sequence[Sequence[str]], wanted: Mapping[str, str]
) -> tuple[list[list[str]] | None, dict[str, str]]:
    """asv's params selection (repr strings, one per axis) for the wanted values.

    An axis matches a wanted value when it lists its repr; an axis with a single
    value needs no match. A benchmark without a device axis ignores `device`.
    """
    selection: list[list[str]] = []
    matched: dict[str, str] = {}
    for axis in stored:
        hits = [(name, value) for name, value in wanted.items() if repr(value) in axis]
        if len(hits) == 1:
            name, value = hits[0]
            selection.append([repr(value)])
            matched[name] = value
        elif len(axis) == 1:
            selection.append([axis[0]])
        else:
            return None, matched
    return selection, matched


def not_run(benchmark: str, wanted: Mapping[str, str], commit: str) -> Figure:
    return Figure(
        benchmark=benchmark,
        params=dict(wanted),
        status=Status.NOT_RUN,
        value=None,
        stats=None,
        samples=None,
        reason=(
            f"not in the results of {commit[:8]} (not run there, or the benchmark did not "
            "exist yet)"
        ),
        commit=None,
        result_file=None,
    )


@dataclass(frozen=True)
class Unreadable:
    """A results file asv cannot load, and why."""

    path: Path
    reason: str

    @property
    def commit_prefix(self) -> str:
        """asv names a file `<first 8 hex digits of the commit>-<env>.json`."""
        return self.path.name.split("-", 1)[0].lower()

    def line(self) -> str:
        return (
            f"unreadable asv results file {self.path}: {self.reason}; fix or delete it "
            "(asv itself would skip it with a warning)"
        )


@dataclass(frozen=True)
class MachineResults:
    name: str
    info: Mapping[str, Any]
    files: tuple[ResultFile, ...]
    unreadable: tuple[Unreadable, ...] = ()


@dataclass(frozen=True)
class CommitResults:
    """The result file of one commit, plus the machine's others (for fallbacks)."""

    machine: MachineResults
    file: ResultFile

    @property
    def commit_hash(self) -> str:
        return self.file.commit_hash

    def figure(self, benchmark: str, wanted: Mapping[str, str]) -> Figure:
        found = self.file.figure(benchmark, wanted)
        return found or not_run(benchmark, wanted, self.commit_hash)

    def figure_or_elsewhere(self, benchmark: str, wanted: Mapping[str, str]) -> Figure:
        """This commit's figure; if never run here, the newest same-env one on the machine.

        For figures that do not depend on MIND's commit (PyTorch's): the report
        labels a figure taken from another commit with that commit.
        """
        here = self.file.figure(benchmark, wanted)
        if here is not None:
            return here
        others = [
            other
            for other in newest_first(self.machine.files)
            if other.env_name == self.file.env_name and other.path != self.file.path
        ]
        for other in others:
            found = other.figure(benchmark, wanted)
            if found is not None and found.status is not Status.FAILED:
                return found
        return not_run(benchmark, wanted, self.commit_hash)


def list_machines(results_dir: Path) -> list[str]:
    """Machine directories asv wrote under results/ (those holding any JSON file)."""
    if not results_dir.is_dir():
        return []
    return sorted(
        entry.name
        for entry in results_dir.iterdir()
        if entry.is_dir() and any(entry.glob("*.json"))
    )


def choose_machine(results_dir: Path, requested: str | None) -> str:
    machines = list_machines(results_dir)
    if not machines:
        raise UserError(
            f"no asv results in {results_dir}: produce them with `{RUN_HINT}` "
            "(e.g. `python -m mind_runner run main~5..main`)"
        )
    if requested is not None:
        if requested not in machines:
            raise UserError(
                f"no results for machine {requested!r} in {results_dir} "
                f"(machines there: {', '.join(machines)})"
            )
        return requested
    if len(machines) > 1:
        raise UserError(
            f"{results_dir} holds results of several machines ({', '.join(machines)}): "
            "pick one with --machine NAME"
        )
    return machines[0]


def machine_json_remedy(machine_json: Path, name: str) -> str:
    return (
        f"without it asv ignores every result in {machine_json.parent}: restore it (e.g. "
        f"`git checkout -- {machine_json}`), or run any commit on that machine, which writes "
        f"it again (`{RUN_HINT} HASH^! --machine {name}`)"
    )


def load_machine_info(directory: Path) -> dict[str, Any]:
    """machine.json of one machine's results folder; missing or unreadable is an error."""
    from asv import util
    from asv.machine import Machine

    name = directory.name
    machine_json = directory / "machine.json"
    try:
        info = util.load_json(str(machine_json), api_version=Machine.api_version)
    except FileNotFoundError:
        raise UserError(
            f"{machine_json} is missing: " + machine_json_remedy(machine_json, name)
        ) from None
    except (util.UserError, ValueError, OSError) as error:
        raise UserError(
            f"unreadable asv machine file {machine_json}: {_reason(error)}; "
            + machine_json_remedy(machine_json, name)
        ) from None
    if not isinstance(info, dict) or info.get("machine") != name:
        raise UserError(
            f"{machine_json} does not describe machine {name!r}; "
            + machine_json_remedy(machine_json, name)
        )
    return info


def load_machine(results_dir: Path, name: str) -> MachineResults:
    """machine.json and every results file of the machine; unreadable ones set apart."""
    from asv.results import iter_results_paths

    directory = results_dir / name
    info = load_machine_info(directory)
    files: list[ResultFile] = []
    unreadable: list[Unreadable] = []
    for root, filename, _ in iter_results_paths(str(directory)):
        try:
            files.append(load_result_file(Path(root) / filename, name))
        except UnreadableResults as error:
            unreadable.append(error.unreadable)
    return MachineResults(
        name=name,
        info=info,
        files=tuple(sorted(files, key=lambda f: f.path)),
        unreadable=tuple(sorted(unreadable, key=lambda u: u.path)),
    )


def publishable(results_dir: Path) -> list[Unreadable]:
    """Check that `asv publish` would not empty the site; the files it would leave out.

    asv publish ignores a machine folder without a readable machine.json, and
    unreadable results files, each with a warning, and then replaces html/ with
    what is left: an empty site after a single lost machine.json.
    """
    left_out: list[Unreadable] = []
    readable = 0
    for name in list_machines(results_dir):
        machine = load_machine(results_dir, name)
        readable += len(machine.files)
        left_out += machine.unreadable
    if readable == 0:
        detail = f" ({'; '.join(u.line() for u in left_out)})" if left_out else ""
        raise UserError(
            f"no readable asv results in {results_dir}{detail}: publishing would leave an empty "
            f"site, so html/ is kept as it is; produce results with `{RUN_HINT} RANGE`"
        )
    return left_out


class UnreadableResults(UserError):
    """A results file asv cannot load."""

    def __init__(self, unreadable: Unreadable) -> None:
        super().__init__(unreadable.line())
        self.unreadable = unreadable


def load_result_file(path: Path, machine: str) -> ResultFile:
    from asv import util
    from asv.results import Results

    try:
        results = Results.load(str(path), machine_name=machine)
    except (util.UserError, ValueError, KeyError, TypeError, AttributeError, OSError) as error:
        raise UnreadableResults(Unreadable(path, _reason(error))) from None
    if not isinstance(results.commit_hash, str) or not isinstance(results.env_name, str):
        raise UnreadableResults(Unreadable(path, "no commit hash or env name"))
    return ResultFile(path=path, results=results)


def _reason(error: BaseException) -> str:
    """asv's message without the path it repeats (the caller names the file)."""
    text = str(error)
    if text.startswith("Error parsing JSON in file"):
        return "truncated or not JSON: " + text.split("': ", 1)[-1]
    if isinstance(error, UnicodeDecodeError):
        return "not text (not a JSON file)"
    return text or type(error).__name__


def newest_first(
    files: Iterable[ResultFile], order: Mapping[str, int] | None = None
) -> list[ResultFile]:
    """By asv's commit date, then the repository's order where known, then run time."""
    ranks = order or {}
    return sorted(
        files,
        key=lambda f: (f.date or 0, ranks.get(f.commit_hash, -1), f.last_started_at),
        reverse=True,
    )


def select_commit(
    machine: MachineResults,
    requested: str | None,
    *,
    env: str | None = None,
    resolve: Any = None,
    order: Mapping[str, int] | None = None,
) -> CommitResults:
    """The results of the requested commit (a hash prefix, or a name `resolve` turns
    into a hash), or of the newest commit; `env` picks among several environments."""
    files = list(machine.files)
    if env is not None:
        files = [f for f in files if f.env_name == env]
        if not files:
            envs = sorted({f.env_name for f in machine.files})
            raise UserError(
                f"no results of environment {env!r} on machine {machine.name} "
                f"(environments there: {', '.join(envs) or 'none'})"
            )
    if requested is not None:
        _refuse_unreadable(machine, files, requested, resolve)
    if not files:
        if machine.unreadable:
            raise UserError("; ".join(u.line() for u in machine.unreadable))
        raise UserError(
            f"no results on machine {machine.name} yet: produce them with "
            f"`{RUN_HINT} --machine {machine.name}`"
        )
    if requested is None:
        commit = newest_first(files, order)[0].commit_hash
    else:
        commit = _match_commit(files, requested, resolve, machine.name)
    chosen = [f for f in files if f.commit_hash == commit]
    if len(chosen) > 1:
        raise UserError(
            f"commit {commit[:8]} has results in several asv environments on {machine.name} "
            f"({', '.join(sorted(f.env_name for f in chosen))}): pick one with --env NAME"
        )
    return CommitResults(machine=machine, file=chosen[0])


def _refuse_unreadable(
    machine: MachineResults, files: list[ResultFile], requested: str, resolve: Any
) -> None:
    """The requested commit's figures are in an unreadable file: say so, not 'no results'."""
    lowered = requested.lower()
    full = resolve(requested) if resolve is not None else None
    wanted = [w for w in (lowered if _is_hex(lowered) else "", (full or "").lower()) if w]
    for unreadable in machine.unreadable:
        prefix = unreadable.commit_prefix
        hit = any(w.startswith(prefix) or prefix.startswith(w) for w in wanted if len(w) >= 4)
        readable = any(f.commit_hash.lower().startswith(prefix) for f in files)
        if hit and not readable:
            raise UserError(unreadable.line())


def _is_hex(text: str) -> bool:
    return bool(text) and all(c in "0123456789abcdef" for c in text)


def _match_commit(files: list[ResultFile], requested: str, resolve: Any, machine: str) -> str:
    hashes = sorted({f.commit_hash for f in files})
    lowered = requested.lower()
    if len(lowered) >= 4 and all(c in "0123456789abcdef" for c in lowered):
        matches = [h for h in hashes if h.lower().startswith(lowered)]
        if len(matches) > 1:
            raise UserError(
                f"commit {requested!r} is ambiguous on {machine}: "
                f"{', '.join(h[:12] for h in matches)}"
            )
        if matches:
            return matches[0]
    full = resolve(requested) if resolve is not None else None
    if full is not None and full in hashes:
        return str(full)
    known = ", ".join(h[:8] for h in hashes[:10]) + (" ..." if len(hashes) > 10 else "")
    named = f"{requested} ({full[:8]})" if full and full != requested else requested
    if full is None and resolve is None and not all(c in "0123456789abcdef" for c in lowered):
        named += " (MIND's repository is not available here to resolve names: give a hash)"
    raise UserError(
        f"no results for commit {named} on machine {machine} (results exist for: {known}): "
        f"produce them with `{RUN_HINT} {(full or requested)}^! --machine {machine}`"
    )
