"""Read MIND's printed IR and decide whether it really differentiates a case.

MIND prints `module {`, one `%N = op args` per line, `output %N` after each
primal output, the gradient instructions appended after the last output (not
marked), and `}  // next_id = N`. A run that exits 0 is not proof of anything:
MIND has printed empty modules, lossy modules and trivial modules with exit 0
at various commits, so the text itself is checked against the case. It must
also be a well-formed module: every value defined once, and every operand and
output naming a value defined above it (op counts alone would pass a module
whose gradient instructions refer to nothing).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from mind_runner.mind.models import Model

_INSTRUCTION = re.compile(r"^%(?P<id>\d+) = (?P<op>[a-z_][a-z0-9_.]*)(?P<rest>.*)$")
_OUTPUT = re.compile(r"^output %(?P<id>\d+)$")
_SHAPE = re.compile(r"^\s*[A-Z][A-Z0-9]* \[(?P<dims>[^\]]*)\]")
_OPERAND = re.compile(r"%(?P<id>\d+)\b")


class MalformedIR(ValueError):
    """The text is not a MIND IR module at all."""


@dataclass(frozen=True)
class Instruction:
    value_id: int
    op: str
    operands: str

    def tensor_shape(self) -> tuple[int, ...] | None:
        """The shape of a `const.tensor`, None for any other instruction."""
        if self.op != "const.tensor":
            return None
        match = _SHAPE.match(self.operands)
        if match is None:
            return None
        dims = [d.strip().strip('"') for d in match["dims"].split(",") if d.strip()]
        return tuple(int(d) for d in dims)


@dataclass(frozen=True)
class IRModule:
    primal: tuple[Instruction, ...]
    gradient: tuple[Instruction, ...]
    outputs: tuple[int, ...]

    @property
    def instruction_count(self) -> int:
        return len(self.primal) + len(self.gradient)


def _operands(instruction: Instruction) -> list[int]:
    """The value ids an instruction reads (`%N` in its arguments)."""
    return [int(match["id"]) for match in _OPERAND.finditer(instruction.operands)]


def parse_module(text: str, *, well_formed: bool = True) -> IRModule:
    """Split a printed module into primal and gradient instructions.

    `well_formed=False` takes the instructions as printed, undefined operands and
    values defined twice included: for `ir_executor`'s own findings on such modules,
    which the driver never lets through."""
    lines = [line.strip() for line in text.strip().splitlines()]
    lines = [line for line in lines if line and not line.startswith("//")]
    if not lines or lines[0] != "module {" or not lines[-1].startswith("}"):
        raise MalformedIR("not a MIND IR module (expected 'module {' ... '}')")
    instructions: list[Instruction] = []
    outputs: list[int] = []
    defined: set[int] = set()
    last_output_at = 0
    for line in lines[1:-1]:
        if (output := _OUTPUT.match(line)) is not None:
            value = int(output["id"])
            if well_formed and value not in defined:
                raise MalformedIR(f"'{line}' names %{value}, which no line above defines")
            outputs.append(value)
            last_output_at = len(instructions)
        elif (match := _INSTRUCTION.match(line)) is not None:
            instruction = Instruction(int(match["id"]), match["op"], match["rest"].strip())
            undefined = [f"%{v}" for v in _operands(instruction) if v not in defined]
            if well_formed and undefined:
                raise MalformedIR(
                    f"'{line}' reads {', '.join(undefined)}, which no line above defines"
                )
            if well_formed and instruction.value_id in defined:
                raise MalformedIR(f"'{line}' defines %{instruction.value_id} a second time")
            defined.add(instruction.value_id)
            instructions.append(instruction)
        else:
            raise MalformedIR(f"unrecognised IR line: {line!r}")
    return IRModule(
        primal=tuple(instructions[:last_output_at]),
        gradient=tuple(instructions[last_output_at:]),
        outputs=tuple(outputs),
    )


# Each forward op needs this much in a correct reverse pass (MIND's own lowering).
_GRADIENT_OPS_PER_FORWARD_OP: dict[str, dict[str, int]] = {
    "matmul": {"matmul": 2, "transpose": 2},
    "relu": {"relu_grad": 1},
    "mul": {"mul": 2},
}


def check_differentiates(module: IRModule, case: Model) -> list[str]:
    """Every reason this module is not the gradient of `case`; empty when it is."""
    problems: list[str] = []
    forward = case.forward_op_counts()
    primal_ops = Counter(i.op for i in module.primal)
    for op, needed in sorted(forward.items()):
        if primal_ops[op] < needed:
            problems.append(f"primal IR has {primal_ops[op]} '{op}', the model has {needed}")
    shapes = Counter(s for i in module.primal if (s := i.tensor_shape()) is not None)
    for shape, needed in Counter(p.shape for p in case.params).items():
        if shapes[shape] < needed:
            problems.append(f"primal IR lost the parameter shape {list(shape)}")
    if not module.gradient:
        problems.append("no gradient instructions after the primal outputs")
    gradient_ops = Counter(i.op for i in module.gradient)
    required: Counter[str] = Counter()
    for op, count in forward.items():
        for gradient_op, per_op in _GRADIENT_OPS_PER_FORWARD_OP.get(op, {}).items():
            required[gradient_op] += per_op * count
    for op, needed in sorted(required.items()):
        if gradient_ops[op] < needed:
            problems.append(
                f"gradient IR has {gradient_ops[op]} '{op}', a correct one has {needed}"
            )
    return problems
