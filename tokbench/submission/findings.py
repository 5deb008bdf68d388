"""What a check finds: a problem (the result is invalid) or a note (said, not held against it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["error", "note"]


@dataclass(frozen=True)
class Finding:
    check: str  # which check: schema, fields, provenance, names, data, protocol, records, recompute
    message: str
    severity: Severity = "error"


@dataclass
class FileVerdict:
    """Everything found in one result file."""

    path: str
    findings: list[Finding] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not any(f.severity == "error" for f in self.findings)

    def error(self, check: str, message: str) -> None:
        self.findings.append(Finding(check, message))

    def note(self, check: str, message: str) -> None:
        self.findings.append(Finding(check, message, "note"))


@dataclass
class Verdict:
    """The verdict on every file given; ``unusable`` holds inputs that could not be validated at all."""

    files: list[FileVerdict] = field(default_factory=list)
    unusable: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # about the inputs (a non-result JSON skipped)

    @property
    def exit_code(self) -> int:
        """0 every result valid, 1 some result invalid, 2 some input unusable (or none found)."""
        if self.unusable or not self.files:
            return 2
        return 0 if all(f.valid for f in self.files) else 1
