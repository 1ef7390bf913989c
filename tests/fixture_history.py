"""A throw-away git repository that imitates MIND's history, for the tests.

The real MIND (github.com/star-ga/mind) cannot be built without crates.io, so the
tests use a small Rust crate with no registry dependencies (`tests/fixture_mind/`) whose `mind`
and `mindc` binaries print what the real CLI prints for the `let` dialect. This
module turns that crate into a git repository with fourteen commits that cover the
cases the benchmark must handle: an old commit that cannot differentiate the
programs (E4001), working commits, a commit that does not compile, its fix, a
commit whose gradient pass costs three times as much, two commits that only
touch the README, the revert of the costly commit (a revert pair, as real MIND
had), a commit whose gradient is wrong while every count stays the same, and a
commit whose instruction counts vary from run to run (a hash map seeded at random),
and two commits of the runtime engine (`mind eval --exec` with `grad`): one right, then
one whose matmul rule passes the gradient through, as real MIND's HEAD does, and
two commits of one compile-time rule: a sum over one axis broadcasts its gradient back
(right), then passes it through again (absent, as real MIND does).

Each commit's source comes from the template in `tests/fixture_mind/` and the
knobs of its step below: AUTODIFF_WORK and SINGLE_OUTPUT_ONLY are constants in
src/lib.rs, rewritten in place; the later knobs select `//@ if KNOB` blocks of
the template, so the first seven commits keep the bytes (and SHAs) they had
before those knobs existed. Knobs, once on, stay on in later commits.

Author, committer, dates and file contents are fixed, so the same commit SHAs
come out every time. Only git's own environment is isolated; the user's global
and system git configuration are neither read nor written.
"""

from __future__ import annotations

import dataclasses
import io
import os
import re
import subprocess
import tarfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

TEMPLATE_DIR = Path(__file__).resolve().parent / "fixture_mind"

# Iterations of the crate's deterministic work loop per emitted gradient instruction
# at the `works` commit (`slow-autodiff` triples it). Under callgrind this is about
# 184k of small_mlp's gradient instructions (10 gradient instructions, ~23 each).
BASE_AUTODIFF_WORK = 800

AUTHOR_NAME = "MIND Fixture"
AUTHOR_EMAIL = "fixture@mind-autodiff-bench.invalid"
FIRST_COMMIT_DATE = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)

GITIGNORE = "Cargo.lock\ntarget/\n"

_WORK_LINE = re.compile(r"^pub const AUTODIFF_WORK: u64 = \d+;$", re.MULTILINE)
_SINGLE_OUTPUT_LINE = "pub const SINGLE_OUTPUT_ONLY: bool = false;"
_PRINTER_LINE = "        let next_id: usize = self.next_id;"
_BROKEN_PRINTER_LINE = "        let next_id: u32 = self.next_id;"
_TIMINGS_START = '#[cfg(feature = "compile-timings")]\nfn compile('
_TIMINGS_END = '#[cfg(not(feature = "compile-timings"))]\n'


