"""Generic measurement of one command: fixed conditions, repeated runs, instructions
retired (callgrind), peak RSS (GNU time). Nothing here knows about MIND."""
