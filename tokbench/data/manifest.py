"""Dataset manifests: where a dataset comes from, what files it has, how to verify them.

A manifest is a JSON file (see ``data_manifests/README.md``)::

    {"name": "ic13", "version": "1", "licence": "...", "kind": "text" | "faces" | "images",
     "source": {"type": "huggingface", "repo_id": ..., "repo_type": "dataset", "revision": ...,
                "allow_patterns": [...]}
             | {"type": "local", "env": "TOKBENCH_IMAGENET_VAL", "hint": "..."}
             | {"type": "package"}
             | {"type": "url", "urls": {"<file name>": "https://..."}},
     "images": "<dir relative to the dataset root>",
     "annotations": {"file": "<path relative to the root>", "format": "tokbench-text"} | null,
     "files": {"<relative path>": "<sha256>"},          # may be empty until first fetched
     "expected_count": <int> | null, "file_list_sha256": <sha256 of sorted names> | null}

A manifest may come from anyone, so it is held to its dataset: ``name`` is one folder name
(``NAME_PATTERN``); ``images``, ``annotations.file`` and the ``files`` keys are relative paths
without ``..``, and ``verify`` refuses any that resolves (through a link) outside the dataset root;
``source.env`` must look like a folder variable (``ENV_PATTERN``: ``TOKBENCH_*`` or ``*_DIR``,
``*_ROOT``, ``*_PATH``), so a manifest cannot point tokbench at a secret such as
``AWS_SECRET_ACCESS_KEY``. Messages show such a root as ``$NAME``, never the variable's value.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Any

from tokbench.errors import DataError
from tokbench.hashing import sha256_file
from tokbench.jsonio import read_json
from tokbench.paths import data_root


class ManifestError(DataError):
    """A manifest that is malformed, or data that does not match it."""


@dataclass
class Manifest:
    name: str
    kind: str
    source: dict[str, Any]
    images: str = "images"
    annotations: dict[str, Any] | None = None
    files: dict[str, str] = field(default_factory=dict)
    licence: str = "unknown"
    version: str = "1"
    expected_count: int | None = None
    file_list_sha256: str | None = None
    description: str = ""
    path: Path | None = None

    @property
    def sha256(self) -> str:
        """Hash of the manifest's content (not its path): identifies the dataset version."""
        payload = {k: v for k, v in self.__dict__.items() if k != "path"}
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()

    def root(self, override: str | os.PathLike[str] | None = None) -> Path:
        """Local folder of this dataset."""
        if self.source.get("type") == "package":
            return Path(str(resources.files("tokbench.samples")))
        env = self._env_in_use()
        if env:
            return Path(os.environ[env]).expanduser()
        return data_root(override) / self.name

    def root_label(self, override: str | os.PathLike[str] | None = None) -> str:
        """How messages show the root: ``$NAME`` when an environment variable gives it, else the path."""
        env = self._env_in_use()
        return f"${env}" if env else str(self.root(override))

    def _env_in_use(self) -> str | None:
        env = self.source.get("env") if self.source.get("type") == "local" else None
        return env if isinstance(env, str) and os.environ.get(env) else None


_REQUIRED = ("name", "kind", "source")
_SOURCE_TYPES = ("huggingface", "local", "package", "url")
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
ENV_PATTERN = re.compile(r"TOKBENCH_[A-Z0-9_]+|[A-Z][A-Z0-9_]*_(DIR|ROOT|PATH)")


def parse_manifest(data: Any, where: str) -> Manifest:
    if not isinstance(data, dict):
        raise ManifestError(f"{where}: a manifest is a JSON object")
    missing = [k for k in _REQUIRED if k not in data]
    if missing:
        raise ManifestError(f"{where}: missing field(s) {', '.join(missing)}")
    source = data["source"]
    if not isinstance(source, dict) or source.get("type") not in _SOURCE_TYPES:
        raise ManifestError(f"{where}: field 'source.type' must be one of {', '.join(_SOURCE_TYPES)}")
    known = set(Manifest.__dataclass_fields__) - {"path"}
    unknown = set(data) - known
    if unknown:
        raise ManifestError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    _check_fields(data, where)
    return Manifest(**data)


