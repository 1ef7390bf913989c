"""asv's result files and MIND's git history, read through asv's own API."""
