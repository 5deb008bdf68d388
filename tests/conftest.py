"""Shared fixtures: an isolated TOKBENCH_HOME and small images made in the test."""

from __future__ import annotations

from pathlib import Path

import pytest
from imaging import photo
from PIL import Image


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    # One home per session keeps trained kmeans codebooks; caches of runs go under tmp_path.
    home = tmp_path_factory.getbasetemp() / "tokbench-home"
    monkeypatch.setenv("TOKBENCH_HOME", str(home))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return home


@pytest.fixture
def image_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i, (h, w) in enumerate([(120, 200), (181, 97), (64, 64), (150, 151)]):
        Image.fromarray(photo(h, w, i)).save(folder / f"img{i}.png")
    return folder
