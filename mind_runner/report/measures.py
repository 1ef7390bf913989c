"""The asv benchmarks the report reads, what kind of figure each is, and its tier.

The single list of figures: the report's model, text and JSON all go through
`MEASURES`, and a test checks every name here against asv's benchmarks.json.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from mind_runner.mind.correctness import VERDICT_UNIT
from mind_runner.mind.models import SEED_MODELS

SEED_JSON_NAME = "real_autograd_results.json"
DEFAULT_ITERATIONS = 1000
MODELS = tuple(SEED_MODELS)
DEVICES = ("cpu", "cuda")
RUNTIME_LABEL = "MIND's interpreter (`mind eval --exec`), whole process, constant-filled tensors"
"""What MIND's per-iteration figure is: the runtime engine, not the gradient IR."""
NO_RUNTIME = "no runtime figure (this commit's mind lacks cpu-exec, or it was not run)"
GRADIENT_PROGRAM = "MIND's gradient program on PyTorch kernels, not a MIND runtime"


class Tier(Enum):
    """Only figures of one tier are compared with each other (README.md, "Glossary": tier)."""

    GENERATION = "gradient generation (one-time)"
    ITERATION = "per-iteration gradient execution"
    PROCESS = "process and front end"
    COUNT = "count"
    CORRECTNESS = "gradient correctness"


class Unit(Enum):
    SECONDS = "seconds"
    INSTRUCTIONS = "instructions"
    BYTES = "bytes"
    PERCENT = "%"
    GRADIENTS = "gradients"
    VERDICT = VERDICT_UNIT


@dataclass(frozen=True)
class ReportedBenchmark:
    """One asv benchmark the report reads, and what kind of figure it is."""

    key: str
    label: str
    benchmark: str
    tier: Tier
    unit: Unit
    pytorch: bool = False
    spread: str | None = None  # the key of the measure that holds this one's spread
    hidden: bool = False  # shown only as another figure's spread
    per_parameter: bool = False  # one figure per model parameter, not per model


