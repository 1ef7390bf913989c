"""IR text in MIND's printed format, written for these tests (not captured output)."""

SMALL_MLP_GRADIENT = """module {
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
"""

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

SIMPLE_QUADRATIC_GRADIENT = """module {
  %0 = const.tensor F32 ["1000"] fill=Some(0.0)
  output %0
  %1 = mul %0, %0
  output %1
  %2 = sum %1 axes=[0] keepdims=false
  output %2
  %3 = const.i64 1
  %4 = mul %0, %3
  %5 = mul %0, %3
  %6 = add %4, %5
}  // next_id = 7
"""

# --emit-ir of simple_quadratic: a correct primal module with no gradient at all.
SIMPLE_QUADRATIC_PRIMAL_ONLY = """module {
  %0 = const.tensor F32 ["1000"] fill=Some(0.0)
  output %0
  %1 = mul %0, %0
  output %1
  %2 = sum %1 axes=[0] keepdims=false
  output %2
}  // next_id = 3
"""
