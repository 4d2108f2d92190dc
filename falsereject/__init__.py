"""FalseReject over-refusal evaluation for lm-eval and Inspect.

Importing this package loads no model framework (torch, transformers, vllm) and no harness.
"""

from falsereject.verdicts import (
    DIRECT_REFUSAL,
    FULL_COMPLIANCE,
    SAFE_PARTIAL_COMPLIANCE,
    UNDETERMINED,
    VERDICTS,
)

__version__ = "0.2.0"

__all__ = [
    "DIRECT_REFUSAL",
    "FULL_COMPLIANCE",
    "SAFE_PARTIAL_COMPLIANCE",
    "UNDETERMINED",
    "VERDICTS",
    "__version__",
]
