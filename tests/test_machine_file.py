"""asv's machine file is replaced whole: asv processes started together never read half of it.

Seen on CI: of two `backfill` workers, one stopped at once (exit 1 after 0 s),
because asv's `Machine.load` writes ~/.asv-machine.json in place on every run.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from asv import util
from asv.machine import Machine, MachineCollection

from mind_runner.commands.machine_file import machine_file_replaced_whole

# Each process loads (and so saves) the machine this many times while the other does too.
LOADS = 300
LOADER = f"""
import sys
from asv.machine import Machine
from mind_runner.commands.machine_file import machine_file_replaced_whole

failures = []
with machine_file_replaced_whole():
    for _ in range({LOADS}):
        try:
            Machine.load(machine_name="m", _path=sys.argv[1])
        except Exception as error:
            failures.append(str(error))
print(len(failures), failures[:1])
"""


def describe(name: str) -> dict[str, Any]:
    return dict(Machine.get_defaults(), machine=name)


def test_the_file_on_disk_stays_whole_while_asv_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "asv-machine.json"
    MachineCollection.save("first", describe("first"), _path=str(path))
    seen_during_writes: list[list[str]] = []
    real_write = util.write_json

    def write_json(target: str, data: Any, *args: Any, **kwargs: Any) -> None:
        Path(target).write_text("")  # asv's first step: open(target, "w") empties it
        # What a reader in another process would find at this very moment.
        text = path.read_text()
        seen_during_writes.append(sorted(json.loads(text)) if text else ["(empty)"])
        real_write(target, data, *args, **kwargs)

    monkeypatch.setattr(util, "write_json", write_json)
    asv_save = MachineCollection.__dict__["save"]
    with machine_file_replaced_whole():
        MachineCollection.save("second", describe("second"), _path=str(path))

    assert seen_during_writes == [["first", "version"]]
    assert sorted(json.loads(path.read_text())) == ["first", "second", "version"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["asv-machine.json"]
    assert MachineCollection.__dict__["save"] is asv_save  # asv's own, after the command


def test_two_asv_processes_loading_the_machine_together_both_read_it(tmp_path: Path) -> None:
    path = tmp_path / "asv-machine.json"
    MachineCollection.save("m", describe("m"), _path=str(path))
    loaders = [
        subprocess.Popen(
            [sys.executable, "-c", LOADER, str(path)], stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outputs = [loader.communicate()[0].strip() for loader in loaders]
    assert outputs == ["0 []", "0 []"]
    assert json.loads(path.read_text())["m"]["machine"] == "m"
