"""Results measured on a rewritten copy of MIND's history, under MIND's real hashes.

Real MIND builds offline only from a copy whose history was rewritten (the rig drops
`sdk/`, whose blobs the public snapshot lacks), so every commit there has another
hash than on GitHub. asv names result files by commit and `publish`, `regressions`
and the site's links look commits up in MIND's real history: results shipped from
such a run must carry GitHub's hashes. This copies a results folder with every
commit translated through a map (the rig's `commit-map.tsv`: one `GITHUB<TAB>REWRITTEN`
line per commit): the result files (`commit_hash`, file name) and the build records
(`builds/<commit>.toml`). A commit the map does not know stops the copy before
anything is written; the copy is then merged into results/ like a worker's folder.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from mind_runner.commands.merge import BENCHMARK_LIST, BUILD_RECORDS, MACHINE_FILE
from mind_runner.util.errors import UserError
from mind_runner.util.files import write_atomically

_FULL_HASH = re.compile(r"[0-9a-f]{40}")


def read_map(path: Path, *, reverse: bool) -> dict[str, str]:
    """first column -> second (or, `reverse`, second -> first), full hashes only."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise UserError(f"cannot read the commit map {path}: {error.strerror}") from None
    mapping: dict[str, str] = {}
    for number, line in enumerate(lines, start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 2 or not all(_FULL_HASH.fullmatch(f) for f in fields):
            raise UserError(
                f"{path}:{number} is not two full commit hashes separated by a tab: "
                "give the rig's commit-map.tsv"
            )
        source, target = reversed(fields) if reverse else fields
        mapping[source] = target
    return mapping


@dataclass(frozen=True)
class Translated:
    """One file of the copy: where it goes and what it holds."""

    target: Path
    text: str


def _translate(commit: str, mapping: dict[str, str], where: Path) -> str:
    try:
        return mapping[commit]
    except KeyError:
        raise UserError(
            f"{where}: commit {commit[:8]} is not in the commit map: was the map made from "
            "the repository these results were measured on? (use --reverse for the rig's "
            "map, which lists GitHub's hash first)"
        ) from None


def _read_result(path: Path) -> dict[str, object]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        data = None
    if not isinstance(data, dict) or "commit_hash" not in data:
        raise UserError(f"{path} is not an asv result file: move it out of the folder, then rehash")
    return data


def _result_file(
    source: Path, data: dict[str, object], relative: Path, mapping: dict[str, str], out: Path
) -> Translated:
    commit = str(data["commit_hash"])
    translated = _translate(commit, mapping, source)
    data = {**data, "commit_hash": translated}
    name = translated[:8] + relative.name[len(commit[:8]) :]
    return Translated(out / relative.parent / name, json.dumps(data))  # compact, as asv saves


def _build_record(path: Path, mapping: dict[str, str], out: Path) -> Translated:
    commit = path.stem
    translated = _translate(commit, mapping, path)
    text = path.read_text(encoding="utf-8").replace(commit, translated)
    text = text.replace(commit[:8], translated[:8])
    return Translated(out / BUILD_RECORDS / f"{translated}.toml", text)


def plan_rehash(
    folder: Path, mapping: dict[str, str], out: Path, machines: tuple[str, ...] = ()
) -> list[Translated]:
    """Every file of the translated copy (these machines' only, if given; the build
    records of their commits), or a UserError naming the first unknown commit."""
    planned: list[Translated] = []
    commits: set[str] = set()
    for path in sorted(folder.glob("*/*.json")):
        relative = path.relative_to(folder)
        if machines and relative.parts[0] not in machines:
            continue
        if relative.name == MACHINE_FILE:
            planned.append(Translated(out / relative, path.read_text(encoding="utf-8")))
        else:
            data = _read_result(path)
            commits.add(str(data["commit_hash"]))
            planned.append(_result_file(path, data, relative, mapping, out))
    if (folder / BENCHMARK_LIST).is_file():
        planned.append(
            Translated(out / BENCHMARK_LIST, (folder / BENCHMARK_LIST).read_text(encoding="utf-8"))
        )
    records = sorted(p for p in (folder / BUILD_RECORDS).glob("*.toml") if p.stem in commits)
    return planned + [_build_record(path, mapping, out) for path in records]


def rehash(
    folder: Path, map_path: Path, out: Path, *, reverse: bool, machines: tuple[str, ...] = ()
) -> int:
    """Write the translated copy of `folder` to `out` (which must not hold results)."""
    missing = [m for m in machines if not (folder / m / MACHINE_FILE).is_file()]
    if missing:
        raise UserError(f"{folder} has no results for machine {missing[0]}: check --machine")
    if not any(folder.glob(f"*/{MACHINE_FILE}")):
        raise UserError(
            f"{folder} holds no asv results (no <machine>/{MACHINE_FILE}): give a results folder"
        )
    if out.exists() and any(out.iterdir()):
        raise UserError(f"{out} is not empty: give a new folder, then merge it into results/")
    planned = plan_rehash(folder, read_map(map_path, reverse=reverse), out, machines)
    for translated in planned:
        write_atomically(translated.target, translated.text)
    records = sum(1 for t in planned if t.target.parent.name == BUILD_RECORDS)
    print(
        f"wrote {len(planned)} file(s) to {out} ({records} build record(s)), commits "
        f"translated through {map_path}; next: python -m mind_runner merge {out}"
    )
    return 0