def _check_fields(data: dict[str, Any], where: str) -> None:
    """Refuse names and paths that would leave the dataset root, and an env that is no folder variable."""
    name = data["name"]
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise ManifestError(
            f"{where}: field 'name' must be one folder name (letters, digits, '.', '_', '-'), got {name!r:.60}"
        )
    env = data["source"].get("env")
    if env is not None and (not isinstance(env, str) or not ENV_PATTERN.fullmatch(env)):
        # the name only is shown: the variable's value is never read for a refused name
        raise ManifestError(
            f"{where}: field 'source.env' must name a folder variable (TOKBENCH_*, *_DIR, *_ROOT "
            f"or *_PATH), got {env!r:.60}"
        )
    _check_relative(data.get("images", "images"), "images", where)
    ann = data.get("annotations")
    if ann is not None:
        if not isinstance(ann, dict) or "file" not in ann:
            raise ManifestError(f"{where}: field 'annotations' must be null or an object with a 'file'")
        _check_relative(ann["file"], "annotations.file", where)
    files = data.get("files", {})
    if not isinstance(files, dict) or not all(isinstance(v, str) for v in files.values()):
        raise ManifestError(f"{where}: field 'files' must map relative paths to sha256 strings")
    for key in files:
        _check_relative(key, "files", where, key=True)
    count = data.get("expected_count")
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 0):
        raise ManifestError(f"{where}: field 'expected_count' must be a non-negative integer or null")
    if not isinstance(data.get("file_list_sha256") or "", str):
        raise ManifestError(f"{where}: field 'file_list_sha256' must be a string or null")


def _check_relative(value: Any, name: str, where: str, key: bool = False) -> None:
    field_name = f"field {name!r} key" if key else f"field {name!r}"
    if not isinstance(value, str) or not value or "\0" in value:
        raise ManifestError(f"{where}: {field_name} must be a non-empty relative path, got {value!r:.60}")
    path = PurePosixPath(value)
    if path.is_absolute() or ".." in path.parts:
        raise ManifestError(f"{where}: {field_name} {value!r:.60} leaves the dataset root (absolute or '..')")


def load_manifest(path: Path) -> Manifest:
    try:
        data = read_json(path, ManifestError)
    except ManifestError:
        raise
    except (ValueError, RecursionError) as e:  # an integer over 4300 digits, or nesting deeper than the stack
        raise ManifestError(f"{path}: unreadable JSON ({type(e).__name__}: {str(e)[:120]})") from None
    manifest = parse_manifest(data, str(path))
    manifest.path = path
    return manifest


def builtin_manifest_names() -> list[str]:
    folder = resources.files("tokbench.data_manifests")
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".json"))


def builtin_manifest(name: str) -> Manifest:
    if name not in builtin_manifest_names():  # by membership: a name like ../../x never becomes a path
        import difflib

        from tokbench.registry import UnknownName

        names = builtin_manifest_names()
        close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise UnknownName(f"unknown dataset {name!r}.{hint} Available: {', '.join(names)}")
    res = resources.files("tokbench.data_manifests") / f"{name}.json"
    with resources.as_file(res) as p:
        return load_manifest(Path(p))


def file_list_sha256(names: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(names)).encode()).hexdigest()


@dataclass
class VerifyReport:
    ok: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    mismatched: list[tuple[str, str, str]] = field(default_factory=list)  # (file, expected, actual)
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not (self.missing or self.mismatched or self.problems)

    def describe(self) -> str:
        lines = [f"{len(self.ok)} file(s) verified"]
        lines += [f"missing: {m}" for m in self.missing]
        lines += [f"checksum mismatch: {f} expected sha256 {e}, found {a}" for f, e, a in self.mismatched]
        lines += self.problems
        return "\n".join(lines)


