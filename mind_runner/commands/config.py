"""This project's asv configuration and every path derived from it.

asv.conf.json names MIND on GitHub; MIND_REPO (a git URL or a local path) points
every command at another repository without editing a tracked file, and
MIND_RUNNER_WORKER_DIR gives one of several parallel workers its own folders
(`commands.worker_dir`). Paths in the config are relative to its folder, as asv
reads them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from mind_runner.commands.worker_dir import WORKER_DIR_VARIABLE, apply_worker_dir
from mind_runner.util.errors import UserError
from mind_runner.util.layout import BUILD_LOG_DIR, BUILD_RECORD_DIR, VENDOR_CACHE_DIR

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CONFIG_PATH = PROJECT_ROOT / "asv.conf.json"


def load_config(config_path: Path = CONFIG_PATH) -> Any:
    """asv's Config for this project, with MIND_REPO and MIND_RUNNER_WORKER_DIR applied."""
    from asv import util
    from asv.config import Config

    try:
        conf = Config.load(str(config_path))
    except util.UserError as error:
        raise UserError(str(error)) from None
    override = os.environ.get("MIND_REPO")
    if override:
        conf.repo = resolve_mind_repo(override)
    worker_dir = os.environ.get(WORKER_DIR_VARIABLE)
    if worker_dir:
        apply_worker_dir(conf, Path(worker_dir))
    return conf


def resolve_mind_repo(value: str) -> str:
    """An existing local path (made absolute) or a URL; a path that is not there is an error."""
    local = Path(value).expanduser()
    if local.exists():
        return str(local.resolve())
    if "://" in value or "@" in value.split("/", 1)[0]:
        return value
    raise UserError(
        f"MIND_REPO={value} is neither an existing directory nor a git URL: "
        "give a clone of MIND or a URL such as https://github.com/star-ga/mind.git"
    )


def html_dir(config_path: Path = CONFIG_PATH) -> Path:
    """asv.conf.json's html_dir, which asv reads relative to the config's folder."""
    return config_path.parent / str(load_config(config_path).html_dir)


def results_dir(config_path: Path = CONFIG_PATH) -> Path:
    return config_path.parent / str(load_config(config_path).results_dir)


def build_log_dir(config_path: Path = CONFIG_PATH) -> Path:
    return config_path.parent / BUILD_LOG_DIR


def build_record_dir(config_path: Path = CONFIG_PATH) -> Path:
    """results/builds/: the crates each commit was built with (hooks.lockfile's records)."""
    return config_path.parent / BUILD_RECORD_DIR


def vendor_cache_dir(config_path: Path = CONFIG_PATH) -> Path:
    return config_path.parent / VENDOR_CACHE_DIR
