"""``tokbench report --format site``: a static multi-page site that is self-contained, deterministic,
whose every link resolves and whose pages run without console errors in headless Chromium (issue #22)."""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from fakes import write_examples, write_fake

from tokbench.report.commands import report_cmd
from tokbench.report.site import page_key

BROWSER = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
TEXT = {"t_acc_small": 10.0, "t_acc_medium": 30.0, "t_acc_large": 60.0, "t_acc": 33.3}
SCRIPT_NAME = "<script>document.body.setAttribute('data-pwned','script')</script>"
IMG_NAME = "\"><img src=x onerror=\"document.body.setAttribute('data-pwned','img')\">"
TEXT_SET = "set | <i>0</i>\nnext"  # a hostile dataset name too
HOSTILE = [SCRIPT_NAME, IMG_NAME, "pipe | name", "two\nlines"]


def _results(root: Path, names: list[str]) -> None:
    for i, model in enumerate(names):
        k = 1.0 + i / 10
        metrics = {key: v * k for key, v in TEXT.items()}
        created = f"2026-0{1 + i % 9}-01T00:00:00+00:00"
        path = write_fake(root, model=model, suite="text", dataset=TEXT_SET, metrics=metrics, created=created)
        write_examples(path, per_bucket=1)
        write_fake(root, model=model, suite="recon", metrics={"psnr": 24.0 * k, "ssim": 0.7}, created=created)


def _site(tmp_path: Path, names: list[str], name: str = "site") -> Path:
    _results(tmp_path / "runs", names)
    out = tmp_path / name
    assert report_cmd([str(tmp_path / "runs")], "site", out, with_published=True) == 0
    return out


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for key, value in attrs:
            if key == "id" and value:
                self.ids.add(value)
            if key in ("href", "src") and value is not None:
                self.links.append(value)


def _parse(page: Path) -> _Links:
    parser = _Links()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _site(tmp_path_factory.mktemp("site"), ["tok-a", "tok-b", *HOSTILE])


def test_site_has_every_page(site: Path) -> None:
    names = ["tok-a", "tok-b", *HOSTILE]
    for page in ("index.html", "models.html", "datasets.html", "changelog.html"):
        assert (site / page).is_file()
    assert sorted(p.name for p in (site / "models").iterdir()) == sorted(f"{page_key(n)}.html" for n in names)
    assert sorted(p.name for p in (site / "datasets").iterdir()) == sorted(
        f"{page_key(d)}.html" for d in (TEXT_SET, "ds")
    )
    model = (site / "models" / f"{page_key('tok-a')}.html").read_text()
    assert "Provenance" in model and "Example crops" in model and "data:image/png;base64," in model
    assert "T-ACC" in (site / "index.html").read_text()
    assert 'class="published"' in (site / "index.html").read_text()  # published rows apart, as in the report


def test_every_link_resolves_and_nothing_is_external(site: Path) -> None:
    pages = sorted(site.rglob("*.html"))
    ids = {p: _parse(p).ids for p in pages}
    checked = 0
    for page in pages:
        for link in _parse(page).links:
            if link.startswith("data:image/"):
                continue
            parts = urlsplit(link)
            assert not parts.scheme and not parts.netloc, f"{page}: external {link}"
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            assert target.is_file(), f"{page}: {link} does not resolve"
            assert target.is_relative_to(site.resolve())
            if parts.fragment:
                assert unquote(parts.fragment) in ids[target], f"{page}: no #{parts.fragment} in {target}"
            checked += 1
    assert checked > 50


def test_raw_files_are_copies_of_the_results(site: Path) -> None:
    model = site / "models" / f"{page_key('tok-a')}.html"
    raw = [link for link in _parse(model).links if "/raw/" in link]
    assert len(raw) == 4  # text and recon, each .json and .jsonl
    copies = sorted((model.parent / unquote(link)).read_bytes() for link in raw)
    results = [p for p in (site.parent / "runs" / "tok-a").rglob("*.json*") if not p.parent.name.endswith(".examples")]
    originals = sorted(p.read_bytes() for p in results)
    assert copies == originals


def test_changelog_lists_submissions_newest_first(site: Path) -> None:
    text = (site / "changelog.html").read_text()
    dates = re.findall(r"<h3>(\d{4}-\d\d-\d\d):", text)
    assert dates == sorted(dates, reverse=True) and len(dates) == 6
    assert "text @256 on set | &lt;i&gt;0&lt;/i&gt;\nnext" in text and "recon @256 on ds" in text