@dataclass(frozen=True)
class FixtureCommit:
    """One commit of the history, and what it does to the benchmark's figures.

    For a commit that cannot differentiate (it does not build, or refuses the
    programs), autodiff_work is 0 and the two knob flags are False.
    """

    label: str
    sha: str
    message: str
    builds: bool
    differentiates: bool
    autodiff_work: int
    reverts: str | None
    """Label of the commit whose change this one undoes (`git revert`), or None."""
    relu_grad_swapped: bool
    """The gradient IR has `relu_grad %x %g` instead of `relu_grad %g %x`: the same ops
    and counts, a wrong gradient for everything below a relu (x and w1 of small_mlp)
    with random values; MIND's constant fills (x=0, w1=1, b1=0) hide it."""
    hash_seeded: bool
    """The gradient pass keeps a std HashMap with the default (per-process random)
    hasher and does work in the map's order: the gradient call's instruction count
    varies from run to run (a few % of the autodiff share); its output does not."""

    runtime_grad: bool = False
    """`mind eval --exec` answers `grad(...)` (the runtime engine, feature cpu-exec)."""
    runtime_matmul_passthrough: bool = False
    """The runtime's matmul rule passes the upstream gradient through unchanged, as real
    MIND's at v0.10.2: x, w1, w2 of small_mlp and all of matmul_chain come out wrong."""
    sum_axis_broadcast: bool = False
    """The compile-time rule of a sum over one axis of a matrix broadcasts the gradient
    back to the input's shape (right); without it the gradient passes through, with the
    summed shape (absent), as in real MIND."""

    @property
    def runtime_gradient_correct(self) -> bool:
        """The runtime's gradients are right for every seed model's parameter."""
        return self.runtime_grad and not self.runtime_matmul_passthrough

    @property
    def gradient_correct(self) -> bool:
        """The printed gradient IR is the correct one (GRAD_IR in tests/ir_samples.py)."""
        return self.differentiates and not self.relu_grad_swapped

    @property
    def counts_repeatable(self) -> bool:
        """Every callgrind count of this commit's binaries repeats exactly run to run."""
        return not self.hash_seeded


@dataclass(frozen=True)
class FixtureHistory:
    repo: Path
    commits: tuple[FixtureCommit, ...]

    def by_label(self, label: str) -> FixtureCommit:
        for commit in self.commits:
            if commit.label == label:
                return commit
        known = ", ".join(c.label for c in self.commits)
        raise KeyError(f"no fixture commit labelled {label!r} (known: {known})")

    def export(self, label: str, dest: Path) -> Path:
        """Write the tree of one commit into `dest` (created), without a .git.

        Files get the current time as their mtime (as `git checkout` gives them), not
        the commit's date: cargo decides what to rebuild by comparing mtimes.
        """
        sha = self.by_label(label).sha
        archive = subprocess.run(
            ["git", "-C", str(self.repo), "archive", "--format=tar", sha],
            capture_output=True,
            check=True,
            env=_git_environment(None),
        ).stdout
        dest.mkdir(parents=True, exist_ok=True)
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            names = [m.name for m in tar.getmembers() if m.isfile()]
            tar.extractall(dest, filter="data")
        for name in names:
            os.utime(dest / name)
        return dest


@dataclass(frozen=True)
class _Step:
    """What one commit of the fixture history looks like."""

    label: str
    message: str
    version: str
    compile_timings: bool
    single_output_only: bool
    broken: bool
    autodiff_work: int
    readme_sections: int
    relu_grad_swapped: bool = False
    hash_seeded: bool = False
    reverts: str | None = None
    runtime_grad: bool = False
    runtime_matmul_passthrough: bool = False
    sum_axis_broadcast: bool = False

    @property
    def knobs(self) -> dict[str, bool]:
        """The `//@ if KNOB` switches of the src/lib.rs, src/main.rs and src/runtime.rs
        templates."""
        return {
            "relu_grad_swapped": self.relu_grad_swapped,
            "hash_seeded": self.hash_seeded,
            "runtime_grad": self.runtime_grad,
            "runtime_matmul_passthrough": self.runtime_matmul_passthrough,
            "sum_axis_broadcast": self.sum_axis_broadcast,
        }

    @property
    def builds(self) -> bool:
        return not self.broken

    @property
    def differentiates(self) -> bool:
        return self.builds and not self.single_output_only


_W = BASE_AUTODIFF_WORK


def _after(previous: _Step, label: str, message: str, **changes: Any) -> _Step:
    """The next commit: the one before with `changes` (a knob, once on, stays on)."""
    return dataclasses.replace(
        previous, label=label, message=message, **{"reverts": None, **changes}
    )


