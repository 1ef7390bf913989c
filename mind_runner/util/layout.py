"""Where the project keeps its own files, relative to asv.conf.json's folder.

The one home of these paths: asv.conf.json's build_command names the same
folders (a test checks that they agree), and `commands.config` resolves them.
"""

from __future__ import annotations

from pathlib import Path

ASV_WORK_DIR = Path(".asv")
BUILD_LOG_DIR = ASV_WORK_DIR / "build-logs"
"""One `<commit>.log` per build, kept on failure too."""
CARGO_TARGET_DIR = ASV_WORK_DIR / "cargo-target"
"""Shared by every commit, outside asv's checkout (asv runs `git clean -fdx` there)."""
VENDOR_CACHE_DIR = ASV_WORK_DIR / "vendor-cache"
"""npm tarballs of the site's libraries, kept across publishes (asv wipes html/)."""
RUN_LOG_DIR = ASV_WORK_DIR / "run-logs"
"""One log per asv command: faults of this machine and facts about MIND asv cannot hold."""
MIRRORS_DIR = ASV_WORK_DIR / "mirrors"
"""asv's mirrors of remote MIND repositories other than the configured one, by URL."""
SAVING_DIR = ASV_WORK_DIR / "saving"
"""Results files being written, before they replace the old ones in results/."""