def verify(manifest: Manifest, root: Path, label: str | None = None) -> VerifyReport:
    """Check every listed file's sha256 and the image count / file-list hash when given.

    ``label`` is how messages show ``root`` (``Manifest.root_label``: ``$NAME`` for an env root).
    Only regular files inside ``root`` are hashed; others are problems, never read.
    """
    report = VerifyReport()
    shown = label or str(root)
    real_root = root.resolve()
    for rel, expected in sorted(manifest.files.items()):
        path = root / rel
        where = f"{shown}/{rel}"
        refused = _outside_or_irregular(path, real_root)
        if refused == "missing":
            report.missing.append(where)
            continue
        if refused:
            report.problems.append(f"{where}: {refused}, not read (field 'files')")
            continue
        actual = sha256_file(path)
        (report.ok.append(rel) if actual == expected else report.mismatched.append((where, expected, actual)))
    if manifest.expected_count is not None or manifest.file_list_sha256:
        image_dir = root / manifest.images
        where = f"{shown}/{manifest.images}"
        if image_dir.exists() and not image_dir.resolve().is_relative_to(real_root):
            report.problems.append(f"{where}: outside the dataset root, not listed (field 'images')")
            return report
        names = image_names(image_dir)
        if manifest.expected_count is not None and len(names) != manifest.expected_count:
            report.problems.append(f"{where}: expected {manifest.expected_count} files, found {len(names)}")
        # an empty or missing folder is checked too: its (empty) list differs from any real one
        if manifest.file_list_sha256 and file_list_sha256(names) != manifest.file_list_sha256:
            report.problems.append(
                f"{where}: the list of file names differs from the manifest's "
                f"(expected sha256 {manifest.file_list_sha256}, found {file_list_sha256(names)})"
            )
    return report


def image_names(image_dir: Path) -> list[str]:
    """Sorted names of the files in ``image_dir`` (none when it is missing)."""
    return sorted(p.name for p in image_dir.iterdir() if p.is_file()) if image_dir.is_dir() else []


def _outside_or_irregular(path: Path, real_root: Path) -> str | None:
    """Why ``path`` may not be read ("missing", outside the root, not a regular file), or None."""
    real = path.resolve()
    if not real.is_relative_to(real_root):
        return "outside the dataset root"
    try:
        mode = os.stat(real).st_mode
    except OSError:
        return "missing"
    return None if stat.S_ISREG(mode) else "not a regular file"


def _url_files(manifest: Manifest) -> dict[str, str]:
    """``source.urls`` (file name -> https URL), each name one plain file name inside the dataset root."""
    urls = manifest.source.get("urls")
    if not isinstance(urls, dict) or not urls:
        raise ManifestError(f"{manifest.name}: field 'source.urls' must map file names to https URLs")
    for name, url in urls.items():
        if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
            raise ManifestError(f"{manifest.name}: field 'source.urls' has a bad file name {name!r:.60}")
        if not isinstance(url, str) or not url.startswith("https://"):
            raise ManifestError(f"{manifest.name}: field 'source.urls.{name}' must be an https URL")
    return dict(urls)


def _download(dataset: str, url: str, dest: Path, chunk: int = 1 << 20) -> None:
    """Download ``url`` to ``dest``, resuming a ``.part`` file left by an interrupted fetch; a complete
    file is kept (``verify`` checks its sha256 afterwards)."""
    import urllib.error
    import urllib.request

    if dest.is_file():
        return
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    have = part.stat().st_size if part.is_file() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 (https only, checked above)
            resumed = have and response.status == 206
            with open(part, "ab" if resumed else "wb") as out:
                while block := response.read(chunk):
                    out.write(block)
    except (urllib.error.URLError, OSError) as e:
        raise ManifestError(f"{dataset}: downloading {url} failed ({e}); run the fetch again to resume") from None
    part.replace(dest)


def fetch(manifest: Manifest, root: Path, offline: bool = False) -> VerifyReport:
    """Download a dataset (resumable, checksum-verified) into ``root``."""
    source = manifest.source
    if source["type"] == "package":
        return VerifyReport(ok=["shipped in the package"])
    if source["type"] == "local":
        hint = source.get("hint", "")
        raise ManifestError(
            f"{manifest.name} cannot be downloaded by tokbench: set ${source.get('env')} to its folder. {hint}".strip()
        )
    if offline:
        raise ManifestError(f"{manifest.name}: --offline forbids downloading; missing data under {root}")
    if source["type"] == "huggingface":
        from huggingface_hub import snapshot_download

        # snapshot_download resumes partial files and skips complete ones.
        snapshot_download(
            repo_id=source["repo_id"],
            repo_type=source.get("repo_type", "dataset"),
            revision=source.get("revision"),
            allow_patterns=source.get("allow_patterns"),
            local_dir=str(root),
        )
    elif source["type"] == "url":
        for name, url in _url_files(manifest).items():
            _download(manifest.name, url, root / name)
    else:
        raise ManifestError(f"{manifest.name}: source type {source['type']!r} is not fetchable yet")
    report = verify(manifest, root)
    if report.mismatched:
        raise ManifestError(f"{manifest.name}: downloaded files do not match the manifest:\n{report.describe()}")
    return report