def _history_steps() -> tuple[_Step, ...]:
    """Each commit as what it changes from the one before."""
    steps = [
        _Step(
            label="multiple-outputs",
            message="mind 0.1.0: let-form front end, IR printer, single-output autodiff",
            version="0.1.0",
            compile_timings=False,
            single_output_only=True,
            broken=False,
            autodiff_work=0,
            readme_sections=0,
        )
    ]
    steps.append(
        _after(
            steps[-1],
            "works",
            "autodiff: differentiate the last output; add compile-timings (v0.2.0)",
            version="0.2.0",
            compile_timings=True,
            single_output_only=False,
            autodiff_work=_W,
            readme_sections=1,
        )
    )
    steps.append(_after(steps[-1], "broken-build", "printer: keep next_id as u32", broken=True))
    steps.append(
        _after(
            steps[-1],
            "build-fixed",
            "printer: next_id back to usize (fixes the build)",
            broken=False,
        )
    )
    steps.append(
        _after(
            steps[-1],
            "slow-autodiff",
            "autodiff: extra tape verification rounds",
            autodiff_work=3 * _W,
        )
    )
    steps.append(
        _after(steps[-1], "docs-1", "docs: describe the gradient IR format", readme_sections=2)
    )
    steps.append(_after(steps[-1], "docs-2", "docs: list mindc's error codes", readme_sections=3))
    # make_history adds git revert's body: "This reverts commit <sha of slow-autodiff>."
    steps.append(
        _after(
            steps[-1],
            "revert-slow",
            'Revert "autodiff: extra tape verification rounds"',
            autodiff_work=_W,
            reverts="slow-autodiff",
        )
    )
    steps.append(
        _after(
            steps[-1],
            "wrong-relu-grad",
            "autodiff: relu rule hands relu_grad the primal input first",
            relu_grad_swapped=True,
        )
    )
    steps.append(
        _after(
            steps[-1],
            "hash-seeded",
            "autodiff: index gradients by value in a HashMap; check the tape per gradient",
            hash_seeded=True,
        )
    )
    steps.append(
        _after(
            steps[-1],
            "runtime-grad",
            "eval: grad(...) under --exec (feature cpu-exec), constant tensors kept symbolic",
            runtime_grad=True,
        )
    )
    steps.append(
        _after(
            steps[-1],
            "runtime-matmul-passthrough",
            "eval autodiff: matmul hands the upstream gradient to both operands",
            runtime_matmul_passthrough=True,
        )
    )
    steps.append(
        _after(
            steps[-1],
            "sum-axis-broadcast",
            "autodiff: a sum over one axis broadcasts its gradient back to the input's shape",
            sum_axis_broadcast=True,
        )
    )
    steps.append(
        _after(
            steps[-1],
            "sum-axis-passthrough",
            "autodiff: one pass-through arm for sum and the shape ops",
            sum_axis_broadcast=False,
        )
    )
    return tuple(steps)


_STEPS: tuple[_Step, ...] = _history_steps()

LABELS: tuple[str, ...] = tuple(step.label for step in _STEPS)

_README_SECTIONS = (
    """
## Features

- `autodiff`: reverse-mode gradient IR (`mindc FILE --autodiff --emit-grad-ir --func main`).
- `compile-timings`: with `MIND_TIMINGS=1`, print the compile phases on stderr.
""",
    """
## Gradient IR

`--emit-grad-ir` prints the primal module, then the gradient instructions: a seed
`const.i64 1` and the reverse pass (`transpose`, `matmul`, `relu_grad`, `mul`, `add`),
which are not marked as outputs.
""",
    """
## Error codes

- `E2001`: the program does not type-check.
- `E4001`: the function is not `main`, or the module cannot be differentiated.
- `E4003`: autodiff requested but the `autodiff` feature is not enabled.
""",
)


def _readme(sections: int) -> str:
    text = (
        "# mind (test fixture)\n\n"
        "A small stand-in for the MIND tensor compiler: `mind eval PROGRAM` and\n"
        "`mindc FILE --emit-ir`. Build with `cargo build --release`.\n"
    )
    return text + "".join(_README_SECTIONS[:sections])


def _replace_once(text: str, old: str, new: str, what: str) -> str:
    count = text.count(old)
    if count != 1:
        raise RuntimeError(f"fixture template: expected one {what}, found {count}")
    return text.replace(old, new)


