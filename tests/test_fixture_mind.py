"""The fixture MIND crate and its git history behave like the real MIND CLI.

Every distinct (commit, features) pair is built once per module, in one checkout
directory with one shared CARGO_TARGET_DIR (as the benchmark's build step does).
The expected texts below are MIND's real output for these programs.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fixture_history import (
    BASE_AUTODIFF_WORK,
    LABELS,
    FixtureHistory,
    _select_knobs,
    make_history,
)
from tests.ir_samples import EMIT_IR, GRAD_IR, GRAD_IR_RELU_GRAD_SWAPPED, SMALL_MLP_PRIMAL

CARGO = shutil.which("cargo")
VALGRIND = shutil.which("valgrind")

# Every test here compiles a Rust crate.
pytestmark = pytest.mark.cargo


GRAD_ARGS = ("--autodiff", "--emit-grad-ir", "--func", "main")

PROGRAMS = {
    "small_mlp": """\
let x: Tensor[f32,(32,784)] = 0;
let w1: Tensor[f32,(784,256)] = 1;
let b1: Tensor[f32,(256)] = 0;
let w2: Tensor[f32,(256,10)] = 1;
let b2: Tensor[f32,(10)] = 0;

let h1 = tensor.relu(tensor.matmul(x, w1) + b1);
let out = tensor.matmul(h1, w2) + b2;
tensor.sum(out, axes=[0, 1])
""",
    "simple_quadratic": """\
let x: Tensor[f32,(1000)] = 0;
let squared = x * x;
tensor.sum(squared, axes=[0])
""",
    "matmul_chain": """\
let A: Tensor[f32,(64,128)] = 1;
let B: Tensor[f32,(128,256)] = 1;
let C: Tensor[f32,(256,512)] = 1;
let D: Tensor[f32,(512,128)] = 1;

let ab = tensor.matmul(A, B);
let abc = tensor.matmul(ab, C);
let abcd = tensor.matmul(abc, D);
tensor.sum(abcd, axes=[0, 1])
""",
    "simple_quadratic.seed-form": """\
    let x: Tensor[f32,(1000)] = 0;
    let squared = mul(x, x);
    tensor.sum(squared, [0])
""",
    "small_mlp.function-form": """\
fn main(
    x: Tensor<F32, [32, 784]>,
    w1: Tensor<F32, [784, 256]>
) -> Tensor<F32, []> {
    tensor.sum(tensor.matmul(x, w1), [0, 1])
}
""",
}

# `mind eval PROGRAM` stdout for small_mlp (uncanonicalised operand order).
MIND_EVAL_SMALL_MLP = (
    "Tensor[F32,()] fill=0\n--- Lowered IR ---\n"
    + SMALL_MLP_PRIMAL.replace("add %2, %5", "add %5, %2").replace("add %4, %8", "add %8, %4")
    + "}  // next_id = 11\n\n--- Result ---\nTensor[F32,()] fill=0\n"
)

SEED_FORM_STDERR = """\
error[type-check][E2001]: unsupported call to `mul`
  --> simple_quadratic.seed-form.mind:2:19
   |     let squared = mul(x, x);
   |                   ^^^^^^^^^
error[type-check][E2001]: `tensor.sum` expects a single tensor argument
  --> simple_quadratic.seed-form.mind:3:5
   |     tensor.sum(squared, [0])
   |     ^^^^^^^^^^^^^^^^^^^^^^^^
