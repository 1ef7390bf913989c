"""IR text in MIND's printed format, written for these tests (not captured output)."""

SMALL_MLP_PRIMAL = """\
module {
  %0 = const.tensor F32 ["32", "784"] fill=Some(0.0)
  output %0
  %1 = const.tensor F32 ["784", "256"] fill=Some(1.0)
  output %1
  %2 = const.tensor F32 ["256"] fill=Some(0.0)
  output %2
  %3 = const.tensor F32 ["256", "10"] fill=Some(1.0)
  output %3
  %4 = const.tensor F32 ["10"] fill=Some(0.0)
  output %4
  %5 = matmul %0, %1
  %6 = add %2, %5
  %7 = relu %6
  output %7
  %8 = matmul %7, %3
  %9 = add %4, %8
  output %9
  %10 = sum %9 axes=[0, 1] keepdims=false
  output %10
"""

SIMPLE_QUADRATIC_PRIMAL = """\
module {
  %0 = const.tensor F32 ["1000"] fill=Some(0.0)
  output %0
  %1 = mul %0, %0
  output %1
  %2 = sum %1 axes=[0] keepdims=false
  output %2
"""

MATMUL_CHAIN_PRIMAL = """\
module {
  %0 = const.tensor F32 ["64", "128"] fill=Some(1.0)
  output %0
  %1 = const.tensor F32 ["128", "256"] fill=Some(1.0)
  output %1
  %2 = const.tensor F32 ["256", "512"] fill=Some(1.0)
  output %2
  %3 = const.tensor F32 ["512", "128"] fill=Some(1.0)
  output %3
  %4 = matmul %0, %1
  output %4
  %5 = matmul %4, %2
  output %5
  %6 = matmul %5, %3
  output %6
  %7 = sum %6 axes=[0, 1] keepdims=false
  output %7
"""

# `mindc FILE --emit-ir` stdout (note the empty line after the closing brace).
EMIT_IR = {
    "small_mlp": SMALL_MLP_PRIMAL + "}  // next_id = 11\n\n",
    "simple_quadratic": SIMPLE_QUADRATIC_PRIMAL + "}  // next_id = 3\n\n",
    "matmul_chain": MATMUL_CHAIN_PRIMAL + "}  // next_id = 8\n\n",
}

# `mindc FILE --autodiff --emit-grad-ir --func main` stdout.
GRAD_IR = {
    "small_mlp": SMALL_MLP_PRIMAL
    + """\
  %11 = const.i64 1
  %12 = transpose %3 perm=[1, 0]
  %13 = transpose %7 perm=[1, 0]
  %14 = matmul %11, %12
  %15 = matmul %13, %11
  %16 = relu_grad %14 %6
  %17 = transpose %1 perm=[1, 0]
  %18 = transpose %0 perm=[1, 0]
  %19 = matmul %16, %17
  %20 = matmul %18, %16
}  // next_id = 21

""",
    "simple_quadratic": SIMPLE_QUADRATIC_PRIMAL
    + """\
  %3 = const.i64 1
  %4 = mul %0, %3
  %5 = mul %0, %3
  %6 = add %4, %5
}  // next_id = 7

""",
    "matmul_chain": MATMUL_CHAIN_PRIMAL
    + """\
  %8 = const.i64 1
  %9 = transpose %3 perm=[1, 0]
  %10 = transpose %5 perm=[1, 0]
  %11 = matmul %8, %9
  %12 = matmul %10, %8
  %13 = transpose %2 perm=[1, 0]
  %14 = transpose %4 perm=[1, 0]
  %15 = matmul %11, %13
  %16 = matmul %14, %11
  %17 = transpose %1 perm=[1, 0]
  %18 = transpose %0 perm=[1, 0]
  %19 = matmul %15, %17
  %20 = matmul %18, %15
}  // next_id = 21

""",
}

SMALL_MLP_GRADIENT = GRAD_IR["small_mlp"]

# small_mlp at the fixture's `wrong-relu-grad` commit and later: relu's rule emits
# `relu_grad %6 %14` (the pre-activation first, the upstream gradient second) where
# the correct rule emits `relu_grad %14 %6`. The same ops and the same counts; the
# gradients of x and w1 (%19, %20, computed from %16) are wrong with random values.
# With MIND's constant fills (x=0, w1=1, b1=0) the pre-activation %6 is 0, so both
# orders give 0 and a check on those fills cannot tell them apart.
SMALL_MLP_GRADIENT_RELU_GRAD_SWAPPED = (
    SMALL_MLP_PRIMAL
    + """\
  %11 = const.i64 1
  %12 = transpose %3 perm=[1, 0]
  %13 = transpose %7 perm=[1, 0]
  %14 = matmul %11, %12
  %15 = matmul %13, %11
  %16 = relu_grad %6 %14
  %17 = transpose %1 perm=[1, 0]
  %18 = transpose %0 perm=[1, 0]
  %19 = matmul %16, %17
  %20 = matmul %18, %16
}  // next_id = 21

"""
)