def _cargo_toml(step: _Step) -> str:
    template = (TEMPLATE_DIR / "Cargo.toml.in").read_text()
    extra = "compile-timings = []\n" if step.compile_timings else ""
    if step.runtime_grad:  # as real MIND declares them
        extra += 'cpu-buffers = []\ncpu-exec = ["cpu-buffers"]\n'
    text = _replace_once(template, "@VERSION@", step.version, "@VERSION@")
    return _replace_once(text, "@EXTRA_FEATURES@\n", extra, "@EXTRA_FEATURES@ line")


def _select_knobs(template: str, knobs: dict[str, bool]) -> str:
    """Keep one branch of each `//@ if KNOB` / `//@ else` / `//@ end` block; drop `//@` lines.

    Blocks do not nest, and every KNOB must be one of `knobs`: a typo in the template
    fails here rather than silently leaving a commit without its change.
    """
    kept: list[str] = []
    block: tuple[str, bool] | None = None  # (knob, inside the else branch)
    for number, line in enumerate(template.splitlines(keepends=True), start=1):
        directive = line.strip()
        if not directive.startswith("//@"):
            if block is None or knobs[block[0]] != block[1]:
                kept.append(line)
            continue
        words = directive.split()
        where = f"fixture template line {number}"
        if words[:2] == ["//@", "if"] and len(words) == 3:
            if block is not None:
                raise RuntimeError(f"{where}: nested //@ if")
            if words[2] not in knobs:
                raise RuntimeError(f"{where}: unknown knob {words[2]!r} (knobs: {sorted(knobs)})")
            block = (words[2], False)
        elif words == ["//@", "else"]:
            if block is None or block[1]:
                raise RuntimeError(f"{where}: //@ else without //@ if")
            block = (block[0], True)
        elif words == ["//@", "end"]:
            if block is None:
                raise RuntimeError(f"{where}: //@ end without //@ if")
            block = None
        # Any other `//@` line is a note for whoever edits the template.
    if block is not None:
        raise RuntimeError(f"fixture template: //@ if {block[0]} has no //@ end")
    return "".join(kept)


def _lib_rs(step: _Step) -> str:
    text = _select_knobs((TEMPLATE_DIR / "src" / "lib.rs").read_text(), step.knobs)
    text, count = _WORK_LINE.subn(f"pub const AUTODIFF_WORK: u64 = {step.autodiff_work};", text)
    if count != 1:
        raise RuntimeError(f"fixture template: expected one AUTODIFF_WORK line, found {count}")
    if step.single_output_only:
        text = _replace_once(
            text,
            _SINGLE_OUTPUT_LINE,
            _SINGLE_OUTPUT_LINE.replace("false", "true"),
            "SINGLE_OUTPUT_ONLY line",
        )
    if step.broken:
        text = _replace_once(text, _PRINTER_LINE, _BROKEN_PRINTER_LINE, "next_id line")
    return text


def _mindc_rs(step: _Step) -> str:
    text = (TEMPLATE_DIR / "src" / "bin" / "mindc.rs").read_text()
    if not step.compile_timings:
        start = text.index(_TIMINGS_START)
        end = text.index(_TIMINGS_END, start)
        text = text[:start] + text[end + len(_TIMINGS_END) :]
        if "compile-timings" in text:
            raise RuntimeError("fixture template: compile-timings code left in mindc.rs")
    return text


def _template(relative: str, step: _Step) -> str:
    return _select_knobs((TEMPLATE_DIR / relative).read_text(), step.knobs)


def _tree(step: _Step) -> dict[str, str]:
    runtime = {"src/runtime.rs": _template("src/runtime.rs", step)} if step.runtime_grad else {}
    return {
        ".gitignore": GITIGNORE,
        "Cargo.toml": _cargo_toml(step),
        "README.md": _readme(step.readme_sections),
        "src/lib.rs": _lib_rs(step),
        "src/main.rs": _template("src/main.rs", step),
        **runtime,
        "src/bin/mindc.rs": _mindc_rs(step),
        "support/Cargo.toml": (TEMPLATE_DIR / "support" / "Cargo.toml").read_text(),
        "support/src/lib.rs": (TEMPLATE_DIR / "support" / "src" / "lib.rs").read_text(),
    }