"""

E4001_MULTIPLE_OUTPUTS = (
    "error[autodiff][E4001]: IR module contains multiple outputs; expected a single scalar output\n"
)
E4003 = "error[autodiff][E4003]: autodiff requested but the 'autodiff' feature is not enabled\n"


def relu_chain(layers: int) -> str:
    lines = ["let x: Tensor[f32,(16,16)] = 1;"]
    lines += [f"let w{i}: Tensor[f32,(16,16)] = 1;" for i in range(layers)]
    previous = "x"
    for i in range(layers):
        lines.append(f"let h{i + 1} = tensor.relu(tensor.matmul({previous}, w{i}));")
        previous = f"h{i + 1}"
    lines.append(f"tensor.sum({previous}, axes=[0, 1])")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Build:
    label: str
    features: tuple[str, ...]
    returncode: int
    log: str
    bin_dir: Path

    def run(
        self, binary: str, *args: str, cwd: Path, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        assert self.returncode == 0, f"{self.label} did not build:\n{self.log}"
        return subprocess.run(
            [str(self.bin_dir / binary), *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )


class Builder:
    """Builds each (label, features) once, all in one checkout and one target dir."""

    def __init__(self, history: FixtureHistory, root: Path) -> None:
        self.history = history
        self.root = root
        self.checkout = root / "checkout"
        self.target_dir = root / "target"
        self._builds: dict[tuple[str, tuple[str, ...]], Build] = {}

    def build(self, label: str, features: tuple[str, ...] = ("autodiff",)) -> Build:
        key = (label, features)
        if key not in self._builds:
            self._builds[key] = self._build(label, features)
        return self._builds[key]

    def _build(self, label: str, features: tuple[str, ...]) -> Build:
        assert CARGO is not None
        shutil.rmtree(self.checkout, ignore_errors=True)
        self.history.export(label, self.checkout)
        command = [CARGO, "build", "--release", "--offline", "--bins"]
        if features:
            command += ["--features", ",".join(features)]
        completed = subprocess.run(
            command,
            cwd=self.checkout,
            env=dict(os.environ, CARGO_TARGET_DIR=str(self.target_dir)),
            capture_output=True,
            text=True,
            check=False,
        )
        bin_dir = self.root / "bin" / f"{label}+{'+'.join(features) or 'default'}"
        if completed.returncode == 0:
            bin_dir.mkdir(parents=True)
            for name in ("mind", "mindc"):
                shutil.copy2(self.target_dir / "release" / name, bin_dir / name)
        return Build(label, features, completed.returncode, completed.stderr, bin_dir)


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> FixtureHistory:
    return make_history(tmp_path_factory.mktemp("fixture") / "mind")


@pytest.fixture(scope="module")
def builder(history: FixtureHistory, tmp_path_factory: pytest.TempPathFactory) -> Builder:
    return Builder(history, tmp_path_factory.mktemp("builds"))


@pytest.fixture(scope="module")
def programs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("programs")
    for name, text in PROGRAMS.items():
        (directory / f"{name}.mind").write_text(text)
    (directory / "relu_chain_1000.mind").write_text(relu_chain(1000))
    return directory


def git(history: FixtureHistory, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(history.repo), *args],
        capture_output=True,
        text=True,
        check=True,
        env=dict(os.environ, GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull),
    ).stdout


# --- the history ------------------------------------------------------------------


def test_history_commits_and_flags(history: FixtureHistory) -> None:
    assert LABELS == (
        "multiple-outputs",
        "works",
        "broken-build",
        "build-fixed",
        "slow-autodiff",
        "docs-1",
        "docs-2",
        "revert-slow",
        "wrong-relu-grad",
        "hash-seeded",
        "runtime-grad",
        "runtime-matmul-passthrough",
        "sum-axis-broadcast",
        "sum-axis-passthrough",
    )
    assert tuple(c.label for c in history.commits) == LABELS
    table = {
        c.label: (
            c.builds,
            c.differentiates,
            c.autodiff_work,
            c.reverts,
            c.relu_grad_swapped,
            c.hash_seeded,
            c.gradient_correct,
            c.counts_repeatable,
        )
        for c in history.commits
    }
    w = BASE_AUTODIFF_WORK
    assert table == {
        "multiple-outputs": (True, False, 0, None, False, False, False, True),
        "works": (True, True, w, None, False, False, True, True),
        "broken-build": (False, False, 0, None, False, False, False, True),
        "build-fixed": (True, True, w, None, False, False, True, True),
        "slow-autodiff": (True, True, 3 * w, None, False, False, True, True),
        "docs-1": (True, True, 3 * w, None, False, False, True, True),
        "docs-2": (True, True, 3 * w, None, False, False, True, True),
        "revert-slow": (True, True, w, "slow-autodiff", False, False, True, True),
        "wrong-relu-grad": (True, True, w, None, True, False, False, True),
        # Knobs are cumulative: relu_grad stays swapped at hash-seeded.
        "hash-seeded": (True, True, w, None, True, True, False, False),
        "runtime-grad": (True, True, w, None, True, True, False, False),
        "runtime-matmul-passthrough": (True, True, w, None, True, True, False, False),
        "sum-axis-broadcast": (True, True, w, None, True, True, False, False),
        "sum-axis-passthrough": (True, True, w, None, True, True, False, False),
    }
    assert [c.label for c in history.commits if c.sum_axis_broadcast] == ["sum-axis-broadcast"]
    runtime = {
        c.label: (c.runtime_grad, c.runtime_matmul_passthrough, c.runtime_gradient_correct)
        for c in history.commits
        if c.runtime_grad
    }
    assert runtime == {
        "runtime-grad": (True, False, True),
        "runtime-matmul-passthrough": (True, True, False),
        "sum-axis-broadcast": (True, True, False),
        "sum-axis-passthrough": (True, True, False),
    }
    shas = [c.sha for c in history.commits]
    assert all(re.fullmatch(r"[0-9a-f]{40}", sha) for sha in shas)
    assert git(history, "rev-list", "--reverse", "main").split() == shas
    assert git(history, "symbolic-ref", "HEAD").strip() == "refs/heads/main"
    assert history.by_label("works").sha == shas[1]
    with pytest.raises(KeyError):
        history.by_label("nope")
    messages = git(history, "log", "--reverse", "--format=%B%x00", "main").split("\0\n")
    assert [m.rstrip("\n") for m in messages[: len(shas)]] == [c.message for c in history.commits]
    slow = history.by_label("slow-autodiff")
    assert history.by_label("revert-slow").message == (
        f'Revert "{slow.message}"\n\nThis reverts commit {slow.sha}.'
    )


def test_history_metadata_is_fixed(history: FixtureHistory, tmp_path: Path) -> None:
    log = git(history, "log", "--reverse", "--format=%an|%ae|%aI|%cI").splitlines()
    stamps = [f"2026-03-02T{9 + i:02d}:00:00+00:00" for i in range(len(LABELS))]
    expected = [f"MIND Fixture|fixture@mind-autodiff-bench.invalid|{s}|{s}" for s in stamps]
    assert log == expected
    again = make_history(tmp_path / "again")
    assert [c.sha for c in again.commits] == [c.sha for c in history.commits]
    # Commits appended later leave the earlier ones (and results keyed by them) alone.
    assert {c.label: c.sha for c in history.commits[:7]} == {
        "multiple-outputs": "98457cda80704fe50f3acc426268e5c8ab19595a",
        "works": "b896c48bcc443481e804e77bbbff85e71f4e4652",
        "broken-build": "178224f5338f07225db66faebe71a73ab818c643",
        "build-fixed": "201bf37ad8866d804c4dd8a1c9a647c4140c046d",
        "slow-autodiff": "b6e927f087c96359c9f09f7a1a89fd1bc4372176",
        "docs-1": "1b9391713e3a32b6ef36d285f0f77a6ce183a65b",
        "docs-2": "d3f295b1e219d6ac39f456e2f46a9cda18711174",
    }


def test_history_trees(history: FixtureHistory) -> None:
    def changed(old: str, new: str) -> list[str]:
        a, b = history.by_label(old).sha, history.by_label(new).sha
        return git(history, "diff", "--name-only", a, b).split()

    files = git(history, "ls-tree", "-r", "--name-only", "main").split()
    assert sorted(files) == [
        ".gitignore",
        "Cargo.toml",
        "README.md",
        "src/bin/mindc.rs",
        "src/lib.rs",
        "src/main.rs",
        "src/runtime.rs",
        "support/Cargo.toml",
        "support/src/lib.rs",
    ]
    assert git(history, "show", "main:.gitignore") == "Cargo.lock\ntarget/\n"
    assert changed("works", "broken-build") == ["src/lib.rs"]
    assert changed("works", "build-fixed") == []
    assert changed("slow-autodiff", "docs-1") == ["README.md"]
    assert changed("docs-1", "docs-2") == ["README.md"]
    diff = git(
        history, "diff", "-U0", history.by_label("build-fixed").sha,
        history.by_label("slow-autodiff").sha,
    )  # fmt: skip
    changes = [line for line in diff.splitlines() if line[:1] in "+-" and line[:3] not in "+++---"]
    w = BASE_AUTODIFF_WORK
    assert changes == [
        f"-pub const AUTODIFF_WORK: u64 = {w};",
        f"+pub const AUTODIFF_WORK: u64 = {3 * w};",
    ]
    # The runtime arrives in main.rs, runtime.rs and two features; then one rule flips.
    assert changed("hash-seeded", "runtime-grad") == [
        "Cargo.toml",
        "src/main.rs",
        "src/runtime.rs",
    ]
    assert changed_lines(history, "runtime-grad", "runtime-matmul-passthrough") == [
        "-const MATMUL_PASSES_GRADIENT_THROUGH: bool = false;",
        "+const MATMUL_PASSES_GRADIENT_THROUGH: bool = true;",
    ]
    # One compile-time rule changes in lib.rs, and the next commit takes it back.
    assert changed("runtime-matmul-passthrough", "sum-axis-broadcast") == ["src/lib.rs"]
    assert changed("runtime-matmul-passthrough", "sum-axis-passthrough") == []


def changed_lines(history: FixtureHistory, old: str, new: str) -> list[str]:
    """The -/+ lines of `git diff -U0` between two fixture commits."""
    diff = git(history, "diff", "-U0", history.by_label(old).sha, history.by_label(new).sha)
    return [line for line in diff.splitlines() if line[:1] in "+-" and line[:3] not in "+++---"]


def test_revert_and_later_commits_change_only_their_lines(history: FixtureHistory) -> None:
    def blob(label: str, path: str) -> str:
        return git(history, "rev-parse", f"{history.by_label(label).sha}:{path}").strip()

    w = BASE_AUTODIFF_WORK
    # revert-slow undoes slow-autodiff exactly: build-fixed's code, docs-2's README.
    assert changed_lines(history, "docs-2", "revert-slow") == [
        f"-pub const AUTODIFF_WORK: u64 = {3 * w};",
        f"+pub const AUTODIFF_WORK: u64 = {w};",
    ]
    for path in ("src/lib.rs", "src/bin/mindc.rs", "Cargo.toml"):
        assert blob("revert-slow", path) == blob("build-fixed", path), path
    assert blob("revert-slow", "README.md") == blob("docs-2", "README.md")
    # wrong-relu-grad: relu's rule hands relu_grad its operands the other way round.
    assert changed_lines(history, "revert-slow", "wrong-relu-grad") == [
        "-                    grad: upstream,",
        "-                    input: *a,",
        "+                    grad: *a,",
        "+                    input: upstream,",
    ]
    hashed = changed_lines(history, "wrong-relu-grad", "hash-seeded")
    assert git(
        history, "diff", "--name-only",
        history.by_label("wrong-relu-grad").sha, history.by_label("hash-seeded").sha,
    ).split() == ["src/lib.rs"]  # fmt: skip
    assert "+use std::collections::{BTreeMap, HashMap};" in hashed
    assert "+    grads: HashMap<ValueId, ValueId>," in hashed
    assert not any("relu_grad" in line or "AUTODIFF_WORK" in line for line in hashed)
    # What the crate's doc comment says about hash maps is true at every commit.
    claim = "//! IR for the programs it understands. Plain `std`, no hash maps and nothing\n"
    repeatable = "//! seeded at random, so instruction counts are exactly repeatable run to run.\n"
    for commit in history.commits:
        source = git(history, "show", f"{commit.sha}:src/lib.rs")
        assert claim in source, commit.label
        assert (claim + repeatable in source) == commit.counts_repeatable, commit.label
        assert ("HashMap" in source) == commit.hash_seeded, commit.label
        assert "//@" not in source and "#![forbid(unsafe_code)]\n" in source


def test_template_knob_blocks() -> None:
    template = (
        "a\n//@ a note\n//@ if k\non\n//@ else\noff\n//@ end\n  //@ if k\nonly on\n//@ end\nz\n"
    )
    assert _select_knobs(template, {"k": True}) == "a\non\nonly on\nz\n"
    assert _select_knobs(template, {"k": False}) == "a\noff\nz\n"
    for broken, message in [
        ("//@ if k\n//@ if k\n//@ end\n", "nested"),
        ("//@ if typo\n//@ end\n", "unknown knob 'typo'"),
        ("//@ if k\nx\n", "has no //@ end"),
        ("//@ else\n", "without //@ if"),
        ("//@ if k\n//@ else\n//@ else\n//@ end\n", "without //@ if"),
        ("//@ end\n", "without //@ if"),
    ]:
        with pytest.raises(RuntimeError, match=message):
            _select_knobs(broken, {"k": True})


def test_cargo_toml_at_each_commit(history: FixtureHistory) -> None:
    for commit in history.commits:
        manifest = tomllib.loads(git(history, "show", f"{commit.sha}:Cargo.toml"))
        package = manifest["package"]
        assert (package["name"], package["edition"]) == ("mind", "2021")
        old = commit.label == "multiple-outputs"
        assert package["version"] == ("0.1.0" if old else "0.2.0")
        features: dict[str, list[str]] = {"default": [], "autodiff": []}
        if not old:
            features["compile-timings"] = []
        if commit.runtime_grad:  # as real MIND declares them
            features.update({"cpu-buffers": [], "cpu-exec": ["cpu-buffers"]})
        assert manifest["features"] == features
        # Only the local path crate: nothing that needs a registry.
        assert manifest["dependencies"] == {"mind-support": {"path": "support"}}
        assert manifest["profile"]["release"] == {
            "opt-level": 1,
            "debug": False,
            "incremental": False,
        }
        assert {b["name"]: b["path"] for b in manifest["bin"]} == {
            "mind": "src/main.rs",
            "mindc": "src/bin/mindc.rs",
        }


# --- building ---------------------------------------------------------------------


def test_broken_build_fails(builder: Builder) -> None:
    build = builder.build("broken-build")
    assert build.returncode != 0
    assert "error[E0308]: mismatched types" in build.log


def test_undeclared_feature_fails(builder: Builder) -> None:
    build = builder.build("multiple-outputs", ("autodiff", "compile-timings"))
    assert build.returncode != 0
    assert "compile-timings" in build.log


# --- the CLI at working commits ---------------------------------------------------


def test_versions(builder: Builder, programs: Path) -> None:
    autodiff = builder.build("works").run("mindc", "--version", cwd=programs)
    assert (autodiff.returncode, autodiff.stdout, autodiff.stderr) == (
        0,
        "mind 0.2.0\ncore-ir=1.0  core-autodiff=1.0\n",
        "",
    )
    default = builder.build("works", ()).run("mindc", "--version", cwd=programs)
    assert (default.returncode, default.stdout) == (0, "mind 0.2.0\ncore-ir=1.0\n")
    old = builder.build("multiple-outputs").run("mindc", "--version", cwd=programs)
    assert old.stdout == "mind 0.1.0\ncore-ir=1.0  core-autodiff=1.0\n"
    mind = builder.build("works").run("mind", "--version", cwd=programs)
    assert (mind.returncode, mind.stdout) == (0, "mind 0.2.0\n")


@pytest.mark.parametrize("program", ["small_mlp", "simple_quadratic", "matmul_chain"])
def test_emit_ir(builder: Builder, programs: Path, program: str) -> None:
    result = builder.build("works").run("mindc", f"{program}.mind", "--emit-ir", cwd=programs)
    assert (result.returncode, result.stdout, result.stderr) == (0, EMIT_IR[program], "")


@pytest.mark.parametrize(
    "label", ["works", "slow-autodiff", "revert-slow", "wrong-relu-grad", "hash-seeded"]
)
@pytest.mark.parametrize("program", ["small_mlp", "simple_quadratic", "matmul_chain"])
def test_grad_ir(
    builder: Builder, history: FixtureHistory, programs: Path, program: str, label: str
) -> None:
    correct = history.by_label(label).gradient_correct
    expected = (GRAD_IR if correct else GRAD_IR_RELU_GRAD_SWAPPED)[program]
    # Only small_mlp has a relu: the other programs' gradient IR is right either way.
    assert (expected == GRAD_IR[program]) == (correct or program != "small_mlp")
    result = builder.build(label).run("mindc", f"{program}.mind", *GRAD_ARGS, cwd=programs)
    assert (result.returncode, result.stdout, result.stderr) == (0, expected, "")


def test_cli_errors(builder: Builder, programs: Path) -> None:
    build = builder.build("works")

    def run(*args: str) -> tuple[int, str, str]:
        result = build.run("mindc", *args, cwd=programs)
        return result.returncode, result.stdout, result.stderr

    assert run("small_mlp.mind", "--autodiff", "--emit-grad-ir") == (
        1,
        "",
        "error[autodiff]: --autodiff requires --func <name>\n",
    )
    assert run("small_mlp.mind", *GRAD_ARGS[:-1], "small_mlp") == (
        1,
        "",
        "error[autodiff][E4001]: function 'small_mlp' not found in module "
        "(only 'main' is supported)\n",
    )
    assert run("small_mlp.mind", "--emit-grad-ir") == (0, "", "")
    assert run("does-not-exist.mind", *GRAD_ARGS) == (
        1,
        "",
        "failed to read does-not-exist.mind: No such file or directory (os error 2)\n",
    )
    assert run("simple_quadratic.seed-form.mind", *GRAD_ARGS) == (1, "", SEED_FORM_STDERR)
    code, out, err = run("small_mlp.function-form.mind", *GRAD_ARGS)
    assert (code, out) == (1, "")
    assert err.startswith("error[type-check][E2001]: ")
    code, out, err = run("small_mlp.mind", "--no-such-flag")
    assert (code, out) == (2, "")
    assert err.startswith("error: unexpected argument '--no-such-flag' found")


def test_without_autodiff_feature(builder: Builder, programs: Path) -> None:
    build = builder.build("works", ())
    result = build.run("mindc", "small_mlp.mind", *GRAD_ARGS, cwd=programs)
    assert (result.returncode, result.stdout, result.stderr) == (1, "", E4003)
    emit = build.run("mindc", "small_mlp.mind", "--emit-ir", cwd=programs)
    assert (emit.returncode, emit.stdout) == (0, EMIT_IR["small_mlp"])


def test_multiple_outputs_commit(builder: Builder, programs: Path) -> None:
    build = builder.build("multiple-outputs")
    for program in ("small_mlp", "simple_quadratic", "matmul_chain"):
        result = build.run("mindc", f"{program}.mind", *GRAD_ARGS, cwd=programs)
        assert (result.returncode, result.stdout, result.stderr) == (
            1,
            "",
            E4001_MULTIPLE_OUTPUTS,
        )
        emit = build.run("mindc", f"{program}.mind", "--emit-ir", cwd=programs)
        assert (emit.returncode, emit.stdout) == (0, EMIT_IR[program])


def test_mind_eval(builder: Builder, programs: Path) -> None:
    build = builder.build("works")
    result = build.run("mind", "eval", PROGRAMS["small_mlp"], cwd=programs)
    assert (result.returncode, result.stdout, result.stderr) == (0, MIND_EVAL_SMALL_MLP, "")
    # Like the real CLI: type errors go to stderr, and the exit code is still 0.
    seed = build.run("mind", "eval", PROGRAMS["simple_quadratic.seed-form"], cwd=programs)
    assert (seed.returncode, seed.stdout) == (0, "")
    assert seed.stderr.startswith("Evaluation error: type error\n[E2001] unsupported call")
    assert "  --> line 2 column 19\n" in seed.stderr


def test_compile_timings(builder: Builder, programs: Path) -> None:
    build = builder.build("works", ("autodiff", "compile-timings"))
    env = dict(os.environ, MIND_TIMINGS="1")
    result = build.run("mindc", "small_mlp.mind", *GRAD_ARGS, cwd=programs, env=env)
    assert (result.returncode, result.stdout) == (0, GRAD_IR["small_mlp"])
    pattern = (
        r"\[mind-timings\] compile_source: total \d+\.\d{3} ms\n"
        r"\[mind-timings\]   parse          \d+\.\d{3} ms\n"
        r"\[mind-timings\]   typecheck      \d+\.\d{3} ms\n"
        r"\[mind-timings\]   ir-lower       \d+\.\d{3} ms\n"
        r"\[mind-timings\]   verify\+canon   \d+\.\d{3} ms\n"
    )
    assert re.fullmatch(pattern, result.stderr), result.stderr


@pytest.mark.parametrize("label", ["slow-autodiff", "hash-seeded"])
def test_relu_chain_1000_layers(builder: Builder, programs: Path, label: str) -> None:
    build = builder.build(label)
    result = build.run("mindc", "relu_chain_1000.mind", *GRAD_ARGS, cwd=programs)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    # 1001 constants, 2000 primal ops, the sum, the seed and 5 gradient ops per layer.
    assert result.stdout.endswith("\n}  // next_id = 8003\n\n")
    assert sum(1 for line in lines if line.startswith("  output ")) == 1001 + 1000 + 1
    assert sum(1 for line in lines if " = relu_grad " in line) == 1000


# --- the work knob, in instructions retired -----------------------------------------


def callgrind_count(binary: Path, *args: str, cwd: Path) -> int:
    assert VALGRIND is not None
    completed = subprocess.run(
        [VALGRIND, "--tool=callgrind", "--callgrind-out-file=/dev/null", str(binary), *args],
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin", "LC_ALL": "C"},
        capture_output=True,
        text=True,
        check=False,
    )
    match = re.search(r"Collected : (\d+)", completed.stderr)
    assert match is not None, completed.stderr
    return int(match[1])


def test_autodiff_work_knob(builder: Builder, programs: Path, tmp_path: Path) -> None:
    # The same binary path for every build: the path's length changes the counts.
    binary = tmp_path / "mindc"
    counts: dict[str, tuple[int, int, int]] = {}
    for label in ("works", "slow-autodiff", "revert-slow", "wrong-relu-grad"):
        shutil.copy2(builder.build(label).bin_dir / "mindc", binary)
        counts[label] = (
            callgrind_count(binary, "--version", cwd=programs),
            callgrind_count(binary, "small_mlp.mind", "--emit-ir", cwd=programs),
            callgrind_count(binary, "small_mlp.mind", *GRAD_ARGS, cwd=programs),
        )
    again = callgrind_count(binary, "small_mlp.mind", *GRAD_ARGS, cwd=programs)
    assert again == counts["wrong-relu-grad"][2], "instruction counts are not repeatable"
    (version_w, emit_w, grad_w) = counts["works"]
    (version_3w, emit_3w, grad_3w) = counts["slow-autodiff"]
    assert (version_w, emit_w) == (version_3w, emit_3w), counts
    share_w, share_3w = grad_w - emit_w, grad_3w - emit_3w
    assert 100_000 < share_w < 400_000, counts
    assert 2.0 < share_3w / share_w < 3.0, counts
    # The revert restores the very same source, so the very same counts.
    assert counts["revert-slow"] == counts["works"], counts
    # A wrong gradient costs what the right one costs: same ops, same work. (Equal on
    # the toolchain this was written with; a count check is blind to it either way.)
    share_r = counts["revert-slow"][2] - counts["revert-slow"][1]
    share_x = counts["wrong-relu-grad"][2] - counts["wrong-relu-grad"][1]
    assert abs(share_x - share_r) < 0.001 * share_r, counts


def test_hash_seeded_counts_vary_run_to_run(
    builder: Builder, programs: Path, tmp_path: Path
) -> None:
    """A HashMap seeded per process: the gradient call's count moves by a few % of the
    autodiff share from run to run (real MIND: 4-6 %), its output never does."""
    binary = tmp_path / "mindc"

    def count(*args: str) -> int:
        return callgrind_count(binary, "small_mlp.mind", *args, cwd=programs)

    shutil.copy2(builder.build("wrong-relu-grad").bin_dir / "mindc", binary)
    share_before = count(*GRAD_ARGS) - count("--emit-ir")
    build = builder.build("hash-seeded")
    shutil.copy2(build.bin_dir / "mindc", binary)
    front_end = {count("--emit-ir") for _ in range(2)}
    assert len(front_end) == 1, front_end  # the front end never touches the map
    shares = sorted(count(*GRAD_ARGS) - min(front_end) for _ in range(5))
    assert len(set(shares)) > 1, shares
    assert shares[-1] - shares[0] < 0.10 * shares[2], shares
    # The map and the tape check cost something at every seed: a step up, not only noise.
    assert shares[0] > 1.02 * share_before, (share_before, shares)
    outputs = {
        build.run("mindc", "small_mlp.mind", *GRAD_ARGS, cwd=programs).stdout for _ in range(5)
    }
    assert outputs == {GRAD_IR_RELU_GRAD_SWAPPED["small_mlp"]}
