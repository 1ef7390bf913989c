"""asv's machine file (~/.asv-machine.json), replaced whole so that no reader sees half of it.

asv's `Machine.load`, which every `asv run` calls, writes the machine file back
each time, in place. Two asv processes started together (`backfill`'s workers)
then read it while the other is writing it: on CI one worker stopped at once,
exit 1 after 0 s, and two processes each loading 300 times here met asv's
"Error parsing JSON in file" on the first try. For the duration of one
asv command run by mind_runner, asv's own save writes a copy beside the file, which then
replaces it, the way `commands.guard` writes asv's results (`util.files`).

Two workers saving at once each replace the whole file; the last one wins.
They save the same machine with the same description, so nothing is lost.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mind_runner.util.files import replaced_from_staging


@contextmanager
def machine_file_replaced_whole() -> Iterator[None]:
    """asv's `MachineCollection.save` writes a copy and renames it over the file."""
    from asv.machine import MachineCollection

    original = MachineCollection.__dict__["save"]
    asv_save = MachineCollection.save

    def save(cls: Any, machine_name: str, machine_info: Any, _path: str | None = None) -> None:
        path = Path(_path or cls.get_machine_file_path())
        with replaced_from_staging(path, path.parent, path.name) as staging:
            if path.is_file():
                shutil.copyfile(path, staging / path.name)  # asv's save adds to what it holds
            asv_save(machine_name, machine_info, _path=str(staging / path.name))

    MachineCollection.save = classmethod(save)
    try:
        yield
    finally:
        MachineCollection.save = original
