"""tokbench: evaluation and benchmarking harness for visual tokenizers and VAEs."""

__version__ = "0.1.0"
