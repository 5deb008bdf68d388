"""``tokbench validate`` as a plain function returning its exit code (``cli.py`` wires it to typer)."""

from __future__ import annotations

import sys

from tokbench.submission.view import FORMATS


def validate_cmd(paths: list[str], fmt: str = "text", preset: str | None = None) -> int:
    """0 every result valid, 1 some result invalid, 2 an input unusable (or bad options)."""
    from tokbench.report.escape import terminal
    from tokbench.submission import view
    from tokbench.submission.official import PRESETS
    from tokbench.submission.validate import validate_paths

    if fmt not in FORMATS:
        print(f"error: --format must be one of {', '.join(FORMATS)}, got {terminal(repr(fmt))}", file=sys.stderr)
        return 2
    if preset is not None and preset not in PRESETS:
        print(f"error: --preset must be one of {', '.join(PRESETS)}, got {terminal(repr(preset))}", file=sys.stderr)
        return 2
    if not paths:
        print("error: give at least one result folder or file", file=sys.stderr)
        return 2
    verdict = validate_paths(list(paths), preset)
    if fmt == "json":
        sys.stdout.write(view.to_json(verdict))
    elif fmt == "github":
        sys.stdout.write(view.to_github(verdict))
    else:
        sys.stdout.write(view.to_text(verdict))
        print(view.summary(verdict), file=sys.stderr)
    return verdict.exit_code
