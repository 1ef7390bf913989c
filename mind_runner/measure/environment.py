"""The fixed conditions every measured command runs under.

Instruction counts move with the environment's size, the working directory and
the program path's length (on real MIND: one more environment variable +441
instructions, a longer path +35), so every measured call gets this environment
and directory, and callers keep file paths fixed.
"""

from __future__ import annotations

from pathlib import Path

FIXED_ENVIRONMENT: dict[str, str] = {"LC_ALL": "C", "PATH": "/usr/bin:/bin"}
FIXED_DIRECTORY = Path("/")
