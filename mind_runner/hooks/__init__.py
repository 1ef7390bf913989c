"""asv's build, install and uninstall hooks: cargo at one commit, the build manifest."""
