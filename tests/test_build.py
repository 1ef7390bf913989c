"""The build and install hooks on tiny real crates, as asv calls them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mind_runner.hooks.build import (
    BuildRequest,
    build,
    declared_features,
    executables_from_messages,
)
from mind_runner.hooks.cache_entry import entry_problem
from mind_runner.hooks.install import install, uninstall
from mind_runner.hooks.manifest import MANIFEST_NAME, BuildManifest
from mind_runner.util.errors import MachineFault, UserError

MAIN = (
    'fn main() {{ println!("{name} {{}}", '
    'if cfg!(feature = "autodiff") {{ "ad" }} else {{ "-" }}); }}\n'
)

# Every test here compiles a Rust crate.
pytestmark = pytest.mark.cargo


def write_crate(root: Path, features: str, broken: bool = False) -> Path:
    (root / "src" / "bin").mkdir(parents=True)
    (root / "Cargo.toml").write_text(
        f'[package]\nname = "mind"\nversion = "0.1.0"\nedition = "2021"\n\n[features]\n{features}\n'
    )
    (root / "src" / "main.rs").write_text(MAIN.format(name="mind"))
    mindc = MAIN.format(name="mindc") + ("let x: u8 = ;\n" if broken else "")
    (root / "src" / "bin" / "mindc.rs").write_text(mindc)
    return root


def request(tmp_path: Path, source: Path, commit: str) -> BuildRequest:
    return BuildRequest(
        source=source,
        commit=commit,
        cache_dir=tmp_path / "cache" / commit,
        target_dir=tmp_path / "target",
        log_dir=tmp_path / "logs",
    )


def test_declared_features_ignore_default(tmp_path: Path) -> None:
    write_crate(tmp_path, 'default = ["cpu"]\ncpu = []\nautodiff = []\n')
    assert declared_features(tmp_path) == ("autodiff", "cpu")


def test_a_directory_without_cargo_toml_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"has no Cargo\.toml: is MIND_REPO a MIND checkout"):
        declared_features(tmp_path)


def test_only_compiler_artifacts_with_executables_count() -> None:
    messages = "\n".join(
        [
            json.dumps(
                {
                    "reason": "compiler-artifact",
                    "target": {"name": "mind"},
                    "executable": "/t/release/mind",
                }
            ),
            json.dumps(
                {"reason": "compiler-artifact", "target": {"name": "mind"}, "executable": None}
            ),
            json.dumps({"reason": "build-finished", "success": True}),
            "warning: not json",
        ]
    )
    assert executables_from_messages(messages) == {"mind": Path("/t/release/mind")}


def test_build_passes_declared_features_and_the_users_cargo_environment(tmp_path: Path) -> None:
    source = write_crate(tmp_path / "src-a", "autodiff = []\nmlir = []\n")
    wrapper_log = tmp_path / "wrapper.log"
    wrapper = tmp_path / "wrapper.sh"
    wrapper.write_text(f'#!/bin/sh\necho "$@" >> {wrapper_log}\nexec "$@"\n')
    wrapper.chmod(0o755)
    os.environ["RUSTC_WRAPPER"] = str(wrapper)
    try:
        manifest = build(request(tmp_path, source, "a" * 40))
    finally:
        del os.environ["RUSTC_WRAPPER"]
    assert manifest.features == ("autodiff",)
    assert manifest.declared_features == ("autodiff", "mlir")
    invocations = wrapper_log.read_text()
    assert 'feature="autodiff"' in invocations
    assert 'feature="mlir"' not in invocations
    cache = tmp_path / "cache" / ("a" * 40)
    ran = subprocess.run([cache / "bin" / "mindc"], capture_output=True, text=True, check=True)
    assert ran.stdout == "mindc ad\n"
    assert BuildManifest.load(cache / "bin") == manifest
    assert (tmp_path / "logs" / f"{'a' * 40}.log").is_file()
    assert (tmp_path / "target" / "release").is_dir()  # outside the checkout
    assert not (source / "target").exists()


def test_without_cpu_exec_only_mindc_is_built_cached_and_installed(tmp_path: Path) -> None:
    """No runtime to measure: `mind` is neither linked nor kept, and the manifest says why."""
    source = write_crate(tmp_path / "src", "autodiff = []\n")
    manifest = build(request(tmp_path, source, "9" * 40))
    assert manifest.binaries == ("mindc",)
    assert manifest.runtime_not_built == "this commit declares no cpu-exec feature"
    assert manifest.features_of("mind") is None
    assert sorted(p.name for p in (tmp_path / "cache" / ("9" * 40) / "bin").iterdir()) == sorted(
        [MANIFEST_NAME, "mindc"]
    )
    assert (tmp_path / "target" / "release" / "mindc").is_file()
    assert not (tmp_path / "target" / "release" / "mind").exists()


def test_a_commit_without_the_feature_builds_without_it(tmp_path: Path) -> None:
    source = write_crate(tmp_path / "src", "cpu = []\n")
    manifest = build(request(tmp_path, source, "b" * 40))
    assert manifest.features == ()
    mindc = tmp_path / "cache" / ("b" * 40) / "bin" / "mindc"
    assert subprocess.run([mindc], capture_output=True, text=True).stdout == "mindc -\n"


def test_failed_build_keeps_its_log_and_never_reuses_an_older_binary(tmp_path: Path) -> None:
    good = write_crate(tmp_path / "good", "autodiff = []\n")
    build(request(tmp_path, good, "c" * 40))
    broken = write_crate(tmp_path / "broken", "autodiff = []\n", broken=True)
    with pytest.raises(UserError) as raised:
        build(request(tmp_path, broken, "d" * 40))
    log = tmp_path / "logs" / f"{'d' * 40}.log"
    assert str(raised.value) == (
        f"build of MIND dddddddd failed (cargo exit 101); build log: {log}"
    )
    assert "error: expected item, found keyword `let`" in log.read_text()
    assert not (tmp_path / "cache" / ("d" * 40) / "bin").exists()


def test_cli_build_failure_is_one_line_and_nonzero(tmp_path: Path) -> None:
    broken = write_crate(tmp_path / "broken", "autodiff = []\n", broken=True)
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "mind_runner",
            "build",
            "--source",
            str(broken),
            "--commit",
            "e" * 40,
            "--cache",
            str(tmp_path / "cache"),
            "--target-dir",
            str(tmp_path / "target"),
            "--log-dir",
            str(tmp_path / "logs"),
        ],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert completed.returncode == 1
    assert completed.stderr.count("\n") == 1
    assert completed.stderr.startswith("mind_runner: build of MIND eeeeeeee failed")


def test_install_then_uninstall_round_trip(tmp_path: Path) -> None:
    source = write_crate(tmp_path / "src", "autodiff = []\n")
    build(request(tmp_path, source, "f" * 40))
    env_dir = tmp_path / "env"
    (env_dir / "bin").mkdir(parents=True)
    install(tmp_path / "cache" / ("f" * 40), env_dir)
    assert sorted(p.name for p in (env_dir / "bin").iterdir()) == sorted([MANIFEST_NAME, "mindc"])
    uninstall(env_dir)
    assert list((env_dir / "bin").iterdir()) == []


def test_install_from_an_empty_cache_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(
        MachineFault, match=r"lacks mindc, mind-build\.json\): removed it; run this commit"
    ):
        install(tmp_path / "cache", tmp_path / "env")


RUNTIME_MAIN = """fn main() {
    let ad = if cfg!(feature = "autodiff") { "ad" } else { "-" };
    let exec = if cfg!(feature = "cpu-exec") { "exec" } else { "-" };
    println!("NAME {ad} {exec}");
}
"""


def runtime_crate(root: Path, broken_runtime: bool = False) -> Path:
    """Both binaries print the features their own build unified into them."""
    write_crate(root, 'autodiff = []\ncpu-buffers = []\ncpu-exec = ["cpu-buffers"]\n')
    (root / "src" / "main.rs").write_text(
        RUNTIME_MAIN.replace("NAME", "mind")
        + (
            '#[cfg(feature = "cpu-exec")]\ncompile_error!("no runtime");\n'
            if broken_runtime
            else ""
        )
    )
    (root / "src" / "bin" / "mindc.rs").write_text(RUNTIME_MAIN.replace("NAME", "mindc"))
    return root


def run_binary(path: Path) -> str:
    return subprocess.run([path], capture_output=True, text=True, check=True).stdout


def test_mind_is_built_by_a_second_call_so_mindc_stays_as_shipped(tmp_path: Path) -> None:
    """One cargo call would unify cpu-exec into the library mindc links: two calls keep
    mindc as a plain `--features autodiff` build; the manifest says which has what."""
    source = runtime_crate(tmp_path / "src")
    commit = "7" * 40
    manifest = build(request(tmp_path, source, commit))
    assert manifest.binaries == ("mindc", "mind")
    assert manifest.binary_features == {"mindc": ("autodiff",), "mind": ("autodiff", "cpu-exec")}
    assert manifest.runtime_not_built is None
    bin_dir = tmp_path / "cache" / commit / "bin"
    assert run_binary(bin_dir / "mindc") == "mindc ad -\n"
    assert run_binary(bin_dir / "mind") == "mind ad exec\n"
    log = (tmp_path / "logs" / f"{commit}.log").read_text()
    assert "--bin mindc" in log and "--bin mind --message-format" in log
    assert BuildManifest.load(bin_dir) == manifest
    env_dir = tmp_path / "env"
    (env_dir / "bin").mkdir(parents=True)
    install(tmp_path / "cache" / commit, env_dir)
    assert sorted(p.name for p in (env_dir / "bin").iterdir()) == sorted(
        [MANIFEST_NAME, "mind", "mindc"]
    )
    uninstall(env_dir)
    assert list((env_dir / "bin").iterdir()) == []


def test_a_runtime_that_does_not_build_keeps_mindc_and_says_why(tmp_path: Path) -> None:
    source = runtime_crate(tmp_path / "src", broken_runtime=True)
    commit = "6" * 40
    manifest = build(request(tmp_path, source, commit))
    assert manifest.binaries == ("mindc",)
    assert manifest.runtime_not_built is not None
    assert manifest.runtime_not_built.startswith(
        "`mind` with autodiff, cpu-exec does not build (cargo exit 101); build log: "
    )
    assert run_binary(tmp_path / "cache" / commit / "bin" / "mindc") == "mindc ad -\n"
    assert entry_problem(tmp_path / "cache" / commit) is None


def test_an_entry_built_before_the_runtime_was_built_is_rebuilt(tmp_path: Path) -> None:
    """A cache entry whose manifest predates `mind` would leave the runtime unmeasured
    at that commit for good: asv is made to build it again."""
    source = write_crate(tmp_path / "src", "autodiff = []\n")
    commit = "5" * 40
    build(request(tmp_path, source, commit))
    path = tmp_path / "cache" / commit / "bin" / MANIFEST_NAME
    data = json.loads(path.read_text())
    del data["binary_features"], data["runtime_not_built"]
    path.write_text(json.dumps(data))
    problem = entry_problem(tmp_path / "cache" / commit)
    assert problem == "it was built before mind_runner built `mind` (the runtime engine)"