MEASURES = (
    ReportedBenchmark(
        "mind_gradient",
        "MIND gradient IR generation",
        "mind_cli.GradientGeneration.time_mind_gradient_ir",
        Tier.GENERATION,
        Unit.SECONDS,
    ),
    ReportedBenchmark(
        "mind_startup",
        "MIND start-up (mindc --version)",
        "mind_cli.CliStages.time_startup",
        Tier.PROCESS,
        Unit.SECONDS,
    ),
    ReportedBenchmark(
        "mind_front_end",
        "MIND front end (mindc --emit-ir)",
        "mind_cli.CliStages.time_front_end",
        Tier.PROCESS,
        Unit.SECONDS,
    ),
    ReportedBenchmark(
        "mind_gradient_ir_instructions",
        "MIND gradient IR size",
        "mind_cli.GradientGeneration.track_gradient_ir_instructions",
        Tier.COUNT,
        Unit.INSTRUCTIONS,
    ),
    ReportedBenchmark(
        "mind_gradient_call_instructions",
        "MIND gradient call, instructions retired",
        "mind_counts.InstructionCounts.track_gradient_call_instructions",
        Tier.COUNT,
        Unit.INSTRUCTIONS,
        spread="mind_gradient_call_spread",
    ),
    ReportedBenchmark(
        "mind_front_end_instructions",
        "MIND front end, instructions retired",
        "mind_counts.InstructionCounts.track_front_end_instructions",
        Tier.COUNT,
        Unit.INSTRUCTIONS,
    ),
    ReportedBenchmark(
        "mind_autodiff_instructions",
        "MIND autodiff share, instructions retired",
        "mind_counts.InstructionCounts.track_autodiff_instructions",
        Tier.COUNT,
        Unit.INSTRUCTIONS,
        spread="mind_autodiff_spread",
    ),
    ReportedBenchmark(
        "mind_gradient_call_spread",
        "MIND gradient call, run-to-run spread",
        "mind_counts.InstructionCounts.track_gradient_call_spread_percent",
        Tier.COUNT,
        Unit.PERCENT,
        hidden=True,
    ),
    ReportedBenchmark(
        "mind_autodiff_spread",
        "MIND autodiff share, run-to-run spread",
        "mind_counts.InstructionCounts.track_autodiff_spread_percent",
        Tier.COUNT,
        Unit.PERCENT,
        hidden=True,
    ),
    ReportedBenchmark(
        "mind_peak_rss",
        "mindc peak RSS",
        "mind_counts.PeakMemory.track_mindc_peak_rss_bytes",
        Tier.COUNT,
        Unit.BYTES,
    ),
    ReportedBenchmark(
        "mind_incorrect_gradients",
        "MIND incorrect gradients",
        "mind_correctness.GradientCorrectness.track_incorrect_gradients",
        Tier.CORRECTNESS,
        Unit.GRADIENTS,
    ),
    ReportedBenchmark(
        "mind_as_printed_misfits",
        "MIND misfits as printed",
        "mind_correctness.GradientCorrectness.track_as_printed_misfits",
        Tier.CORRECTNESS,
        Unit.INSTRUCTIONS,
    ),
    ReportedBenchmark(
        "mind_gradient_verdict",
        "MIND gradient verdict",
        "mind_correctness.ParameterGradients.track_gradient_verdict",
        Tier.CORRECTNESS,
        Unit.VERDICT,
        per_parameter=True,
    ),
    ReportedBenchmark(
        "mind_gradient_program",
        "MIND's gradient program on PyTorch kernels",
        "mind_gradient_program.GradientProgram.time_mind_gradient_program",
        Tier.ITERATION,
        Unit.SECONDS,
    ),
    ReportedBenchmark(
        "mind_runtime_gradient",
        "MIND runtime gradient (mind eval --exec)",
        "mind_runtime.RuntimeGradient.time_mind_runtime_gradient",
        Tier.ITERATION,
        Unit.SECONDS,
    ),
    ReportedBenchmark(
        "mind_runtime_instructions",
        "MIND runtime gradient call, instructions retired",
        "mind_runtime.RuntimeInstructionCounts.track_runtime_gradient_instructions",
        Tier.COUNT,
        Unit.INSTRUCTIONS,
        spread="mind_runtime_spread",
    ),
    ReportedBenchmark(
        "mind_runtime_spread",
        "MIND runtime gradient call, run-to-run spread",
        "mind_runtime.RuntimeInstructionCounts.track_runtime_gradient_spread_percent",
        Tier.COUNT,
        Unit.PERCENT,
        hidden=True,
    ),
    ReportedBenchmark(
        "mind_runtime_incorrect_gradients",
        "MIND runtime incorrect gradients",
        "mind_runtime.RuntimeCorrectness.track_runtime_incorrect_gradients",
        Tier.CORRECTNESS,
        Unit.GRADIENTS,
    ),
    ReportedBenchmark(
        "mind_runtime_silent_failures",
        "MIND runtime silent failures (exit 0, no error)",
        "mind_runtime.RuntimeCorrectness.track_runtime_silent_failures",
        Tier.CORRECTNESS,
        Unit.GRADIENTS,
    ),
    ReportedBenchmark(
        "mind_runtime_materialized",
        "MIND runtime gradients materialized",
        "mind_runtime.RuntimeCorrectness.track_runtime_materialized_gradients",
        Tier.CORRECTNESS,
        Unit.GRADIENTS,
    ),
    ReportedBenchmark(
        "mind_runtime_gradient_verdict",
        "MIND runtime gradient verdict",
        "mind_runtime.RuntimeParameterGradients.track_runtime_gradient_verdict",
        Tier.CORRECTNESS,
        Unit.VERDICT,
        per_parameter=True,
    ),
    ReportedBenchmark(
        "mind_compile_time_silent_failures",
        "MIND compile-time silent failures (exit 0, no error)",
        "mind_runtime.CompileTimeSilentFailures.track_compile_time_silent_failures",
        Tier.CORRECTNESS,
        Unit.GRADIENTS,
    ),
    ReportedBenchmark(
        "pytorch_same_fills",
        "PyTorch forward+backward on the runtime's fills",
        "pytorch_autograd.SameFillsAsMindRuntime.time_pytorch_forward_backward_same_fills",
        Tier.ITERATION,
        Unit.SECONDS,
        pytorch=True,
    ),
    ReportedBenchmark(
        "pytorch_backward",
        "PyTorch backward",
        "pytorch_autograd.Backward.time_pytorch_backward",
        Tier.ITERATION,
        Unit.SECONDS,
        pytorch=True,
    ),
    ReportedBenchmark(
        "pytorch_forward_backward",
        "PyTorch forward+backward",
        "pytorch_autograd.Backward.time_pytorch_forward_backward",
        Tier.ITERATION,
        Unit.SECONDS,
        pytorch=True,
    ),
    ReportedBenchmark(
        "pytorch_aot_capture",
        "PyTorch AOT capture",
        "pytorch_autograd.AotCapture.time_pytorch_aot_capture",
        Tier.GENERATION,
        Unit.SECONDS,
        pytorch=True,
    ),
    ReportedBenchmark(
        "pytorch_saved_tensor_bytes",
        "PyTorch saved tensors",
        "pytorch_autograd.SavedTensors.track_saved_tensor_bytes",
        Tier.COUNT,
        Unit.BYTES,
        pytorch=True,
    ),
)
BY_KEY = {measure.key: measure for measure in MEASURES}
