"""The HTML report: self-contained, sortable, with plots and example crops; checked in a real
headless browser when Debian's chromium is installed (``.ci/install-chromium``)."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from fakes import write_examples, write_fake

from tokbench.report.commands import report_cmd
from tokbench.report.plots import as_curve, find_curves

BROWSER = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
RANKS = [1, 2, 5, 10, 100, 1000]


def _results(root: Path) -> None:
    for model, k in (("tok-a", 1.0), ("tok-b", 1.2)):
        for res in (256, 512):
            text = {f"t_acc_{b}": v * k for b, v in (("small", 10.0), ("medium", 30.0), ("large", 60.0))}
            text |= {"t_acc": 33.3 * k, "t_ned_small": 20.0, "t_ned_medium": 40.0, "t_ned_large": 80.0, "t_ned": 46.7}
            path = write_fake(root, model=model, suite="text", resolution=res, metrics=text)
            if model == "tok-a":
                write_examples(path)
            write_fake(
                root,
                model=model,
                suite="face",
                resolution=res,
                metrics={"f_sim_small": 0.2 * k, "f_sim_medium": 0.5, "f_sim_large": 0.7, "f_sim": 0.47},
            )
        write_fake(root, model=model, suite="recon", metrics={"psnr": 24.0 * k, "ssim": 0.7})
        write_fake(
            root,
            model=model,
            suite="language",
            metrics={"level0.utilization": 0.5 * k},
            extra={
                "curves": {
                    "level0": {
                        "rank_frequency": [[r, 1e4 / r] for r in RANKS],
                        "innovation": {"1": 100, "10": 800, "100": 2000},
                    }
                }
            },
        )


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("html")
    _results(root / "runs")
    assert report_cmd([str(root / "runs")], "html", root / "out", with_published=True) == 0
    return root / "out" / "report.html"


def test_self_contained(report: Path) -> None:
    html = report.read_text()
    refs = re.findall(r"""(?:src|href)\s*=\s*["']([^"']*)""", html)
    assert refs and not [r for r in refs if re.match(r"(?i)(https?:)?//", r)]
    assert "http://" not in html and "https://" not in html and "<link" not in html
    assert not [r for r in refs if not (r.startswith(("data:image/png;base64,", "#")))]  # only inline images


def test_sortable_tables_and_content(report: Path) -> None:
    html = report.read_text()
    assert html.count('<table class="sortable">') >= 5 and 'class="sort"' in html
    assert "addEventListener('click'" in html and "localeCompare" in html
    assert 'data-col="8"' in html and 'data-v="93.02"' in html  # published Resize @256 T-ACC Mean
    assert "published, not re-measured" in html and 'class="published"' in html
    assert "T-ACC versus scale" in html and "F-Sim versus scale" in html
    assert "Rank-frequency" in html and "Token innovation" in html and html.count("<polyline") >= 8
    assert html.count('alt="original"') == 12  # tok-a text @256 and @512: 3 buckets x 2 examples each
    assert "no example crops for tok-a / face @256" in html  # absent folder: skipped with a note


def test_examples_with_missing_images_are_skipped_with_a_note(tmp_path: Path) -> None:
    path = write_fake(tmp_path / "r", model="m", suite="text", metrics={"t_acc_small": 1.0, "t_acc": 1.0})
    folder = write_examples(path, per_bucket=1)
    (folder / "small-0-recon.png").unlink()
    (folder / "medium-0-orig.png").write_bytes(b"not a png")
    assert report_cmd([str(tmp_path / "r")], "html", tmp_path / "out") == 0
    html = (tmp_path / "out" / "report.html").read_text()
    assert html.count('alt="original"') == 1 and "2 example image(s) not embedded (1 missing, 1 not PNG/JPEG)" in html


def test_curves_are_found_in_many_shapes() -> None:
    assert as_curve([[1, 10], [2, 5]]) == ([1.0, 2.0], [10.0, 5.0])
    assert as_curve({"rank": [1, 2, 3], "count": [9, 4, 1]}) == ([1.0, 2.0, 3.0], [9.0, 4.0, 1.0])
    assert as_curve({"10": 5, "1": 2}) == ([1.0, 10.0], [2.0, 5.0])
    assert as_curve([{"m": 1, "v": 3}, {"m": 2, "v": 4}]) == ([1.0, 2.0], [3.0, 4.0])
    assert as_curve([3, 2, 1]) is None and as_curve([3, 2, 1], allow_plain=True) == ([1.0, 2.0, 3.0], [3, 2, 1])
    extra = {
        "n": 5,
        "rank_frequency": {"level0": [[1, 9], [2, 3]], "joint": [[1, 8], [2, 2]]},
        "vocab_growth": [10, 20, 30],
        "other": [[1, 2], [3, 4]],
        "zipf": {"rank_range": [1, 204]},
    }
    found = {path: xy for path, xy in find_curves(extra)}
    assert set(found) == {("rank_frequency", "level0"), ("rank_frequency", "joint"), ("vocab_growth",)}
    # the language suite's layout: streams.<level>.curves.{rank_frequency.<n>: {rank, count}, innovation: {m, types…}}
    real = {
        "streams": {
            "level0": {
                "ngrams": {"1": {"zipf_ols": {"rank_range": [1, 204]}}},
                "curves": {
                    "rank_frequency": {"1": {"rank": [1, 2, 3], "count": [9, 5, 1]}},
                    "innovation": {"m": [1, 2, 4], "types": [115.6, 163.2, 204.0], "coverage": [0.45, 0.64, 0.8]},
                },
            }
        }
    }
    found = {path: xy for path, xy in find_curves(real)}
    assert found == {
        ("streams", "level0", "curves", "rank_frequency", "1"): ([1.0, 2.0, 3.0], [9.0, 5.0, 1.0]),
        ("streams", "level0", "curves", "innovation"): ([1.0, 2.0, 4.0], [115.6, 163.2, 204.0]),
    }


def _browser(*args: str, profile: Path) -> subprocess.CompletedProcess[str]:
    cmd = [
        BROWSER or "chromium",
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
        *args,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=90)


@pytest.mark.skipif(BROWSER is None, reason="chromium not installed (run .ci/install-chromium)")
def test_renders_and_sorts_in_a_headless_browser(report: Path, tmp_path: Path) -> None:
    shot = tmp_path / "shot.png"
    out = _browser(f"--screenshot={shot}", "--window-size=1280,2000", report.as_uri(), profile=tmp_path / "p1")
    assert shot.is_file(), out.stderr[-2000:]
    width, height = struct.unpack(">II", shot.read_bytes()[16:24])
    assert (width, height) == (1280, 2000)
    assert "CONSOLE" not in out.stderr, out.stderr  # chromium logs page errors as INFO:CONSOLE:<line> "Uncaught …"
    # click the first table's T-ACC Mean header (ascending, then descending); read the first row back each time
    probe = tmp_path / "probe.html"
    first = "document.querySelector('table.sortable tbody tr td').textContent"
    click = (
        "<script>var th=document.querySelector('table.sortable th[data-col=\"8\"]');"
        f"th.click();document.body.setAttribute('data-asc',{first});"
        f"th.click();document.body.setAttribute('data-desc',{first});</script></body>"
    )
    probe.write_text(report.read_text().replace("</body>", click))
    dom = _browser("--dump-dom", probe.as_uri(), profile=tmp_path / "p2")
    assert 'data-sort-ready="1"' in dom.stdout, dom.stderr[-2000:]
    assert 'data-asc="tok-a"' in dom.stdout and 'data-desc="tok-b"' in dom.stdout
    assert "CONSOLE" not in dom.stderr
