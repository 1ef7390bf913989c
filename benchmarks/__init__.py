"""asv benchmarks: MIND's gradient generation and PyTorch autograd on the same models.

asv imports this package from the project's working tree but does not install
the project into its environments, so the project root goes on sys.path here,
once, for `mind_runner` (the MIND driver and the shared model definitions).
"""

import sys
from pathlib import Path

_PROJECT_ROOT = str(Path(__file__).resolve().parent.parent)
if _PROJECT_ROOT not in sys.path:
    sys.path.insert(0, _PROJECT_ROOT)