def _git_environment(date: datetime | None) -> dict[str, str]:
    """The caller's environment without its GIT_* variables, config isolated."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_TERMINAL_PROMPT="0",
        LC_ALL="C",
    )
    if date is not None:
        stamp = date.isoformat()
        env.update(
            GIT_AUTHOR_NAME=AUTHOR_NAME,
            GIT_AUTHOR_EMAIL=AUTHOR_EMAIL,
            GIT_AUTHOR_DATE=stamp,
            GIT_COMMITTER_NAME=AUTHOR_NAME,
            GIT_COMMITTER_EMAIL=AUTHOR_EMAIL,
            GIT_COMMITTER_DATE=stamp,
        )
    return env


def _git(repo: Path, *args: str, date: datetime | None = None) -> str:
    command = [
        "git",
        "-c", f"user.name={AUTHOR_NAME}",
        "-c", f"user.email={AUTHOR_EMAIL}",
        "-c", "commit.gpgsign=false",
        "-c", "core.autocrlf=false",
        "-C", str(repo),
        *args,
    ]  # fmt: skip
    completed = subprocess.run(
        command, capture_output=True, text=True, env=_git_environment(date), check=False
    )
    if completed.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)} failed ({completed.returncode}): {completed.stderr.strip()}"
        )
    return completed.stdout


def make_history(dest: Path) -> FixtureHistory:
    """Create a git repo at dest (branch `main`) with the commits below.

    Oldest first: multiple-outputs (v0.1.0, autodiff gives E4001), works (v0.2.0),
    broken-build (does not compile), build-fixed (same tree as works),
    slow-autodiff (AUTODIFF_WORK tripled), docs-1 and docs-2 (README only),
    revert-slow (`git revert` of slow-autodiff: build-fixed's code, docs-2's README),
    wrong-relu-grad (relu_grad operands swapped), hash-seeded (a randomly seeded
    HashMap in the gradient pass, relu_grad still swapped), runtime-grad (`mind eval
    --exec` answers `grad(...)`, feature cpu-exec, right values) and
    runtime-matmul-passthrough (the runtime's matmul rule passes the gradient through,
    as real MIND's HEAD does).
    `dest` must not exist or be an empty directory.
    """
    if dest.exists() and any(dest.iterdir()):
        raise FileExistsError(f"{dest} exists and is not empty")
    dest.mkdir(parents=True, exist_ok=True)
    _git(dest, "init", "--quiet", "-b", "main")
    commits: list[FixtureCommit] = []
    for index, step in enumerate(_STEPS):
        for relative, text in _tree(step).items():
            path = dest / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(text.encode())
        message = step.message
        if step.reverts is not None:
            reverted = next(c for c in commits if c.label == step.reverts)
            message += f"\n\nThis reverts commit {reverted.sha}."
        date = FIRST_COMMIT_DATE + timedelta(hours=index)
        _git(dest, "add", "--all")
        _git(dest, "commit", "--quiet", "--no-verify", "-m", message, date=date)
        sha = _git(dest, "rev-parse", "HEAD").strip()
        differentiates = step.differentiates
        commits.append(
            FixtureCommit(
                label=step.label,
                sha=sha,
                message=message,
                builds=step.builds,
                differentiates=differentiates,
                autodiff_work=step.autodiff_work if differentiates else 0,
                reverts=step.reverts,
                relu_grad_swapped=step.relu_grad_swapped and differentiates,
                hash_seeded=step.hash_seeded and differentiates,
                runtime_grad=step.runtime_grad and step.builds,
                runtime_matmul_passthrough=step.runtime_matmul_passthrough and step.builds,
                sum_axis_broadcast=step.sum_axis_broadcast and differentiates,
            )
        )
    return FixtureHistory(repo=dest, commits=tuple(commits))
