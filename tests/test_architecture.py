"""The package's shape: dependencies point one way, and the report names real benchmarks."""

from __future__ import annotations

import ast
import importlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from mind_runner.report.measures import MEASURES, ReportedBenchmark, Unit
from mind_runner.report.text import COUNT_HEADERS
from tests.conftest import PROJECT_ROOT, PublishedHistory

PACKAGE = PROJECT_ROOT / "mind_runner"
# Highest first: a subpackage may import only from those below it (or from itself).
LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"commands"}),
    frozenset({"site", "report", "regressions"}),
    frozenset({"results"}),
    frozenset({"mind"}),
    frozenset({"measure"}),
    frozenset({"hooks"}),
    frozenset({"util"}),
)


def module_name(path: Path) -> str:
    parts = path.relative_to(PROJECT_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, prefix: str) -> Iterator[str]:
    """Every module under `prefix` that `path` imports, at any depth (lazy imports too)."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.startswith(prefix):
                yield node.module
                for alias in node.names:
                    yield f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name.startswith(prefix))


def import_graph(root: Path, prefix: str) -> dict[str, set[str]]:
    modules = {module_name(path): path for path in root.rglob("*.py")}
    return {
        name: {m for m in imported_modules(path, prefix) if m in modules and m != name}
        for name, path in modules.items()
    }


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, as the list of modules on it, or None."""
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        stack.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == "open":
                return [*stack[stack.index(target) :], target]
            if target not in state and (cycle := visit(target)) is not None:
                return cycle
        state[node] = "done"
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)) is not None:
            return cycle
    return None


def layer_of(module: str) -> int | None:
    parts = module.split(".")
    if len(parts) < 3:
        return None  # mind_runner itself, __main__
    return next(i for i, layer in enumerate(LAYERS) if parts[1] in layer)


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_mind_runner_has_no_import_cycle() -> None:
    assert find_cycle(import_graph(PACKAGE, "mind_runner")) is None


def test_every_subpackage_is_in_a_layer() -> None:
    subpackages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert subpackages == set().union(*LAYERS)


def test_dependencies_point_down_the_layers() -> None:
    upward = []
    for module, targets in import_graph(PACKAGE, "mind_runner").items():
        own = layer_of(module)
        for target in targets:
            theirs = layer_of(target)
            same_subpackage = module.split(".")[1] == target.split(".")[1]
            if own is not None and theirs is not None and not same_subpackage and theirs <= own:
                upward.append(f"{module} -> {target}")
    assert upward == []


def test_benchmark_modules_share_only_through_common() -> None:
    graph = import_graph(PROJECT_ROOT / "benchmarks", "benchmarks")
    crossing = {
        f"{module} -> {target}"
        for module, targets in graph.items()
        for target in targets
        if target != "benchmarks.common" and module != "benchmarks"
    }
    assert crossing == set()


UNITS = {Unit.SECONDS: "seconds", Unit.INSTRUCTIONS: "instructions", Unit.BYTES: "bytes"}


def test_count_headers_name_measures_the_report_has() -> None:
    assert set(COUNT_HEADERS) <= {measure.key for measure in MEASURES}


def test_every_benchmark_the_report_reads_exists_with_its_unit(
    published_history: PublishedHistory,
) -> None:
    """asv's own list of what it ran: a renamed benchmark would read as 'not run'."""
    listed = json.loads(
        (published_history.project.root / "results" / "benchmarks.json").read_text()
    )
    for measure in MEASURES:
        assert measure.benchmark in listed, measure.benchmark
        assert listed[measure.benchmark]["unit"] == UNITS.get(measure.unit, measure.unit.value)


@pytest.mark.parametrize("measure", MEASURES, ids=lambda m: m.key)
def test_report_benchmarks_are_defined_in_the_benchmark_modules(measure: ReportedBenchmark) -> None:
    """The quick form of the test above: the class and method exist."""
    module, class_name, method = measure.benchmark.rsplit(".", 2)
    cls = getattr(importlib.import_module(f"benchmarks.{module}"), class_name)
    assert callable(getattr(cls, method))
