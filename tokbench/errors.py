"""Which exceptions are the user's to fix (one clear line) and which are bugs (traceback)."""

from __future__ import annotations


def user_error(exc: BaseException) -> str | None:
    """A one-line message for an expected failure, or None for a bug."""
    from tokbench.adapter import WeightsUnavailable
    from tokbench.data.annotations import BadAnnotations
    from tokbench.data.dataset import DatasetUnavailable
    from tokbench.data.manifest import ManifestError
    from tokbench.registry import UnknownName
    from tokbench.results import BadResult
    from tokbench.runner import RunError
    from tokbench.validate import AdapterError

    expected = (UnknownName, AdapterError, RunError, DatasetUnavailable, ManifestError, BadAnnotations,
                WeightsUnavailable, BadResult, FileNotFoundError, ValueError)
    if isinstance(exc, expected):
        return str(exc)
    return None
