"""Build MIND per commit for asv, drive its CLI, and report what the results say."""
