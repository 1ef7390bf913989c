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
CARGO_LOCK_DIR = ASV_WORK_DIR / "cargo-lock"
"""The last build's Cargo.lock and its commit: the next build starts from it."""
BUILD_RECORD_DIR = Path("results") / "builds"
"""`<commit>.toml` per build: the crates it used. Inside asv.conf.json's results_dir, to be
kept with the results; not JSON, so asv's results walk passes over it."""
VENDOR_CACHE_DIR = ASV_WORK_DIR / "vendor-cache"
"""npm tarballs of the site's libraries, kept across publishes (asv wipes html/)."""
BACKFILL_DIR = ASV_WORK_DIR / "backfill"
"""`backfill`'s shard files, one folder per local worker (asv env, results, target dir), logs."""
RUN_LOG_DIR = ASV_WORK_DIR / "run-logs"
"""One log per asv command: faults of this machine and facts about MIND asv cannot hold."""
MIRRORS_DIR = ASV_WORK_DIR / "mirrors"
"""asv's mirrors of remote MIND repositories other than the configured one, by URL."""
SAVING_DIR = ASV_WORK_DIR / "saving"
"""Results files being written, before they replace the old ones in results/."""
