"""CONTRIBUTING.md's recipes, followed literally: its files written out, its commands run in order."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tokbench.cli import app

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "CONTRIBUTING.md"
BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.S)


def _steps(text: str) -> list[tuple[str, str]]:
    """("file", "name\\ncontent") and ("command", "line") in document order."""
    steps: list[tuple[str, str]] = []
    for lang, body in BLOCK.findall(text):
        first, _, rest = body.partition("\n")
        if lang == "python" and first.startswith("# file: "):
            steps.append(("file", first[len("# file: ") :].strip() + "\n" + rest))
        elif lang == "console":
            steps += [("command", line[2:]) for line in body.splitlines() if line.startswith("$ ")]
    return steps


@pytest.mark.slow
def test_the_recipes_run_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    shutil.copy(ROOT / "docs" / "templates" / "suite.py", tmp_path / "my_suite.py")  # recipe 3: "copy the template"
    steps = _steps(GUIDE.read_text())
    assert sum(kind == "command" for kind, _ in steps) >= 8 and sum(kind == "file" for kind, _ in steps) >= 3
    runner = CliRunner()
    for kind, body in steps:
        if kind == "file":
            name, _, content = body.partition("\n")
            (tmp_path / name).write_text(content)
            continue
        command, _, comment = body.partition("#")
        expected = int(comment.split("exit")[1]) if "exit" in comment else 0
        args = shlex.split(command)
        assert args[0] == "tokbench"
        result = runner.invoke(app, args[1:])
        assert result.exit_code == expected, f"$ {body}\n{result.output}"
    board = (tmp_path / "board").glob("*.md")
    assert any("Sharpness" in p.read_text() for p in board)  # the suite's own metric, with its label
