"""Fixed hash seeds: a Rust program whose work follows its HashMap's order counts the same.

The program below sorts the keys of a std HashMap in the order the map yields them
(insertion sort: the work is the number of inversions), so its instruction count
follows the random keys Rust's std draws through getrandom at every start.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from mind_runner.hooks.build import find_tool
from mind_runner.measure.callgrind import count_instructions, count_seeded
from mind_runner.measure.fixed_seed import (
    SeedShimUnavailable,
    seeded_environment,
    shim_library,
)

HASH_ORDERED_WORK = """
use std::collections::HashMap;

fn main() {
    let map: HashMap<u32, u32> = (0..200).map(|key| (key, key)).collect();
    let mut keys: Vec<u32> = map.keys().copied().collect();
    let mut swaps = 0u32;
    for i in 1..keys.len() {
        let mut j = i;
        while j > 0 && keys[j - 1] > keys[j] {
            keys.swap(j - 1, j);
            j -= 1;
            swaps += 1;
        }
    }
    std::process::exit(if swaps > 0 { 0 } else { 1 });
}
"""


@pytest.fixture(scope="module")
def hash_seeded_program(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    directory = tmp_path_factory.mktemp("hash-seeded")
    (directory / "main.rs").write_text(HASH_ORDERED_WORK)
    subprocess.run(
        [find_tool("rustc"), "-O", "main.rs", "-o", "hash-seeded"],
        cwd=directory,
        check=True,
        capture_output=True,
    )
    return [str(directory / "hash-seeded")]


def test_rust_std_reaches_getrandom_through_a_symbol_ld_preload_can_replace(
    hash_seeded_program: list[str],
) -> None:
    symbols = subprocess.run(
        ["nm", "-D", hash_seeded_program[0]], capture_output=True, text=True, check=True
    ).stdout
    kinds = {
        fields[-1].split("@")[0]: fields[-2]
        for fields in (line.split() for line in symbols.splitlines())
        if len(fields) >= 2
    }
    # Undefined (weak in std's case): ld.so binds it at start-up, preloaded objects first.
    assert kinds.get("getrandom") in ("w", "U"), kinds


def test_counts_vary_with_random_seeds_and_repeat_exactly_with_the_shim(
    hash_seeded_program: list[str],
) -> None:
    unseeded = count_instructions(hash_seeded_program, runs=5)
    assert len(set(unseeded.runs)) > 1, unseeded  # the hash order changes the work
    library = shim_library()
    seeded = count_instructions(
        hash_seeded_program, runs=5, environment=seeded_environment(1, library)
    )
    assert len(set(seeded.runs)) == 1 and seeded.spread_percent == 0.0, seeded


def test_the_figure_is_the_median_over_the_seeds_and_the_same_every_time(
    hash_seeded_program: list[str],
) -> None:
    first = count_seeded(hash_seeded_program)
    second = count_seeded(hash_seeded_program)
    assert first == second
    assert first.spread == 0 and first.spread_percent == 0.0
    assert first.repeat == first.levels.runs[0]
    assert first.median == sorted(first.levels.runs)[1]
    # Each seed is its own draw of the hash keys: the seed reaches the program.
    assert first.seed_spread_percent > 0.0


def test_no_c_compiler_is_a_skip_saying_what_to_install(tmp_path: Path) -> None:
    with pytest.raises(SeedShimUnavailable, match=r"apt-get install gcc, or set CC") as raised:
        shim_library(tmp_path, compiler="/nonexistent/cc")
    assert isinstance(raised.value, NotImplementedError)  # asv: skipped
    assert not list(tmp_path.iterdir())


def test_the_shim_is_built_once_under_a_name_of_fixed_length(tmp_path: Path) -> None:
    library = shim_library(tmp_path)
    built = library.stat().st_mtime_ns
    assert shim_library(tmp_path) == library and library.stat().st_mtime_ns == built
    assert len(library.name) == len("fixed-getrandom-0123456789ab.so")
    assert [p.name for p in tmp_path.iterdir()] == [library.name]
