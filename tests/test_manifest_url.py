"""Manifests whose files come from plain https URLs (the ADM reference batch): download, resume, verify."""

from __future__ import annotations

import hashlib
import io
import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tokbench.data.manifest import ManifestError, fetch, load_manifest, parse_manifest

PAYLOAD = bytes(range(256)) * 40


class _Response(io.BytesIO):
    def __init__(self, data: bytes, status: int) -> None:
        super().__init__(data)
        self.status = status

    def __enter__(self) -> _Response:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _manifest(urls: dict[str, str], files: dict[str, str] | None = None) -> Any:
    return parse_manifest(
        {
            "name": "ref",
            "version": "1",
            "kind": "fid-reference",
            "licence": "test",
            "source": {"type": "url", "urls": urls},
            "images": ".",
            "annotations": None,
            "files": files or {},
        },
        "test manifest",
    )


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, str]]:
    """urlopen answering with PAYLOAD, honouring a Range header as a server would (206)."""
    seen: list[dict[str, str]] = []

    def urlopen(request: urllib.request.Request, timeout: float = 0) -> _Response:
        headers = dict(request.header_items())
        seen.append(headers)
        start = int(headers["Range"].split("=")[1].rstrip("-")) if "Range" in headers else 0
        return _Response(PAYLOAD[start:], 206 if start else 200)

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    return seen


def test_a_url_file_is_downloaded_and_verified(tmp_path: Path, server: list[dict[str, str]]) -> None:
    digest = hashlib.sha256(PAYLOAD).hexdigest()
    report = fetch(_manifest({"ref.npz": "https://example.org/ref.npz"}, {"ref.npz": digest}), tmp_path)
    assert (tmp_path / "ref.npz").read_bytes() == PAYLOAD and not report.mismatched


def test_an_interrupted_download_resumes_from_its_part_file(tmp_path: Path, server: list[dict[str, str]]) -> None:
    (tmp_path / "ref.npz.part").write_bytes(PAYLOAD[:1000])
    fetch(_manifest({"ref.npz": "https://example.org/ref.npz"}), tmp_path)
    assert server[0]["Range"] == "bytes=1000-"
    assert (tmp_path / "ref.npz").read_bytes() == PAYLOAD and not (tmp_path / "ref.npz.part").exists()


def test_a_downloaded_file_with_another_sha256_is_refused(tmp_path: Path, server: list[dict[str, str]]) -> None:
    with pytest.raises(ManifestError, match="do not match"):
        fetch(_manifest({"ref.npz": "https://example.org/ref.npz"}, {"ref.npz": "0" * 64}), tmp_path)


@pytest.mark.parametrize(
    ("urls", "field"),
    [({"ref.npz": "http://example.org/ref.npz"}, "https"), ({"../up.npz": "https://example.org/x"}, "bad file name")],
)
def test_plain_http_and_names_leaving_the_folder_are_refused(
    tmp_path: Path, server: list[dict[str, str]], urls: dict[str, str], field: str
) -> None:
    with pytest.raises(ManifestError, match=field):
        fetch(_manifest(urls), tmp_path)
    assert not server  # nothing was requested


def test_offline_never_downloads(tmp_path: Path, server: list[dict[str, str]]) -> None:
    with pytest.raises(ManifestError, match="offline"):
        fetch(_manifest({"ref.npz": "https://example.org/ref.npz"}), tmp_path, offline=True)
    assert not server


def test_the_shipped_adm_manifest_names_an_https_file() -> None:
    path = Path(__file__).resolve().parents[1] / "data_manifests" / "adm-ref-imagenet256.json"
    manifest = load_manifest(path)
    assert manifest.source["type"] == "url"
    assert all(u.startswith("https://") for u in json.loads(path.read_text())["source"]["urls"].values())
