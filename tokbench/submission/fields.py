"""The fields a report reads, and the provenance a published number needs, are present.

``read_result`` already checks every field's JSON type; here a field the leaderboard needs must also be
there, and the result must say what made it: tokbench's version and commit, the package versions, the
weights' sha256 (or that the model has none), the protocol with its options and the suite's options.
"""

from __future__ import annotations

import re
from typing import Any

SHA256 = re.compile(r"[0-9a-f]{64}")

# field -> what it is for; each must be present and not null (empty objects are allowed where noted)
REPORT_FIELDS = {
    "created": "the changelog and duplicate handling",
    "model.info.kind": "the Kind column",
    "canvas_size": "the canvas the tokenizer saw",
    "counts.images": "the counts table",
    "counts.images_used": "the counts table",
    "counts.instances_used": "the counts table",
    "counts.images_skipped": "the counts table",
    "counts.instances_skipped": "the counts table",
    "rate": "the bpp column",
}
PROVENANCE_FIELDS = {
    "tokbench.version": "which tokbench made the numbers",
    "tokbench.git_hash": "which commit of tokbench made the numbers",
    "environment.python": "the Python version",
    "environment.packages": "the package versions",
    "suite.version": "the suite's version",
    "suite.options": "the suite's options",
    "protocol.name": "the preprocessing protocol",
    "protocol.resample": "the protocol's resampling filter",
    "protocol.quantize": "the protocol's quantisation",
}


def at(data: Any, dotted: str) -> Any:
    """The value at a dotted field path, or None where any part is absent."""
    for part in dotted.split("."):
        data = data.get(part) if isinstance(data, dict) else None
    return data


def _missing(result: dict[str, Any], dotted: str) -> bool:
    value = at(result, dotted)
    return value is None or value == ""


def field_problems(result: dict[str, Any]) -> list[str]:
    """Fields the report needs that are absent or null."""
    out = [f"field {name} is missing ({why})" for name, why in REPORT_FIELDS.items() if _missing(result, name)]
    if not result.get("metrics"):
        out.append("field metrics is empty: a result without a number has nothing to show")
    if result.get("schema") != "tokbench.result/1" and not result.get("metric_specs"):
        out.append("field metric_specs is missing (written by tokbench since tokbench.result/2)")
    return out


def provenance_problems(result: dict[str, Any]) -> list[str]:
    """Provenance that is absent: a number nobody can trace is not published."""
    out = [
        f"provenance: field {name} is missing ({why})"
        for name, why in PROVENANCE_FIELDS.items()
        if _missing(result, name)
    ]
    packages = at(result, "environment.packages")
    if isinstance(packages, dict) and not packages:
        out.append("provenance: field environment.packages is empty (the package versions)")
    info = at(result, "model.info") or {}
    sha, source = info.get("weights_sha256"), info.get("weights_source")
    if sha is None and source != "none":
        out.append(
            "provenance: field model.info.weights_sha256 is missing: give the weights' sha256, or "
            "weights_source 'none' for a model without weights"
        )
    elif sha is not None and not (isinstance(sha, str) and SHA256.fullmatch(sha)):
        out.append(f"provenance: field model.info.weights_sha256 is not a sha256 (64 hex digits): {sha!r}")
    return out


def provenance_notes(result: dict[str, Any]) -> list[str]:
    """Provenance that is present but weak: said, not held against the result."""
    git = at(result, "tokbench.git_hash")
    if isinstance(git, str) and git.endswith("-dirty"):
        return [f"provenance: tokbench.git_hash {git!r}: the code had uncommitted changes"]
    return []
