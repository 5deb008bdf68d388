"""A validation verdict as text lines, JSON, or GitHub Actions annotations: one line per finding.

Every file name and message may come from a submitted file, so each passes the format's escaping:
``terminal`` for text, workflow-command escaping for GitHub (``%``, CR, LF, and ``:`` ``,`` in
properties), and JSON's own for JSON.
"""

from __future__ import annotations

import json
from typing import Any

from tokbench.report.escape import terminal
from tokbench.submission.findings import Verdict

FORMATS = ("text", "json", "github")
SCHEMA = "tokbench.validation/1"


def to_text(verdict: Verdict) -> str:
    lines = [f"error: {terminal(u)}" for u in verdict.unusable]
    for file in verdict.files:
        for f in file.findings:
            lines.append(f"{terminal(file.path)}: {f.severity} [{f.check}] {terminal(f.message)}")
        if file.valid:
            lines.append(f"{terminal(file.path)}: valid")
    lines += [f"note: {terminal(n)}" for n in verdict.notes]
    return "\n".join(lines) + "\n"


def summary(verdict: Verdict) -> str:
    valid = sum(f.valid for f in verdict.files)
    unusable = f", {len(verdict.unusable)} unusable input(s)" if verdict.unusable else ""
    return f"{len(verdict.files)} result file(s): {valid} valid, {len(verdict.files) - valid} invalid{unusable}"


def to_json(verdict: Verdict) -> str:
    doc: dict[str, Any] = {
        "schema": SCHEMA,
        "exit_code": verdict.exit_code,
        "valid": verdict.exit_code == 0,
        "unusable": verdict.unusable,
        "notes": verdict.notes,
        "results": [
            {
                "file": file.path,
                "valid": file.valid,
                "findings": [{"severity": f.severity, "check": f.check, "message": f.message} for f in file.findings],
            }
            for file in verdict.files
        ],
    }
    return json.dumps(doc, indent=1, ensure_ascii=False) + "\n"


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def to_github(verdict: Verdict) -> str:
    """``::error file=…,title=…::message`` per problem, ``::notice`` per note; names escaped as data."""
    lines = [f"::error title=tokbench validate::{_data(terminal(u))}" for u in verdict.unusable]
    for file in verdict.files:
        for f in file.findings:
            kind = "error" if f.severity == "error" else "notice"
            where = _property(terminal(file.path))
            title = _property(f"tokbench validate ({f.check})")
            lines.append(f"::{kind} file={where},title={title}::{_data(terminal(f.message))}")
    lines += [f"::notice title=tokbench validate::{_data(terminal(n))}" for n in verdict.notes]
    lines.append(summary(verdict))
    return "\n".join(lines) + "\n"
