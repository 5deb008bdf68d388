"""One error hierarchy: every failure a user can fix is a :class:`TokbenchError`, and the CLI shows it
as one line; anything else is a bug and keeps its traceback.

This module imports nothing, so every other module can subclass these kinds without an import cycle.
Each kind also derives from the builtin exception it stands for, so ``except ValueError`` in
callers keeps working.
"""

from __future__ import annotations


class TokbenchError(Exception):
    """A failure the user can fix; its message says what and how, in one line where possible."""


class ConfigError(TokbenchError, ValueError):
    """A bad name, option or value in a command line, spec (``jpeg:quality=5``) or configuration."""


class DataError(TokbenchError, ValueError):
    """A dataset, manifest, annotation file or image that cannot be used as it is."""


class ResourceUnavailable(TokbenchError, RuntimeError):
    """Weights, a package or a clone that is not on this machine; the message says how to get it."""


class ContractError(TokbenchError, RuntimeError):
    """A plugin (adapter, suite, backend) that broke its contract: wrong return, NaN, wrong shape."""


class ResultError(TokbenchError, ValueError):
    """A result file, or a set of them, that cannot be read, pooled, compared or gated."""


class RunFailed(TokbenchError, RuntimeError):
    """A run that cannot start or go on (output or cache folder unusable, ...)."""


def user_error(exc: BaseException) -> str | None:
    """The one-line message of an expected failure, or None for a bug (which keeps its traceback)."""
    return str(exc) if isinstance(exc, TokbenchError) else None
