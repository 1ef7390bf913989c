"""An asv machine name per hardware class, so that asv never draws one line through
wall times of different hardware.

asv draws one line per machine name, and CI workers land on whatever hardware the
provider has (GitHub's hosted runners come with more than one CPU model). Naming a
worker after its CPU model and core count puts workers of one class on one line and
any other class on its own; `merge` refuses workers that share a name but not the
description. The description asv records is its own default, with the RAM rounded
to whole GiB: identical VMs report a few MB more or less.
"""

from __future__ import annotations

import re
from typing import Any

GIB = 2**30


def class_name(prefix: str, description: dict[str, Any]) -> str:
    """`PREFIX-<cpu model>-<N>cpu`, lower case, letters, digits and dashes only."""
    text = f"{prefix}-{description['cpu']}-{description['num_cpu']}cpu"
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def describe_class(prefix: str) -> str:
    """Record this machine with asv under its class name (~/.asv-machine.json); the name."""
    from asv.machine import Machine, MachineCollection

    description = Machine.get_defaults()
    ram = str(description.get("ram", ""))
    if ram.isdigit():
        description["ram"] = f"{round(int(ram) / GIB)}GiB"
    name = class_name(prefix, description)
    description["machine"] = name
    MachineCollection.save(name, description)
    return name
