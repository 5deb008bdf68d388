"""What a clone family needs beyond importable modules, and which upstream commit a clone is at.

A family row names version bounds (``requirements``, pip specifiers such as ``timm<=1.0.12``) and
files the clone must hold (``clone_files``, e.g. UniTok's BPE vocabulary, opened when its code is
imported). :func:`unmet_requirements` and :func:`missing_clone_files` check them without importing
anything; :func:`clone_commit` reads a clone's HEAD from its ``.git`` files without running git.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from tokbench.families.catalog import Family

_SHA = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")  # sha1, or sha256 repositories


@dataclass(frozen=True)
class Unmet:
    """One requirement this machine does not meet: what, what is installed, and the fix."""

    requirement: str
    found: str | None  # the installed version, None when the distribution is absent

    @property
    def message(self) -> str:
        name = self.requirement_name
        if self.found is None:
            return f"{name} is not installed (needs {self.requirement})"
        return f"{name} {self.found} is installed; the upstream code needs {self.requirement}"

    @property
    def requirement_name(self) -> str:
        from packaging.requirements import Requirement

        return Requirement(self.requirement).name

    @property
    def fix(self) -> str:
        return f"pip install '{self.requirement}'"


def unmet_requirements(fam: Family) -> list[Unmet]:
    """The family's version requirements that the installed distributions do not satisfy."""
    from packaging.requirements import Requirement

    out = []
    for text in fam.requirements:
        req = Requirement(text)
        found = installed_version(req.name)
        if found is None or not req.specifier.contains(found, prereleases=True):
            out.append(Unmet(text, found))
    return out


def installed_version(dist: str) -> str | None:
    """The installed version of a distribution, None when it is not installed."""
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def missing_clone_files(fam: Family, root: Path) -> list[Path]:
    """Files the family needs inside its clone (``clone_files``) that ``root`` lacks."""
    return [root / rel for rel in fam.clone_files if not (root / rel).is_file()]


def clone_commit(root: Path) -> str | None:
    """The commit a clone's HEAD points at, read from ``.git`` (None when it is not a git clone).

    Follows a worktree's ``.git`` file (``gitdir:``) and ``commondir``, a symbolic HEAD to its loose
    ref or to ``packed-refs``; a detached HEAD is the commit itself.
    """
    gitdir = _git_dir(root)
    if gitdir is None:
        return None
    head = _read(gitdir / "HEAD")
    if head is None:
        return None
    if not head.startswith("ref:"):
        return head if _SHA.match(head) else None
    ref = head[4:].strip()
    common = gitdir
    pointer = _read(gitdir / "commondir")
    if pointer:
        common = (gitdir / pointer).resolve()
    for where in dict.fromkeys((gitdir, common)):
        loose = _read(where / ref)
        if loose and _SHA.match(loose):
            return loose
    packed = _read(common / "packed-refs") or ""
    for line in packed.splitlines():
        sha, _, name = line.partition(" ")
        if name.strip() == ref and _SHA.match(sha):
            return sha
    return None


def _git_dir(root: Path) -> Path | None:
    dotgit = root / ".git"
    if dotgit.is_dir():
        return dotgit
    if dotgit.is_file():  # a worktree or submodule: "gitdir: PATH"
        text = _read(dotgit) or ""
        if text.startswith("gitdir:"):
            target = Path(text[len("gitdir:") :].strip())
            return target if target.is_absolute() else (root / target).resolve()
    return None


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return None
