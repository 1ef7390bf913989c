"""Fixed hash seeds for instruction counts: a getrandom shim loaded with LD_PRELOAD.

A program whose hash maps are seeded at random does a different amount of work
from run to run (on real MIND before mid-July 2026: up to 0.76 % of a gradient
call, 4-6 % of the autodiff share). Rust's std takes its HashMap keys from libc's
`getrandom`, which it reaches through a weak symbol precisely so that LD_PRELOAD
can replace it, and valgrind keeps the client's LD_PRELOAD after its own. So the
command runs with `fixed_getrandom.c` preloaded, and every run under one seed
does the same work.

Which seed? Any one seed is one draw of the hash keys, as a random run is: its
count is one of the levels random runs spread over, and a commit that creates one
more hash map early re-draws the keys of the maps after it. So a count is the
median over `SEEDS` (three streams: the same statistic as the median of three
random runs recorded before, now the same every time), and steps are compared
between medians taken with the same seeds.

The library is compiled once per machine with the system C compiler (Rust needs
one as its linker) into a fixed directory: its path is part of the client's
environment, whose size moves counts, so it never depends on where the project is.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

from mind_runner.measure.environment import FIXED_ENVIRONMENT
from mind_runner.util.text import first_line
from mind_runner.util.tools import locate_program

SEED_VARIABLE = "MIND_BENCH_SEED"
"""Read by the shim: which stream of bytes getrandom returns."""

SEEDS = (1, 2, 3)
"""Counts are medians over these seeds (one digit each: the environment's size stays put)."""

SOURCE = Path(__file__).with_name("fixed_getrandom.c")
LIBRARY_DIR = Path(tempfile.gettempdir()) / "mind-autodiff-bench"
COMPILER_VARIABLE = "CC"
PRELOAD_FAILED = "cannot be preloaded"
"""What ld.so prints, and then runs the program without the shim."""


class SeedShimUnavailable(NotImplementedError):
    """No C compiler, or it failed: asv records the counts as skipped with this reason."""


def shim_library(directory: Path = LIBRARY_DIR, compiler: str | None = None) -> Path:
    """The compiled shim, built on first use; its name changes with its source."""
    source = SOURCE.read_bytes()
    library = directory / f"fixed-getrandom-{hashlib.sha256(source).hexdigest()[:12]}.so"
    if library.is_file():
        return library
    found, wanted = locate_program("cc", variable=COMPILER_VARIABLE, explicit=compiler)
    if found is None:
        raise SeedShimUnavailable(
            f"no C compiler ({wanted}) to build the fixed-seed getrandom shim: "
            "apt-get install gcc, or set CC"
        )
    directory.mkdir(parents=True, exist_ok=True)
    # Concurrent benchmark processes may build it at once: each renames its own file.
    fd, partial = tempfile.mkstemp(dir=directory, prefix=".fixed-getrandom-", suffix=".so")
    os.close(fd)
    try:
        completed = subprocess.run(
            [str(found), "-O2", "-shared", "-fPIC", "-o", partial, str(SOURCE)],
            capture_output=True,
            text=True,
            env=FIXED_ENVIRONMENT,
            check=False,
        )
        if completed.returncode != 0:
            raise SeedShimUnavailable(
                f"{wanted} could not build the fixed-seed getrandom shim: "
                + first_line(completed.stderr)
            )
        os.replace(partial, library)
    finally:
        Path(partial).unlink(missing_ok=True)
    return library


def seeded_environment(
    seed: int, library: Path, environment: Mapping[str, str] = FIXED_ENVIRONMENT
) -> dict[str, str]:
    """`environment` with the shim preloaded and `seed` chosen."""
    return {**environment, "LD_PRELOAD": str(library), SEED_VARIABLE: str(seed)}