def test_same_inputs_give_byte_identical_sites(tmp_path: Path) -> None:
    first = _site(tmp_path / "a", ["tok-a", SCRIPT_NAME])
    second = _site(tmp_path / "b", ["tok-a", SCRIPT_NAME])
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    for rel in files:
        ours, theirs = (first / rel).read_bytes(), (second / rel).read_bytes()
        if rel.suffix == ".html":  # the titles name each result file by its path, which differs between a and b
            ours, theirs = ours.replace(b"/a/", b"/x/"), theirs.replace(b"/b/", b"/x/")
        assert ours == theirs, rel


def test_a_linked_result_file_is_not_published(tmp_path: Path) -> None:
    path = write_fake(tmp_path / "runs", model="tok-a", suite="recon", metrics={"psnr": 1.0})
    secret = tmp_path / "secret.txt"
    secret.write_text("do not publish")
    jsonl = path.with_suffix(".jsonl")
    jsonl.unlink()
    jsonl.symlink_to(secret)
    assert report_cmd([str(tmp_path / "runs")], "site", tmp_path / "site") == 0
    assert not any("do not publish" in p.read_text() for p in (tmp_path / "site").rglob("*") if p.is_file())


def _browser(*args: str, profile: Path) -> subprocess.CompletedProcess[str]:
    cmd = [
        BROWSER or "chromium",
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--allow-file-access-from-files",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
        *args,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(BROWSER is None, reason="chromium not installed (run .ci/install-chromium)")
def test_pages_run_clean_sort_and_show_hostile_names_as_text(site: Path, tmp_path: Path) -> None:
    # every page at once, each in a frame that reports what its document holds once loaded
    pages = sorted(site.rglob("*.html"))
    probe = site / "probe.html"
    frames = "".join(f'<iframe src="{p.relative_to(site).as_posix()}"></iframe>' for p in pages)
    check = (
        "<script>window.onload=function(){var out=[];"
        "document.querySelectorAll('iframe').forEach(function(f){var d=f.contentDocument;"
        "out.push((d.body.getAttribute('data-pwned')||'clean')+':'+d.body.getAttribute('data-sort-ready'));});"
        "document.body.setAttribute('data-frames',out.join(','));"
        "};</script>"
    )
    probe.write_text(f"<!DOCTYPE html><html><body>{frames}{check}</body></html>")
    try:
        dom = _browser("--virtual-time-budget=5000", "--dump-dom", probe.as_uri(), profile=tmp_path / "p1")
    finally:
        probe.unlink()
    assert "CONSOLE" not in dom.stderr, dom.stderr[-3000:]  # chromium logs page errors as INFO:CONSOLE
    frames_seen = re.search(r'data-frames="([^"]*)"', dom.stdout)
    assert frames_seen, dom.stdout[-2000:]
    assert frames_seen.group(1).split(",") == ["clean:1"] * len(pages)  # no script ran; the sorter did
    # the index sorts by a clicked header, and shows the hostile names as literal text
    index = site / "index.html"
    sorted_probe = site / "sorted.html"
    first = "document.querySelector('table.sortable tbody tr td').textContent"
    click = (
        "<script>var th=document.querySelector('table.sortable th[data-col=\"0\"]');"
        f"th.click();document.body.setAttribute('data-asc',{first});"
        f"th.click();document.body.setAttribute('data-desc',{first});"
        "document.body.setAttribute('data-text',document.body.textContent.indexOf('\\u003cscript>document.body')>=0);"
        "</script></body>"
    )
    sorted_probe.write_text(index.read_text().replace("</body>", click))
    try:
        dom = _browser("--dump-dom", sorted_probe.as_uri(), profile=tmp_path / "p2")
    finally:
        sorted_probe.unlink()
    assert 'data-sort-ready="1"' in dom.stdout and not re.search(r'\sdata-pwned="', dom.stdout)  # no script ran
    asc = re.search(r'data-asc="([^"]*)"', dom.stdout)
    desc = re.search(r'data-desc="([^"]*)"', dom.stdout)
    assert asc and desc and asc.group(1) != desc.group(1)
    assert 'data-text="true"' in dom.stdout
