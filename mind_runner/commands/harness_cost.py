"""`python -m mind_runner harness-cost`: what the benchmarks cost per commit, beside the build.

asv stores how long each step took in every result file (`durations`: the build,
each `setup_cache`, each benchmark with all its samples). The per-commit cost of the
harness (everything but the build) decides how much of MIND's history anyone can
afford to measure, so this reads those fields and prints, per benchmark, the
median seconds per commit, and the commits an hour the suite allows.
PyTorch's benchmarks run once per `run`, not per commit: they are left out of the
per-commit sum and listed apart.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from pathlib import Path

from mind_runner.commands.config import CONFIG_PATH, results_dir
from mind_runner.commands.run import PYTORCH_SIDE
from mind_runner.results.asv_results import choose_machine, load_machine
from mind_runner.util.errors import UserError

BUILD = "<build>"


def harness_cost(machine: str | None = None, config_path: Path = CONFIG_PATH) -> str:
    directory = results_dir(config_path)
    name = choose_machine(directory, machine)
    files = load_machine(directory, name).files
    per_key: dict[str, list[float]] = defaultdict(list)
    builds: list[float] = []
    harness: list[float] = []
    for result in files:
        durations = {str(k): float(v) for k, v in dict(result.results.duration).items()}
        if BUILD in durations:
            builds.append(durations[BUILD])
        mind_side = {k: v for k, v in durations.items() if k != BUILD and PYTORCH_SIDE not in k}
        if mind_side:
            harness.append(sum(mind_side.values()))
        for key, seconds in durations.items():
            if key != BUILD:
                per_key[key].append(seconds)
    if not harness:
        raise UserError(f"no durations in the results of machine {name}: run a commit first")
    rows = sorted(((statistics.median(v), len(v), k) for k, v in per_key.items()), reverse=True)
    width = max(len(k) for _, _, k in rows)
    lines = [
        f"machine {name}: {len(files)} result file(s); seconds per commit (median over the "
        "commits that ran each), from asv's durations",
        f"{'benchmark or setup_cache':<{width}}  {'median s':>9}  commits",
    ]
    lines += [f"{key:<{width}}  {median:9.2f}  {count:7d}" for median, count, key in rows]
    build = statistics.median(builds) if builds else 0.0
    per_commit = statistics.median(harness)
    lines.append(
        f"harness per commit (MIND side, median): {per_commit:.1f} s; build (median): "
        f"{build:.1f} s; {3600 / (per_commit + build):.0f} commits an hour"
        + ("" if builds else " (no build recorded: cached builds)")
    )
    return "\n".join(lines)
