"""`python -m mind_runner versions`: results that survive benchmark edits.

asv keys every result by its benchmark's version, and with no explicit `version`
that is a hash of the benchmark's source: any edit, a docstring or a rename of a
local, starts a new series and the history drops off the graph. So every benchmark
carries an explicit `version`, changed only when what it measures changes. What
keeps that honest is `benchmarks/versions.json`: per benchmark, its version and the
source fingerprints (asv_runner's token hash of the function, its setups and its
setup_cache, the code asv itself hashes) accepted under that version. A fingerprint
that is not there means an edit nobody judged: the check says so, and what to do.

The fingerprint sees what asv sees, not the mind_runner code a benchmark calls: a
change there that changes a figure's meaning needs a version bump all the same.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mind_runner.commands.config import CONFIG_PATH, load_config
from mind_runner.util.errors import UserError
from mind_runner.util.files import write_atomically

VERSIONS_FILE = "versions.json"
RECORD = "python -m mind_runner versions --record"

BUMP = (
    "if what it measures changed, raise its `version` and run `python -m mind_runner "
    "versions --record`; if not, run `python -m mind_runner versions --keep-meaning {name}`"
)


@dataclass(frozen=True)
class Discovered:
    name: str
    version: str
    explicit: bool
    fingerprint: str


def discover(benchmark_dir: Path) -> list[Discovered]:
    """Every benchmark as asv finds it, with the version and code asv would record."""
    from asv_runner.benchmarks._base import _get_first_attr, code_fingerprint
    from asv_runner.discovery import disc_benchmarks, update_sys_path

    update_sys_path(str(benchmark_dir))
    found = []
    for benchmark in disc_benchmarks(str(benchmark_dir)):
        fingerprint = code_fingerprint(benchmark.code)
        found.append(
            Discovered(
                name=benchmark.name,
                version=str(benchmark.version),
                explicit=_get_first_attr(benchmark._attr_sources, "version", None) is not None,
                fingerprint=fingerprint,
            )
        )
    return sorted(found, key=lambda b: b.name)


def _load(path: Path) -> dict[str, dict[str, Any]]:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
        return {str(k): dict(v) for k, v in data.items()}
    except (ValueError, TypeError, AttributeError) as error:
        raise UserError(
            f"{path} is not a versions file ({error}): restore it from git, or delete it and "
            "run `python -m mind_runner versions --record`"
        ) from None


def problems(found: list[Discovered], recorded: dict[str, dict[str, Any]]) -> list[str]:
    """One line per benchmark whose version or source is not accounted for."""
    lines = []
    for benchmark in found:
        entry = recorded.get(benchmark.name)
        if not benchmark.explicit:
            lines.append(
                f"{benchmark.name} has no explicit `version`: give its class `version = 1` "
                "and run `python -m mind_runner versions --record`"
            )
        elif entry is None or str(entry.get("version")) != benchmark.version:
            lines.append(
                f"{benchmark.name} version {benchmark.version} is not recorded: run "
                "`python -m mind_runner versions --record`"
            )
        elif benchmark.fingerprint not in entry.get("fingerprints", []):
            lines.append(
                f"{benchmark.name} changed under version {benchmark.version}: "
                + BUMP.format(name=re.escape(benchmark.name))
            )
    gone = sorted(set(recorded) - {b.name for b in found})
    lines += [
        f"{name} is recorded but gone: run `python -m mind_runner versions --record`"
        for name in gone
    ]
    return lines


def versions(
    *, record: bool = False, keep_meaning: str | None = None, config_path: Path = CONFIG_PATH
) -> tuple[str, int]:
    """Check (default), record new versions, or accept edits of `keep_meaning`'s matches."""
    conf = load_config(config_path)
    benchmark_dir = config_path.parent / str(conf.benchmark_dir)
    path = benchmark_dir / VERSIONS_FILE
    recorded = _load(path)
    found = discover(benchmark_dir)
    changed: list[str] = []
    if record:
        current = {b.name for b in found}
        for name in set(recorded) - current:
            del recorded[name]
            changed.append(f"forgot {name}")
        for b in found:
            entry = recorded.get(b.name)
            if b.explicit and (entry is None or str(entry.get("version")) != b.version):
                recorded[b.name] = {"version": b.version, "fingerprints": [b.fingerprint]}
                changed.append(f"recorded {b.name} version {b.version}")
    if keep_meaning is not None:
        pattern = re.compile(keep_meaning)
        for b in found:
            entry = recorded.get(b.name)
            if entry is None or str(entry.get("version")) != b.version:
                continue
            accepted: list[str] = entry["fingerprints"]
            if pattern.search(b.name) and b.fingerprint not in accepted:
                accepted.append(b.fingerprint)
                changed.append(f"kept the meaning of {b.name} version {b.version}")
        if not changed:
            raise UserError(
                f"--keep-meaning {keep_meaning} matches no edited benchmark with a recorded version"
            )
    if changed:
        write_atomically(path, json.dumps(dict(sorted(recorded.items())), indent=1) + "\n")
    left = problems(found, recorded)
    lines = changed + left
    if not left:
        lines.append(f"{len(found)} benchmarks, each version accounted for ({path})")
    return "\n".join(lines), 1 if left else 0