# `mindc FILE --autodiff --emit-grad-ir --func main` stdout where relu_grad is swapped:
# only small_mlp has a relu.
GRAD_IR_RELU_GRAD_SWAPPED = {**GRAD_IR, "small_mlp": SMALL_MLP_GRADIENT_RELU_GRAD_SWAPPED}

# What an early MIND printed for the whole model inlined into one expression:
# inputs became `const.i64 0`, the relu and one matmul vanished, exit code 0.
SMALL_MLP_LOSSY = """module {
  %0 = const.i64 0
  %1 = const.i64 0
  %2 = matmul %0, %1
  %3 = const.i64 0
  %4 = add %2, %3
  %5 = sum %4 axes=[0, 1] keepdims=false
  output %5
  %6 = const.i64 1
  %7 = transpose %1 perm=[1, 0]
  %8 = transpose %0 perm=[1, 0]
  %9 = matmul %6, %7
  %10 = matmul %8, %6
}  // next_id = 11
"""

# A `fn main` program lowered to nothing useful, exit code 0.
TRIVIAL_FUNCTION_MODULE = """module {
  // fn main
  %0 = const.i64 0
  output %0
  %1 = const.i64 1
}  // next_id = 2
"""

SIMPLE_QUADRATIC_GRADIENT = GRAD_IR["simple_quadratic"]

# --emit-ir of simple_quadratic: a correct primal module with no gradient at all.
SIMPLE_QUADRATIC_PRIMAL_ONLY = EMIT_IR["simple_quadratic"]

# A wrong rule that keeps every op count: relu_grad's operands swapped
# (pre-activation gated by the upstream gradient instead of the reverse).
SMALL_MLP_SWAPPED_RELU_GRAD = SMALL_MLP_GRADIENT.replace("relu_grad %14 %6", "relu_grad %6 %14")
assert SMALL_MLP_SWAPPED_RELU_GRAD != SMALL_MLP_GRADIENT


def relu_matmul_chain_grad_ir(layers: int, size: int = 16) -> str:
    """What MIND's rules print for cases.relu_matmul_chain(layers, size) (let form).

    Primal: one `const.tensor` per parameter (x, w0, w1, ...), then per layer
    `matmul`, `relu`, `output`; then `sum` and its `output`. Gradient, in
    reverse: the `const.i64 1` seed, then per layer `relu_grad upstream src`,
    `transpose b`, `transpose a`, `matmul upstream bT`, `matmul aT upstream`.
    """
    lines = ["module {"]
    next_id = 0

    def emit(text: str) -> int:
        nonlocal next_id
        lines.append(f"  %{next_id} = {text}")
        next_id += 1
        return next_id - 1

    dims = f'["{size}", "{size}"]'
    params = []
    for _ in range(layers + 1):
        params.append(emit(f"const.tensor F32 {dims} fill=Some(1.0)"))
        lines.append(f"  output %{params[-1]}")
    h = params[0]
    layer_ops = []  # (a, b, matmul, relu) per layer
    for w in params[1:]:
        product = emit(f"matmul %{h}, %{w}")
        activated = emit(f"relu %{product}")
        lines.append(f"  output %{activated}")
        layer_ops.append((h, w, product))
        h = activated
    lines.append(f"  output %{emit(f'sum %{h} axes=[0, 1] keepdims=false')}")
    upstream = emit("const.i64 1")
    for a, b, product in reversed(layer_ops):
        gated = emit(f"relu_grad %{upstream} %{product}")
        b_t = emit(f"transpose %{b} perm=[1, 0]")
        a_t = emit(f"transpose %{a} perm=[1, 0]")
        upstream = emit(f"matmul %{gated}, %{b_t}")
        emit(f"matmul %{a_t}, %{gated}")
    lines.append(f"}}  // next_id = {next_id}")
    return "\n".join(lines) + "\n\n"


# What a MIND that reduced the bias gradients would print (not seen in MIND's history):
# b1's is relu_grad's result summed over the batch, b2's the seed summed likewise.
SMALL_MLP_ALL_GRADIENTS = SMALL_MLP_GRADIENT.replace(
    "  %20 = matmul %18, %16\n}  // next_id = 21",
    "  %20 = matmul %18, %16\n"
    "  %21 = sum %16 axes=[0] keepdims=false\n"
    "  %22 = sum %11 axes=[0] keepdims=false\n"
    "}  // next_id = 23",
)
assert SMALL_MLP_ALL_GRADIENTS != SMALL_MLP_GRADIENT
