"""Run every check on every result file under the given folders (see the package docstring)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tokbench.results import BadResult, NotAResult, read_result
from tokbench.submission.fields import field_problems, provenance_notes, provenance_problems
from tokbench.submission.findings import FileVerdict, Verdict
from tokbench.submission.names import name_problems
from tokbench.submission.official import data_problems, protocol_problems
from tokbench.submission.recompute import recompute


def _result_files(path: Path) -> list[Path]:
    """Result candidates under a folder; the runner's example folders hold no results."""
    return sorted(p for p in path.rglob("*.json") if not any(part.endswith(".examples") for part in p.parts))


def validate_paths(paths: list[str | Path], preset: str | None = None) -> Verdict:
    """The verdict on every result file named or found (recursively) under ``paths``."""
    verdict = Verdict()
    seen: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            verdict.unusable.append(f"{path}: no such file or folder")
            continue
        direct = not path.is_dir()
        found = 0
        for file in [path] if direct else _result_files(path):
            if file.resolve() in seen:
                continue
            seen.add(file.resolve())
            try:
                result: dict[str, Any] = dict(read_result(file))
            except NotAResult as e:
                (verdict.unusable if direct else verdict.notes).append(str(e) if direct else f"skipped {e}")
                continue
            except BadResult as e:
                found += 1
                broken = FileVerdict(str(file))
                broken.error("schema", _without_path(str(e), file))
                verdict.files.append(broken)
                continue
            found += 1
            verdict.files.append(validate_result(file, result, preset))
        if not direct and not found:
            verdict.unusable.append(f"{path}: no tokbench result files in this folder")
    return verdict


def _without_path(message: str, path: Path) -> str:
    """A reader's message without its leading file name: every output line starts with the file."""
    prefix = f"{path}: "
    return message[len(prefix) :] if message.startswith(prefix) else message


def validate_result(path: Path, result: dict[str, Any], preset: str | None = None) -> FileVerdict:
    """Every check on one result read from ``path``."""
    verdict = FileVerdict(str(path))
    for problem in field_problems(result):
        verdict.error("fields", problem)
    for problem in provenance_problems(result):
        verdict.error("provenance", problem)
    for note in provenance_notes(result):
        verdict.note("provenance", note)
    for problem in name_problems(result):
        verdict.error("names", problem)
    problems, notes = data_problems(result)
    for problem in problems:
        verdict.error("data", problem)
    for note in notes:
        verdict.note("data", note)
    for problem in protocol_problems(result, preset):
        verdict.error("protocol", problem)
    recompute(path, result, verdict)
    return verdict
